// The panels inside a call card: candidates, the dial buttons and previous calls (the
// back-office sections are sections.js).
// Pure rendering: every function returns fresh nodes from the card JSON (untrusted text goes in
// as text nodes only, through dom.js).

import { formatScalar, h, humanize } from "./dom.js";
import { t } from "./i18n.js";

const CALL_STATE_TEXT = {
  ended: () => t("answered"),
  answered: () => t("answered"),
  abandoned: () => t("caller hung up"),
  missed: () => t("missed"),
  transferred: () => t("transferred"),
};

/** A button that dials `number`; its text is what the card shows. */
export function dialButton(number, shown, dial) {
  return h("button", {
    type: "button",
    class: "dial-number",
    "aria-label": t("Call {number}", { number: shown }),
    title: t("Call this number"),
    text: shown,
    onclick: () => dial(number),
  });
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
    { class: "panel history", "aria-label": t("Previous calls") },
    h("header", {}, h("h3", { text: t("Previous calls ({count})", { count: history.length }) })),
    h(
      "ol",
      { class: "entries" },
      history.map((e) => {
        const state = CALL_STATE_TEXT[e.state]?.() ?? (e.state ? humanize(e.state) : null);
        return h(
          "li",
          { class: "history-entry" },
          h("span", { class: "when", text: formatScalar(e.at) }),
          h("span", { class: "by", text: ` · ${e.agent || t("nobody answered")}` }),
          e.queue ? h("span", { class: "queue-name", text: t("queue {queue}", { queue: e.queue }) }) : null,
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
    ? t("Caller: {name}", { name: chosen.name || chosen.customer_id })
    : t("Several customers use this number: who is calling?");
  return h(
    "section",
    { class: `panel candidates${chosen ? "" : " open"}`, "aria-label": t("Which customer") },
    h("header", {}, h("h3", { text: title })),
    h(
      "div",
      { class: "candidate-list", role: "group", "aria-label": t("Customers on this number") },
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
          h("strong", { text: c.name || t("(no name)") }),
          h("span", { class: "muted", text: ` · ${c.customer_id}` }),
          Array.isArray(c.sources) ? h("span", { class: "sources", text: c.sources.join(", ") }) : null,
        );
      }),
    ),
  );
}
