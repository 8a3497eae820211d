// A query panel: expression box, Thanos' dedup / partial response / resolution options, and a
// table tab (instant query) or a graph tab (range query). Its state round-trips through the
// URL as Prometheus writes it: g<N>.expr, g<N>.tab (0 graph, 1 table), g<N>.range_input,
// g<N>.end_input, g<N>.moment_input, g<N>.step_input, plus Thanos' g<N>.deduplicate,
// g<N>.partial_response and g<N>.max_source_resolution.
"use strict";

const RANGE_STEPS = [1, 10, 60, 300, 900, 1800, 3600, 7200, 21600, 43200, 86400, 172800, 604800,
  1209600, 2419200, 4838400, 31536000];
const MAX_TABLE_ROWS = 10000;
/** Prometheus' limit on points per series of a range query. */
const MAX_POINTS = 11000;

let metricNames = null;

/** Metric names for the "insert metric" list, fetched once per page. */
function loadMetricNames() {
  metricNames = metricNames || api("label/__name__/values").then(r => r.status === "success" ? r.data : []);
  return metricNames;
}

/** Default options of a new panel. */
function panelDefaults(partialResponse) {
  return {expr: "", tab: "1", range_input: "1h", end_input: "", moment_input: "", step_input: "",
    deduplicate: "1", partial_response: partialResponse ? "1" : "0", max_source_resolution: ""};
}

class Panel {
  /** A panel with `options` (see panelDefaults); `onChange` is told when the URL should change. */
  constructor(options, onChange, onRemove) {
    this.options = options;
    this.onChange = onChange;
    this.seq = 0;
    this.node = this.build(onRemove);
    this.showTab();
    // The graph fills the panel's width: draw it again when the window changes size.
    let pending = null;
    window.addEventListener("resize", () => {
      clearTimeout(pending);
      pending = setTimeout(() => {
        if (this.drawn && this.options.tab === "0" && this.node.isConnected) drawGraph(this.graphArea, ...this.drawn);
      }, 150);
    });
  }

