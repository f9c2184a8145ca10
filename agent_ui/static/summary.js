// The summary strip at the top of a card: what the agent needs in the first two seconds. The
// flags the daemon's highlight rules raised (coloured by level) and the last contact (when,
// who, disposition, the note's first line); the name and customer id sit beside them, with what
// found the customer: the IVR data (`[lookup] keys`, "matched by account 12345") or the number.

import { h, humanize } from "./dom.js";
import { formatDateTime } from "./format.js";
import { t } from "./i18n.js";
import { candidatesOf } from "./sections.js";

const LEVEL_ORDER = { alert: 0, warn: 1, info: 2 };
const LEVEL_TEXT = { alert: () => t("alert"), warn: () => t("warning"), info: () => t("note") };

/** The flags to show: the picked customer's (or every one, tagged, while nobody is picked). */
export function shownFlags(card, picked) {
  const flags = Array.isArray(card?.flags) ? card.flags : [];
  return flags
    .filter((f) => f && typeof f.text === "string" && (f.customer_id == null || picked == null || f.customer_id === picked))
    .map((f, i) => ({ ...f, i }))
    .sort((a, b) => (LEVEL_ORDER[a.level] ?? 3) - (LEVEL_ORDER[b.level] ?? 3) || a.i - b.i);
}

/** The flags as coloured chips (most serious first), or null when none is raised. */
export function renderFlags(card, picked) {
  const flags = shownFlags(card, picked);
  if (flags.length === 0) return null;
  const names = new Map(candidatesOf(card).map((c) => [c.customer_id, c.name || c.customer_id]));
  return h(
    "ul",
    { class: "flags", "aria-label": t("Flags") },
    flags.map((f) => {
      const level = LEVEL_ORDER[f.level] === undefined ? "info" : f.level;
      const who = f.customer_id != null && picked == null ? names.get(f.customer_id) || f.customer_id : null;
      return h(
        "li",
        {
          class: `flag flag-${level}`,
          "data-section": f.section,
          "data-field": f.field,
          title: t("{section}: {field}", { section: humanize(f.section), field: humanize(f.field) }),
        },
        h("span", { class: "visually-hidden", text: `${LEVEL_TEXT[level]()}: ` }),
        who ? h("span", { class: "flag-who", text: `${who}: ` }) : null,
        f.text,
      );
    }),
  );
}

/** What found the card's customer ("matched by account 12345", "matched by number"); "" when
 * nothing was found. */
export function matchedByText(card) {
  const matched = card?.matched_by;
  if (matched === "number") return t("matched by number");
  if (!matched || typeof matched !== "object") return "";
  const parts = Object.entries(matched)
    .filter(([, value]) => typeof value === "string" && value)
    .map(([key, value]) => t("{key} {value}", { key: humanize(key).toLowerCase(), value }));
  return parts.length ? t("matched by {keys}", { keys: parts.join(", ") }) : "";
}

/** The caller's previous calls (this call left out), newest first. */
export function pastCalls(card) {
  const history = Array.isArray(card?.history) ? card.history : [];
  return history.filter((e) => e && (!e.call_id || e.call_id !== card.call_id));
}

/** "Last contact": when, who, disposition and the note's first line; null for a first call. */
export function renderLastContact(card) {
  const last = pastCalls(card)[0];
  if (!last) return null;
  const firstLine = typeof last.text === "string" ? last.text.split(/\r?\n/).find((l) => l.trim()) ?? "" : "";
  return h(
    "p",
    { class: "last-contact" },
    h("span", { class: "label", text: t("Last contact") }),
    h("span", { class: "when", text: formatDateTime(last.at) }),
    h("span", { class: "by", text: last.agent ? last.agent : t("nobody answered") }),
    last.disposition ? h("span", { class: "badge disposition", text: humanize(last.disposition) }) : null,
    firstLine ? h("span", { class: "last-note", text: firstLine }) : null,
  );
}
