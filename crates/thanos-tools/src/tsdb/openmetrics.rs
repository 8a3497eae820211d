//! A reader of the OpenMetrics text format as `promtool tsdb create-blocks-from openmetrics` takes
//! it: every sample carries a timestamp in seconds, and the input ends with `# EOF`.

use anyhow::{Context, Result, bail};
use tsdb_format::{Label, Labels};

/// One sample of the input: its series, timestamp in milliseconds and value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    pub(crate) labels: Labels,
    pub(crate) t: i64,
    pub(crate) v: f64,
}

/// Parses the whole input. Errors name the line.
pub(crate) fn parse(input: &str) -> Result<Vec<Sample>> {
    let mut samples = Vec::new();
    let mut saw_eof = false;
    for (i, line) in input.lines().enumerate() {
        let lineno = i + 1;
        if saw_eof {
            if line.is_empty() {
                continue;
            }
            bail!("line {lineno}: data after # EOF");
        }
        if let Some(comment) = line.strip_prefix('#') {
            if comment.trim() == "EOF" {
                saw_eof = true;
            } else if !is_metadata(comment) {
                bail!("line {lineno}: invalid comment line {line:?}");
            }
            continue;
        }
        if line.is_empty() {
            bail!("line {lineno}: empty lines are not allowed in OpenMetrics");
        }
        let sample = parse_sample(line).with_context(|| format!("line {lineno}: {line:?}"))?;
        samples.push(sample);
    }
    if !saw_eof {
        bail!("data does not end with # EOF");
    }
    Ok(samples)
}

fn is_metadata(comment: &str) -> bool {
    let mut words = comment.trim_start().split(' ');
    matches!(words.next(), Some("HELP" | "TYPE" | "UNIT")) && words.next().is_some_and(|w| !w.is_empty())
}

fn parse_sample(line: &str) -> Result<Sample> {
    let name_end = line.find(['{', ' ']).context("sample line has no value")?;
    let name = &line[..name_end];
    if !is_metric_name(name) {
        bail!("invalid metric name {name:?}");
    }
    let mut labels = vec![Label::new("__name__", name)];
    let mut rest = &line[name_end..];
    if let Some(after_brace) = rest.strip_prefix('{') {
        rest = parse_labels(after_brace, &mut labels)?;
    }
    let rest = rest.strip_prefix(' ').context("expected a space before the value")?;
    // An exemplar (` # {…} v [t]`) may follow; it is not stored.
    let rest = rest.split(" # ").next().unwrap_or(rest);
    let mut fields = rest.split(' ');
    let value = fields.next().context("missing value")?;
    let v = parse_go_float(value).with_context(|| format!("invalid value {value:?}"))?;
    let Some(ts) = fields.next() else {
        bail!("expected timestamp for series {}, got none", Labels::new(labels));
    };
    if fields.next().is_some() {
        bail!("unexpected text after the timestamp");
    }
    let seconds = parse_go_float(ts).with_context(|| format!("invalid timestamp {ts:?}"))?;
    // Go converts with int64(ts * 1000): truncation towards zero.
    let t = (seconds * 1000.0) as i64;
    let mut seen = std::collections::HashSet::new();
    for l in &labels {
        if !seen.insert(l.name.as_str()) {
            bail!("duplicate label name {:?}", l.name);
        }
    }
    Ok(Sample { labels: Labels::new(labels), t, v })
}

/// Parses `name="value",…}` and returns what follows the closing brace.
fn parse_labels<'a>(mut s: &'a str, out: &mut Vec<Label>) -> Result<&'a str> {
    loop {
        if let Some(rest) = s.strip_prefix('}') {
            return Ok(rest);
        }
        let eq = s.find('=').context("label without '='")?;
        let name = &s[..eq];
        if !is_label_name(name) {
            bail!("invalid label name {name:?}");
        }
        let quoted = s[eq + 1..].strip_prefix('"').context("label value must be quoted")?;
        let (value, rest) = unescape_label_value(quoted)?;
        out.push(Label::new(name, value));
        s = match rest.strip_prefix(',') {
            Some(r) => r,
            None if rest.starts_with('}') => rest,
            None => bail!("expected ',' or '}}' after label value"),
        };
    }
}

/// Reads an OpenMetrics label value up to its closing quote (escapes `\\`, `\"`, `\n`).
fn unescape_label_value(s: &str) -> Result<(String, &str)> {
    let mut value = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &s[i + 1..])),
            '\\' => match chars.next() {
                Some((_, '\\')) => value.push('\\'),
                Some((_, '"')) => value.push('"'),
                Some((_, 'n')) => value.push('\n'),
                other => bail!("invalid escape sequence \\{}", other.map_or(' ', |(_, c)| c)),
            },
            '\n' => bail!("newline in label value"),
            c => value.push(c),
        }
    }
    bail!("unterminated label value")
}

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Go's `math.NaN()`: the NaN bit pattern `strconv.ParseFloat("NaN")` returns, which ends up in
/// chunks; Rust's `f64::NAN` has different bits.
const GO_NAN_BITS: u64 = 0x7FF8_0000_0000_0001;

/// Parses a float as Prometheus' text parsers do (Go's `strconv.ParseFloat` without `p` or `_`).
fn parse_go_float(s: &str) -> Result<f64> {
    if s.is_empty() || s.contains(['_', ' ', 'p', 'P']) {
        bail!("not a number");
    }
    let v: f64 = s.parse()?;
    Ok(if v.is_nan() { f64::from_bits(GO_NAN_BITS) } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_samples_and_metadata() {
        let input = "# HELP x_total A counter.\n# TYPE x counter\nx_total{a=\"1\",b=\"q\\\"\\n\"} 3.5 1704067200\nup 1 1704067200.5 # {trace_id=\"1\"} 1\n# EOF\n";
        let samples = parse(input).unwrap();
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0].labels.get("b"), Some("q\"\n"));
        assert_eq!(samples[0].labels.get("__name__"), Some("x_total"));
        assert_eq!(samples[0].t, 1_704_067_200_000);
        assert_eq!(samples[1].t, 1_704_067_200_500);
        assert_eq!(samples[1].v, 1.0);
    }

    #[test]
    fn special_values() {
        let s = parse("a +Inf 1\na -Inf 2\na NaN 3\n# EOF\n").unwrap();
        assert!(s[0].v.is_infinite() && s[0].v > 0.0);
        assert!(s[1].v.is_infinite() && s[1].v < 0.0);
        assert_eq!(s[2].v.to_bits(), GO_NAN_BITS);
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse("a 1 1\nb 2\n# EOF\n").unwrap_err();
        assert!(format!("{err:#}").contains("line 2") && format!("{err:#}").contains("expected timestamp"));
        assert!(parse("a 1 1\n").unwrap_err().to_string().contains("# EOF"));
        assert!(parse("a{b=c} 1 1\n# EOF\n").is_err());
        assert!(parse("a{b=\"c\"} x 1\n# EOF\n").is_err());
    }

    proptest::proptest! {
        #[test]
        fn random_input_never_panics(input in "\\PC*") {
            let _ = parse(&input);
        }

        #[test]
        fn mutated_input_never_panics(pos in 0usize..120, byte in proptest::prelude::any::<u8>()) {
            let mut input = b"# TYPE x counter\nx_total{a=\"1\",b=\"\\\"\"} 3.5 1704067200\nup 1 1.5 # {t=\"1\"} 1\n# EOF\n".to_vec();
            let at = pos % input.len();
            input[at] = byte;
            let _ = parse(&String::from_utf8_lossy(&input));
        }
    }
}
