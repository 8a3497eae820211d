//! The line formats: go-kit's logfmt and JSON loggers, as Thanos configures them
//! (`ts` in UTC RFC 3339 with nanoseconds, `caller` as `file:line`, lowercase `level`).

use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use crate::config::LogFormat;

/// Formats events as Thanos' logger does, in logfmt or JSON.
#[derive(Debug, Clone, Copy)]
pub struct ThanosEventFormat {
    format: LogFormat,
}

impl ThanosEventFormat {
    /// An event formatter for `format`.
    pub fn new(format: LogFormat) -> Self {
        Self { format }
    }
}

/// Formats span fields in the same format, so they can be appended to event lines.
#[derive(Debug, Clone, Copy)]
pub struct ThanosFieldFormat {
    format: LogFormat,
}

impl ThanosFieldFormat {
    /// A span-field formatter for `format`.
    pub fn new(format: LogFormat) -> Self {
        Self { format }
    }
}

/// One recorded field value, kept typed so JSON can print numbers as numbers.
enum FieldValue {
    Text(String),
    Signed(i64),
    Unsigned(u64),
    Float(f64),
    Bool(bool),
}

/// Collects an event's or span's fields in order, naming the message `msg`.
#[derive(Default)]
struct FieldCollector {
    fields: Vec<(&'static str, FieldValue)>,
}

impl FieldCollector {
    fn push(&mut self, field: &Field, value: FieldValue) {
        let name = match field.name() {
            "message" => "msg",
            // Metadata that tracing-log attaches to bridged `log` records; not fields.
            name if name.starts_with("log.") => return,
            name => name,
        };
        self.fields.push((name, value));
    }
}

impl Visit for FieldCollector {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, FieldValue::Text(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, FieldValue::Text(value.to_owned()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, FieldValue::Signed(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, FieldValue::Unsigned(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, FieldValue::Float(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, FieldValue::Bool(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push(field, FieldValue::Text(value.to_string()));
    }
}

impl<S, N> FormatEvent<S, N> for ThanosEventFormat
where
    S: Subscriber + for<'lookup> LookupSpan<'lookup>,
    N: for<'writer> FormatFields<'writer> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let metadata = event.metadata();
        let mut line = LineWriter::new(self.format);
        line.entry("ts", &FieldValue::Text(utc_timestamp(SystemTime::now())));
        if let (Some(file), Some(number)) = (metadata.file(), metadata.line()) {
            let file_name = file.rsplit(['/', '\\']).next().unwrap_or(file);
            line.entry("caller", &FieldValue::Text(format!("{file_name}:{number}")));
        }
        line.entry("level", &FieldValue::Text(level_name(*metadata.level()).to_owned()));
        let mut collector = FieldCollector::default();
        event.record(&mut collector);
        for (name, value) in &collector.fields {
            line.entry(name, value);
        }
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                if let Some(formatted) = extensions.get::<FormattedFields<N>>() {
                    line.fragment(&formatted.fields);
                }
            }
        }
        writer.write_str(&line.finish())?;
        writer.write_char('\n')
    }
}

impl<'writer> FormatFields<'writer> for ThanosFieldFormat {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut collector = FieldCollector::default();
        fields.record(&mut collector);
        let mut line = LineWriter::new(self.format);
        for (name, value) in &collector.fields {
            line.entry(name, value);
        }
        writer.write_str(line.body())
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        if !current.fields.is_empty() {
            current.fields.push_str(separator(self.format));
        }
        self.format_fields(current.as_writer(), fields)
    }
}

fn separator(format: LogFormat) -> &'static str {
    match format {
        LogFormat::Logfmt => " ",
        LogFormat::Json => ",",
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        // go-kit has no trace level; it would only show with a debug filter anyway.
        Level::DEBUG | Level::TRACE => "debug",
    }
}

/// Builds one line: `k=v k=v` for logfmt, `{"k":v,"k":v}` for JSON.
struct LineWriter {
    format: LogFormat,
    body: String,
}

impl LineWriter {
    fn new(format: LogFormat) -> Self {
        Self { format, body: String::with_capacity(160) }
    }

