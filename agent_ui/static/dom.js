import { formatDateTime, looksLikeWhen } from "./format.js";
import { pageLocale, t } from "./i18n.js";

// Small DOM helpers. Every piece of text goes in as a text node: nothing here parses HTML, so
// names and connector data (untrusted) can never become markup or script. Every piece of text
// also goes through `safeText` (via `h`, `append` or `setText`): nothing else on the pages writes
// text, so a caller name cannot reorder what is shown around it or hide characters.

// Bidi embeddings/overrides (U+202A-202E), isolates (U+2066-2069), the LRM/RLM/ALM marks, C0
// controls but tab and newline, DEL and C1 controls.
const UNSAFE_CHARS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;

/**
 * `value` as text that is safe to show: bidi controls and control characters removed (tab and
 * newline kept for multi-line text such as notes). Use it, through `h`/`append`/`setText`, for
 * anything that comes from a caller, a PBX or a connector.
 */
export function safeText(value) {
  return String(value).replace(UNSAFE_CHARS, "");
}

/** Set `node`'s text to `value`, made safe; a no-op when it already shows exactly that. */
export function setText(node, value) {
  const text = safeText(value);
  if (node.textContent !== text) node.textContent = text;
  return node;
}

/**
 * Create an element. `attrs`: `class`, `text` (textContent), `on<event>` handlers, anything else
 * as an attribute. `children`: nodes, strings (as text), null/undefined/false (skipped), arrays.
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = safeText(value);
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else node.setAttribute(key, value === true ? "" : safeText(value));
  }
  append(node, children);
  return node;
}

/** Append children (nodes, strings as text nodes, nested arrays); skips empty values. */
export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(safeText(child)));
  }
  return node;
}

/** Replace all children of `node`. */
export function replaceChildren(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

/** `last_payment_at` -> `Last payment at`. */
export function humanize(key) {
  const words = String(key).replace(/[_-]+/g, " ").replace(/([a-z])([A-Z])/g, "$1 $2").trim();
  return words ? words[0].toUpperCase() + words.slice(1) : "";
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

const MONEY_KEY = /balance|amount|price|total|paid|payment|limit|due/i;

/**
 * A scalar value as text: numbers grouped in the page's locale (money-like keys with two
 * decimals), booleans as yes/no (in the page's language), ISO dates and times in the page's one date style, times in the
 * center's time zone (format.js).
 */
export function formatScalar(value, key = "") {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return value ? t("yes") : t("no");
  if (typeof value === "number") {
    const digits = MONEY_KEY.test(key) ? 2 : 0;
    return value.toLocaleString(pageLocale(), {
      minimumFractionDigits: digits,
      maximumFractionDigits: 2,
    });
  }
  const text = String(value);
  if (looksLikeWhen(text)) return formatDateTime(text);
  return text;
}

const isRecord = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

const PHONE_KEY = /phone|mobile|cell|tel|fax|contact_number|^number$/i;
const PHONE_TEXT = /^\+?[\d\s().\/-]+$/;

/**
 * True for a value that looks like a phone number someone would call: a string of digits and
 * the usual separators under a phone-like key, or in international form (`+...`) under any key.
 */
export function phoneLike(value, key = "") {
  if (typeof value !== "string") return false;
  const text = value.trim();
  if (!PHONE_TEXT.test(text) || ISO_TIME.test(text) || /^\d{4}-\d{2}-\d{2}$/.test(text)) {
    return false;
  }
  const digits = text.replace(/\D/g, "").length;
  if (digits < 7 || digits > 15) return false;
  return text.startsWith("+") || PHONE_KEY.test(key);
}

/**
 * Any JSON value as readable markup: records as key/value lists, lists of records as tables.
 * `key` is the field the value belongs to (it decides how numbers look). `opts.phone(text)`,
 * when given, renders a phone-like value (a dial button, say).
 */
export function renderValue(value, key = "", opts = {}) {
  if (Array.isArray(value)) {
    if (value.length === 0) return h("span", { class: "muted", text: t("none") });
    if (value.every(isRecord)) return renderTable(value, opts);
    if (opts.phone && value.some((v) => phoneLike(v, key))) {
      return h("span", {}, value.map((v, i) => [i ? ", " : null, renderValue(v, key, opts)]));
    }
    return h("span", { text: value.map((v) => formatScalar(v, key)).join(", ") });
  }
  if (isRecord(value)) return renderRecord(value, new Set(), opts);
  if (opts.phone && phoneLike(value, key)) return opts.phone(value.trim());
  const numeric = typeof value === "number";
  return h("span", { class: numeric ? "num" : null, text: formatScalar(value, key) });
}

/** A record as a definition list, leaving out the keys in `skip`. */
export function renderRecord(record, skip = new Set(), opts = {}) {
  const list = h("dl", { class: "kv" });
  for (const [key, value] of Object.entries(record)) {
    if (skip.has(key)) continue;
    list.append(h("dt", { text: humanize(key) }), h("dd", {}, renderValue(value, key, opts)));
  }
  return list;
}

/** A list of records as a small table whose columns are the union of their keys. */
export function renderTable(rows, opts = {}) {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const head = h("tr", {}, columns.map((c) => h("th", { scope: "col", text: humanize(c) })));
  const body = rows.map((row) =>
    h("tr", {}, columns.map((c) => h("td", {}, renderValue(row[c], c, opts)))),
  );
  return h("table", { class: "mini" }, h("thead", {}, head), h("tbody", {}, body));
}
