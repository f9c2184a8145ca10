// One call on the agent's screen: caller, customer, candidates, sections, history, call state,
// notes; after the call, wrap-up until the agent closes the card.

import { formatScalar, h, humanize, replaceChildren, setText } from "./dom.js";
import { t } from "./i18n.js";
import { dialButton, renderCandidates, renderHistory } from "./panels.js";
import { candidatesOf, renderSections } from "./sections.js";
import { matchedByText, renderFlags, renderLastContact } from "./summary.js";

const FINAL_STATES = new Set(["ended", "abandoned", "missed", "answered_elsewhere"]);
const STATE_TEXT = {
  ringing: () => t("Ringing"),
  answered: () => t("On the call"),
  answered_elsewhere: () => t("Answered by someone else"),
  missed: () => t("Missed"),
  transferred: () => t("Transferred"),
  ended: () => t("Ended"),
  abandoned: () => t("Caller hung up"),
};

/** The number line: national format and region, or why there is no number to show. */
export function numberText(caller) {
  if (!caller) return t("number withheld");
  if (caller.kind === "number" && !caller.withheld) {
    const shown = caller.national || caller.e164 || caller.raw || "";
    return caller.region ? `${shown} · ${caller.region}` : shown;
  }
  if (caller.kind === "extension") {
    return t("internal extension {extension}", { extension: caller.extension ?? caller.raw });
  }
  return t("number withheld");
}

/** The name to show in large type; several customers on the number and none picked: says so. */
export function callerName(card) {
  const several = candidatesOf(card).length;
  if (several && !card.chosen) return t("{count} customers on this number", { count: several });
  const name = card?.summary?.name || card?.caller?.name;
  return name ? String(name) : t("Unknown caller");
}

/** A fresh note id (getRandomValues works on plain http too, unlike randomUUID). */
function newNoteId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function callable(caller) {
  return caller?.kind === "number" && !caller.withheld && caller.e164 ? caller.e164 : null;
}

export class CallCard {
  /**
   * @param {string} callId
   * @param {{me: string, dispositions: string[],
   *          saveNote: (card: CallCard, d: string, t: string) => void,
   *          choose: (card: CallCard, customerId: string) => void,
   *          dial: (number: string) => void, close: (card: CallCard) => void}} ctx
   */
  constructor(callId, ctx) {
    this.callId = callId;
    this.ctx = ctx;
    this.state = "ringing";
    this.direction = "inbound";
    this.queue = "";
    this.answered = false; // this agent was on the call: its end starts wrap-up
    this.transferredAway = false;
    this.card = null;
    this.pendingChoice = null;
    this.stateEl = h("span", { class: "state" });
    this.directionEl = h("span", { class: "direction" });
    this.queueEl = h("span", { class: "queue" });
    this.wrapEl = h("span", { class: "wrap-up", hidden: true });
    this.nameEl = h("h2", { class: "caller-name", id: this.domId("name") });
    this.numberEl = h("p", { class: "caller-number" });
    this.customerEl = h("p", { class: "customer-id" });
    this.matchedEl = h("p", { class: "matched-by" });
    this.choiceStatus = h("p", { class: "choice-status", role: "status" });
    this.flagsEl = h("div", { class: "strip-flags" });
    this.lastEl = h("div", { class: "strip-last" });
    this.bodyEl = h("div", { class: "card-body" });
    this.historyEl = h("div", { class: "card-history" });
    this.notesEl = h("ol", { class: "entries saved-notes", "aria-label": t("Notes on this call") });
    this.noteStatus = h("span", { class: "note-status", role: "status" });
    this.closeBtn = h("button", {
      type: "button",
      class: "close",
      "aria-label": t("Close this card"),
      title: t("Close (c)"),
      text: "×",
      onclick: () => this.ctx.close(this),
    });
    this.element = h(
      "article",
      { class: "call", "data-call-id": callId, tabindex: "-1", "aria-labelledby": this.domId("name") },
      h(
        "header",
        { class: "call-head" },
        this.stateEl,
        this.directionEl,
        this.wrapEl,
        this.queueEl,
        this.closeBtn,
      ),
      h(
        "div",
        { class: "caller summary-strip", "aria-label": t("Summary") },
        h("div", { class: "strip-who" }, this.nameEl, this.numberEl, this.customerEl, this.matchedEl),
        this.flagsEl,
        this.lastEl,
      ),
      this.choiceStatus,
      h(
        "div",
        { class: "call-grid" },
        h("div", { class: "call-main" }, this.bodyEl),
        h("div", { class: "call-side" }, this.historyEl, this.renderNotesBox()),
      ),
    );
    this.setState("ringing");
  }

  domId(part) {
    return `call-${this.callId}`.replace(/[^A-Za-z0-9_-]/g, "_") + `-${part}`;
  }

