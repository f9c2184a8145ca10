// "My calls": the agent's calls of the center's day, newest first: answered, missed (it rang me
// and I did not answer) and outbound. Loaded from GET /api/me/calls (the call log: it survives
// a restart of the daemon), then kept up to date by the pop and call messages of the websocket.
// Clicking a call asks the page to reopen its card.

import { h, replaceChildren, setText } from "./dom.js";
import { pageLocale, pageTimeZone, t } from "./i18n.js";

const MAX_SHOWN = 200;

function outcomeText(entry) {
  if (entry.outcome === "answered") return t("Answered");
  if (entry.outcome === "ringing") return t("Ringing");
  if (entry.outcome === "no_answer") return t("No answer");
  if (entry.reason === "answered_elsewhere") return t("Missed: answered by someone else");
  if (entry.reason === "abandoned") return t("Missed: the caller hung up");
  return t("Missed: rang out");
}

/** `seconds` as m:ss (h:mm:ss past an hour). */
export function duration(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const s = String(total % 60).padStart(2, "0");
  const m = Math.floor(total / 60) % 60;
  const hours = Math.floor(total / 3600);
  return hours ? `${hours}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

function clock(iso) {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return "";
  try {
    return when.toLocaleTimeString(pageLocale(), {
      hour: "2-digit",
      minute: "2-digit",
      timeZone: pageTimeZone(),
    });
  } catch {
    return when.toLocaleTimeString();
  }
}

const nowIso = () => new Date().toISOString();
const seconds = (from, to) => (Date.parse(to) - Date.parse(from)) / 1000;

/** The call log's entry, with the names this tab learnt from the card (the log keeps only the
 * PBX's caller name). */
function merged(live, stored) {
  const name = live.caller?.name || stored.caller?.name || null;
  return {
    ...live,
    ...stored,
    caller: { ...stored.caller, name },
    customer: live.customer ?? stored.customer,
  };
}

export class MyCalls {
  /**
   * @param {HTMLElement} root  the <details> holding the list
   * @param {(entry: object) => void} open  reopen this call's card
   */
  constructor(root, open) {
    this.root = root;
    this.open = open;
    this.title = root.querySelector(".my-calls-title");
    this.list = root.querySelector(".my-calls-list");
    this.empty = root.querySelector(".my-calls-empty");
    this.entries = new Map(); // call_id -> entry
    this.day = null;
    this.render();
  }

  get(callId) {
    return this.entries.get(callId);
  }

  /** (Re)load today's list from the call log; what arrived live meanwhile is kept. */
  async load() {
    let body;
    try {
      const response = await fetch("/api/me/calls", { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      body = await response.json();
    } catch {
      return; // offline: the live entries stay, the next reconnect loads again
    }
    if (this.day !== null && body.day !== this.day) this.entries.clear(); // a new day began
    this.day = body.day;
    for (const stored of Array.isArray(body.calls) ? body.calls : []) {
      const live = this.entries.get(stored.call_id);
      this.entries.set(stored.call_id, live ? merged(live, stored) : stored);
    }
    this.render();
  }

  /** A pop: the call rings me (or I took it, or it was transferred to me). */
  fromPop(message) {
    const card = message.card ?? {};
    const entry = this.entries.get(message.call_id) ?? {
      call_id: message.call_id,
      direction: message.direction === "outbound" ? "outbound" : "inbound",
      outcome: "ringing",
      reason: null,
      rang_at: nowIso(),
      answered_at: null,
      ended_at: null,
      talk_s: null,
    };
    entry.queue = message.queue ?? entry.queue ?? null;
    this.learnCard(entry, card);
    if (message.state === "answered" || message.state === "transferred") this.answered(entry);
    this.entries.set(message.call_id, entry);
    this.render();
  }

  /** A card update: a better name for the caller. */
  fromCard(message) {
    const entry = this.entries.get(message.call_id);
    if (!entry || !message.card) return;
    this.learnCard(entry, message.card);
    this.render();
  }

  learnCard(entry, card) {
    const caller = card.caller ?? {};
    entry.caller = {
      e164: caller.e164 ?? entry.caller?.e164 ?? null,
      national: caller.national ?? entry.caller?.national ?? null,
      name: card.summary?.name || caller.name || entry.caller?.name || null,
    };
    if (card.summary?.customer_id) {
      entry.customer = { customer_id: card.summary.customer_id, name: card.summary.name ?? null };
    }
  }

  answered(entry) {
    entry.outcome = "answered";
    entry.reason = null;
    entry.answered_at ??= nowIso();
  }

  /** A call message: how the call went on for me. */
  fromCall(message, me) {
    const entry = this.entries.get(message.call_id);
    if (!entry) return;
    const state = message.state;
    if (state === "answered" || (state === "transferred" && message.agent === me)) {
      this.answered(entry);
    } else if (state === "ended" || state === "transferred") {
      entry.ended_at ??= nowIso();
      if (entry.outcome === "answered" && entry.answered_at) {
        entry.talk_s = seconds(entry.answered_at, entry.ended_at);
      }
    } else if (entry.outcome !== "answered") {
      this.missed(entry, state);
    }
    this.render();
  }

  /** The agent closed the call's card after `seconds` of wrap-up (the daemon logs it too). */
  wrapped(callId, seconds) {
    const entry = this.entries.get(callId);
    if (!entry || entry.wrap_s != null) return;
    entry.wrap_s = seconds;
    this.render();
  }

  missed(entry, state) {
    entry.ended_at ??= nowIso();
    if (entry.direction === "outbound") {
      entry.outcome = "no_answer";
      return;
    }
    entry.outcome = "missed";
    entry.reason = { missed: "rang_out", answered_elsewhere: "answered_elsewhere" }[state] ?? "abandoned";
  }

  sorted() {
    return [...this.entries.values()].sort((a, b) => Date.parse(b.rang_at) - Date.parse(a.rang_at));
  }

  render() {
    const entries = this.sorted();
    const missed = entries.filter((e) => e.outcome === "missed").length;
    setText(
      this.title,
      missed
        ? t("My calls today: {count}, {missed} missed", { count: entries.length, missed })
        : t("My calls today: {count}", { count: entries.length }),
    );
    this.root.classList.toggle("has-missed", missed > 0);
    this.empty.hidden = entries.length > 0;
    replaceChildren(this.list, entries.slice(0, MAX_SHOWN).map((e) => this.item(e)));
  }

  item(entry) {
    const caller = entry.caller ?? {};
    const who = caller.name || caller.national || caller.e164 || t("number withheld");
    let talk = entry.talk_s != null ? t("talk {time}", { time: duration(entry.talk_s) }) : null;
    if (talk && entry.wrap_s != null) {
      talk = t("talk {time} · wrap-up {wrap}", { time: duration(entry.talk_s), wrap: duration(entry.wrap_s) });
    }
    return h(
      "li",
      {},
      h(
        "button",
        {
          type: "button",
          class: `my-call outcome-${entry.outcome}`,
          "data-call-id": entry.call_id,
          onclick: () => this.open(entry),
        },
        h("span", { class: "my-call-time", text: clock(entry.rang_at) }),
        h("span", { class: "my-call-who", text: who }),
        entry.direction === "outbound" ? h("span", { class: "badge", text: t("Outbound") }) : null,
        entry.queue ? h("span", { class: "my-call-queue", text: entry.queue }) : null,
        h("span", { class: "my-call-outcome", text: outcomeText(entry) }),
        talk ? h("span", { class: "my-call-talk", text: talk }) : null,
      ),
    );
  }
}
