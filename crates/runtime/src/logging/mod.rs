//! Logging in Thanos' shape: go-kit logfmt by default, JSON on request, level from `--log.level`.
//!
//! ```text
//! ts=2026-11-24T10:51:11.262371Z caller=bucket.rs:212 level=info msg="loaded new block" block=01J…
//! ```
//!
//! Lines go to stderr, as Thanos writes them. Fields of the enclosing spans follow the event's own
//! fields, so `tracing::info_span!("compact", group = %key)` tags every line inside it.
//!
//! tracing-logfmt is not used: it cannot name the message `msg` and the location `caller`, nor put
//! `ts` and `caller` before `level`, which log pipelines written for Thanos expect.

mod format;

use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub use self::format::{ThanosEventFormat, ThanosFieldFormat};
use crate::config::{LogFormat, LogLevel};
use crate::error::RuntimeError;

/// Dependencies whose debug output drowns ours; they log at info at most.
const NOISY_TARGETS: &[&str] = &[
    "h2",
    "hyper",
    "hyper_util",
    "tower",
    "tonic",
    "rustls",
    "aws_config",
    "aws_sdk_s3",
    "aws_smithy_runtime",
    "aws_smithy_http_client",
];

/// Installs the process-wide logger writing to stderr. Call once, first thing in `main`.
pub fn init(level: LogLevel, format: LogFormat) -> Result<(), RuntimeError> {
    subscriber(level, format, std::io::stderr)
        .try_init()
        .map_err(|err| RuntimeError::Logging { reason: err.to_string() })
}

/// A subscriber writing to `writer`: what [`init`] installs, and what tests capture.
pub fn subscriber<W>(level: LogLevel, format: LogFormat, writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let max_level = level_filter(level);
    let dependency_level = max_level.min(LevelFilter::INFO);
    let filter = Targets::new()
        .with_default(max_level)
        .with_targets(NOISY_TARGETS.iter().map(|target| (*target, dependency_level)));
    let layer = tracing_subscriber::fmt::layer()
        .event_format(ThanosEventFormat::new(format))
        .fmt_fields(ThanosFieldFormat::new(format))
        .with_writer(writer);
    tracing_subscriber::registry().with(layer).with(filter)
}

/// The tracing filter for a `--log.level`.
pub fn level_filter(level: LogLevel) -> LevelFilter {
    match level {
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Error => LevelFilter::ERROR,
    }
}

#[cfg(test)]
mod tests;
