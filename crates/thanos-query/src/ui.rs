//! Mounting under the route prefix, and a minimal embedded UI: a query box that runs instant and
//! range queries through the API and shows a table, plus the list of stores.
//!
//! `--web.route-prefix` (default: `--web.external-prefix`) is where API and UI are served.
//! `--web.external-prefix`, or else the `--web.prefix-header` of each request, is the prefix
//! the UI's links carry (a proxy may strip it before forwarding).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;

#[derive(Debug, Clone)]
struct UiState {
    external_prefix: String,
    prefix_header: String,
}

/// The API and UI under `prefix`, with `/` redirecting to the UI.
pub(crate) fn routes(api: Router, prefix: &str, external_prefix: &str, prefix_header: &str) -> Router {
    let state =
        UiState { external_prefix: external_prefix.to_string(), prefix_header: prefix_header.to_string() };
    let ui = Router::new().route("/graph", get(page)).route("/stores", get(page)).with_state(state.clone());
    let mounted = api.merge(ui);
    if prefix.is_empty() {
        let root = Router::new().route("/", get(|| async { Redirect::to("./graph") }));
        return mounted.merge(root);
    }
    let to_ui = format!("{prefix}/graph");
    let to_ui_root = to_ui.clone();
    Router::new()
        .nest(prefix, mounted)
        .route(&format!("{prefix}/"), get(move || async move { Redirect::to(&to_ui) }))
        .route("/", get(move || async move { Redirect::to(&to_ui_root) }))
}

/// The prefix links carry for this request.
fn link_prefix(state: &UiState, headers: &HeaderMap) -> String {
    if !state.external_prefix.is_empty() || state.prefix_header.is_empty() {
        return state.external_prefix.clone();
    }
    headers
        .get(state.prefix_header.as_str())
        .and_then(|v| v.to_str().ok())
        .map(crate::config::normalize_prefix)
        .unwrap_or_default()
}

async fn page(State(state): State<UiState>, headers: HeaderMap) -> Response {
    let prefix = link_prefix(&state, &headers);
    let escaped: String = prefix.chars().filter(|c| !matches!(c, '"' | '<' | '>' | '\'')).collect();
    let html = PAGE.replace("{{PREFIX}}", &escaped);
    ([(header::CACHE_CONTROL, "no-cache")], Html(html)).into_response()
}

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Thanos | Query</title>
<style>body{font-family:sans-serif;margin:1em}textarea{width:100%;height:4em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:2px 6px;font-family:monospace}svg{border:1px solid #ccc}</style></head>
<body><h2>thanos-rs query</h2>
<p><a href="{{PREFIX}}/graph">Graph</a> · <a href="{{PREFIX}}/stores">Stores</a></p>
<textarea id="q" placeholder="Expression (press Execute)"></textarea>
<p><label>range <input id="range" value="1h" size="5"></label>
<label>end <input id="end" placeholder="now" size="22"></label>
<button id="exec">Execute</button> <span id="status"></span></p>
<svg id="graph" width="900" height="300"></svg>
<table id="table"></table>
<h3>Stores</h3><table id="stores"></table>
<script>
const P = "{{PREFIX}}";
const dur = s => { const m = /^(\d+)([smhd])$/.exec(s); return m ? m[1] * {s:1,m:60,h:3600,d:86400}[m[2]] : 3600; };
const lbl = m => Object.entries(m).map(([k, v]) => k + '="' + v + '"').join(", ");
async function run() {
  const q = document.getElementById("q").value;
  const end = document.getElementById("end").value ? Date.parse(document.getElementById("end").value) / 1000 : Date.now() / 1000;
  const range = dur(document.getElementById("range").value);
  const status = document.getElementById("status");
  const inst = await (await fetch(P + "/api/v1/query?query=" + encodeURIComponent(q) + "&time=" + end)).json();
  const table = document.getElementById("table");
  table.innerHTML = "";
  if (inst.status !== "success") { status.textContent = inst.errorType + ": " + inst.error; return; }
  const rows = inst.data.resultType === "vector" ? inst.data.result.map(r => [lbl(r.metric), r.value[1]])
    : inst.data.resultType === "matrix" ? inst.data.result.map(r => [lbl(r.metric), r.values.map(v => v[1]).join(" ")])
    : [["", String(inst.data.result[1])]];
  for (const [a, b] of rows) { const tr = table.insertRow(); tr.insertCell().textContent = a; tr.insertCell().textContent = b; }
  const step = Math.max(1, Math.floor(range / 250));
  const rr = await (await fetch(P + "/api/v1/query_range?query=" + encodeURIComponent(q) + "&start=" + (end - range) + "&end=" + end + "&step=" + step)).json();
  status.textContent = rr.status === "success" ? rows.length + " series" : rr.error;
  draw(rr.status === "success" ? rr.data.result : [], end - range, end);
}
function draw(series, t0, t1) {
  const svg = document.getElementById("graph"); svg.innerHTML = "";
  const W = 900, H = 300;
  let lo = Infinity, hi = -Infinity;
  for (const s of series) for (const [, v] of s.values) { const f = parseFloat(v); if (isFinite(f)) { lo = Math.min(lo, f); hi = Math.max(hi, f); } }
  if (!isFinite(lo)) return; if (hi === lo) { hi += 1; lo -= 1; }
  series.forEach((s, i) => {
    const pts = s.values.map(([t, v]) => ((t - t0) / (t1 - t0) * W).toFixed(1) + "," + (H - (parseFloat(v) - lo) / (hi - lo) * H).toFixed(1)).join(" ");
    const pl = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    pl.setAttribute("points", pts); pl.setAttribute("fill", "none"); pl.setAttribute("stroke", "hsl(" + (i * 67 % 360) + ",70%,45%)");
    svg.appendChild(pl);
  });
}
async function stores() {
  const r = await (await fetch(P + "/api/v1/stores")).json();
  const t = document.getElementById("stores");
  for (const [kind, list] of Object.entries(r.data || {})) for (const s of list) {
    const tr = t.insertRow();
    [kind, s.name, s.lastError ? "DOWN: " + s.lastError : "UP", (s.labelSets || []).map(lbl).join(" | "), s.minTime, s.maxTime]
      .forEach(x => tr.insertCell().textContent = x);
  }
}
document.getElementById("exec").onclick = run;
stores();
</script></body></html>
"#;
