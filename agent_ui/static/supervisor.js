// The queue board: renders each `board` snapshot and keeps every wait and time-in-state growing
// between snapshots from the server's clock. Every name and number goes in as text (dom.js).

import { h, replaceChildren, setText } from "./dom.js";
import { BoardPause } from "./board_pause.js";
import { Link } from "./link.js";

const $ = (id) => document.getElementById(id);
const els = {
  board: $("board"),
  queues: $("queues"),
  agents: $("agents"),
  agentCounts: $("agent-counts"),
  totals: $("totals"),
  clock: $("clock"),
  updated: $("board-updated"),
  linkStatus: $("link-status"),
  banner: $("reconnecting"),
  bannerDetail: $("reconnect-detail"),
  theme: $("theme-toggle"),
  fullscreen: $("fullscreen"),
};

const DIRECT = "(direct)";
const SL_GOOD = 0.8; // service level at or above this is green, above SL_FAIR amber, else red
const SL_FAIR = 0.6;
const STATES = {
  available: "Available",
  ringing: "Ringing",
  on_call: "On a call",
  wrap_up: "Wrap-up",
  paused: "Paused",
  offline: "Offline",
};
const THEME_KEY = "screenpop.board.theme";

let clockOffsetMs = 0; // the server's clock minus this browser's
let everConnected = false;
let pending = null; // the newest snapshot not rendered yet

/** Epoch seconds on the server's clock, estimated from the last snapshot's `at`. */
const serverNow = () => (Date.now() + clockOffsetMs) / 1000;

/** 75 -> "1:15", 3725 -> "1:02:05". */
export function formatDuration(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
}

const count = (n) => (typeof n === "number" ? n.toLocaleString() : "—");
const queueLabel = (name) => (name === DIRECT ? "Direct calls" : name);

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
  setText(els.clock, new Date(now * 1000).toLocaleTimeString());
}

/** How to show a caller: the best name, then the number and the other summary fields. */
export function describeCaller(info) {
  const summary = info?.summary ?? {};
  const name = summary.name || info?.caller_name || info?.caller || "Unknown caller";
  const details = [];
  if (info?.caller && info.caller !== name) details.push(info.caller);
  for (const [key, value] of Object.entries(summary)) {
    if (key !== "name" && value !== null && value !== undefined && value !== "") {
      details.push(typeof value === "object" ? JSON.stringify(value) : String(value));
    }
  }
  return { name: String(name), detail: details.join(" · ") };
}

function slBadge(queue, thresholdS) {
  const sl = queue.service_level;
  let tier = "none";
  if (typeof sl === "number") tier = sl >= SL_GOOD ? "good" : sl >= SL_FAIR ? "fair" : "bad";
  const pct = tier === "none" ? "—" : `${Math.round(sl * 100)} %`;
  return h("span", { class: `sl sl-${tier}`, text: `SL ${thresholdS} s: ${pct}` });
}

function figure(label, value, cls = "") {
  return h("div", { class: `fig ${cls}` }, h("dt", { text: label }), h("dd", {}, value));
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
      ? h("span", { class: "ringing-to", text: `ringing ${ringing.join(", ")}` })
      : null,
  );
}

function queueCard(queue, names, thresholdS) {
  const waiting = queue.waiting ?? [];
  const oldest = waiting.length ? Math.min(...waiting.map((c) => c.waiting_since)) : null;
  const asa = queue.asa_s === null || queue.asa_s === undefined ? "—" : formatDuration(queue.asa_s);
  return h(
    "article",
    { class: `qcard${waiting.length ? " has-waiting" : ""}`, "data-queue": queue.name },
    h("header", {}, h("h3", { text: queueLabel(queue.name) }), slBadge(queue, thresholdS)),
    h(
      "dl",
      { class: "figures" },
      figure("Waiting", h("span", { class: "waiting-count", text: count(waiting.length) }), "big"),
      figure("Longest wait", timer("span", "longest", oldest, thresholdS), "big wide"),
      figure("Answered", h("span", { class: "answered", text: count(queue.answered_today) })),
      figure("Abandoned", h("span", { class: "abandoned", text: count(queue.abandoned_today) })),
      figure("ASA", h("span", { class: "asa", text: asa, title: "average speed of answer" })),
    ),
    waiting.length
      ? h("ol", { class: "waiting" }, waiting.map((c) => waitingCall(c, names, thresholdS)))
      : h("p", { class: "none", text: "Nobody waiting" }),
  );
}

