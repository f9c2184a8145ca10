// The queue board: renders each `board` snapshot and keeps every wait and time-in-state growing
// between snapshots from the server's clock. Every name and number goes in as text (dom.js).
// The daemon computes the headline, the figures' levels (warn / alert) and the alarms once per
// update; this page only shows them (and plays a tone for a new red alarm when sound is on).

import { AlarmBanner } from "./alarms.js";
import { DIRECT, count, duration, formatDuration, pct, queueLabel } from "./board_format.js";
import { h, replaceChildren, setText } from "./dom.js";
import { boardCallbacks } from "./board_callbacks.js";
import { BoardPause } from "./board_pause.js";
import { pageLocale, pageTimeZone, t } from "./i18n.js";
import { Link } from "./link.js";

const $ = (id) => document.getElementById(id);
const els = {
  board: $("board"),
  queues: $("queues"),
  agents: $("agents"),
  totals: $("totals"),
  agentTotals: $("agent-totals"),
  alarms: $("alarms"),
  alarmList: $("alarm-list"),
  sound: $("sound-toggle"),
  clock: $("clock"),
  updated: $("board-updated"),
  linkStatus: $("link-status"),
  banner: $("reconnecting"),
  bannerDetail: $("reconnect-detail"),
  theme: $("theme-toggle"),
  fullscreen: $("fullscreen"),
};

// the agents' states in the headline's order, with their labels (in the page's language)
const STATES = {
  available: () => t("Available"),
  on_call: () => t("On a call"),
  ringing: () => t("Ringing"),
  wrap_up: () => t("Wrap-up"),
  paused: () => t("Paused"),
  offline: () => t("Offline"),
};
const THEME_KEY = "screenpop.board.theme";

let clockOffsetMs = 0; // the server's clock minus this browser's
let everConnected = false;
let pending = null; // the newest snapshot not rendered yet

/** The time of day at epoch `seconds` in the center's zone (`[ui] timezone`). */
function centerTime(seconds) {
  const options = { timeZone: pageTimeZone() };
  try {
    return new Date(seconds * 1000).toLocaleTimeString(pageLocale(), options);
  } catch {
    return new Date(seconds * 1000).toLocaleTimeString(); // a zone this browser does not know
  }
}

/** Epoch seconds on the server's clock, estimated from the last snapshot's `at`. */
const serverNow = () => (Date.now() + clockOffsetMs) / 1000;

const levelClass = (level) => (level ? ` lvl-${level}` : "");

/** A timer element: its text is the time since `since` (epoch s), refreshed by tick(). */
function timer(tag, cls, since, warnAfter = null) {
  if (!since) return h(tag, { class: cls, text: "—" });
  const node = h(tag, { class: `${cls} timer`, "data-since": since, "data-warn": warnAfter });
  refreshTimer(node, serverNow());
  return node;
}

function refreshTimer(node, now) {
  const seconds = now - Number(node.dataset.since);
  const text = formatDuration(seconds);
  setText(node, text);
  const warn = Number(node.dataset.warn);
  if (warn > 0) {
    node.classList.toggle("warn", seconds > warn && seconds <= 2 * warn);
    node.classList.toggle("late", seconds > 2 * warn);
  }
}

function tick() {
  const now = serverNow();
  for (const node of document.querySelectorAll(".timer[data-since]")) refreshTimer(node, now);
  setText(els.clock, centerTime(now));
}

/** How to show a caller: the best name, then the number and the other summary fields. */
export function describeCaller(info) {
  const summary = info?.summary ?? {};
  const name = summary.name || info?.caller_name || info?.caller || t("Unknown caller");
  const details = [];
  if (info?.caller && info.caller !== name) details.push(info.caller);
  for (const [key, value] of Object.entries(summary)) {
    if (key !== "name" && value !== null && value !== undefined && value !== "") {
      details.push(typeof value === "object" ? JSON.stringify(value) : String(value));
    }
  }
  return { name: String(name), detail: details.join(" · ") };
}

const SL_TIERS = { alert: "bad", warn: "fair" };

