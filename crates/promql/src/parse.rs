//! Parsing as Prometheus 2.42 parses: `promql-parser` (which follows Prometheus 3.x) plus
//! 2.42's restrictions.
//!
//! What 2.42 rejects and `promql-parser` accepts:
//! - functions and aggregations added after 2.42 (`limitk`, `sort_by_label`, `info`, …): 2.42
//!   reads them as calls of an unknown function;
//! - durations without a unit (`foo[5]`, `offset 5`), which 2.42 lexes as numbers;
//! - `or` inside label matchers and `fill` modifiers of binary operators.
//!
//! And one function 2.42 has that `promql-parser` lacks: `holt_winters` (renamed
//! `double_exponential_smoothing` in 3.x), registered here as an extra function.

use std::sync::OnceLock;

use promql_parser::parser::value::ValueType;
use promql_parser::parser::{self, Expr, Function};

use crate::error::{PromqlError, Result};

/// Every function of Prometheus 2.42 (`promql/parser/functions.go`).
pub(crate) const FUNCTIONS_2_42: &[&str] = &[
    "abs",
    "absent",
    "absent_over_time",
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atanh",
    "avg_over_time",
    "ceil",
    "changes",
    "clamp",
    "clamp_max",
    "clamp_min",
    "cos",
    "cosh",
    "count_over_time",
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "deg",
    "delta",
    "deriv",
    "exp",
    "floor",
    "histogram_count",
    "histogram_sum",
    "histogram_fraction",
    "histogram_quantile",
    "holt_winters",
    "hour",
    "idelta",
    "increase",
    "irate",
    "label_replace",
    "label_join",
    "last_over_time",
    "ln",
    "log10",
    "log2",
    "max_over_time",
    "min_over_time",
    "minute",
    "month",
    "pi",
    "predict_linear",
    "present_over_time",
    "quantile_over_time",
    "rad",
    "rate",
    "resets",
    "round",
    "scalar",
    "sgn",
    "sin",
    "sinh",
    "sort",
    "sort_desc",
    "sqrt",
    "stddev_over_time",
    "stdvar_over_time",
    "sum_over_time",
    "tan",
    "tanh",
    "time",
    "timestamp",
    "vector",
    "year",
];

/// The aggregation operators of 2.42; others (`limitk`, `limit_ratio`) are unknown functions.
const AGGREGATORS_2_42: &[&str] = &[
    "sum",
    "avg",
    "count",
    "min",
    "max",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "count_values",
    "quantile",
];

fn register_holt_winters() {
    static REGISTERED: OnceLock<()> = OnceLock::new();
    REGISTERED.get_or_init(|| {
        let holt_winters = Function::new(
            "holt_winters",
            vec![ValueType::Matrix, ValueType::Scalar, ValueType::Scalar],
            0,
            ValueType::Vector,
            false,
        );
        // Fails only if a built-in has the name, in which case it is already known.
        let _ = parser::register_extra_functions(vec![holt_winters]);
    });
}

/// Parses `query` as Prometheus 2.42 does.
pub(crate) fn parse(query: &str) -> Result<Expr> {
    register_holt_winters();
    check_lexical(query)?;
    // promql-parser panics on some numbers it cannot turn into durations or times (`offset NaN`,
    // `@ -1e300`); a query must never take the process down, so a panic is a parse error.
    let parsed = std::panic::catch_unwind(|| parser::parse(query)).map_err(|_| {
        PromqlError::Parse("parse error: invalid number in duration, offset or @ modifier".to_string())
    })?;
    let expr = parsed.map_err(|msg| PromqlError::Parse(format!("parse error: {}", go_wording(&msg))))?;
    check_known_to_2_42(&expr, query)?;
    Ok(expr)
}

/// Rewords `promql-parser` messages the way 2.42 words them where they differ only in style.
fn go_wording(msg: &str) -> String {
    if let Some(name) = msg.strip_prefix("unknown function with name '").and_then(|r| r.strip_suffix('\'')) {
        return format!("unknown function with name {name:?}");
    }
    if let Some(got) =
        msg.strip_prefix("unary expression only allowed on expressions of type scalar or vector, got: ")
    {
        let got = match got {
            "matrix" => "range vector",
            "vector" => "instant vector",
            other => other,
        };
        return format!(
            "unary expression only allowed on expressions of type scalar or instant vector, got {got:?}"
        );
    }
    if msg == "unexpected end of input inside brackets" {
        return "unclosed left bracket".to_string();
    }
    requote(msg)
        .replace("type scalar in aggregation expression", "type scalar in aggregation parameter")
        .replace("type string in aggregation expression", "type string in aggregation parameter")
        .replace("got vector", "got instant vector")
        .replace("got matrix", "got range vector")
        .replace("type vector", "type instant vector")
        .replace("type matrix", "type range vector")
}

