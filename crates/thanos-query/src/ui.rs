//! Mounting under the route prefix, and the embedded web UI: query panels with a table and a
//! graph tab, the list of stores with their health, and the build and flags.
//!
//! `--web.route-prefix` (default: `--web.external-prefix`) is where API and UI are served.
//! `--web.external-prefix`, or else the `--web.prefix-header` of each request, is the prefix
//! the UI's links carry (a proxy may strip it before forwarding); without either, links carry
//! the route prefix. The assets are plain HTML, CSS and JavaScript compiled into the binary:
//! no build step and no external URL, so the UI works on machines without internet.
//!
//! A link runs queries on load with Prometheus' URL parameters, per panel `N`:
//! `graph?g0.expr=up&g0.tab=0&g0.range_input=1h&g0.end_input=2024-01-01%2002:00:00` (tab 0 is
//! the graph, 1 the table; also `gN.moment_input`, `gN.step_input`, and Thanos'
//! `gN.deduplicate`, `gN.partial_response`, `gN.max_source_resolution`); times are UTC
//! `YYYY-MM-DD HH:MM:SS` or unix seconds. `graph?expr=up` is the one-panel shorthand.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;

/// The page shell; `{{PREFIX}}` becomes the HTML-escaped link prefix, `{{PAGE}}` the page name.
const INDEX_HTML: &str = include_str!("ui/index.html");
/// Static assets served under `<prefix>/static/`: name, content type, bytes.
const ASSETS: &[(&str, &str, &str)] = &[
    ("style.css", "text/css; charset=utf-8", include_str!("ui/style.css")),
    ("common.js", "text/javascript; charset=utf-8", include_str!("ui/common.js")),
    ("plot.js", "text/javascript; charset=utf-8", include_str!("ui/plot.js")),
    ("panel.js", "text/javascript; charset=utf-8", include_str!("ui/panel.js")),
    ("pages.js", "text/javascript; charset=utf-8", include_str!("ui/pages.js")),
    ("favicon.svg", "image/svg+xml", include_str!("ui/favicon.svg")),
];
/// The UI's pages, each served at `<prefix>/<name>`.
const PAGES: &[&str] = &["graph", "stores", "status"];

#[derive(Debug, Clone)]
struct UiState {
    route_prefix: String,
    external_prefix: String,
    prefix_header: String,
}

/// The API and UI under `prefix`, with `/` and `<prefix>/` redirecting to the graph page.
pub(crate) fn routes(api: Router, prefix: &str, external_prefix: &str, prefix_header: &str) -> Router {
    let state = UiState {
        route_prefix: prefix.to_string(),
        external_prefix: external_prefix.to_string(),
        prefix_header: prefix_header.to_string(),
    };
    let mut ui = Router::new();
    for &name in PAGES {
        ui = ui.route(&format!("/{name}"), get(move |s: State<UiState>, h: HeaderMap| page(s, h, name)));
    }
    for &(name, content_type, body) in ASSETS {
        ui = ui.route(&format!("/static/{name}"), get(move || asset(content_type, body)));
    }
    let mounted = api.merge(ui.with_state(state.clone()));
    let root = Router::new().route("/", get(to_graph)).with_state(state.clone());
    if prefix.is_empty() {
        return mounted.merge(root);
    }
    let prefix_root = Router::new()
        .route(&format!("{prefix}/"), get(to_graph))
        .route(prefix, get(to_graph))
        .with_state(state);
    Router::new().nest(prefix, mounted).merge(prefix_root).merge(root)
}

/// The prefix links carry for this request, without a trailing slash.
fn link_prefix(state: &UiState, headers: &HeaderMap) -> String {
    if !state.external_prefix.is_empty() {
        return state.external_prefix.clone();
    }
    if !state.prefix_header.is_empty()
        && let Some(value) = headers.get(state.prefix_header.as_str()).and_then(|v| v.to_str().ok())
    {
        let prefix = crate::config::normalize_prefix(value);
        if is_plain_path(&prefix) {
            return prefix;
        }
        tracing::warn!(header = %state.prefix_header, value, "ignoring a prefix header that is not a plain path");
    }
    state.route_prefix.clone()
}

/// True for `""` or `/a/b` made of URL path characters: never `//host` (the UI would fetch
/// from another origin) nor a scheme.
fn is_plain_path(prefix: &str) -> bool {
    !prefix.starts_with("//")
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'.' | b'_' | b'~' | b'%'))
}

async fn to_graph(State(state): State<UiState>, headers: HeaderMap) -> Redirect {
    Redirect::to(&format!("{}/graph", link_prefix(&state, &headers)))
}

async fn page(State(state): State<UiState>, headers: HeaderMap, name: &'static str) -> Response {
    let prefix = html_escape(&link_prefix(&state, &headers));
    let html = INDEX_HTML.replace("{{PREFIX}}", &prefix).replace("{{PAGE}}", name);
    ([(header::CACHE_CONTROL, "no-cache")], Html(html)).into_response()
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

/// Escapes text for an HTML attribute or element: the prefix may come from a request header.
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(route: &str, external: &str, header: &str) -> UiState {
        UiState {
            route_prefix: route.to_string(),
            external_prefix: external.to_string(),
            prefix_header: header.to_string(),
        }
    }

    #[test]
    fn link_prefix_order() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-prefix", HeaderValue::from_static("/proxied/"));
        assert_eq!(link_prefix(&state("/q", "/thanos", "X-Forwarded-Prefix"), &headers), "/thanos");
        assert_eq!(link_prefix(&state("/q", "", "X-Forwarded-Prefix"), &headers), "/proxied");
        assert_eq!(link_prefix(&state("/q", "", "X-Forwarded-Prefix"), &HeaderMap::new()), "/q");
        assert_eq!(link_prefix(&state("", "", ""), &headers), "");
        for hostile in ["//evil.example", "/a b", "/x?y", "javascript:alert(1)"] {
            let mut headers = HeaderMap::new();
            headers.insert("x-forwarded-prefix", HeaderValue::from_str(hostile).expect("header"));
            assert_eq!(link_prefix(&state("/q", "", "X-Forwarded-Prefix"), &headers), "/q", "{hostile}");
        }
    }

    #[test]
    fn escapes_a_hostile_prefix() {
        assert_eq!(html_escape(r#"/a"><script>'&"#), "/a&quot;&gt;&lt;script&gt;&#39;&amp;");
    }

    #[test]
    fn every_asset_the_page_loads_is_served() {
        for (name, _, body) in ASSETS {
            assert!(!body.is_empty(), "{name}");
        }
        let referenced: Vec<&str> = INDEX_HTML
            .split("{{PREFIX}}/static/")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert!(!referenced.is_empty());
        for name in referenced {
            assert!(ASSETS.iter().any(|(n, _, _)| *n == name), "{name} is referenced but not served");
        }
    }
}
