//! The HTTP client of `testkit`, plus the shapes these tests use.

pub(crate) use testkit::http::{get, post_form, urlencode};

/// GET `path` with extra header lines (`Name: value`).
pub(crate) fn get_with_headers(port: u16, path: &str, headers: &[&str]) -> std::io::Result<(u16, String)> {
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|h| h.split_once(':').map_or((*h, ""), |(name, value)| (name.trim(), value.trim())))
        .collect();
    testkit::http::request(port, "GET", path, &pairs, b"")
}

/// Milliseconds as the API's seconds parameter.
pub(crate) fn api_time(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}