/// Turns `'x'` quoting into Go's `%q` quoting (`"x"`).
fn requote(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(open) = rest.find('\'') {
        let Some(close) = rest[open + 1..].find('\'') else { break };
        let quoted = &rest[open + 1..open + 1 + close];
        out.push_str(&rest[..open]);
        out.push_str(&format!("{quoted:?}"));
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    out
}

/// `line:col:` of byte offset `pos`, as 2.42 prefixes parse errors.
fn position(query: &str, pos: usize) -> String {
    let before = &query[..pos.min(query.len())];
    let line = before.matches('\n').count() + 1;
    let col = match before.rfind('\n') {
        Some(nl) => pos - nl,
        None => pos + 1,
    };
    format!("{line}:{col}:")
}

fn unknown_function(query: &str, name: &str) -> PromqlError {
    let pos = find_call(query, name).unwrap_or(0);
    PromqlError::Parse(format!("{} parse error: unknown function with name {name:?}", position(query, pos)))
}

/// Rejects functions and operators 2.42 does not have.
fn check_known_to_2_42(expr: &Expr, query: &str) -> Result<()> {
    match expr {
        Expr::Call(call) => {
            if !FUNCTIONS_2_42.contains(&call.func.name) {
                return Err(unknown_function(query, call.func.name));
            }
            call.args.args.iter().try_for_each(|a| check_known_to_2_42(a, query))
        }
        Expr::Aggregate(agg) => {
            let op = agg.op.to_string();
            if !AGGREGATORS_2_42.contains(&op.as_str()) {
                return Err(unknown_function(query, &op));
            }
            if let Some(param) = &agg.param {
                check_known_to_2_42(param, query)?;
            }
            check_known_to_2_42(&agg.expr, query)
        }
        Expr::Binary(bin) => {
            if let Some(m) = &bin.modifier
                && (m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some())
            {
                return Err(PromqlError::Parse("parse error: fill modifiers are not supported".to_string()));
            }
            check_known_to_2_42(&bin.lhs, query)?;
            check_known_to_2_42(&bin.rhs, query)
        }
        Expr::Unary(u) => check_known_to_2_42(&u.expr, query),
        Expr::Paren(p) => check_known_to_2_42(&p.expr, query),
        Expr::Subquery(s) => check_known_to_2_42(&s.expr, query),
        Expr::VectorSelector(vs) => check_selector(vs),
        Expr::MatrixSelector(ms) => check_selector(&ms.vs),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => Ok(()),
    }
}

fn check_selector(vs: &parser::VectorSelector) -> Result<()> {
    if vs.matchers.or_matchers.is_empty() {
        Ok(())
    } else {
        Err(PromqlError::Parse("parse error: unexpected identifier \"or\" in label matching".to_string()))
    }
}

/// The spans of the query outside string literals and comments, as `(offset, text)`.
fn code_spans(query: &str) -> Vec<(usize, &str)> {
    let bytes = query.as_bytes();
    let mut spans = Vec::new();
    let (mut i, mut start) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'"' | b'\'' | b'`') => {
                spans.push((start, &query[start..i]));
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += if bytes[i] == b'\\' && quote != b'`' { 2 } else { 1 };
                }
                i += 1;
                start = i.min(bytes.len());
            }
            b'#' => {
                spans.push((start, &query[start..i]));
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                start = i;
            }
            _ => i += 1,
        }
    }
    if start < bytes.len() {
        spans.push((start, &query[start..]));
    }
    spans
}