function agentRow(agent) {
  const who = agent.with ? describeCaller(agent.with) : null;
  return h(
    "li",
    { class: `agent is-${agent.state}`, "data-agent-id": agent.id },
    h("span", { class: "agent-name", text: agent.name }),
    h("span", { class: "agent-state", text: STATES[agent.state] ?? agent.state }),
    h("span", { class: "agent-with", text: who ? `with ${who.name}` : "" }),
    timer("span", "agent-time", agent.since),
    h("span", { class: "agent-handled", text: `${count(agent.handled_today)} today` }),
    boardPause.controls(agent),
  );
}

function renderTotals(queues) {
  const waiting = queues.flatMap((q) => q.waiting ?? []);
  const oldest = waiting.length ? Math.min(...waiting.map((c) => c.waiting_since)) : null;
  const sum = (key) => queues.reduce((n, q) => n + (q[key] ?? 0), 0);
  replaceChildren(
    els.totals,
    figure("Waiting", count(waiting.length)),
    figure("Longest", timer("span", "longest-all", oldest)),
    figure("Answered", count(sum("answered_today"))),
    figure("Abandoned", count(sum("abandoned_today"))),
  );
}

function renderAgentCounts(agents) {
  const byState = new Map();
  for (const a of agents) byState.set(a.state, (byState.get(a.state) ?? 0) + 1);
  const parts = Object.keys(STATES)
    .filter((s) => byState.has(s))
    .map((s) => {
      const text = `${byState.get(s)} ${STATES[s].toLowerCase()}`;
      return h("span", { class: `count is-${s}`, text });
    });
  replaceChildren(els.agentCounts, parts);
}

const directLast = (a, b) => (a.name === DIRECT) - (b.name === DIRECT);

function render(board) {
  const queues = [...(board.queues ?? [])].sort(directLast);
  const agents = board.agents ?? [];
  const names = new Map(agents.map((a) => [a.id, a.name]));
  const threshold = board.service_level_s;
  replaceChildren(
    els.queues,
    queues.length
      ? queues.map((q) => queueCard(q, names, threshold))
      : h("p", { class: "none", text: "No queue has had a call today" }),
  );
  replaceChildren(els.agents, agents.map(agentRow));
  renderTotals(queues);
  renderAgentCounts(agents);
  setText(els.updated, `Updated ${new Date(board.at * 1000).toLocaleTimeString()}`);
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

function linkStatus(text, ok) {
  setText(els.linkStatus, text);
  els.linkStatus.classList.toggle("ok", ok);
  everConnected ||= ok;
  const lost = !ok && (everConnected || !text.startsWith("connecting"));
  els.banner.hidden = !lost;
  setText(els.bannerDetail, lost ? `(${text})` : "");
  els.board.classList.toggle("stale", lost);
}

function setupTheme() {
  const apply = (theme) => {
    document.body.classList.toggle("theme-light", theme === "light");
    setText(els.theme, theme === "light" ? "Dark theme" : "Light theme");
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
setInterval(tick, 250);
tick();

const boardPause = new BoardPause((message) => link.send(message));
const link = new Link({
  onHello: () => {},
  onMessage: (message) => {
    if (message.type === "board") receive(message.board);
  },
  onCaughtUp: () => {},
  onStatus: linkStatus,
  onError: (reason, about) => boardPause.failed(reason, about),
});
link.start();
