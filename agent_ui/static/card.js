// One call on the agent's screen: caller, customer, sections, history, call state and notes.

import { formatScalar, h, humanize, renderRecord, renderValue, replaceChildren } from "./dom.js";

const SECTION_ORDER = ["accounting", "sales", "credit"];
const FINAL_STATES = new Set(["ended", "abandoned", "missed", "answered_elsewhere"]);
const STATE_TEXT = {
  ringing: "Ringing",
  answered: "On the call",
  answered_elsewhere: "Answered by someone else",
  missed: "Missed",
  transferred: "Transferred",
  ended: "Ended",
  abandoned: "Caller hung up",
};
const STATUS_TEXT = {
  pending: "loading…",
  timeout: "timed out",
  not_found: "not found",
};

/** The number line: national format and region, or why there is no number to show. */
export function numberText(caller) {
  if (!caller) return "number withheld";
  if (caller.kind === "number" && !caller.withheld) {
    const shown = caller.national || caller.e164 || caller.raw || "";
    return caller.region ? `${shown} · ${caller.region}` : shown;
  }
  if (caller.kind === "extension") return `internal extension ${caller.extension ?? caller.raw}`;
  return "number withheld";
}

/** The name to show in large type. */
export function callerName(card) {
  const name = card?.summary?.name || card?.caller?.name;
  return name ? String(name) : "Unknown caller";
}

function sectionNames(sections) {
  const names = Object.keys(sections ?? {});
  const known = SECTION_ORDER.filter((n) => names.includes(n));
  return known.concat(names.filter((n) => !SECTION_ORDER.includes(n)).sort());
}

function statusBadge(section) {
  const status = section?.status ?? "pending";
  let text = STATUS_TEXT[status];
  if (status === "error") text = `error: ${section.error ?? "unknown"}`;
  if (status === "ok") text = section.cached ? "cached" : `${Math.round(section.ms ?? 0)} ms`;
  return h("span", { class: `badge status-${status}`, text });
}

/** Summary fields shown on the card already, left out of a section that says the same. */
function repeated(record, summary) {
  const skip = new Set();
  for (const key of ["name", "customer_id"]) {
    if (summary?.[key] !== undefined && record[key] === summary[key]) skip.add(key);
  }
  return skip;
}

function renderSection(name, section, summary) {
  const data = section?.data;
  let body = null;
  if (Array.isArray(data) && data.length > 0 && typeof data[0] === "object") {
    body = data.map((record, i) =>
      h("div", { class: "match" }, h("h4", { text: `Match ${i + 1}` }), renderRecord(record)),
    );
  } else if (data && typeof data === "object" && !Array.isArray(data)) {
    body = renderRecord(data, repeated(data, summary));
  } else if (data !== null && data !== undefined) {
    body = renderValue(data);
  }
  return h(
    "section",
    { class: `panel section-${section?.status ?? "pending"}`, "data-section": name },
    h("header", {}, h("h3", { text: humanize(name) }), statusBadge(section)),
    body,
  );
}

function renderHistory(history) {
  if (!Array.isArray(history) || history.length === 0) return null;
  const items = [...history].sort((a, b) => String(b.at ?? "").localeCompare(String(a.at ?? "")));
  return h(
    "section",
    { class: "panel history" },
    h("header", {}, h("h3", { text: "Previous calls" })),
    h(
      "ol",
      { class: "entries" },
      items.map((e) =>
        h(
          "li",
          {},
          h("span", { class: "when", text: formatScalar(e.at) }),
          h("span", { class: "by", text: e.agent ? ` · ${e.agent}` : "" }),
          e.disposition ? h("span", { class: "badge", text: e.disposition }) : null,
          e.text ? h("p", { class: "note-text", text: e.text }) : null,
        ),
      ),
    ),
  );
}

function renderCandidates(candidates) {
  if (!Array.isArray(candidates) || candidates.length < 2) return null;
  return h(
    "section",
    { class: "panel candidates" },
    h("header", {}, h("h3", { text: "Several customers use this number" })),
    h(
      "ul",
      {},
      candidates.map((c) =>
        h(
          "li",
          {},
          h("strong", { text: c.name || "(no name)" }),
          ` · ${c.customer_id}`,
          Array.isArray(c.sources) ? h("span", { class: "muted", text: ` (${c.sources.join(", ")})` }) : null,
        ),
      ),
    ),
  );
}