function slBadge(queue, thresholdS) {
  const sl = queue.service_level;
  const tier = typeof sl === "number" ? (SL_TIERS[queue.levels?.service_level] ?? "good") : "none";
  const text = t("SL {seconds} s: {value}", { seconds: thresholdS, value: pct(sl) });
  return h("span", { class: `sl sl-${tier}`, text });
}

function figure(label, value, cls = "", key = null) {
  return h(
    "div",
    { class: `fig ${cls}`, "data-fig": key },
    h("dt", { text: label }),
    h("dd", {}, value),
  );
}

function waitingCall(call, names, thresholdS) {
  const who = describeCaller(call);
  const ringing = (call.ringing ?? []).map((id) => names.get(id) ?? id);
  return h(
    "li",
    { class: "waiting-call", "data-call-id": call.call_id },
    timer("span", "wait", call.waiting_since, thresholdS),
    h(
      "span",
      { class: "waiting-who" },
      h("span", { class: "waiting-name", text: who.name }),
      who.detail ? h("span", { class: "waiting-detail", text: who.detail }) : null,
    ),
    ringing.length
      ? h("span", { class: "ringing-to", text: t("ringing {agents}", { agents: ringing.join(", ") }) })
      : null,
  );
}

function queueCard(queue, names, thresholdS, alarmed) {
  const waiting = queue.waiting ?? [];
  const oldest = waiting.length ? Math.min(...waiting.map((c) => c.waiting_since)) : null;
  const levels = queue.levels ?? {};
  const cls = `qcard${waiting.length ? " has-waiting" : ""}${alarmed ? ` alarm-${alarmed}` : ""}`;
  return h(
    "article",
    { class: cls, "data-queue": queue.name },
    h("header", {}, h("h3", { text: queueLabel(queue.name) }), slBadge(queue, thresholdS)),
    h(
      "dl",
      { class: "figures" },
      figure(
        t("Waiting"),
        h("span", { class: "waiting-count", text: count(waiting.length) }),
        `big${levelClass(levels.waiting)}`,
      ),
      figure(
        t("Longest wait"),
        timer("span", "longest", oldest), // coloured by the daemon's level, like the headline
        `big wide${levelClass(levels.longest_wait_s)}`,
      ),
      figure(t("Answered"), h("span", { class: "answered", text: count(queue.answered_today) })),
      figure(
        t("Abandoned"),
        h(
          "span",
          {},
          h("span", { class: "abandoned", text: count(queue.abandoned_today) }),
          typeof queue.abandon_rate === "number"
            ? h("span", { class: "abandon-rate", text: ` (${pct(queue.abandon_rate)})` })
            : null,
        ),
      ),
      figure(
        t("ASA"),
        h("span", { class: "asa", text: duration(queue.asa_s), title: t("average speed of answer") }),
      ),
    ),
    waiting.length
      ? h("ol", { class: "waiting" }, waiting.map((c) => waitingCall(c, names, thresholdS)))
      : h("p", { class: "none", text: t("Nobody waiting") }),
  );
}

/** One agent's row: state (with the pause reason), time in it, today's figures. */
function agentRow(agent) {
  const who = agent.with ? describeCaller(agent.with) : null;
  const state = STATES[agent.state]?.() ?? agent.state;
  let detail = who ? t("with {name}", { name: who.name }) : "";
  if (agent.state === "paused" && agent.reason) detail = t(agent.reason); // a [ui] pause reason
  return h(
    "li",
    { class: `agent is-${agent.state}`, "data-agent-id": agent.id },
    h("span", { class: "agent-name", text: agent.name }),
    h("span", { class: "agent-state", text: state }),
    h("span", { class: agent.state === "paused" ? "agent-reason" : "agent-with", text: detail }),
    timer("span", "agent-time", agent.since),
    h("span", {
      class: "agent-handled",
      text: count(agent.handled_today),
      title: t("Calls handled today"),
    }),
    h("span", {
      class: `agent-missed${agent.missed_today ? " has-missed" : ""}`,
      text: count(agent.missed_today),
      title: t("Calls that rang and were not answered today"),
    }),
    h("span", {
      class: "agent-aht",
      text: duration(agent.aht_s),
      title: t("Average handle time today (talk and wrap-up)"),
    }),
    boardPause.controls(agent),
  );
}

