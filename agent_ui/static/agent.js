// The agent desktop: a card per call, newest on top, live over the websocket; click-to-dial,
// candidate choice, wrap-up with talk and wrap-up timers, "My calls" of the day, notifications
// while the tab is hidden, a banner while the link is down, keyboard shortcuts and screen-reader
// announcements.

import { CallbackList } from "./callbacks.js";
import { CallCard } from "./card.js";
import { CardClock, markLive, markStale } from "./cardextras.js";
import { ClosedCards } from "./closed.js";
import { Dialer } from "./dial.js";
import { setText } from "./dom.js";
import { t } from "./i18n.js";
import { installShortcuts } from "./keys.js";
import { Link } from "./link.js";
import { StatusControl } from "./status.js";
import { MyCalls } from "./mycalls.js";
import { cardJson, reopenedState } from "./reopen.js";
import { installSearch } from "./search.js";
import { Alerts } from "./notify.js";

const $ = (id) => document.getElementById(id);
const calls = $("calls");
const idle = $("idle");
const linkStatus = $("link-status");
const announcer = $("announcer");
const dialInput = $("dial-number");
const help = $("help");
const banner = $("link-banner");
const baseTitle = document.title;
const LOGOUT_KEY = "screenpop:logout";

const cards = new Map();
const clocks = new Map(); // call id -> CardClock
const alerts = new Alerts($("notify-toggle"), $("ring-sound"));
const myCalls = new MyCalls($("my-calls"), (entry) => reopen(entry));
let me = "";
let dispositions = [];
let pendingNote = null;
let pendingChoice = null;

const closedCards = new ClosedCards(() => me);

const link = new Link({
  onHello: (hello) => {
    agentStatus.reset(); // available unless the daemon says otherwise after the resume
    me = String(hello.agent ?? "");
    dispositions = Array.isArray(hello.dispositions) ? hello.dispositions : [];
  },
  onMessage: (message, live) => handle(message, live),
  onCaughtUp: () => {
    const closed = closedCards.ids();
    for (const card of [...cards.values()]) {
      if ((card.finished && !card.wrapUp) || closed.has(card.callId)) remove(card, false);
    }
  },
  onStatus: (text, ok) => {
    setText(linkStatus, text);
    linkStatus.classList.toggle("ok", ok);
  },
  onError: (reason, about) => failed(reason, about),
  onDown: () => {
    banner.hidden = false;
    for (const card of cards.values()) markStale(card);
  },
  onUp: () => {
    const wasDown = !banner.hidden;
    banner.hidden = true;
    for (const card of cards.values()) markLive(card);
    if (wasDown) myCalls.load().then(syncClocks);
  },
});

function failed(reason, about) {
  if (callbacks.failed(reason, about)) return;
  if (about === "pause" || about === "unpause") {
    agentStatus.failed(reason);
  } else if (about === "dial") {
    dialer.failed(reason);
  } else if (about === "choose") {
    pendingChoice?.chooseFailed(reason);
    pendingChoice = null;
  } else {
    pendingNote?.noteFailed(reason);
    pendingNote = null;
  }
}

const agentStatus = new StatusControl(link);
const callbacks = new CallbackList($("callbacks"), (message) => link.send(message));
const dialer = new Dialer($("dial-form"), dialInput, $("dial-status"), (message) => link.send(message));

const context = {
  get me() {
    return me;
  },
  get dispositions() {
    return dispositions;
  },
  saveNote(card, disposition, text, id) {
    pendingNote = card;
    if (!link.send({ type: "note", call_id: card.callId, disposition, text, id })) {
      card.noteFailed(t("not connected, try again in a moment"));
      pendingNote = null;
    }
  },
  choose(card, customerId) {
    pendingChoice = card;
    if (!link.send({ type: "choose", call_id: card.callId, customer_id: customerId })) {
      card.chooseFailed(t("not connected, try again in a moment"));
      pendingChoice = null;
    }
  },
  dial: (number) => dialer.dial(number),
  close: (card) => remove(card),
};

