// The agent desktop: a card per call, newest on top, live over the websocket.

import { CallCard } from "./card.js";
import { Link } from "./link.js";

const calls = document.getElementById("calls");
const idle = document.getElementById("idle");
const linkStatus = document.getElementById("link-status");
const cards = new Map();
let dispositions = [];
let pendingNote = null;

const link = new Link({
  onHello: (hello) => {
    dispositions = Array.isArray(hello.dispositions) ? hello.dispositions : [];
  },
  onMessage: (message, live) => handle(message, live),
  onCaughtUp: () => {
    for (const card of [...cards.values()]) if (card.finished) remove(card);
  },
  onStatus: (text, ok) => {
    linkStatus.textContent = text;
    linkStatus.classList.toggle("ok", ok);
  },
  onError: (reason) => {
    if (pendingNote) pendingNote.noteFailed(reason);
    pendingNote = null;
  },
});

const context = {
  get dispositions() {
    return dispositions;
  },
  saveNote(card, disposition, text) {
    pendingNote = card;
    if (!link.send({ type: "note", call_id: card.callId, disposition, text })) {
      card.noteFailed("not connected, try again in a moment");
      pendingNote = null;
    }
  },
  close: (card) => remove(card),
};

function remove(card) {
  cards.delete(card.callId);
  card.element.remove();
  idle.hidden = cards.size > 0;
  calls.querySelector("article")?.focus();
}

function cardFor(callId, create) {
  let card = cards.get(callId);
  if (!card && create) {
    card = new CallCard(callId, context);
    cards.set(callId, card);
    calls.prepend(card.element);
    idle.hidden = true;
  }
  return card;
}

function handle(message, live) {
  if (message.type === "pop") {
    const card = cardFor(message.call_id, true);
    card.setQueue(message.queue);
    card.setCard(message.card);
    card.setState(message.state);
    if (live) link.send({ type: "ack", seq: message.seq });
  } else if (message.type === "card") {
    cardFor(message.call_id, false)?.setCard(message.card);
  } else if (message.type === "call") {
    cardFor(message.call_id, false)?.setState(message.state, message.agent);
  } else if (message.type === "note") {
    const card = cardFor(message.note?.call_id ?? message.call_id, false);
    card?.addNote(message.note);
    if (card === pendingNote) pendingNote = null;
  }
}

document.addEventListener("keydown", (event) => {
  if (event.altKey && (event.key === "n" || event.key === "N")) {
    event.preventDefault();
    const newest = calls.querySelector("article");
    if (newest) cards.get(newest.dataset.callId)?.focusNotes();
  }
});

link.start();
