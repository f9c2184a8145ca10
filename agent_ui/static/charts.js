// Small SVG charts drawn in the browser, no library: a line (with a marker per point) or bars,
// one value per label. Each chart is a <figure> whose <svg> has role="img", a <title> and a
// <desc> for screen readers, and a <title> on every point or bar (its label and value) that
// browsers show as a tooltip. Text goes in as text nodes only (dom.js's safeText).

import { h, safeText } from "./dom.js";

const NS = "http://www.w3.org/2000/svg";
const W = 560;
const H = 220;
const M = { left: 56, right: 12, top: 12, bottom: 32 };
let serial = 0;

function el(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  for (const child of children) {
    node.append(typeof child === "string" ? document.createTextNode(safeText(child)) : child);
  }
  return node;
}

/**
 * A chart as a <figure>. `kind`: "line" or "bar"; `labels` and `values` (numbers, or null where
 * there is nothing to show) are one per interval; `max`: the top of the scale (default: the
 * largest value); `format(value)`: how a value reads in the tooltips and the scale; `summary`:
 * the <desc> text; `empty`: what the chart says when it has no value.
 */
export function chart({ id, title, kind, labels, values, max, format = String, summary = "", empty = "" }) {
  serial += 1;
  const titleId = `chart-title-${serial}`;
  const descId = `chart-desc-${serial}`;
  const svg = el("svg", {
    viewBox: `0 0 ${W} ${H}`,
    role: "img",
    "aria-labelledby": `${titleId} ${descId}`,
    class: `chart-svg chart-${kind}`,
  });
  svg.append(el("title", { id: titleId }, title), el("desc", { id: descId }, summary));
  const shown = values.filter((v) => v !== null && Number.isFinite(v));
  const top = max ?? roundUp(Math.max(1, ...shown));
  drawAxes(svg, top, format);
  if (!shown.length) {
    svg.append(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty" }, empty));
  } else if (kind === "bar") {
    drawBars(svg, labels, values, top, format);
  } else {
    drawLine(svg, labels, values, top, format);
  }
  drawLabels(svg, labels);
  return h("figure", { class: "chart", "data-chart": id }, h("figcaption", { text: title }), svg);
}

/** The smallest of 1, 2, 2.5, 5 times a power of ten that is at least `value`: a scale's top. */
function roundUp(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 2.5, 5, 10].map((m) => m * power).find((top) => top >= value);
}

const plotW = W - M.left - M.right;
const plotH = H - M.top - M.bottom;
const yOf = (value, top) => M.top + plotH - (plotH * Math.max(0, Math.min(value, top))) / top;
const slot = (count) => plotW / Math.max(count, 1);
const xOf = (index, count) => M.left + slot(count) * (index + 0.5);

function drawAxes(svg, top, format) {
  for (const share of [0, 0.5, 1]) {
    const y = yOf(top * share, top);
    svg.append(el("line", { x1: M.left, x2: W - M.right, y1: y, y2: y, class: "axis" }));
    svg.append(el("text", { x: M.left - 6, y: y + 4, "text-anchor": "end", class: "tick" },
      format(top * share)));
  }
}

function drawLabels(svg, labels) {
  const every = Math.max(1, Math.ceil(labels.length / 8));
  labels.forEach((label, i) => {
    if (i % every) return;
    svg.append(el("text", { x: xOf(i, labels.length), y: H - 10, "text-anchor": "middle",
      class: "tick" }, label));
  });
}

function drawBars(svg, labels, values, top, format) {
  const width = slot(values.length) * 0.7;
  values.forEach((value, i) => {
    if (value === null) return;
    const y = yOf(value, top);
    svg.append(el("rect", {
      x: xOf(i, values.length) - width / 2, y, width, height: M.top + plotH - y, class: "bar",
      "data-value": value,
    }, el("title", {}, `${labels[i]}: ${format(value)}`)));
  });
}

function drawLine(svg, labels, values, top, format) {
  const points = [];
  values.forEach((value, i) => {
    if (value === null || !Number.isFinite(value)) return;
    points.push([xOf(i, values.length), yOf(value, top), i, value]);
  });
  svg.append(el("polyline", { points: points.map(([x, y]) => `${x},${y}`).join(" "), class: "line" }));
  for (const [x, y, i, value] of points) {
    svg.append(el("circle", { cx: x, cy: y, r: 3.5, class: "point", "data-value": value },
      el("title", {}, `${labels[i]}: ${format(value)}`)));
  }
}
