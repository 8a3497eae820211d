// The graph of a range query: one SVG with grid, axes (UTC times, SI-suffixed values), a line
// per series broken at gaps, a hover readout, and a legend that toggles series.
"use strict";

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
  "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"];
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
  43200, 86400, 172800, 604800, 2592000, 31536000];

/** A value with an SI suffix past a thousand: 1.5k, 2M; small values keep 4 significant digits. */
function formatValue(v) {
  if (!isFinite(v)) return String(v);
  const abs = Math.abs(v);
  for (const [size, suffix] of [[1e15, "P"], [1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]]) {
    if (abs >= size) return parseFloat((v / size).toPrecision(4)) + suffix;
  }
  return String(parseFloat(v.toPrecision(4)));
}

/** About `count` round ticks covering [lo, hi], and the widened domain they span. */
function valueTicks(lo, hi, count) {
  const raw = (hi - lo) / count;
  const magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map(f => f * magnitude).find(s => s >= raw) || 10 * magnitude;
  const first = Math.floor(lo / step) * step, last = Math.ceil(hi / step) * step;
  const ticks = [];
  for (let v = first; v <= last + step / 2; v += step) ticks.push(Math.abs(v) < step / 1e6 ? 0 : v);
  return {ticks, lo: first, hi: last};
}

/** Round UTC times between start and end, about `count` of them, with their labels. */
function timeTicks(start, end, count) {
  const span = end - start;
  const step = TIME_STEPS.find(s => s >= span / count) || TIME_STEPS[TIME_STEPS.length - 1];
  const ticks = [];
  for (let t = Math.ceil(start / step) * step; t <= end; t += step) {
    const d = new Date(t * 1000);
    const hm = pad2(d.getUTCHours()) + ":" + pad2(d.getUTCMinutes());
    const day = pad2(d.getUTCMonth() + 1) + "-" + pad2(d.getUTCDate());
    const label = step >= 86400 ? day : span > 86400 ? day + " " + hm : step < 60 ? hm + ":" + pad2(d.getUTCSeconds()) : hm;
    ticks.push({t, label});
  }
  return ticks;
}

/**
 * Draws `result` (a matrix) into `container`: {start, end, step} in seconds.
 * Returns nothing; an empty result draws a note instead of a graph.
 */
function drawGraph(container, result, range) {
  container.replaceChildren();
  const series = result.map((s, i) => ({
    metric: s.metric,
    color: PALETTE[i % PALETTE.length],
    points: (s.values || []).map(([t, v]) => [t, parseFloat(v)]),
    hidden: false,
  }));
  if (series.length === 0) {
    container.appendChild(el("div", {class: "muted empty"}, "No datapoints found."));
    return;
  }
  const W = Math.max(container.clientWidth || 900, 400), H = 360;
  const M = {left: 64, right: 16, top: 10, bottom: 28};
  const svg = el("svg", {class: "graph", width: W, height: H, viewBox: `0 0 ${W} ${H}`, "data-series": series.length});
  const x = t => M.left + (t - range.start) / (range.end - range.start) * (W - M.left - M.right);
  const plot = el("g", {class: "lines"});
  const axes = el("g", {class: "axes"});
  svg.append(axes, plot);

  function render() {
    axes.replaceChildren();
    plot.replaceChildren();
    let lo = Infinity, hi = -Infinity;
    for (const s of series) if (!s.hidden) for (const [, v] of s.points) if (isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    if (lo === hi) { const pad = Math.abs(lo) * 0.1 || 1; lo -= pad; hi += pad; }
    const yt = valueTicks(lo, hi, 6);
    const y = v => H - M.bottom - (v - yt.lo) / (yt.hi - yt.lo) * (H - M.top - M.bottom);
    for (const v of yt.ticks) {
      axes.append(el("line", {class: "grid", x1: M.left, x2: W - M.right, y1: y(v), y2: y(v)}),
        el("text", {class: "tick", x: M.left - 6, y: y(v) + 4, "text-anchor": "end"}, formatValue(v)));
    }
    for (const {t, label} of timeTicks(range.start, range.end, Math.max(2, Math.floor(W / 130)))) {
      axes.append(el("line", {class: "grid", x1: x(t), x2: x(t), y1: M.top, y2: H - M.bottom}),
        el("text", {class: "tick", x: x(t), y: H - M.bottom + 18, "text-anchor": "middle"}, label));
    }
    axes.append(el("line", {class: "axis", x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom}),
      el("line", {class: "axis", x1: M.left, x2: M.left, y1: M.top, y2: H - M.bottom}));
    series.forEach((s, i) => {
      if (s.hidden) return;
      let d = "", prev = null;
      for (const [t, v] of s.points) {
        if (!isFinite(v)) { prev = null; continue; }
        const jump = prev === null || t - prev > range.step * 1.5;
        d += (jump ? "M" : "L") + x(t).toFixed(1) + " " + y(v).toFixed(1) + " ";
        prev = t;
      }
      plot.appendChild(el("path", {class: "series-line", "data-index": i, d: d.trim(), stroke: s.color}, el("title", {}, formatSeries(s.metric))));
    });
    svg.yScale = y;
  }
  render();

  const cursor = el("line", {class: "cursor", y1: M.top, y2: H - M.bottom, visibility: "hidden"});
  const readout = el("div", {class: "readout", hidden: true});
  const byTime = series.map(s => new Map(s.points.map(([t, v]) => [t, v])));
  const overlay = el("rect", {class: "overlay", x: M.left, y: M.top, width: W - M.left - M.right, height: H - M.top - M.bottom});
  overlay.addEventListener("mousemove", ev => {
    const box = svg.getBoundingClientRect();
    const px = ev.clientX - box.left;
    const t0 = range.start + (px - M.left) / (W - M.left - M.right) * (range.end - range.start);
    const t = range.start + Math.round((t0 - range.start) / range.step) * range.step;
    const rows = series.map((s, i) => [s, byTime[i].get(t)]).filter(([s, v]) => !s.hidden && v !== undefined)
      .sort((a, b) => b[1] - a[1]).slice(0, 12);
    cursor.setAttribute("x1", x(t)); cursor.setAttribute("x2", x(t)); cursor.setAttribute("visibility", "visible");
    readout.replaceChildren(el("div", {class: "readout-time"}, formatTime(t)),
      ...rows.map(([s, v]) => el("div", {}, el("span", {class: "swatch", style: "background:" + s.color}), formatValue(v) + "  " + formatSeries(s.metric))));
    readout.hidden = false;
    readout.style.left = Math.min(px + 16, W - 320) + "px";
    readout.style.top = (ev.clientY - box.top + 12) + "px";
  });
  overlay.addEventListener("mouseleave", () => { cursor.setAttribute("visibility", "hidden"); readout.hidden = true; });
  svg.append(cursor, overlay);

  const legend = el("div", {class: "legend"}, series.map(s => el("div", {
    class: "legend-item",
    title: "click to hide or show",
    onclick: ev => { s.hidden = !s.hidden; ev.currentTarget.classList.toggle("off", s.hidden); render(); },
  }, el("span", {class: "swatch", style: "background:" + s.color}), formatSeries(s.metric))));
  container.append(el("div", {class: "graph-box"}, svg, readout), legend);
}