/// Where `name(` is called in the query, outside strings.
fn find_call(query: &str, name: &str) -> Option<usize> {
    for (offset, span) in code_spans(query) {
        let mut from = 0;
        while let Some(found) = span[from..].find(name) {
            let at = from + found;
            let before_ok = span[..at].chars().next_back().is_none_or(|c| !is_ident_char(c));
            let rest = span[at + name.len()..].trim_start();
            if before_ok && rest.starts_with('(') {
                return Some(offset + at);
            }
            from = at + name.len();
        }
    }
    None
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// Whether `s` is a duration as 2.42's lexer and `model.ParseDuration` accept it: units in
/// order `y w d h m s ms`, each at most once, and not zero.
fn is_valid_duration(s: &str) -> bool {
    const UNITS: &[&str] = &["y", "w", "d", "h", "m", "s", "ms"];
    let mut rest = s;
    let mut next_unit = 0;
    let mut total_nonzero = false;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        let (number, tail) = rest.split_at(digits);
        let unit_len = if tail.starts_with("ms") { 2 } else { tail.chars().next().map_or(0, char::len_utf8) };
        let unit = &tail[..unit_len.min(tail.len())];
        let Some(index) = UNITS.iter().position(|u| *u == unit) else {
            return false;
        };
        if index < next_unit {
            return false;
        }
        next_unit = index + 1;
        total_nonzero |= number.bytes().any(|b| b != b'0');
        rest = &tail[unit.len()..];
    }
    total_nonzero
}

fn duration_error(query: &str, pos: usize, text: &str) -> PromqlError {
    let msg = if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') && !text.is_empty() {
        format!("unexpected number {text:?}, expected duration")
    } else if text.bytes().all(|b| b == b'0' || b.is_ascii_alphabetic()) && !text.is_empty() {
        "duration must be greater than 0".to_string()
    } else {
        format!("bad duration syntax: {text:?}")
    };
    PromqlError::Parse(format!("{} parse error: {msg}", position(query, pos)))
}

/// Rejects durations 2.42 would not lex as durations (in range brackets and after `offset`)
/// and quoted label names (`{"foo"}`, `{"a"="b"}`), which 2.42 does not have.
fn check_lexical(query: &str) -> Result<()> {
    let spans = code_spans(query);
    for &(offset, span) in &spans {
        check_brackets(query, offset, span)?;
        check_offsets(query, offset, span)?;
        check_at_timestamps(query, offset, span)?;
    }
    check_quoted_label_names(query, &spans)
}

/// A string right after `{` or `,` inside braces stands where 2.42 wants a label name.
fn check_quoted_label_names(query: &str, spans: &[(usize, &str)]) -> Result<()> {
    let mut depth = 0usize;
    for (i, &(offset, span)) in spans.iter().enumerate() {
        for c in span.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        let Some(&(next_offset, _)) = spans.get(i + 1) else { break };
        let string_start = offset + span.len();
        let ends_label_position = span.trim_end().ends_with(['{', ',']);
        let string = query[string_start..next_offset].trim_end();
        // The gap between spans is a string or a comment; only a string counts.
        if depth > 0 && ends_label_position && string.starts_with(['"', '\'', '`']) {
            return Err(PromqlError::Parse(format!(
                "{} parse error: unexpected string {string:?} in label matching, expected identifier or \"}}\"",
                position(query, string_start)
            )));
        }
    }
    Ok(())
}

fn check_brackets(query: &str, offset: usize, span: &str) -> Result<()> {
    let mut from = 0;
    while let Some(open) = span[from..].find('[') {
        let open = from + open;
        let Some(close) = span[open..].find(']') else { return Ok(()) };
        let close = open + close;
        let inside = &span[open + 1..close];
        for (i, part) in inside.split(':').enumerate() {
            let text = part.trim();
            // A subquery may leave its step out.
            if text.is_empty() && i == 1 {
                continue;
            }
            if !is_valid_duration(text) {
                return Err(duration_error(query, offset + open + 1, text));
            }
        }
        from = close + 1;
    }
    Ok(())
}

fn check_offsets(query: &str, offset: usize, span: &str) -> Result<()> {
    let lower = span.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find("offset") {
        let at = from + found;
        from = at + "offset".len();
        let before_ok = span[..at].chars().next_back().is_none_or(|c| !is_ident_char(c));
        let after_ok = span[from..].chars().next().is_none_or(|c| !is_ident_char(c));
        if !before_ok || !after_ok {
            continue;
        }
        let rest = span[from..].trim_start();
        let rest = rest.strip_prefix('-').map_or(rest, str::trim_start);
        if !rest.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            continue;
        }
        let token: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '.').collect();
        if !is_valid_duration(&token) {
            let pos = offset + (span.len() - rest.len());
            return Err(duration_error(query, pos, &token));
        }
    }
    Ok(())
}