    fn entry(&mut self, key: &str, value: &FieldValue) {
        if !self.body.is_empty() {
            self.body.push_str(separator(self.format));
        }
        match self.format {
            LogFormat::Logfmt => {
                self.body.push_str(key);
                self.body.push('=');
                write_logfmt_value(&mut self.body, value);
            }
            LogFormat::Json => {
                write_json_string(&mut self.body, key);
                self.body.push(':');
                write_json_value(&mut self.body, value);
            }
        }
    }

    /// Appends entries already formatted by [`ThanosFieldFormat`].
    fn fragment(&mut self, fragment: &str) {
        if fragment.is_empty() {
            return;
        }
        if !self.body.is_empty() {
            self.body.push_str(separator(self.format));
        }
        self.body.push_str(fragment);
    }

    fn body(&self) -> &str {
        &self.body
    }

    fn finish(self) -> String {
        match self.format {
            LogFormat::Logfmt => self.body,
            LogFormat::Json => format!("{{{}}}", self.body),
        }
    }
}

fn write_logfmt_value(out: &mut String, value: &FieldValue) {
    match value {
        FieldValue::Text(text) => write_logfmt_text(out, text),
        FieldValue::Signed(number) => write!(out, "{number}").expect("writing to a String"),
        FieldValue::Unsigned(number) => write!(out, "{number}").expect("writing to a String"),
        FieldValue::Float(number) => write_go_float(out, *number),
        FieldValue::Bool(flag) => write!(out, "{flag}").expect("writing to a String"),
    }
}

/// go-logfmt's rule: quote when the value has a space, control character, `=` or `"`, and quote
/// `null` so it is not read as a missing value.
fn write_logfmt_text(out: &mut String, text: &str) {
    let needs_quotes =
        text == "null" || text.chars().any(|c| c <= ' ' || c == '=' || c == '"' || c == '\u{fffd}');
    if !needs_quotes {
        out.push_str(text);
        return;
    }
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' => write!(out, "\\u{:04x}", u32::from(c)).expect("writing to a String"),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_json_value(out: &mut String, value: &FieldValue) {
    match value {
        FieldValue::Text(text) => write_json_string(out, text),
        FieldValue::Signed(number) => write!(out, "{number}").expect("writing to a String"),
        FieldValue::Unsigned(number) => write!(out, "{number}").expect("writing to a String"),
        FieldValue::Float(number) if number.is_finite() => write_go_float(out, *number),
        FieldValue::Float(number) => {
            let mut text = String::new();
            write_go_float(&mut text, *number);
            write_json_string(out, &text);
        }
        FieldValue::Bool(flag) => write!(out, "{flag}").expect("writing to a String"),
    }
}

fn write_json_string(out: &mut String, text: &str) {
    out.push_str(&serde_json::Value::from(text).to_string());
}

/// Floats as Go's `%v` prints them where it matters: `+Inf`, `-Inf`, `NaN`.
fn write_go_float(out: &mut String, number: f64) {
    if number.is_nan() {
        out.push_str("NaN");
    } else if number.is_infinite() {
        out.push_str(if number > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        write!(out, "{number}").expect("writing to a String");
    }
}

/// `2026-11-24T10:51:11.262371Z`: UTC, RFC 3339 with nanoseconds and trailing zeros trimmed, as
/// Go's `time.RFC3339Nano` (go-kit's `DefaultTimestampUTC`).
pub(crate) fn utc_timestamp(now: SystemTime) -> String {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs();
    let days = i64::try_from(secs / 86_400).expect("days since 1970 fit in i64");
    let seconds_of_day = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut text = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        seconds_of_day / 3600,
        seconds_of_day / 60 % 60,
        seconds_of_day % 60
    );
    let nanos = since_epoch.subsec_nanos();
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    text
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = u32::try_from(day_of_year - (153 * month_index + 2) / 5 + 1).expect("day of month is 1..=31");
    let month = u32::try_from(if month_index < 10 { month_index + 3 } else { month_index - 9 })
        .expect("month is 1..=12");
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
