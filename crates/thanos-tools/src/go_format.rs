//! Go's text forms, so our output matches promtool's and Thanos' byte for byte: `%g` floats (as
//! `promtool tsdb dump` prints values), `time.Duration.String()` and `time.ParseDuration`, English
//! digit grouping (`message.NewPrinter(language.English)`) and `strconv.Unquote` (with the PromQL
//! lexer's quotes).

use anyhow::{Context, bail};

/// Formats `v` exactly as Go's `fmt` does for the `%g` verb: shortest round-trip digits,
/// exponent form when the exponent is < -4 or ≥ 6, `+Inf`, `-Inf`, `NaN`.
pub(crate) fn format_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    let (digits, exp) = shortest_digits(v);
    let negative = v.is_sign_negative();
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let abs = exp.unsigned_abs();
        if abs < 10 {
            out.push('0');
        }
        out.push_str(&abs.to_string());
        return out;
    }
    // Plain form: the decimal point sits after `exp + 1` digits.
    let point = exp + 1;
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
        out.push_str(&digits);
    } else {
        let point = point as usize;
        if point >= digits.len() {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', point - digits.len()));
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

/// The shortest decimal digits that read back as `v`, and the decimal exponent of the first digit,
/// chosen as Go's strconv chooses them.
///
/// Rust's `{:e}` finds the same shortest length, but when the exact binary value lies exactly halfway
/// between two candidates of that length it rounds up, where Go rounds to the even digit.
fn shortest_digits(v: f64) -> (String, i32) {
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` output always has an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` exponent is an integer");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let last_is_odd = digits.as_bytes().last().is_some_and(|d| d % 2 == 1);
    if !last_is_odd {
        return (digits, exp);
    }
    // A tie means the exact value's digits after the shortest length are exactly "5000…".
    let n = digits.len();
    let next = format!("{:.*e}", n, v.abs());
    if next.as_bytes().get(n + 1) != Some(&b'5') {
        return (digits, exp);
    }
    // An f64's exact decimal expansion has at most 767 significant digits.
    let exact = format!("{:.*e}", 800, v.abs());
    let (exact_mantissa, exact_exp) = exact.split_once('e').expect("exponent");
    let exact_digits: Vec<u8> = exact_mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let is_tie = exact_exp == exp.to_string()
        && exact_digits[n] == b'5'
        && exact_digits[n + 1..].iter().all(|&d| d == b'0');
    if !is_tie {
        return (digits, exp);
    }
    // The candidates are the exact digits truncated, and that plus one in the last place; take the
    // even one, if it reads back as `v`.
    let truncated = String::from_utf8(exact_digits[..n].to_vec()).expect("ASCII digits");
    let candidate = if truncated != digits { truncated } else { return (digits, exp) };
    let reads_back = format!("{}.{}e{exp}", &candidate[..1], &candidate[1..]).parse::<f64>() == Ok(v.abs());
    if reads_back { (candidate, exp) } else { (digits, exp) }
}

const NANOS_PER_MILLI: i128 = 1_000_000;

/// Go's `time.Duration(ms * time.Millisecond).String()`.
pub(crate) fn duration_ms(ms: i64) -> String {
    duration_nanos(i128::from(ms) * NANOS_PER_MILLI)
}

/// Go's `time.Duration.String()` for a nanosecond count: `1h2m3.5s`, `1.5ms`, `0s`.
pub(crate) fn duration_nanos(nanos: i128) -> String {
    if nanos == 0 {
        return "0s".to_string();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let abs = nanos.unsigned_abs();
    if abs < 1_000 {
        return format!("{sign}{abs}ns");
    }
    if abs < 1_000_000 {
        return format!("{sign}{}µs", fixed(abs, 1_000));
    }
    if abs < 1_000_000_000 {
        return format!("{sign}{}ms", fixed(abs, 1_000_000));
    }
    let secs_total = abs / 1_000_000_000;
    let seconds = fixed(abs % 60_000_000_000, 1_000_000_000);
    let minutes_total = secs_total / 60;
    if minutes_total == 0 {
        return format!("{sign}{seconds}s");
    }
    let hours = minutes_total / 60;
    let minutes = minutes_total % 60;
    if hours == 0 {
        return format!("{sign}{minutes}m{seconds}s");
    }
    format!("{sign}{hours}h{minutes}m{seconds}s")
}

/// `value / unit` with the remainder as a decimal fraction, trailing zeros removed.
fn fixed(value: u128, unit: u128) -> String {
    let whole = value / unit;
    let rest = value % unit;
    if rest == 0 {
        return whole.to_string();
    }
    let digits = unit.ilog10() as usize;
    let fraction = format!("{rest:0digits$}");
    format!("{whole}.{}", fraction.trim_end_matches('0'))
}

/// Go's `time.ParseDuration`, in nanoseconds; `None` where Go returns an error.
pub(crate) fn parse_duration(text: &str) -> Option<f64> {
    let (negative, mut rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0.0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let number_len = rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
        let number = &rest[..number_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest.bytes().take_while(|b| !b.is_ascii_digit() && *b != b'.').count();
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * scale;
    }
    Some(if negative { -total } else { total })
}

/// Formats an integer as Go's English message printer does: `1,234,567`.
pub(crate) fn grouped(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if value < 0 {
        out.push('-');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Go's `strconv.Unquote` for a double-quoted string; any error reads `invalid syntax`, as Go's.
pub(crate) fn unquote(quoted: &str) -> anyhow::Result<String> {
    let inner = quoted.strip_prefix('"').and_then(|s| s.strip_suffix('"'));
    inner.and_then(|inner| unquote_with('"', inner).ok()).context("invalid syntax")
}

/// Decodes the body of a string literal opened and closed by `quote`, as Go's `strconv.Unquote` and
/// Prometheus' `strutil.Unquote` (which also takes multi-character `'…'` strings) do.
///
/// A `` ` `` string is raw: returned as is, and may not contain `` ` ``. In a `"…"` or `'…'` string
/// the quote itself and a newline must be escaped, and these escapes are decoded: `\a \b \f \n \r
/// \t \v \\`, the quote (`\"` only in `"…"`, `\'` only in `'…'`), `\xHH`, `\uHHHH`,
/// `\UHHHHHHHH` and three octal digits `\OOO` (at most `\377`). Go decodes `\xHH` and `\OOO` to a
/// byte; here they become the code point of that value, since a `String` holds only UTF-8.
pub(crate) fn unquote_with(quote: char, inner: &str) -> anyhow::Result<String> {
    match quote {
        '`' if inner.contains('`') => bail!("unescaped ` in raw string"),
        '`' => return Ok(inner.to_string()),
        '"' | '\'' => {}
        other => bail!("{other:?} is not a string quote"),
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(unescape(quote, &mut chars)?),
            '\n' => bail!("newline in quoted string"),
            c if c == quote => bail!("unescaped {quote} in quoted string"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Decodes the escape sequence after a `\\` in a string quoted with `quote`.
fn unescape(quote: char, chars: &mut std::str::Chars<'_>) -> anyhow::Result<char> {
    let Some(escape) = chars.next() else { bail!("escape sequence not terminated") };
    let (len, radix, max) = match escape {
        'a' => return Ok('\x07'),
        'b' => return Ok('\x08'),
        'f' => return Ok('\x0c'),
        'n' => return Ok('\n'),
        'r' => return Ok('\r'),
        't' => return Ok('\t'),
        'v' => return Ok('\x0b'),
        '\\' => return Ok('\\'),
        c if c == quote => return Ok(c),
        'x' => (2, 16, 0xff),
        'u' => (4, 16, u32::from(char::MAX)),
        'U' => (8, 16, u32::from(char::MAX)),
        '0'..='7' => (3, 8, 0o377),
        other => bail!("unknown escape sequence \\{other}"),
    };
    // An octal escape's first digit is the escape character itself.
    let octal = radix == 8;
    let digits: String =
        octal.then_some(escape).into_iter().chain(chars.by_ref().take(len - usize::from(octal))).collect();
    let valid = digits.chars().count() == len && digits.chars().all(|c| c.is_digit(radix));
    let code = valid.then(|| u32::from_str_radix(&digits, radix).ok()).flatten().filter(|&code| code <= max);
    let Some(decoded) = code.and_then(char::from_u32) else {
        let prefix = if octal { String::new() } else { escape.to_string() };
        bail!("invalid escape \\{prefix}{digits}")
    };
    Ok(decoded)
}

/// Whether `text` is a time as Thanos prints them (`2006-01-02T15:04:05Z`), which sorts
/// chronologically as text.
pub(crate) fn is_rfc3339_utc(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 20
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            19 => *b == b'Z',
            _ => b.is_ascii_digit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_go_fmt_g() {
        // Expected strings are what `fmt.Printf("%g", v)` prints in Go.
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (21.9438, "21.9438"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (1704067200.0, "1.7040672e+09"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.000123, "0.000123"),
            (1e21, "1e+21"),
            (1e100, "1e+100"),
            (-2.5e-7, "-2.5e-07"),
            (0.1 + 0.2, "0.30000000000000004"),
            (100000.0, "100000"),
            (1000000.0, "1e+06"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            // Exactly halfway between two 16-digit candidates: Go rounds to the even digit.
            (-(97111362827.0 + 33.0 / 64.0), "-9.711136282751562e+10"),
            (97111362827.0 + 33.0 / 64.0, "9.711136282751562e+10"),
            (1637372839.0 + 97.0 / 256.0, "1.6373728393789062e+09"),
            (f64::from_bits(0x7ff0_0000_0000_0002), "NaN"),
        ];
        for &(v, want) in cases {
            assert_eq!(format_g(v), want, "format_g({v:?})");
        }
    }

    #[test]
    fn durations_like_go() {
        assert_eq!(duration_ms(0), "0s");
        assert_eq!(duration_ms(7_200_000), "2h0m0s");
        assert_eq!(duration_ms(7_170_001), "1h59m30.001s");
        assert_eq!(duration_ms(300_000), "5m0s");
        assert_eq!(duration_ms(1_500), "1.5s");
        assert_eq!(duration_ms(500), "500ms");
        assert_eq!(duration_ms(-7_200_000), "-2h0m0s");
        assert_eq!(duration_ms(144_000_000), "40h0m0s");
        assert_eq!(duration_nanos(1_500), "1.5µs");
        assert_eq!(duration_nanos(15), "15ns");
    }

    #[test]
    fn parses_durations_like_go() {
        assert_eq!(parse_duration("2h0m0s"), Some(7.2e12));
        assert_eq!(parse_duration("-1.5s"), Some(-1.5e9));
        assert_eq!(parse_duration("0"), Some(0.0));
        assert_eq!(parse_duration("12"), None);
        assert_eq!(parse_duration("1,234"), None);
        assert_eq!(parse_duration("01HMX4T4V4B2Y2Q9X8Y7W6V5T4"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(grouped(-12_345), "-12,345");
    }

    #[test]
    fn unquotes_like_go() {
        assert_eq!(unquote(r#""a\"b\n\x41""#).unwrap(), "a\"b\nA");
        assert!(unquote("\"a").is_err());
        assert!(unquote(r#""a"b""#).is_err());
        assert_eq!(unquote(r#""\101\u00e9\\""#).unwrap(), "Aé\\");
        // Go accepts `\'` only in single-quoted literals, and no raw newline.
        assert_eq!(unquote(r#""\'""#).unwrap_err().to_string(), "invalid syntax");
        assert!(unquote("\"a\nb\"").is_err());
    }

    #[test]
    fn unquotes_each_quote_like_prometheus() {
        assert_eq!(unquote_with('\'', r#"it\'s "x""#).unwrap(), "it's \"x\"");
        assert!(unquote_with('\'', r#"\""#).is_err());
        assert!(unquote_with('\'', "'").is_err());
        assert_eq!(unquote_with('`', r#"a\n\q"b"#).unwrap(), r#"a\n\q"b"#);
        assert!(unquote_with('`', "a`b").is_err());
        assert_eq!(unquote_with('"', r#"\x41\101\U0001F600"#).unwrap(), "AA\u{1F600}");
        for bad in
            [r#"\x4"#, r#"\x4g"#, r#"\x+1"#, r#"\10"#, r#"\400"#, r#"\ud800"#, r#"\U00110000"#, r#"\q"#, "\\"]
        {
            assert!(unquote_with('"', bad).is_err(), "{bad:?} unquoted");
        }
        assert_eq!(unquote_with('"', r#"\q"#).unwrap_err().to_string(), "unknown escape sequence \\q");
    }

    #[test]
    fn recognises_times() {
        assert!(is_rfc3339_utc("2024-01-01T00:00:00Z"));
        assert!(!is_rfc3339_utc("2024-01-01 00:00:00"));
    }
}