/** The headline across every queue: calls, then the agents by state, zeros shown. */
function renderTotals(totals, queues) {
  const waiting = queues.flatMap((q) => q.waiting ?? []);
  const oldest = waiting.length ? Math.min(...waiting.map((c) => c.waiting_since)) : null;
  const levels = totals.levels ?? {};
  replaceChildren(
    els.totals,
    figure(t("Waiting"), count(totals.waiting ?? 0), levelClass(levels.waiting), "waiting"),
    figure(
      t("Longest wait"),
      timer("span", "longest-all", oldest),
      levelClass(levels.longest_wait_s),
      "longest_wait_s",
    ),
    figure(
      t("Service level"),
      pct(totals.service_level),
      levelClass(levels.service_level),
      "service_level",
    ),
    figure(t("ASA"), duration(totals.asa_s), "", "asa_s"),
    figure(t("Abandon rate"), pct(totals.abandon_rate), "", "abandon_rate"),
  );
  const agents = totals.agents ?? {};
  replaceChildren(
    els.agentTotals,
    Object.entries(STATES).map(([state, label]) =>
      figure(label(), count(agents[state] ?? 0), `is-${state}`, state),
    ),
  );
}

/** Per queue, its worst alarm level ("alert" or "warn"). */
function alarmLevels(alarms) {
  const out = new Map();
  for (const a of alarms) if (out.get(a.queue) !== "alert") out.set(a.queue, a.level);
  return out;
}

const directLast = (a, b) => (a.name === DIRECT) - (b.name === DIRECT);

function render(board) {
  const alarms = board.alarms ?? [];
  const alarmed = alarmLevels(alarms);
  const queues = [...(board.queues ?? [])].sort(directLast);
  const agents = board.agents ?? [];
  const names = new Map(agents.map((a) => [a.id, a.name]));
  const threshold = board.service_level_s;
  alarmBanner.show(alarms);
  replaceChildren(
    els.queues,
    queues.length
      ? queues.map((q) => queueCard(q, names, threshold, alarmed.get(q.name)))
      : h("p", { class: "none", text: t("No queue has had a call today") }),
  );
  replaceChildren(els.agents, agents.map(agentRow));
  renderTotals(board.totals ?? {}, queues);
  setText(els.updated, t("Updated {time}", { time: centerTime(board.at) }));
}

function renderPending() {
  const board = pending;
  pending = null;
  render(board);
}

function receive(board) {
  clockOffsetMs = board.at * 1000 - Date.now(); // the newest snapshot sets the clock
  if (pending === null) setTimeout(renderPending, 0); // one render per burst of snapshots
  pending = board;
}

function linkStatus(text, ok, phase) {
  setText(els.linkStatus, text);
  els.linkStatus.classList.toggle("ok", ok);
  everConnected ||= ok;
  const lost = !ok && (everConnected || phase !== "connecting");
  els.banner.hidden = !lost;
  setText(els.bannerDetail, lost ? `(${text})` : "");
  els.board.classList.toggle("stale", lost);
}

function setupTheme() {
  const apply = (theme) => {
    document.body.classList.toggle("theme-light", theme === "light");
    setText(els.theme, theme === "light" ? t("Dark theme") : t("Light theme"));
  };
  apply(localStorage.getItem(THEME_KEY) ?? "dark");
  els.theme.addEventListener("click", () => {
    const next = document.body.classList.contains("theme-light") ? "dark" : "light";
    localStorage.setItem(THEME_KEY, next);
    apply(next);
  });
  els.fullscreen.addEventListener("click", () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else document.documentElement.requestFullscreen?.().catch(() => {});
  });
}

setupTheme();
const alarmBanner = new AlarmBanner(els.alarms, els.alarmList, els.sound);
setInterval(tick, 250);
tick();

const boardPause = new BoardPause((message) => link.send(message));
const link = new Link({
  onHello: () => {},
  onMessage: (message) => {
    if (message.type === "board") receive(message.board);
    else boardCallbacks.handle(message);
  },
  onCaughtUp: () => {},
  onStatus: linkStatus,
  onError: (reason, about) => boardPause.failed(reason, about),
});
link.start();
