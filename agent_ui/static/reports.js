// The Reports page: asks GET /api/reports/{kind}?format=json for what the form says, then draws
// the charts (charts.js) and the table; "Download CSV" is the same request with format=csv.
// Every value goes in as text (dom.js). The figures are the daemon's; this page only adds up
// the intervals of several queues (or agents) for the charts.

import { chart } from "./charts.js";
import { h, replaceChildren, setText } from "./dom.js";
import { pageLocale, t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const els = {
  form: $("report-form"),
  kind: $("kind"),
  download: $("download"),
  status: $("report-status"),
  charts: $("charts"),
  table: $("report-table"),
  tableTitle: $("table-title"),
};
const number = new Intl.NumberFormat(pageLocale(), { maximumFractionDigits: 1 });
const fmt = (value) => number.format(value);
const percent = (value) => `${number.format(value)} %`;
const seconds = (value) => `${number.format(value)} s`;

function query(format) {
  const data = new FormData(els.form);
  const params = new URLSearchParams();
  for (const key of ["from", "to", "interval", "queue"]) {
    const value = String(data.get(key) || "").trim();
    if (value) params.set(key, value);
  }
  params.set("format", format);
  return `/api/reports/${encodeURIComponent(String(data.get("kind")))}?${params}`;
}

async function show(event) {
  event?.preventDefault();
  els.status.classList.remove("error");
  setText(els.status, t("Loading…"));
  let body;
  try {
    const response = await fetch(query("json"), { credentials: "same-origin" });
    body = await response.json();
    if (!response.ok) throw new Error(body.error || String(response.status));
  } catch (error) {
    els.status.classList.add("error");
    setText(els.status, t("The report could not be read: {reason}", { reason: error.message }));
    return;
  }
  render(body);
}

function render(report) {
  const rows = report.rows;
  setText(els.status, rows.length
    ? t("{count} rows, {from} to {to}", { count: rows.length, from: report.from, to: report.to })
    : t("No calls in this range."));
  els.download.href = query("csv");
  els.download.hidden = false;
  replaceChildren(els.charts, ...chartsOf(report));
  renderTable(report);
}

function renderTable(report) {
  els.tableTitle.hidden = false;
  const head = h("thead", {}, h("tr", {}, report.columns.map((c) => h("th", { scope: "col", text: c }))));
  const body = h("tbody", {}, report.rows.map((row) =>
    h("tr", {}, report.columns.map((c) => h("td", { text: cell(row[c]) })))));
  replaceChildren(els.table, h("caption", { class: "muted", text: t("{kind} report", { kind: report.kind }) }),
    head, body);
}

function cell(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "number" ? fmt(value) : String(value);
}

/** Each interval's rows added up (several queues or agents in one interval). */
function byInterval(rows, report) {
  const sums = new Map();
  for (const row of rows) {
    const key = String(row.interval_start);
    if (!sums.has(key)) sums.set(key, {});
    const into = sums.get(key);
    for (const [column, value] of Object.entries(row)) {
      if (typeof value === "number") into[column] = (into[column] || 0) + value;
    }
  }
  const keys = [...sums.keys()].sort();  // ISO local times: in time order
  return { labels: keys.map((k) => label(k, report.interval, keys)), sums: keys.map((k) => sums.get(k)) };
}

function label(start, interval, all) {
  if (interval === "15m" || interval === "hour") {
    const oneDay = all.every((s) => s.slice(0, 10) === all[0].slice(0, 10));
    return oneDay ? start.slice(11, 16) : `${start.slice(5, 10)} ${start.slice(11, 16)}`;
  }
  if (interval === "day" || interval === "week") return start.slice(5, 10);
  if (interval === "month") return start.slice(0, 7);
  return start;
}

const ratio = (part, whole) => (whole > 0 ? (100 * part) / whole : null);

function chartsOf(report) {
  const empty = t("No calls in this range.");
  if (report.kind === "queues") {
    const { labels, sums } = byInterval(report.rows, report);
    const level = sums.map((s) => ratio(s.answered_within_sl || 0, (s.answered || 0) + (s.abandoned || 0)));
    return [
      chart({ id: "service-level", title: t("Service level (%)"), kind: "line", labels, values: level,
        max: 100, format: percent, empty,
        summary: t("Share of the calls answered within the service level, per interval") }),
      chart({ id: "offered", title: t("Offered calls"), kind: "bar", labels,
        values: sums.map((s) => s.offered || 0), format: fmt, empty,
        summary: t("Calls that reached a queue, per interval") }),
      chart({ id: "abandon-rate", title: t("Abandon rate (%)"), kind: "line", labels,
        values: sums.map((s) => ratio(s.abandoned || 0, s.offered || 0)), max: 100, format: percent, empty,
        summary: t("Share of the offered calls whose caller hung up before an answer, per interval") }),
    ];
  }
  if (report.kind === "agents") return agentCharts(report, empty);
  if (report.kind === "dispositions") {
    const totals = new Map();
    for (const row of report.rows) totals.set(row.disposition, (totals.get(row.disposition) || 0) + row.calls);
    return [chart({ id: "dispositions", title: t("Calls per disposition"), kind: "bar",
      labels: [...totals.keys()], values: [...totals.values()], format: fmt, empty,
      summary: t("Calls per disposition over the whole range") })];
  }
  if (report.kind === "callbacks") {
    const { labels, sums } = byInterval(report.rows, report);
    return [
      chart({ id: "callbacks", title: t("Callback items"), kind: "bar", labels,
        values: sums.map((s) => s.created || 0), format: fmt, empty,
        summary: t("Callers who gave up or were missed and became callback items, per interval") }),
      chart({ id: "called-back", title: t("Called back (%)"), kind: "line", labels,
        values: sums.map((s) => ratio(s.called_back || 0, s.created || 0)), max: 100, format: percent, empty,
        summary: t("Share of the callback items an agent called back, per interval") }),
    ];
  }
  return [];
}

function agentCharts(report, empty) {
  const agents = new Map();
  for (const row of report.rows) {
    const a = agents.get(row.agent_id) || { handled: 0, handle: 0 };
    a.handled += row.handled || 0;
    a.handle += (row.talk_s || 0) + (row.wrap_s || 0);
    agents.set(row.agent_id, a);
  }
  const { labels, sums } = byInterval(report.rows, report);
  return [
    chart({ id: "handle-time", title: t("Average handle time per agent (s)"), kind: "bar",
      labels: [...agents.keys()], values: [...agents.values()].map((a) => (a.handled ? a.handle / a.handled : null)),
      format: seconds, empty, summary: t("Talk and wrap-up time per call handled, over the whole range") }),
    chart({ id: "handled", title: t("Calls handled"), kind: "bar", labels,
      values: sums.map((s) => s.handled || 0), format: fmt, empty,
      summary: t("Calls the agents answered, per interval") }),
  ];
}

els.form.addEventListener("submit", show);
show();
