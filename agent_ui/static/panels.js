// The panels inside a call card: candidates, back-office sections and previous calls.
// Pure rendering: every function returns fresh nodes from the card JSON (untrusted text goes in
// as text nodes only, through dom.js).

import { formatScalar, h, humanize, renderRecord, renderValue } from "./dom.js";

const SECTION_ORDER = ["accounting", "sales", "credit"];
const STATUS_TEXT = {
  pending: "loading…",
  timeout: "timed out",
  not_found: "not found",
};
const CALL_STATE_TEXT = {
  ended: "answered",
  answered: "answered",
  abandoned: "caller hung up",
  missed: "missed",
  transferred: "transferred",
};

/** A button that dials `number`; its text is what the card shows. */
export function dialButton(number, shown, dial) {
  return h("button", {
    type: "button",
    class: "dial-number",
    "aria-label": `Call ${shown}`,
    title: "Call this number",
    text: shown,
    onclick: () => dial(number),
  });
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

function renderMatches(records, chosen, opts) {
  return records.map((record, i) => {
    const mine = chosen != null && record.customer_id === chosen;
    const other = chosen != null && record.customer_id != null && !mine;
    return h(
      "div",
      { class: `match${mine ? " chosen" : ""}${other ? " not-chosen" : ""}` },
      h("h4", { text: mine ? `Match ${i + 1} · the caller` : `Match ${i + 1}` }),
      renderRecord(record, new Set(), opts),
    );
  });
}

function renderSection(name, section, card, opts) {
  const data = section?.data;
  let body = null;
  if (Array.isArray(data) && data.length > 0 && typeof data[0] === "object") {
    body = renderMatches(data, card.chosen, opts);
  } else if (data && typeof data === "object" && !Array.isArray(data)) {
    body = renderRecord(data, repeated(data, card.summary), opts);
  } else if (data !== null && data !== undefined) {
    body = renderValue(data, "", opts);
  }
  return h(
    "section",
    { class: `panel section-${section?.status ?? "pending"}`, "data-section": name },
    h("header", {}, h("h3", { text: humanize(name) }), statusBadge(section)),
    body,
  );
}

/** Every section the role may see, in a stable order. */
export function renderSections(card, dial) {
  const sections = card.sections ?? {};
  const opts = { phone: (number) => dialButton(number, number, dial) };
  return sectionNames(sections).map((name) => renderSection(name, sections[name], card, opts));
}

/** The caller's previous calls, newest first (the daemon's order), with who took them. */
export function renderHistory(card) {
  // the call on screen may already be in the call log when the card is built: not "previous"
  const history = (Array.isArray(card.history) ? card.history : []).filter(
    (e) => !e.call_id || e.call_id !== card.call_id,
  );
  if (history.length === 0) return null;
  return h(
    "section",
    { class: "panel history", "aria-label": "Previous calls" },
    h("header", {}, h("h3", { text: `Previous calls (${history.length})` })),
    h(
      "ol",
      { class: "entries" },
      history.map((e) => {
        const state = CALL_STATE_TEXT[e.state] ?? (e.state ? humanize(e.state) : null);
        return h(
          "li",
          { class: "history-entry" },
          h("span", { class: "when", text: formatScalar(e.at) }),
          h("span", { class: "by", text: e.agent ? ` · ${e.agent}` : " · nobody answered" }),
          e.queue ? h("span", { class: "queue-name", text: `queue ${e.queue}` }) : null,
          state && !e.disposition ? h("span", { class: "badge", text: state }) : null,
          e.disposition ? h("span", { class: "badge disposition", text: e.disposition }) : null,
          e.text ? h("p", { class: "note-text", text: e.text }) : null,
        );
      }),
    ),
  );
}

/**
 * The customers that share the caller's number, as buttons (keys 1..9) to say which one calls.
 * `pending` is the customer id just asked for, until the daemon confirms it.
 */
export function renderCandidates(card, choose, pending) {
  const candidates = card.candidates;
  if (!Array.isArray(candidates) || candidates.length < 2) return null;
  const chosen = candidates.find((c) => c.customer_id === card.chosen);
  const title = chosen
    ? `Caller: ${chosen.name || chosen.customer_id}`
    : "Several customers use this number: who is calling?";
  return h(
    "section",
    { class: `panel candidates${chosen ? "" : " open"}`, "aria-label": "Which customer" },
    h("header", {}, h("h3", { text: title })),
    h(
      "div",
      { class: "candidate-list", role: "group", "aria-label": "Customers on this number" },
      candidates.map((c, i) => {
        const picked = c.customer_id === card.chosen;
        return h(
          "button",
          {
            type: "button",
            class: `candidate${picked ? " picked" : ""}`,
            "aria-pressed": picked ? "true" : "false",
            "data-customer-id": c.customer_id,
            "aria-busy": pending === c.customer_id ? "true" : null,
            onclick: () => choose(c.customer_id),
          },
          i < 9 ? h("kbd", { text: String(i + 1) }) : null,
          h("strong", { text: c.name || "(no name)" }),
          h("span", { class: "muted", text: ` · ${c.customer_id}` }),
          Array.isArray(c.sources) ? h("span", { class: "sources", text: c.sources.join(", ") }) : null,
        );
      }),
    ),
  );
}
