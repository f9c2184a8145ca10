// Values as an agent reads them: numbers, money, percentages, dates and times in the page's
// locale (pageLocale) and the center's time zone (pageTimeZone), with `Intl`. One date style
// for every date on the page, whatever the back office sent.

import { pageLocale, pageTimeZone } from "./i18n.js";

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/;
const CURRENCY = /^[A-Za-z]{3}$/;
const DATE_STYLE = { dateStyle: "medium" };
const TIME_STYLE = { dateStyle: "medium", timeStyle: "short" };

const formatters = new Map();

/** A cached Intl formatter for the page's locale (and zone, for dates). */
function formatter(kind, options) {
  const key = `${kind}:${JSON.stringify(options)}`;
  let made = formatters.get(key);
  if (!made) {
    const locale = pageLocale();
    try {
      made = kind === "date" ? new Intl.DateTimeFormat(locale, options) : new Intl.NumberFormat(locale, options);
    } catch {
      // an unknown locale or currency: the browser's default for the same options
      const { currency, ...rest } = options;
      made = kind === "date" ? new Intl.DateTimeFormat(undefined, rest) : new Intl.NumberFormat(undefined, rest);
    }
    formatters.set(key, made);
  }
  return made;
}

/** A number from a number, or from a text that spells one ("42.10"); else null. */
export function toNumber(value) {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && value.trim() !== "") {
    const n = Number(value.trim());
    if (Number.isFinite(n)) return n;
  }
  return null;
}

/** A date or time value as a Date and whether it carries a time, or null. */
function toWhen(value) {
  if (typeof value !== "string") return null;
  const text = value.trim();
  if (DATE_ONLY.test(text)) return { date: new Date(`${text}T00:00:00Z`), timed: false };
  if (!ISO_TIME.test(text)) return null;
  const date = new Date(text.replace(" ", "T"));
  return Number.isNaN(date.getTime()) ? null : { date, timed: true };
}

/** `value` as a date: the calendar day (a date with no time is that day, in any zone). */
export function formatDate(value) {
  const when = toWhen(value);
  if (!when) return value == null || value === "" ? "—" : String(value);
  const zone = when.timed ? pageTimeZone() : "UTC";
  return formatter("date", { ...DATE_STYLE, timeZone: zone }).format(when.date);
}

/** `value` as a date and time in the center's zone (a date alone shows as the date). */
export function formatDateTime(value) {
  const when = toWhen(value);
  if (!when) return value == null || value === "" ? "—" : String(value);
  if (!when.timed) return formatDate(value);
  return formatter("date", { ...TIME_STYLE, timeZone: pageTimeZone() }).format(when.date);
}

/** True for a text the page shows as a date or a time (an ISO date, with or without time). */
export function looksLikeWhen(value) {
  return toWhen(value) !== null;
}

/** An amount with its currency sign; a missing or unknown code shows the number alone. */
export function formatMoney(value, currency) {
  const n = toNumber(value);
  if (n === null) return value == null || value === "" ? "—" : String(value);
  if (typeof currency === "string" && CURRENCY.test(currency)) {
    return formatter("number", { style: "currency", currency: currency.toUpperCase() }).format(n);
  }
  return formatter("number", { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(n);
}

export function formatNumber(value) {
  const n = toNumber(value);
  if (n === null) return value == null || value === "" ? "—" : String(value);
  return formatter("number", { maximumFractionDigits: 2 }).format(n);
}

/** A fraction as a percentage: 0.25 -> 25 %. */
export function formatPercent(value) {
  const n = toNumber(value);
  if (n === null) return value == null || value === "" ? "—" : String(value);
  return formatter("number", { style: "percent", maximumFractionDigits: 1 }).format(n);
}

/** The value at a dotted `path` of `record` (undefined when any part is missing). */
export function pick(record, path) {
  let value = record;
  for (const part of String(path).split(".")) {
    if (value === null || typeof value !== "object" || Array.isArray(value) || !Object.hasOwn(value, part)) {
      return undefined;
    }
    value = value[part];
  }
  return value;
}

/** The currency of a money field for `record`: the row's own (currency_path), else the fixed one. */
export function currencyOf(field, record) {
  const own = field.currency_path ? pick(record, field.currency_path) : undefined;
  return typeof own === "string" && CURRENCY.test(own) ? own : field.currency;
}

/** A scalar `value` of a layout field (`{format, currency, currency_path}`) as text. */
export function formatField(value, field, record) {
  if (value === null || value === undefined || value === "") return "—";
  switch (field.format) {
    case "money":
      return formatMoney(value, currencyOf(field, record));
    case "number":
      return formatNumber(value);
    case "percent":
      return formatPercent(value);
    case "date":
      return formatDate(value);
    case "datetime":
      return formatDateTime(value);
    default:
      if (typeof value === "boolean") return value ? "yes" : "no";
      return typeof value === "object" ? JSON.stringify(value) : String(value);
  }
}
