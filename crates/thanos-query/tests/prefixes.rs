//! Where the API and UI are served: `--web.route-prefix` (default: `--web.external-prefix`), and
//! the links the UI carries: `--web.external-prefix`, else the `--web.prefix-header` of the
//! request (Traefik's `X-Forwarded-Prefix`).

mod support;

use support::http::{get, get_with_headers};

#[test]
fn route_prefix_and_prefix_header() {
    let dir = tempfile::tempdir().expect("tempdir");
    let proxied = support::start_querier(
        &["--web.external-prefix=/thanos".to_string(), "--web.route-prefix=/".to_string()],
        dir.path(),
    );
    let (status, body) = get(proxied.port, "/api/v1/query?query=1%2B1&time=10").expect("answers");
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"status":"success","data":{"resultType":"scalar","result":[10,"2"]}}"#)
    );
    let (_, metrics) = get(proxied.port, "/metrics").expect("metrics at the root");
    assert!(metrics.contains("http_requests_total{") && metrics.contains("handler=\"query\""), "{metrics}");
    let (_, page) = get(proxied.port, "/graph").expect("ui");
    assert!(page.contains("href=\"/thanos/graph\""), "links carry the external prefix");

    let header = support::start_querier(&["--web.prefix-header=X-Forwarded-Prefix".to_string()], dir.path());
    let (status, _) = get(header.port, "/api/v1/status/buildinfo").expect("answers");
    assert_eq!(status, 200);
    let (_, page) =
        get_with_headers(header.port, "/graph", &["X-Forwarded-Prefix: /from-proxy"]).expect("ui");
    assert!(page.contains("href=\"/from-proxy/graph\""), "links carry the header's prefix");
    let (_, page) = get(header.port, "/graph").expect("ui");
    assert!(page.contains("href=\"/graph\""));

    let prefixed = support::start_querier(&["--web.route-prefix=/q/".to_string()], dir.path());
    let (status, _) = get(prefixed.port, "/q/api/v1/labels").expect("answers");
    assert_eq!(status, 200);
    let (status, _) = get(prefixed.port, "/q/").expect("redirect");
    assert_eq!(status, 303);
}
