// "Create customer in <connector>": on an unknown caller's card, one form per connector the
// agent's role may create with (GET /api/create-forms, asked once), with the fields that
// connector declares (`create_fields`: labels, input types, required). Submitting POSTs
// /api/calls/<id>/create; the daemon rebuilds the card and every tab gets it.

import { h, setText } from "./dom.js";
import { t } from "./i18n.js";

const INPUT_TYPES = { email: "email", phone: "tel", number: "number" };
let forms = null;

function loadForms() {
  forms ??= fetch("/api/create-forms")
    .then((response) => (response.ok ? response.json() : { forms: [] }))
    .then((body) => (Array.isArray(body.forms) ? body.forms : []))
    .catch(() => {
      forms = null;
      return [];
    });
  return forms;
}

function input(field, id) {
  const attrs = { id, name: field.name, required: Boolean(field.required) };
  if (field.type === "choice") {
    const options = (field.choices ?? []).map((choice) => h("option", { value: choice, text: choice }));
    return h("select", attrs, field.required ? null : h("option", { value: "", text: "" }), options);
  }
  return h("input", { ...attrs, type: INPUT_TYPES[field.type] ?? "text", step: field.type === "number" ? "any" : null });
}

function createForm(callId, spec) {
  const status = h("p", { class: "create-status", role: "status" });
  const rows = spec.fields.map((field) => {
    const id = `create-${callId}-${spec.connector}-${field.name}`;
    return h("p", { class: "create-field" }, h("label", { for: id, text: field.label }), " ", input(field, id));
  });
  const button = h("button", { type: "submit", text: t("Create customer") });
  async function submit(event) {
    event.preventDefault();
    const fields = {};
    for (const field of spec.fields) fields[field.name] = event.target.elements[field.name].value;
    button.disabled = true;
    setText(status, t("Creating…"));
    try {
      const response = await fetch(`/api/calls/${encodeURIComponent(callId)}/create`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ connector: spec.connector, fields }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(body.error || String(response.status));
      setText(status, t("Created: the card is updating"));
    } catch (error) {
      setText(status, t("Not created: {reason}", { reason: error.message }));
      button.disabled = false;
    }
  }
  return h(
    "form",
    { class: "create-form", "data-connector": spec.connector, onsubmit: submit },
    h("h4", { text: t("Create customer in {connector}", { connector: spec.connector }) }),
    rows,
    button,
    status,
  );
}

/** Fill an unknown caller's actions area with the create forms of the agent's role. */
export function fillCreateForms(actions, callId) {
  if (!callId) return;
  loadForms().then((specs) => actions.append(...specs.map((spec) => createForm(callId, spec))));
}
