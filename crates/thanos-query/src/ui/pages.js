// The pages: Graph (query panels, state in the URL), Stores (endpoints and their health) and
// Status (build and flags). The server tells which one through <body data-page>.
"use strict";

const main = document.getElementById("main");

/** Panels from the URL: g0.expr=…&g0.tab=…, or the shorthand ?expr=… for one panel. */
function panelsFromUrl(partialResponse) {
  const params = new URLSearchParams(location.search);
  const byIndex = new Map();
  for (const [key, value] of params) {
    const m = /^g(\d+)\.(\w+)$/.exec(key);
    if (!m) continue;
    if (!byIndex.has(+m[1])) byIndex.set(+m[1], panelDefaults(partialResponse));
    byIndex.get(+m[1])[m[2]] = value;
  }
  if (byIndex.size === 0 && params.has("expr")) {
    const options = panelDefaults(partialResponse);
    options.expr = params.get("expr");
    byIndex.set(0, options);
  }
  return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, options]) => options);
}

async function graphPage() {
  const flags = await api("status/flags");
  const partialDefault = flags.status === "success" && flags.data["query.partial-response"] === "true";
  const panels = [];
  const list = el("div", {class: "panels"});
  const syncUrl = () => {
    const params = new URLSearchParams();
    panels.forEach((p, i) => { for (const [k, v] of Object.entries(p.state())) params.append(`g${i}.${k}`, v); });
    history.replaceState(null, "", location.pathname + "?" + params.toString());
  };
  const remove = panel => {
    panels.splice(panels.indexOf(panel), 1);
    panel.node.remove();
    syncUrl();
  };
  const add = options => {
    const panel = new Panel(options, syncUrl, remove);
    panels.push(panel);
    list.appendChild(panel.node);
    return panel;
  };
  main.append(list, el("button", {class: "add-panel", onclick: () => add(panelDefaults(partialDefault)).expr.focus()}, "Add Panel"));
  const initial = panelsFromUrl(partialDefault);
  if (initial.length === 0) add(panelDefaults(partialDefault)).expr.focus();
  await Promise.all(initial.map(options => add(options)).map(p => p.execute()));
}

function sinceText(iso) {
  if (!iso || iso.startsWith("0001-")) return "never";
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  return seconds < 1 ? "just now" : formatDuration(seconds) + " ago";
}

async function storesPage() {
  const body = el("div", {class: "stores"});
  const refresh = async () => {
    const answer = await api("stores");
    if (answer.status !== "success") { body.replaceChildren(alertBox("error", [answer.errorType + ": " + answer.error])); return; }
    const kinds = Object.keys(answer.data || {}).sort();
    if (kinds.length === 0) { body.replaceChildren(el("p", {class: "muted"}, "No endpoints configured.")); return; }
    body.replaceChildren(...kinds.map(kind => el("section", {class: "store-kind"},
      el("h2", {}, kind),
      el("table", {class: "stores-table"},
        el("thead", {}, el("tr", {}, ["Endpoint", "Status", "Announced Label Sets", "Min Time", "Max Time", "Last Check", "Last Error"].map(h => el("th", {}, h)))),
        el("tbody", {}, answer.data[kind].map(s => el("tr", {class: "store-row"},
          el("td", {class: "endpoint"}, s.name),
          el("td", {}, el("span", {class: "health " + (s.lastError ? "down" : "up")}, s.lastError ? "DOWN" : "UP")),
          el("td", {}, (s.labelSets || []).length === 0 ? el("span", {class: "muted"}, "none")
            : s.labelSets.map(set => el("div", {class: "labelset"}, Object.entries(set).map(([k, v]) => el("span", {class: "label"}, k + "=" + JSON.stringify(v)))))),
          el("td", {class: "min-time"}, formatMillis(s.minTime)),
          el("td", {class: "max-time"}, formatMillis(s.maxTime)),
          el("td", {title: s.lastCheck}, sinceText(s.lastCheck)),
          el("td", {class: "last-error"}, s.lastError || ""))))))));
  };
  main.append(el("div", {class: "page-head"}, el("h1", {}, "Stores"), el("button", {onclick: refresh}, "Refresh")), body);
  await refresh();
}

async function statusPage() {
  const [build, flags] = await Promise.all([api("status/buildinfo"), api("status/flags")]);
  const table = (title, answer) => answer.status !== "success" ? alertBox("error", [answer.error])
    : el("section", {}, el("h2", {}, title), el("table", {class: "kv-table"},
      el("tbody", {}, Object.entries(answer.data).map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v))))));
  main.append(el("h1", {}, "Status"), table("Build information", build), table("Command-line flags", flags));
}

const page = document.body.dataset.page;
const nav = document.getElementById("nav-" + page);
if (nav) nav.classList.add("active");
({graph: graphPage, stores: storesPage, status: statusPage}[page] || graphPage)()
  .then(() => document.body.setAttribute("data-ready", "true"))
  .catch(e => { main.appendChild(alertBox("error", ["UI error: " + e])); document.body.setAttribute("data-ready", "true"); });
