//! What the UI test needs besides `tests/support`: Debian's Chromium driven headless, a
//! prefix-stripping reverse proxy like Traefik's, and a look into PNG screenshots.

pub(crate) mod browser;
pub(crate) mod png_stats;
pub(crate) mod proxy;

/// The real `thanos-query` binary on free ports with `args`, ready.
pub(crate) fn start_querier(args: &[String], work: &std::path::Path) -> Querier {
    let port = testkit::free_port();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_thanos-query"));
    command
        .arg(format!("--http-address=127.0.0.1:{port}"))
        .arg(format!("--grpc-address=127.0.0.1:{}", testkit::free_port()))
        .arg("--log.level=warn")
        .args(args);
    let log = work.join(format!("thanos-query-{port}.log"));
    let mut process = testkit::process::Process::spawn("thanos-query", command, &log);
    process.wait_http_ok(port, "/-/ready", std::time::Duration::from_secs(60));
    Querier { port, _process: process }
}

/// A running querier, killed on drop.
pub(crate) struct Querier {
    /// Its HTTP port.
    pub(crate) port: u16,
    _process: testkit::process::Process,
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC), the UI's time input format.
pub(crate) fn utc(ms: i64) -> String {
    let seconds = ms.div_euclid(1000);
    let (days, in_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Days to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}", in_day / 3600, in_day % 3600 / 60, in_day % 60)
}

#[test]
fn utc_formats_known_instants() {
    assert_eq!(utc(0), "1970-01-01 00:00:00");
    assert_eq!(utc(1_704_060_000_000), "2023-12-31 22:00:00");
    assert_eq!(utc(951_825_600_000), "2000-02-29 12:00:00");
}