export class CallCard {
  /**
   * @param {string} callId
   * @param {{dispositions: string[], saveNote: (card: CallCard, d: string, t: string) => void,
   *          close: (card: CallCard) => void}} ctx
   */
  constructor(callId, ctx) {
    this.callId = callId;
    this.ctx = ctx;
    this.state = "ringing";
    this.card = null;
    this.stateEl = h("span", { class: "state" });
    this.queueEl = h("span", { class: "queue" });
    this.nameEl = h("h2", { class: "caller-name" });
    this.numberEl = h("p", { class: "caller-number" });
    this.customerEl = h("p", { class: "customer-id" });
    this.bodyEl = h("div", { class: "sections" });
    this.notesEl = h("ol", { class: "entries saved-notes" });
    this.noteStatus = h("span", { class: "note-status", role: "status" });
    this.closeBtn = h("button", {
      type: "button",
      class: "close",
      "aria-label": "Close this card",
      title: "Close",
      text: "×",
      onclick: () => this.ctx.close(this),
    });
    this.element = h(
      "article",
      { class: "call state-ringing", "data-call-id": callId, tabindex: "-1" },
      h("header", { class: "call-head" }, this.stateEl, this.queueEl, this.closeBtn),
      h("div", { class: "caller" }, this.nameEl, this.numberEl, this.customerEl),
      this.bodyEl,
      this.renderNotesBox(),
    );
    this.element.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.finished) this.ctx.close(this);
    });
    this.setState("ringing");
  }

  get finished() {
    return FINAL_STATES.has(this.state);
  }

  renderNotesBox() {
    const id = `note-${this.callId}`.replace(/[^A-Za-z0-9_-]/g, "_");
    this.dispositionEl = h(
      "select",
      { id: `${id}-disp`, class: "disposition", "aria-label": "Disposition" },
      this.ctx.dispositions.map((d) => h("option", { value: d, text: humanize(d) })),
    );
    this.textEl = h("textarea", {
      id: `${id}-text`,
      class: "note-input",
      rows: "2",
      maxlength: "4000",
      placeholder: "Note for this call",
      "aria-label": "Note",
    });
    this.textEl.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) this.save();
    });
    const save = h("button", { type: "submit", class: "save", text: "Save note" });
    const form = h(
      "form",
      { class: "notes-box" },
      this.dispositionEl,
      this.textEl,
      h("div", { class: "note-actions" }, save, this.noteStatus),
      this.notesEl,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.save();
    });
    return form;
  }

  save() {
    this.noteStatus.textContent = "saving…";
    this.noteStatus.className = "note-status";
    this.ctx.saveNote(this, this.dispositionEl.value, this.textEl.value);
  }

  focusNotes() {
    this.textEl.focus();
  }

  noteFailed(reason) {
    this.noteStatus.textContent = reason;
    this.noteStatus.className = "note-status failed";
  }

  /** A note the daemon saved (from this tab or another one of the agent's). */
  addNote(note) {
    this.noteStatus.textContent = "saved";
    this.noteStatus.className = "note-status ok";
    if (this.textEl.value === note.text) this.textEl.value = "";
    this.notesEl.prepend(
      h(
        "li",
        { class: "saved-note" },
        h("span", { class: "when", text: formatScalar(note.at) }),
        h("span", { class: "by", text: note.agent ? ` · ${note.agent}` : "" }),
        h("span", { class: "badge", text: note.disposition }),
        note.text ? h("p", { class: "note-text", text: note.text }) : null,
      ),
    );
  }

  setState(state, agent = null) {
    this.state = state;
    let text = STATE_TEXT[state] ?? humanize(state);
    if (state === "answered_elsewhere" && agent) text = `Answered by ${agent}`;
    if (state === "transferred" && agent) text = `Transferred to ${agent}`;
    this.stateEl.textContent = text;
    this.element.className = `call state-${state}${this.finished ? " finished" : ""}`;
  }

  setQueue(queue) {
    this.queueEl.textContent = queue ? `queue ${queue}` : "";
  }

  /** Render (or re-render in place) the card JSON. */
  setCard(card) {
    this.card = card;
    this.nameEl.textContent = callerName(card);
    this.numberEl.textContent = numberText(card.caller);
    const valid = card.caller?.valid !== false || card.caller?.kind !== "number";
    this.numberEl.classList.toggle("unverified", !valid);
    const cid = card.summary?.customer_id;
    this.customerEl.textContent = cid ? `customer ${cid}` : "";
    const sections = card.sections ?? {};
    replaceChildren(
      this.bodyEl,
      renderCandidates(card.candidates),
      sectionNames(sections).map((name) => renderSection(name, sections[name], card.summary)),
      renderHistory(card.history),
    );
  }
}