  /** The call is over for this agent. */
  get finished() {
    return FINAL_STATES.has(this.state) || this.transferredAway;
  }

  /** Over, and this agent was on it: the card stays until closed. */
  get wrapUp() {
    return this.finished && this.answered && (this.state === "ended" || this.transferredAway);
  }

  renderNotesBox() {
    this.dispositionEl = h(
      "select",
      { id: this.domId("disp"), class: "disposition" },
      this.ctx.dispositions.map((d) => h("option", { value: d, text: humanize(d) })),
    );
    this.textEl = h("textarea", {
      id: this.domId("text"),
      class: "note-input",
      rows: "2",
      maxlength: "4000",
      placeholder: t("Note for this call (n)"),
    });
    this.textEl.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        this.save();
      }
    });
    const save = h("button", { type: "submit", class: "save", text: t("Save note") });
    const form = h(
      "form",
      { class: "notes-box", "aria-label": t("Note") },
      h("div", { class: "field" }, h("label", { for: this.domId("disp"), text: t("Disposition") }), this.dispositionEl),
      h("div", { class: "field" }, h("label", { for: this.domId("text"), text: t("Note") }), this.textEl),
      h("div", { class: "note-actions" }, save, h("span", { class: "hint", text: t("Ctrl+Enter") }), this.noteStatus),
      this.notesEl,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.save();
    });
    return form;
  }

  save() {
    setText(this.noteStatus, t("saving…"));
    this.noteStatus.className = "note-status";
    const disposition = this.dispositionEl.value;
    const text = this.textEl.value;
    // A retry of the same note keeps its id, so the daemon stores it once even if the first
    // try was saved but its answer lost.
    const same = this.draft && this.draft.disposition === disposition && this.draft.text === text;
    if (!same) this.draft = { id: newNoteId(), disposition, text };
    this.ctx.saveNote(this, disposition, text, this.draft.id);
  }

  focusNotes() {
    this.textEl.focus();
  }

  noteFailed(reason) {
    setText(this.noteStatus, reason);
    this.noteStatus.className = "note-status failed";
  }

  /** A note the daemon saved (from this tab or another one of the agent's). */
  addNote(note) {
    const queued = note.synced === false;
    setText(this.noteStatus, queued ? t("saved, will sync") : t("saved"));
    this.noteStatus.className = queued ? "note-status queued" : "note-status ok";
    if (this.draft && this.draft.id === note.id) this.draft = null;
    if (this.textEl.value === note.text) this.textEl.value = "";
    this.shownNotes ??= new Set();
    if (note.id && this.shownNotes.has(note.id)) return; // the same note, sent again
    if (note.id) this.shownNotes.add(note.id);
    this.notesEl.prepend(
      h(
        "li",
        { class: "saved-note" },
        h("span", { class: "when", text: formatScalar(note.at) }),
        h("span", { class: "by", text: note.agent ? ` · ${note.agent}` : "" }),
        h("span", { class: "badge disposition", text: note.disposition }),
        note.text ? h("p", { class: "note-text", text: note.text }) : null,
        this.recordLine(note.id, note.records),
      ),
    );
  }

  /** The note's write-back line: per recording connector "synced", "pending" or "failed: why". */
  recordLine(noteId, records) {
    this.recordStates ??= new Map();
    this.recordLines ??= new Map();
    const states = { ...(records || {}), ...(this.recordStates.get(noteId) || {}) };
    this.recordStates.set(noteId, states);
    const line = h("span", { class: "note-records", role: "status" });
    if (noteId) this.recordLines.set(noteId, line);
    this.showRecords(line, states);
    return line;
  }

  /** A `record` message: where the note's write-back to one connector stands now. */
  recordStatus(message) {
    this.recordStates ??= new Map();
    const state = message.state === "failed" ? `failed: ${message.error}` : message.state;
    const states = { ...(this.recordStates.get(message.note_id) || {}), [message.connector]: state };
    this.recordStates.set(message.note_id, states);
    const line = this.recordLines?.get(message.note_id);
    if (line) this.showRecords(line, states);
  }

  showRecords(line, states) {
    const parts = Object.keys(states).sort().map((connector) => {
      const state = String(states[connector]);
      const label = state.startsWith("failed: ")
        ? t("failed: {why}", { why: state.slice("failed: ".length) })
        : state === "synced" ? t("synced") : t("pending");
      return h("span", { class: `record-state ${state.split(":")[0]}`, text: `${connector}: ${label}` });
    });
    replaceChildren(line, ...parts);
  }

  /** The candidates shown, in order (keys 1..9 pick them). */
  get candidates() {
    const list = this.card?.candidates;
    return Array.isArray(list) && list.length > 1 ? list : [];
  }

  /** Ask the daemon to take candidate `customerId` as the caller; the `card` reply shows it. */
  choose(customerId) {
    this.pendingChoice = customerId;
    setText(this.choiceStatus, t("saving the choice…"));
    this.choiceStatus.className = "choice-status";
    this.ctx.choose(this, customerId);
    this.render();
  }

  chooseFailed(reason) {
    this.pendingChoice = null;
    setText(this.choiceStatus, reason);
    this.choiceStatus.className = "choice-status failed";
    this.render();
  }

  setState(state, agent = null) {
    this.state = state;
    if (state === "answered") this.answered = true;
    if (state === "transferred") {
      if (agent && agent !== this.ctx.me) this.transferredAway = true;
      else this.answered = true;
    }
    setText(this.stateEl, this.stateText(state, agent));
    this.wrapEl.hidden = !this.wrapUp;
    setText(this.wrapEl, this.wrapUp ? t("Wrap-up") : "");
    this.element.className = `call state-${state}${this.finished ? " finished" : ""}`;
    this.element.dataset.direction = this.direction;
    this.element.toggleAttribute("data-wrap-up", this.wrapUp);
  }

  /** The call's state as the card's header says it. */
  stateText(state, agent) {
    if (state === "ringing" && this.direction === "outbound") return t("Calling");
    if (state === "answered_elsewhere" && agent) return t("Answered by {agent}", { agent });
    if (state === "transferred" && agent) return t("Transferred to {agent}", { agent });
    return STATE_TEXT[state]?.() ?? humanize(state);
  }

  setPop(message) {
    this.direction = message.direction === "outbound" ? "outbound" : "inbound";
    setText(this.directionEl, this.direction === "outbound" ? t("Outbound") : t("Inbound"));
    this.element.dataset.direction = this.direction;
    this.queue = message.queue ? String(message.queue) : "";
    setText(this.queueEl, this.queue ? t("queue {queue}", { queue: this.queue }) : "");
    this.setCard(message.card);
    this.setState(message.state);
  }

  /** Render (or re-render in place) the card JSON. */
  setCard(card) {
    if (this.pendingChoice !== null && card.chosen === this.pendingChoice) {
      this.pendingChoice = null;
      setText(this.choiceStatus, "");
    }
    this.card = card;
    this.render();
  }

  render() {
    const card = this.card;
    if (!card) return;
    setText(this.nameEl, callerName(card));
    const shown = numberText(card.caller);
    const number = callable(card.caller);
    replaceChildren(this.numberEl, number ? dialButton(number, shown, this.ctx.dial) : shown);
    const valid = card.caller?.valid !== false || card.caller?.kind !== "number";
    this.numberEl.classList.toggle("unverified", !valid);
    const cid = card.summary?.customer_id;
    setText(this.customerEl, cid ? t("customer {id}", { id: cid }) : "");
    setText(this.matchedEl, matchedByText(card));
    const picked = this.pendingChoice ?? card.chosen ?? null;
    replaceChildren(this.flagsEl, renderFlags(card, picked));
    replaceChildren(this.lastEl, renderLastContact(card));
    const active = document.activeElement;
    const hadFocus = this.bodyEl.contains(active);
    const refocus = hadFocus ? active.dataset?.customerId : undefined;
    const open = [...this.bodyEl.querySelectorAll("details.others[open]")].map((d) => d.closest("[data-section]")?.dataset.section);
    replaceChildren(
      this.bodyEl,
      renderCandidates(card, (id) => this.choose(id), this.pendingChoice),
      h("div", { class: "sections" }, renderSections(card, { picked, dial: this.ctx.dial, shownNumber: shown })),
    );
    for (const name of open) {
      this.bodyEl.querySelector(`[data-section="${CSS.escape(name ?? "")}"] details.others`)?.setAttribute("open", "");
    }
    replaceChildren(this.historyEl, renderHistory(card));
    if (hadFocus) {
      const again = refocus && this.bodyEl.querySelector(`[data-customer-id="${CSS.escape(refocus)}"]`);
      (again || this.element).focus();
    }
  }

  /** A short sentence for screen readers about this pop. */
  announcement() {
    const count = this.candidates.length;
    const open = count > 1 && !this.card?.chosen;
    const values = { name: open ? "" : callerName(this.card), count, number: numberText(this.card?.caller) };
    const queue = { ...values, queue: this.queue };
    if (this.direction === "outbound") {
      return open
        ? t("Outbound call to one of {count} customers, {number}", values)
        : t("Outbound call to {name}, {number}", values);
    }
    if (open) {
      return this.queue
        ? t("Incoming call from one of {count} customers, {number}, queue {queue}", queue)
        : t("Incoming call from one of {count} customers, {number}", values);
    }
    return this.queue
      ? t("Incoming call from {name}, {number}, queue {queue}", queue)
      : t("Incoming call from {name}, {number}", values);
  }
}
