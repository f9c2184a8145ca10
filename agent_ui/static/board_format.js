// Numbers and durations as the board shows them (the same on every board page and module).

import { t } from "./i18n.js";

export const DIRECT = "(direct)"; // the daemon's name for calls that reached an agent without a queue

/** 75 -> "1:15", 3725 -> "1:02:05". */
export function formatDuration(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
}

export const count = (n) => (typeof n === "number" ? n.toLocaleString() : "—");
export const queueLabel = (name) => (name === DIRECT ? t("Direct calls") : name);
export const pct = (x) => (typeof x === "number" ? `${Math.round(x * 100)} %` : "—");
export const duration = (s) => (typeof s === "number" ? formatDuration(s) : "—");