/// 2.42 rejects an `@` time that is not finite or does not fit an int64 of seconds; promql-parser
/// would clamp it instead.
fn check_at_timestamps(query: &str, offset: usize, span: &str) -> Result<()> {
    let mut from = 0;
    while let Some(found) = span[from..].find('@') {
        let at = from + found;
        from = at + 1;
        let rest = span[from..].trim_start();
        let token: String = rest
            .chars()
            .enumerate()
            .take_while(|&(i, c)| {
                c.is_ascii_alphanumeric()
                    || c == '.'
                    || ((c == '+' || c == '-') && (i == 0 || rest[..i].ends_with(['e', 'E'])))
            })
            .map(|(_, c)| c)
            .collect();
        let Some(seconds) = parse_go_number(&token) else { continue };
        // Go compares against int64's bounds converted to float64 (±2^63).
        const BOUND: f64 = 9_223_372_036_854_775_808.0;
        if !seconds.is_finite() || seconds >= BOUND || seconds <= -BOUND {
            return Err(PromqlError::Parse(format!(
                "{} parse error: timestamp out of bounds for @ modifier: {}",
                position(query, offset + at),
                go_f_format(seconds)
            )));
        }
    }
    Ok(())
}

/// A PromQL number literal (decimal, exponent, hex, Inf, NaN), as 2.42's lexer reads one.
fn parse_go_number(token: &str) -> Option<f64> {
    let (negative, digits) = match token.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, token.strip_prefix('+').unwrap_or(token)),
    };
    let lower = digits.to_ascii_lowercase();
    let magnitude = if let Some(hex) = lower.strip_prefix("0x") {
        u64::from_str_radix(hex, 16).ok()? as f64
    } else if lower == "inf" {
        f64::INFINITY
    } else if lower == "nan" {
        f64::NAN
    } else if lower.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        lower.parse().ok()?
    } else {
        return None;
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// Go's `%f`: six decimals, `+Inf`, `-Inf`, `NaN`.
fn go_f_format(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{v:.6}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(q: &str) -> String {
        match parse(q) {
            Ok(e) => panic!("{q} parsed as {e:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn functions_newer_than_2_42_are_unknown() {
        assert_eq!(err("limitk(1, foo)"), "1:1: parse error: unknown function with name \"limitk\"");
        assert_eq!(
            err("sum(sort_by_label(foo, \"a\"))"),
            "1:5: parse error: unknown function with name \"sort_by_label\""
        );
        assert_eq!(
            err("mad_over_time(foo[5m])"),
            "1:1: parse error: unknown function with name \"mad_over_time\""
        );
        assert_eq!(err("nope(foo)"), "parse error: unknown function with name \"nope\"");
        assert_eq!(
            err("foo and on(a) group_left bar"),
            "parse error: no grouping allowed for \"and\" operation"
        );
        assert!(parse("holt_winters(foo[5m], 0.5, 0.1)").is_ok());
        assert!(parse("histogram_quantile(0.9, rate(foo[5m]))").is_ok());
    }

    #[test]
    fn durations_need_units_and_must_not_be_zero() {
        assert!(parse("foo[5]").is_err());
        assert!(parse("foo offset 5").is_err());
        assert!(parse("foo[5m:0s]").is_err());
        assert!(parse("foo offset -5").is_err());
        assert!(parse("foo[1h30m] offset -1m30s").is_ok());
        assert!(parse("foo[5m:]").is_ok());
        assert!(parse("foo{offset=\"[5]\"} offset 5m").is_ok());
        assert!(parse("sum by (offset) (offset)").is_ok());
    }

    #[test]
    fn quoted_label_names_are_not_2_42() {
        assert_eq!(
            err("{\"foo\"}"),
            "1:2: parse error: unexpected string \"\\\"foo\\\"\" in label matching, expected identifier or \"}\""
        );
        assert!(parse("foo{a=\"b\", \"c\"=\"d\"}").is_err());
        assert!(parse("label_replace(foo{a=\"x\"}, \"a\", \"b\", \"c\", \"d\")").is_ok());
        assert!(parse("foo{a=\"}\", b=~\"{\"}").is_ok());
        assert!(parse("foo{a=\"x\", # a comment\n b=\"y\"}").is_ok());
    }

    #[test]
    fn every_2_42_function_is_implemented() {
        for name in FUNCTIONS_2_42 {
            assert!(crate::functions::lookup(name).is_some(), "{name}");
        }
    }

    #[test]
    fn valid_durations() {
        for ok in ["5m", "1h30m", "1y2w3d4h5m6s7ms", "10ms", "0s1ms"] {
            assert!(is_valid_duration(ok), "{ok}");
        }
        for bad in ["", "5", "0s", "30m1h", "5x", "1.5m", "m"] {
            assert!(!is_valid_duration(bad), "{bad}");
        }
    }
}