  build(onRemove) {
    const o = this.options;
    this.expr = el("textarea", {class: "expr", rows: 1, placeholder: "Expression (press Shift+Enter for newlines)",
      spellcheck: "false", value: o.expr, onkeydown: ev => {
        if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); this.execute(); }
      }});
    const insert = el("select", {class: "insert-metric", onchange: ev => {
      const name = ev.target.value;
      ev.target.selectedIndex = 0;
      if (!name) return;
      const at = this.expr.selectionStart ?? this.expr.value.length;
      this.expr.value = this.expr.value.slice(0, at) + name + this.expr.value.slice(this.expr.selectionEnd ?? at);
      this.expr.focus();
    }}, el("option", {value: ""}, "- insert metric at cursor -"));
    loadMetricNames().then(names => insert.append(...names.map(n => el("option", {value: n}, n))));
    this.dedup = el("input", {type: "checkbox", class: "dedup", checked: o.deduplicate !== "0"});
    this.partial = el("input", {type: "checkbox", class: "partial-response", checked: o.partial_response === "1"});
    this.resolution = el("select", {class: "resolution"},
      [["", "Default resolution"], ["auto", "Auto downsampling"], ["0s", "Only raw data"],
        ["5m", "Max 5m downsampling"], ["1h", "Max 1h downsampling"]]
        .map(([v, label]) => el("option", {value: v, selected: o.max_source_resolution === v}, label)));

    this.range = el("input", {class: "range-input", size: 6, value: o.range_input, onchange: () => this.execute()});
    this.end = el("input", {class: "end-input", size: 19, placeholder: "end: now (UTC)", value: o.end_input, onchange: () => this.execute()});
    this.step = el("input", {class: "step-input", size: 6, placeholder: "Res. (s)", value: o.step_input, onchange: () => this.execute()});
    this.moment = el("input", {class: "moment-input", size: 19, placeholder: "now (UTC)", value: o.moment_input, onchange: () => this.execute()});
    this.graphArea = el("div", {class: "graph-area"});
    this.tbody = el("tbody");
    this.messages = el("div", {class: "messages"});
    this.stats = el("span", {class: "stats muted"});
    this.tabButtons = {
      "0": el("button", {class: "tab", onclick: () => this.setTab("0")}, "Graph"),
      "1": el("button", {class: "tab", onclick: () => this.setTab("1")}, "Table"),
    };
    this.graphTab = el("div", {class: "tab-body graph-tab"},
      el("div", {class: "controls"},
        el("button", {title: "Shrink range", onclick: () => this.zoom(-1)}, "−"), this.range,
        el("button", {title: "Grow range", onclick: () => this.zoom(1)}, "+"),
        el("button", {title: "Back", onclick: () => this.shift(-1)}, "«"), this.end,
        el("button", {title: "Forward", onclick: () => this.shift(1)}, "»"),
        this.step, el("span", {class: "muted"}, "times in UTC")),
      this.graphArea);
    this.tableTab = el("div", {class: "tab-body table-tab"},
      el("div", {class: "controls"}, el("span", {class: "muted"}, "Evaluation time"), this.moment),
      el("table", {class: "result-table"}, el("thead", {}, el("tr", {}, el("th", {}, "Series"), el("th", {}, "Value"))), this.tbody));
    return el("section", {class: "panel"},
      el("div", {class: "expr-row"}, this.expr, el("button", {class: "execute primary", onclick: () => this.execute()}, "Execute")),
      el("div", {class: "options-row"}, insert,
        el("label", {}, this.dedup, " Use Deduplication"),
        el("label", {}, this.partial, " Use Partial Response"),
        this.resolution, el("span", {class: "spacer"}),
        el("button", {class: "remove", title: "Remove panel", onclick: () => onRemove(this)}, "Remove Panel")),
      el("div", {class: "tabs"}, this.tabButtons["0"], this.tabButtons["1"], this.stats),
      this.messages, this.graphTab, this.tableTab);
  }

  /** The panel's options as they go into the URL. */
  state() {
    return {expr: this.expr.value, tab: this.options.tab, range_input: this.range.value, end_input: this.end.value,
      moment_input: this.moment.value, step_input: this.step.value, deduplicate: this.dedup.checked ? "1" : "0",
      partial_response: this.partial.checked ? "1" : "0", max_source_resolution: this.resolution.value};
  }

  setTab(tab) {
    this.options.tab = tab;
    this.showTab();
    this.execute();
  }

  showTab() {
    const graph = this.options.tab === "0";
    this.graphTab.hidden = !graph;
    this.tableTab.hidden = graph;
    this.tabButtons["0"].classList.toggle("active", graph);
    this.tabButtons["1"].classList.toggle("active", !graph);
  }

  zoom(direction) {
    const now = parseDuration(this.range.value) || 3600;
    const next = direction < 0 ? [...RANGE_STEPS].reverse().find(s => s < now) : RANGE_STEPS.find(s => s > now);
    if (next) { this.range.value = formatDuration(next); this.execute(); }
  }

  shift(direction) {
    const range = parseDuration(this.range.value) || 3600;
    const end = parseTime(this.end.value) ?? Date.now() / 1000;
    if (isNaN(end)) return;
    this.end.value = formatTime(Math.round(end + direction * range / 2));
    this.execute();
  }

  /** The request parameters Thanos adds to every query. */
  thanosParams() {
    return {dedup: String(this.dedup.checked), partial_response: String(this.partial.checked),
      max_source_resolution: this.resolution.value || undefined};
  }

  fail(message) {
    this.messages.replaceChildren(alertBox("error", [message]));
  }

  async execute() {
    this.onChange();
    const expr = this.expr.value.trim();
    this.messages.replaceChildren();
    this.stats.textContent = "";
    if (expr === "") { this.tbody.replaceChildren(); this.graphArea.replaceChildren(); return; }
    const started = performance.now();
    this.node.classList.add("loading");
    try {
      if (this.options.tab === "0") await this.runRange(expr, started);
      else await this.runInstant(expr, started);
    } finally {
      this.node.classList.remove("loading");
    }
  }

  async runRange(expr, started) {
    const range = parseDuration(this.range.value);
    if (!(range > 0)) return this.fail("Invalid range: " + this.range.value);
    const endInput = parseTime(this.end.value);
    if (Number.isNaN(endInput)) return this.fail("Invalid end time: " + this.end.value);
    const end = endInput ?? Math.floor(Date.now() / 1000);
    let step = this.step.value ? parseDuration(this.step.value) : Math.max(Math.floor(range / 250), 1);
    if (!(step > 0)) return this.fail("Invalid resolution: " + this.step.value);
    step = Math.max(step, Math.ceil(range / MAX_POINTS));
    const seq = ++this.seq;
    const answer = await api("query_range", {query: expr, start: end - range, end, step, ...this.thanosParams()}, "POST");
    if (seq !== this.seq) return; // a newer execution owns the panel
    if (!this.report(answer)) { this.drawn = null; this.graphArea.replaceChildren(); return; }
    this.drawn = [answer.data.result, {start: end - range, end, step}];
    drawGraph(this.graphArea, ...this.drawn);
    this.stats.textContent = `Load time: ${Math.round(performance.now() - started)}ms · Resolution: ${step}s · Result series: ${answer.data.result.length}`;
  }

  async runInstant(expr, started) {
    const time = parseTime(this.moment.value);
    if (Number.isNaN(time)) return this.fail("Invalid evaluation time: " + this.moment.value);
    const seq = ++this.seq;
    const answer = await api("query", {query: expr, time: time ?? undefined, ...this.thanosParams()}, "POST");
    if (seq !== this.seq) return; // a newer execution owns the panel
    if (!this.report(answer)) { this.tbody.replaceChildren(); return; }
    const {resultType, result} = answer.data;
    let rows;
    if (resultType === "vector") rows = result.map(s => [formatSeries(s.metric), s.value[1]]);
    else if (resultType === "matrix") rows = result.map(s => [formatSeries(s.metric), s.values.map(([t, v]) => v + " @" + t).join("\n")]);
    else rows = [[resultType, result[1]]];
    const shown = rows.slice(0, MAX_TABLE_ROWS);
    this.tbody.replaceChildren(...shown.map(([series, value]) =>
      el("tr", {class: "result-row"}, el("td", {class: "series"}, series), el("td", {class: "value"}, value))));
    if (rows.length === 0) this.tbody.replaceChildren(el("tr", {}, el("td", {colspan: 2, class: "muted"}, "Empty query result")));
    if (rows.length > shown.length) this.messages.appendChild(alertBox("warning", [`Showing ${shown.length} of ${rows.length} series.`]));
    this.stats.textContent = `Load time: ${Math.round(performance.now() - started)}ms · Result series: ${rows.length}`;
  }

  /** Shows the answer's error and warnings; true when there is data to show. */
  report(answer) {
    if (answer.warnings && answer.warnings.length) this.messages.appendChild(alertBox("warning", answer.warnings));
    if (answer.status !== "success") {
      this.messages.appendChild(alertBox("error", [(answer.errorType ? answer.errorType + ": " : "") + (answer.error || "unknown error")]));
      return false;
    }
    return true;
  }
}
