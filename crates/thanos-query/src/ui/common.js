// Shared helpers: DOM building, the API client, durations, times and label sets.
"use strict";

const PREFIX = document.body.dataset.prefix || "";

/** Builds an element: el("div", {class: "x", onclick: f}, child, "text", ...). */
function el(tag, attrs, ...children) {
  const svg = ["svg", "g", "path", "line", "text", "rect", "title", "circle"].includes(tag);
  const node = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "checked" || key === "value" || key === "selected") node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** An answer of the API: {status, data, warnings, errorType, error}; never throws. */
async function api(path, params, method) {
  const body = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const v of Array.isArray(value) ? value : [value]) body.append(key, v);
  }
  const url = PREFIX + "/api/v1/" + path;
  try {
    const response = method === "POST"
      ? await fetch(url, {method: "POST", body, headers: {"Content-Type": "application/x-www-form-urlencoded"}})
      : await fetch(body.toString() ? url + "?" + body : url);
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch (_) {
      return {status: "error", errorType: "http " + response.status, error: text.slice(0, 500) || response.statusText};
    }
  } catch (e) {
    return {status: "error", errorType: "network", error: String(e)};
  }
}

const UNITS = [["y", 365 * 86400], ["w", 7 * 86400], ["d", 86400], ["h", 3600], ["m", 60], ["s", 1], ["ms", 0.001]];

/** Seconds of a Prometheus duration ("1h30m", "2d", "90s"), or of a plain number of seconds; NaN if bad. */
function parseDuration(text) {
  const s = String(text || "").trim();
  if (/^\d+(\.\d+)?$/.test(s)) return parseFloat(s);
  const re = /(\d+)(ms|y|w|d|h|m|s)/g;
  let total = 0, consumed = 0, m;
  while ((m = re.exec(s)) !== null) {
    if (m.index !== consumed) return NaN;
    total += parseInt(m[1], 10) * UNITS.find(u => u[0] === m[2])[1];
    consumed = re.lastIndex;
  }
  return consumed === s.length && consumed > 0 ? total : NaN;
}

/** A duration in seconds as Prometheus writes it ("1h30m"). */
function formatDuration(seconds) {
  if (!(seconds > 0)) return "0s";
  let rest = seconds, out = "";
  for (const [unit, size] of UNITS.slice(0, 6)) {
    const n = Math.floor(rest / size + 1e-9);
    if (n > 0) { out += n + unit; rest -= n * size; }
  }
  return out || Math.round(seconds * 1000) + "ms";
}

/** Unix seconds of "YYYY-MM-DD HH:MM[:SS]" (UTC), an RFC 3339 time, or unix seconds; NaN if bad; null if blank. */
function parseTime(text) {
  const s = String(text || "").trim();
  if (s === "" || s === "now") return null;
  if (/^\d+(\.\d+)?$/.test(s)) return parseFloat(s);
  let iso = s.replace(" ", "T");
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(iso)) iso += ":00";
  if (!/(Z|[+-]\d\d:?\d\d)$/.test(iso)) iso += "Z";
  const ms = Date.parse(iso);
  return isNaN(ms) ? NaN : ms / 1000;
}

const pad2 = n => String(n).padStart(2, "0");

/** Unix seconds as "YYYY-MM-DD HH:MM:SS" (UTC), the form the time inputs take. */
function formatTime(seconds) {
  const d = new Date(seconds * 1000);
  return d.getUTCFullYear() + "-" + pad2(d.getUTCMonth() + 1) + "-" + pad2(d.getUTCDate()) + " " +
    pad2(d.getUTCHours()) + ":" + pad2(d.getUTCMinutes()) + ":" + pad2(d.getUTCSeconds());
}

/** Milliseconds of the StoreAPI (with its ±infinity sentinels) for display. */
function formatMillis(ms) {
  if (ms <= -9.2e18) return "-∞";
  if (ms >= 9.2e18) return "+∞";
  return formatTime(ms / 1000);
}

/** A label set as PromQL writes a selector: name{a="b", c="d"}. */
function formatSeries(metric) {
  const name = metric.__name__ || "";
  const pairs = Object.entries(metric).filter(([k]) => k !== "__name__")
    .map(([k, v]) => k + "=" + JSON.stringify(v));
  return name + (pairs.length || !name ? "{" + pairs.join(", ") + "}" : "");
}

/** An alert box (kind: "error" or "warning") listing messages. */
function alertBox(kind, messages) {
  return el("div", {class: "alert " + kind, role: "alert"}, messages.map(m => el("div", {}, m)));
}