/** Take a card off the screen. Closing the last card in wrap-up tells the daemon: ready. */
function remove(card, byAgent = true) {
  if (cards.get(card.callId) !== card) return;
  const hadFocus = card.element.contains(document.activeElement);
  cards.delete(card.callId);
  const times = clocks.get(card.callId)?.times();
  if (byAgent && card.wrapUp && times?.wrap != null) myCalls.wrapped(card.callId, times.wrap);
  clocks.delete(card.callId);
  card.element.remove();
  idle.hidden = cards.size > 0;
  if (byAgent) {
    closedCards.remember(card.callId);
    if (card.wrapUp && ![...cards.values()].some((c) => c.wrapUp)) link.send({ type: "ready" });
  }
  if (hadFocus) (calls.querySelector("article") ?? idle).focus();
  updateTitle();
}

function cardFor(callId, create) {
  let card = cards.get(callId);
  if (!card && create) {
    card = new CallCard(callId, context);
    cards.set(callId, card);
    clocks.set(callId, new CardClock(card));
    calls.prepend(card.element);
    idle.hidden = true;
  }
  return card;
}

function announce(text) {
  setText(announcer, "");
  setTimeout(() => setText(announcer, text), 50);
}

function updateTitle() {
  const ringing = [...cards.values()].find((c) => c.state === "ringing");
  document.title = ringing
    ? t("Ringing: {name} · {title}", { name: ringing.nameEl.textContent, title: baseTitle })
    : baseTitle;
}

function onPop(message, live) {
  const fresh = !cards.has(message.call_id);
  const card = cardFor(message.call_id, true);
  delete card.element.dataset.reopened;
  card.setPop(message);
  myCalls.fromPop(message);
  if (message.state === "answered" || message.state === "transferred") {
    clocks.get(card.callId)?.answered();
  }
  syncClocks();
  if (!live) return;
  link.send({ type: "ack", seq: message.seq });
  if (fresh) announce(card.announcement());
  if (fresh && message.state === "ringing") {
    const title =
      card.direction === "outbound"
        ? t("Calling {name}", { name: card.nameEl.textContent })
        : t("Incoming call: {name}", { name: card.nameEl.textContent });
    alerts.pop(title, card.announcement(), message.call_id);
  }
  if (card.direction === "outbound") dialer.placed();
}

function onCall(message, live) {
  const card = cardFor(message.call_id, false);
  myCalls.fromCall(message, me);
  if (!card) return;
  card.setState(message.state, message.agent);
  const clock = clocks.get(card.callId);
  if (message.state === "answered") clock?.answered();
  else if (card.finished || message.state === "ended") clock?.ended();
  clock?.tick();
  if (message.state === "answered") {
    // the agent picked up the next call: cards of finished calls make way
    for (const other of [...cards.values()]) if (other !== card && other.finished) remove(other, false);
  } else if (live && card.finished) {
    announce(t("{name}: {state}", { name: card.nameEl.textContent, state: card.stateEl.textContent }));
  }
}

function handle(message, live) {
  if (callbacks.handle(message)) return;
  if (message.type === "status") agentStatus.show(message);
  else if (message.type === "pop") onPop(message, live);
  else if (message.type === "card") {
    cardFor(message.call_id, false)?.setCard(message.card);
    myCalls.fromCard(message);
  }
  else if (message.type === "call") onCall(message, live);
  else if (message.type === "note") {
    const card = cardFor(message.note?.call_id ?? message.call_id, false);
    card?.addNote(message.note);
    if (card === pendingNote) pendingNote = null;
  }
  else if (message.type === "record") cardFor(message.call_id, false)?.recordStatus(message);
  updateTitle();
}

// -- keyboard -------------------------------------------------------------------------------

function current() {
  const article = document.activeElement?.closest?.("article.call") ?? calls.querySelector("article");
  return article ? cards.get(article.dataset.callId) : undefined;
}

function ordered() {
  return [...calls.querySelectorAll("article.call")].map((a) => cards.get(a.dataset.callId));
}

function moveFocus(step) {
  const list = ordered();
  if (list.length === 0) return;
  const at = list.indexOf(current());
  list[Math.min(Math.max(at + step, 0), list.length - 1)].element.focus();
}

installShortcuts({
  note: () => current()?.focusNotes(),
  close: () => {
    const card = current();
    const target = card?.finished ? card : ordered().find((c) => c.finished);
    if (target) remove(target);
  },
  dial: () => {
    dialInput.focus();
    dialInput.select();
  },
  help: () => help.showModal(),
  next: () => moveFocus(1),
  previous: () => moveFocus(-1),
  pick: (n) => {
    const card = current();
    const candidate = card?.candidates[n - 1];
    if (candidate) card.choose(candidate.customer_id);
    return Boolean(candidate);
  },
  leave: (field) => {
    field.blur();
    (field.closest("article.call") ?? calls.querySelector("article") ?? idle).focus();
  },
  modal: () => help.open,
});

