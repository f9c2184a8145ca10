// The back-office sections of a card, shown as ops laid them out (`[sections.NAME]`, given to
// the page in <script type="application/json" id="layouts">): the listed fields first, with
// labels and formats, flagged fields marked, the "open in" link; the fields not listed follow.
// With several customers on the number, a section shows the picked customer's rows; the
// others' rows stay behind a toggle. Pure rendering: fresh nodes from the card JSON, untrusted
// text as text nodes only (dom.js).

import { fillCreateForms } from "./create.js";
import { h, humanize, phoneLike, renderValue } from "./dom.js";
import { formatField, pick } from "./format.js";
import { t } from "./i18n.js";
import { dialButton } from "./panels.js";

const STATUS_TEXT = {
  pending: () => t("loading…"),
  timeout: () => t("timed out"),
  not_found: () => t("not found"),
};

const layouts = readLayouts();

function readLayouts() {
  const node = document.getElementById("layouts");
  try {
    const parsed = JSON.parse(node?.textContent || "{}");
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

/** The layout of section `name` (fields may be empty: everything shows as before). */
export function layoutOf(name) {
  const layout = layouts[name];
  return { fields: Array.isArray(layout?.fields) ? layout.fields : [] };
}

const isRecord = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

function recordsOf(section) {
  const data = section?.data;
  if (Array.isArray(data)) return data.filter(isRecord);
  return isRecord(data) ? [data] : [];
}

/** The candidates shown on the card (more than one customer on the number), else []. */
export function candidatesOf(card) {
  return Array.isArray(card?.candidates) && card.candidates.length > 1 ? card.candidates : [];
}

/**
 * Split a section's rows: `mine`, about the picked customer (every row when the number has one
 * customer), and `others`, the other customers' rows. Nobody picked yet: every row is "others".
 */
export function splitRows(section, card, picked) {
  const rows = recordsOf(section);
  if (candidatesOf(card).length === 0) return { mine: rows, others: [] };
  if (picked == null) return { mine: [], others: rows };
  const mine = rows.filter((r) => r.customer_id == null || r.customer_id === "" || r.customer_id === picked);
  return { mine, others: rows.filter((r) => !mine.includes(r)) };
}

function statusBadge(section) {
  const status = section?.status ?? "pending";
  let text = STATUS_TEXT[status]?.() ?? status;
  if (status === "error") text = t("error: {reason}", { reason: section.error ?? "unknown" });
  if (status === "ok") text = section.cached ? t("cached") : t("{ms} ms", { ms: Math.round(section.ms ?? 0) });
  return h("span", { class: `badge status-${status}`, text });
}

function openLink(name, section) {
  const href = typeof section?.link === "string" ? section.link : "";
  if (!/^https?:\/\//i.test(href)) return null;
  return h("a", {
    class: "open-in",
    href,
    target: "_blank",
    rel: "noopener noreferrer",
    text: t("open in {section}", { section: humanize(name) }),
  });
}

function renderList(rows, field) {
  if (!Array.isArray(rows) || !rows.every(isRecord)) return renderValue(rows, field.path);
  if (rows.length === 0) return h("span", { class: "muted", text: t("none") });
  const columns = Array.isArray(field.columns) ? field.columns : [];
  const head = h("tr", {}, columns.map((c) => h("th", { scope: "col", text: c.label || humanize(c.path) })));
  const body = rows.map((row) =>
    h(
      "tr",
      {},
      columns.map((c) => {
        const numeric = ["money", "number", "percent"].includes(c.format);
        return h("td", { class: numeric ? "num" : null, text: formatField(pick(row, c.path), c, row) });
      }),
    ),
  );
  return h("table", { class: "mini" }, h("thead", {}, head), h("tbody", {}, body));
}

function fieldValue(record, field, opts) {
  const value = pick(record, field.path);
  if (field.format === "list") return renderList(value, field);
  if ((field.format ?? "text") === "text" && opts.phone && phoneLike(value, field.path)) {
    return opts.phone(value.trim());
  }
  const numeric = ["money", "number", "percent"].includes(field.format);
  return h("span", { class: numeric ? "num" : null, text: formatField(value, field, record) });
}

/** Keys shown already: the listed fields' top-level keys (and the currency fields their amounts
 * show as a sign), and the summary's own. */
function shownKeys(fields, record, summary) {
  const used = fields.flatMap((f) => [f.path, f.currency_path].filter(Boolean));
  const skip = new Set(used.map((path) => String(path).split(".")[0]));
  for (const key of ["name", "customer_id"]) {
    if (summary?.[key] !== undefined && record[key] === summary[key]) skip.add(key);
  }
  return skip;
}

/** One row: the listed fields (flagged ones marked), then every other field as before. */
export function renderRecord(record, layout, flags, summary, opts) {
  const list = h("dl", { class: "kv" });
  const row = (path, label, value) => {
    const raised = flags.filter((f) => f.field === path);
    const level = raised.find((f) => f.level === "alert") ?? raised.find((f) => f.level === "warn") ?? raised[0];
    const mark = level ? `flagged flagged-${level.level}` : null;
    list.append(
      h("dt", { class: mark, "data-field": path, text: label }),
      h(
        "dd",
        { class: mark, "data-field": path },
        value,
        raised.map((f) => h("span", { class: `flag-text flag-${f.level}`, text: f.text })),
      ),
    );
  };
  for (const field of layout.fields) {
    row(field.path, field.label || humanize(field.path), fieldValue(record, field, opts));
  }
  const skip = shownKeys(layout.fields, record, summary);
  for (const [key, value] of Object.entries(record)) {
    if (!skip.has(key)) row(key, humanize(key), renderValue(value, key, opts));
  }
  return list;
}

function customerLabel(card, record) {
  const found = candidatesOf(card).find((c) => c.customer_id === record.customer_id);
  const name = found?.name || record.name;
  return [name, record.customer_id].filter(Boolean).join(" · ") || t("(no customer id)");
}

function renderRows(rows, layout, flags, card, opts) {
  if (rows.length === 1) return renderRecord(rows[0], layout, flags, card.summary, opts);
  return rows.map((row, i) =>
    h("div", { class: "match" }, h("h4", { text: t("Match {n}", { n: i + 1 }) }), renderRecord(row, layout, flags, {}, opts)),
  );
}

function renderOthers(rows, layout, card, picked, opts) {
  if (rows.length === 0) return null;
  const label =
    picked == null
      ? t("Show the rows of every customer on this number ({count})", { count: rows.length })
      : t("Other customers on this number ({count})", { count: rows.length });
  return h(
    "details",
    { class: "others" },
    h("summary", { text: label }),
    rows.map((row) =>
      h(
        "div",
        { class: "match other", "data-customer-id": row.customer_id ?? "" },
        h("h4", { text: customerLabel(card, row) }),
        renderRecord(row, layout, [], {}, opts),
      ),
    ),
  );
}

function sectionBody(name, section, card, picked, opts) {
  const data = section?.data;
  if (data === null || data === undefined) return null;
  if (!isRecord(data) && !(Array.isArray(data) && data.some(isRecord))) return renderValue(data, "", opts);
  const layout = layoutOf(name);
  const flags = (Array.isArray(card.flags) ? card.flags : []).filter(
    (f) => f.section === name && (f.customer_id == null || f.customer_id === picked),
  );
  const { mine, others } = splitRows(section, card, picked);
  let lead = null;
  if (mine.length) lead = renderRows(mine, layout, flags, card, opts);
  else if (picked == null) lead = h("p", { class: "muted pick-first", text: t("Pick the caller above to see their data.") });
  else lead = h("p", { class: "muted", text: t("Nothing here for the picked customer.") });
  return [lead, renderOthers(others, layout, card, picked, opts)];
}

function renderSection(name, section, card, picked, opts) {
  return h(
    "section",
    { class: `panel section-${section?.status ?? "pending"}`, "data-section": name },
    h("header", {}, h("h3", { text: humanize(name) }), openLink(name, section), statusBadge(section)),
    sectionBody(name, section, card, picked, opts),
  );
}

/** True once no section is loading and none found the caller: one "no customer" notice. */
export function nobodyFound(card) {
  const sections = Object.values(card?.sections ?? {});
  if (sections.length === 0) return false;
  const waiting = sections.some((s) => (s?.status ?? "pending") === "pending");
  return !waiting && !sections.some((s) => s?.status === "ok") && sections.some((s) => s?.status === "not_found");
}

function noCustomer(card, shownNumber) {
  const actions = h("div", { class: "no-customer-actions" });
  fillCreateForms(actions, card.call_id);
  return h(
    "section",
    { class: "panel no-customer", role: "status" },
    h("h3", { text: t("No customer found for this number") }),
    shownNumber ? h("p", { class: "no-customer-number", text: shownNumber }) : null,
    actions,
  );
}

/**
 * Every section the role may see, in the card's order. `picked`: the customer shown (the one
 * chosen, or being chosen), when several share the number. An unknown caller gets one notice
 * instead of a "not found" per section; sections that failed or timed out still show.
 */
export function renderSections(card, { picked = null, dial, shownNumber = "" }) {
  const sections = card.sections ?? {};
  const opts = { phone: (number) => dialButton(number, number, dial) };
  const none = nobodyFound(card);
  const panels = Object.keys(sections)
    .filter((name) => !(none && sections[name]?.status === "not_found"))
    .map((name) => renderSection(name, sections[name], card, picked, opts));
  return none ? [noCustomer(card, shownNumber), ...panels] : panels;
}
