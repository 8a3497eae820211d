use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use tracing_subscriber::fmt::MakeWriter;

use super::format::utc_timestamp;
use super::*;

/// A writer that keeps every line in memory.
#[derive(Clone, Default)]
struct Capture {
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl Capture {
    fn text(&self) -> String {
        let bytes = self.bytes.lock().expect("capture lock");
        String::from_utf8(bytes.clone()).expect("log output is UTF-8")
    }
}

impl io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes.lock().expect("capture lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'writer> MakeWriter<'writer> for Capture {
    type Writer = Capture;

    fn make_writer(&'writer self) -> Self::Writer {
        self.clone()
    }
}

fn capture(level: LogLevel, format: LogFormat, log: impl FnOnce()) -> Vec<String> {
    let capture = Capture::default();
    tracing::subscriber::with_default(subscriber(level, format, capture.clone()), log);
    capture.text().lines().map(str::to_owned).collect()
}

/// Removes the `ts=… ` prefix, whose value changes, after checking its shape.
fn without_timestamp(line: &str) -> &str {
    let rest = line.strip_prefix("ts=").expect("line starts with ts=");
    let (timestamp, rest) = rest.split_once(' ').expect("ts is followed by more");
    assert!(timestamp.ends_with('Z') && timestamp.contains('T'), "{timestamp}");
    rest
}

#[test]
fn logfmt_line_has_thanos_keys_in_thanos_order() {
    let lines = capture(LogLevel::Info, LogFormat::Logfmt, || {
        tracing::info!(block = "01JABC", series = 12_u64, "loaded new block");
    });
    assert_eq!(lines.len(), 1);
    let line = without_timestamp(&lines[0]);
    let expected_prefix = "caller=tests.rs:";
    assert!(line.starts_with(expected_prefix), "{line}");
    let after_caller = line.split_once(' ').expect("more after caller").1;
    assert_eq!(after_caller, "level=info msg=\"loaded new block\" block=01JABC series=12");
}

#[test]
fn logfmt_quotes_and_escapes_like_go_logfmt() {
    let lines = capture(LogLevel::Info, LogFormat::Logfmt, || {
        let err = io::Error::other("read \"index\": eof\nretry");
        tracing::warn!(err = %err, empty = "", null = "null", eq = "a=b", "plain");
    });
    let line = without_timestamp(&lines[0]);
    assert!(
        line.ends_with(
            "level=warn msg=plain err=\"read \\\"index\\\": eof\\nretry\" empty= null=\"null\" eq=\"a=b\""
        ),
        "{line}"
    );
}

#[test]
fn level_filter_drops_lower_levels() {
    let lines = capture(LogLevel::Warn, LogFormat::Logfmt, || {
        tracing::debug!("debug");
        tracing::info!("info");
        tracing::warn!("warn");
        tracing::error!("error");
    });
    let levels: Vec<&str> = lines
        .iter()
        .map(|line| {
            let start = line.find("level=").expect("has level") + "level=".len();
            line[start..].split(' ').next().expect("level value")
        })
        .collect();
    assert_eq!(levels, ["warn", "error"]);

    let lines = capture(LogLevel::Debug, LogFormat::Logfmt, || {
        tracing::debug!("ours");
        tracing::debug!(target: "hyper::proto", "theirs");
    });
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("msg=ours"));
}

#[test]
fn span_fields_follow_event_fields() {
    let lines = capture(LogLevel::Info, LogFormat::Logfmt, || {
        let span = tracing::info_span!("compact", group = "0@123");
        let _entered = span.enter();
        tracing::info!(blocks = 3, "compaction done");
    });
    assert!(lines[0].ends_with("msg=\"compaction done\" blocks=3 group=0@123"), "{}", lines[0]);
}

#[test]
fn json_line_has_the_same_keys() {
    let lines = capture(LogLevel::Info, LogFormat::Json, || {
        let span = tracing::info_span!("query", tenant = "a");
        let _entered = span.enter();
        tracing::error!(took_seconds = 1.5, ok = false, "query failed");
    });
    let object: serde_json::Value = serde_json::from_str(&lines[0]).expect("line is JSON");
    assert_eq!(object["level"], "error");
    assert_eq!(object["msg"], "query failed");
    assert_eq!(object["took_seconds"], 1.5);
    assert_eq!(object["ok"], false);
    assert_eq!(object["tenant"], "a");
    assert!(object["caller"].as_str().expect("caller").starts_with("tests.rs:"));
    assert!(object["ts"].as_str().expect("ts").ends_with('Z'));
}

#[test]
fn timestamps_are_go_rfc3339_nano() {
    assert_eq!(utc_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    let moment = UNIX_EPOCH + Duration::new(1_732_445_471, 262_371_000);
    assert_eq!(utc_timestamp(moment), "2024-11-24T10:51:11.262371Z");
    let leap_day = UNIX_EPOCH + Duration::from_secs(951_782_400);
    assert_eq!(utc_timestamp(leap_day), "2000-02-29T00:00:00Z");
}