$("help-button").addEventListener("click", () => help.showModal());

// -- the agent's other tabs -----------------------------------------------------------------

$("logout").addEventListener("click", () => {
  try {
    localStorage.setItem(LOGOUT_KEY, String(Date.now()));
  } catch {
    // the other tabs find out at their next reconnect
  }
});

window.addEventListener("storage", (event) => {
  if (event.key === LOGOUT_KEY) {
    link.stop();
    location.assign("/");
  } else if (me && event.key === closedCards.key()) {
    const closed = closedCards.ids();
    for (const card of [...cards.values()]) if (closed.has(card.callId)) remove(card, false);
  }
});

// -- the agent's day ------------------------------------------------------------------------

/** Times from the call log beat this tab's own (it may have opened in the middle of a call). */
function syncClocks() {
  for (const [callId, clock] of clocks) {
    const entry = myCalls.get(callId);
    if (entry?.answered_at) clock.logged(entry);
    clock.tick();
  }
}

/** A call of "My calls" clicked: its card again (the one on screen, or a fresh lookup). */
async function reopen(entry) {
  const shown = cards.get(entry.call_id);
  if (shown) {
    shown.element.scrollIntoView({ block: "nearest" });
    shown.element.focus();
    return;
  }
  const json = await cardJson(entry);
  if (cards.has(entry.call_id)) return; // it popped meanwhile
  const card = cardFor(entry.call_id, true);
  card.setPop({ direction: entry.direction, queue: entry.queue, card: json, state: reopenedState(entry) });
  card.element.dataset.reopened = "";
  const notes = (Array.isArray(json.history) ? json.history : []).filter(
    (e) => e.call_id === entry.call_id && e.disposition,
  );
  for (const note of notes.reverse()) card.addNote(note);
  setText(card.noteStatus, "");
  clocks.get(entry.call_id)?.logged(entry);
  clocks.get(entry.call_id)?.tick();
  card.element.focus();
  updateTitle();
}

// -- search -------------------------------------------------------------------------------

/** The customer's card from a search result: its first number's lookup, else the record. */
async function openCustomer(result) {
  const id = `search-${result.customer_id}`;
  const shown = cards.get(id);
  if (shown) {
    shown.element.focus();
    return;
  }
  const number = Array.isArray(result.numbers) ? result.numbers[0] : undefined;
  let json = null;
  if (number) {
    try {
      const response = await fetch(`/api/cards/${encodeURIComponent(number)}`);
      if (response.ok) json = await response.json();
    } catch {
      // offline: the card shows what the search found
    }
  }
  json ??= {
    caller: { kind: "withheld", withheld: true, name: result.name },
    summary: { name: result.name, customer_id: result.customer_id },
    sections: {},
    candidates: [],
    history: [],
  };
  const several = Array.isArray(json.candidates) && json.candidates.length > 1;
  const summary = json.summary?.name ? json.summary : { name: result.name, customer_id: result.customer_id };
  json = { ...json, summary, call_id: id, chosen: several ? result.customer_id : json.chosen };
  if (cards.has(id)) return;
  const card = cardFor(id, true);
  card.element.dataset.searched = "";
  card.setPop({ direction: "inbound", card: json, state: "ended" });
  setText(card.stateEl, t("Found by search")); // not a call: no state of its own
  card.element.focus();
}

/** The call a search result may be linked to: ringing or answered, its caller unknown or
 * shared by several customers none of which was picked yet. */
function linkTarget() {
  return ordered().find((c) => {
    if (!c || c.element.hasAttribute("data-searched")) return false;
    if (c.state !== "ringing" && c.state !== "answered") return false;
    const card = c.card ?? {};
    const shared = Array.isArray(card.candidates) && card.candidates.length > 1 && !card.chosen;
    return shared || !card.summary?.customer_id;
  });
}

installSearch({
  form: $("search-form"),
  input: $("search-q"),
  list: $("search-results"),
  status: $("search-status"),
  open: openCustomer,
  target: linkTarget,
});

setInterval(() => {
  for (const clock of clocks.values()) clock.tick();
}, 1000);

myCalls.load().then(syncClocks);
setInterval(() => myCalls.load(), 5 * 60 * 1000); // a new day starts a new list
link.start();
