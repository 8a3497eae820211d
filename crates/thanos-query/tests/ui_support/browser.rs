//! Debian's `chromium`, headless, with a fresh profile per run and nothing that phones home.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a page may run in virtual time: fetches pause the clock, so this bounds timers only.
const VIRTUAL_TIME_BUDGET_MS: u32 = 20_000;
/// Wall-clock bound on one Chromium run.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs headless Chromium on `url` with `extra` flags; returns its stdout. Panics, with the
/// browser's log, when it fails or hangs.
fn run(work: &Path, name: &str, url: &str, extra: &[String]) -> String {
    let profile = work.join(format!("chromium-profile-{name}"));
    let stdout_path = work.join(format!("chromium-{name}.out"));
    let stderr_path = work.join(format!("chromium-{name}.log"));
    let mut command: Command = testkit::tool("chromium");
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-dev-shm-usage",
            "--no-proxy-server",
            "--hide-scrollbars",
            "--mute-audio",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}"))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).expect("chromium stdout file"))
        .stderr(std::fs::File::create(&stderr_path).expect("chromium log file"));
    let mut child = command.spawn().expect("start chromium");
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium hung on {url}:\n{}", std::fs::read_to_string(&stderr_path).unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "chromium failed ({status}) on {url}:\n{}",
        std::fs::read_to_string(&stderr_path).unwrap_or_default()
    );
    std::fs::read_to_string(&stdout_path).expect("chromium output")
}

/// The DOM of `url` after its scripts have run.
pub(crate) fn dump_dom(work: &Path, name: &str, url: &str) -> String {
    let dom = run(work, name, url, &["--dump-dom".to_string()]);
    assert!(dom.contains("<body"), "chromium printed no DOM for {url}:\n{dom}");
    assert!(dom.contains(r#"data-ready="true""#), "the page's scripts did not finish on {url}:\n{dom}");
    dom
}

/// A 1280×900 screenshot of `url` after its scripts have run, as a PNG file.
pub(crate) fn screenshot(work: &Path, name: &str, url: &str) -> PathBuf {
    let png = work.join(format!("{name}.png"));
    run(work, name, url, &[format!("--screenshot={}", png.display()), "--window-size=1280,900".to_string()]);
    assert!(png.is_file(), "chromium wrote no screenshot of {url} to {}", png.display());
    png
}
