//! Series descriptions (`metric{l="v"} 1+2x3 _ stale`) and number literals, read as
//! Prometheus 2.42 reads them: `parser.ParseSeriesDesc` (its lexer in series mode and the
//! `series_description` grammar), `parser.number`, `strconv.ParseInt(s, 0, 64)`,
//! `strconv.ParseFloat`, `strutil.Unquote` and `model.ParseDuration`.

use tsdb_format::{Label, Labels};

/// Prometheus' stale marker bits (`value.StaleNaN`).
pub(crate) const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// One element of an expanded value sequence (`parser.SequenceValue`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SeqValue {
    /// The value (0 when omitted, as in Go).
    pub(crate) value: f64,
    /// `_`: no sample at this step.
    pub(crate) omitted: bool,
}

impl SeqValue {
    fn value(value: f64) -> Self {
        Self { value, omitted: false }
    }

    const OMITTED: Self = Self { value: 0.0, omitted: true };
}

// ---------------------------------------------------------------------------------------------
// Numbers.

/// `parser.number` / the harness' `parseNumber`: `strconv.ParseInt(s, 0, 64)`, falling back to
/// `strconv.ParseFloat(s, 64)`.
pub(crate) fn parse_go_number(s: &str) -> Option<f64> {
    #[allow(clippy::cast_precision_loss, reason = "Go converts the int64 with float64(n) too")]
    go_parse_int_base0(s).map(|n| n as f64).or_else(|| go_parse_float(s))
}

/// Go's `underscoreOK`: underscores only between digits, or between a base prefix and a digit.
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    if !b.is_empty() && (b[0] == b'+' || b[0] == b'-') {
        i = 1;
    }
    let mut hex = false;
    if b.len() - i >= 2 && b[i] == b'0' && matches!(b[i + 1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        hex = b[i + 1].eq_ignore_ascii_case(&b'x');
        i += 2;
        saw = b'0';
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// `strconv.ParseInt(s, 0, 64)`: optional sign, `0x`/`0o`/`0b`/leading-`0` octal prefixes,
/// underscores as digit separators; `None` on any syntax or range error.
pub(crate) fn go_parse_int_base0(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if body.contains('_') && !underscore_ok(body) {
        return None;
    }
    let digits: String = digits.chars().filter(|&c| c != '_').collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(&digits, radix).ok()?;
    if neg {
        if magnitude > 1u64 << 63 {
            return None;
        }
        Some(0i64.wrapping_sub_unsigned(magnitude))
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// `strconv.ParseFloat(s, 64)`: decimal and hexadecimal (`p` exponent required) literals,
/// `Inf`/`Infinity` with an optional sign and `NaN` without one, any case. Out-of-range values
/// are an error in Go (`ErrRange`), so `None` here.
pub(crate) fn go_parse_float(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let signed = |v: f64| if neg { -v } else { v };
    if lower == "inf" || lower == "infinity" {
        return Some(signed(f64::INFINITY));
    }
    if lower == "nan" {
        return (body.len() == s.len()).then_some(f64::NAN);
    }
    if body.contains('_') && !underscore_ok(body) {
        return None;
    }
    let clean: String = lower.chars().filter(|&c| c != '_').collect();
    if let Some(hex) = clean.strip_prefix("0x") {
        return parse_hex_float(hex).map(signed);
    }
    // Decimal: digits [. digits] [e [+-] digits], at least one mantissa digit.
    let b = clean.as_bytes();
    let mut i = 0;
    let mut mantissa_digits = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
        mantissa_digits += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
            mantissa_digits += 1;
        }
    }
    if mantissa_digits == 0 {
        return None;
    }
    if i < b.len() && b[i] == b'e' {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    let v: f64 = clean.parse().ok()?;
    if v.is_infinite() {
        return None; // ErrRange
    }
    Some(signed(v))
}

fn parse_hex_float(s: &str) -> Option<f64> {
    let (mantissa, exp) = s.split_once('p')?;
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let exp: i32 = {
        let e = exp.strip_prefix('+').unwrap_or(exp);
        if e.is_empty() || !e.trim_start_matches('-').bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        e.parse().ok()?
    };
    let mut v = 0.0f64;
    for c in int_part.chars().chain(frac_part.chars()) {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let frac_len = i32::try_from(frac_part.len()).ok()?;
    let v = v * 2f64.powi(exp - 4 * frac_len);
    if v.is_infinite() { None } else { Some(v) }
}

/// `model.ParseDuration` (prometheus/common v0.39.0): `0`, or units `y w d h m s ms` in this
/// order, each at most once. Returns milliseconds.
pub(crate) fn parse_duration_ms(s: &str) -> Result<i64, String> {
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err("empty duration string".to_owned());
    }
    const UNITS: [(&str, i64); 7] = [
        ("y", 365 * 24 * 3_600_000),
        ("w", 7 * 24 * 3_600_000),
        ("d", 24 * 3_600_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    let invalid = || format!("not a valid duration string: {s:?}");
    let mut rest = s;
    let mut next_unit = 0;
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let n: i64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let idx = UNITS.iter().position(|(u, _)| *u == unit).ok_or_else(invalid)?;
        if idx < next_unit {
            return Err(invalid());
        }
        next_unit = idx + 1;
        total = n.checked_mul(UNITS[idx].1).and_then(|x| total.checked_add(x)).ok_or_else(invalid)?;
    }
    Ok(total)
}

// ---------------------------------------------------------------------------------------------
// Strings.

/// `strutil.Unquote`: a `"…"` or `'…'` string with Go escapes, or a `` `…` `` raw string.
pub(crate) fn go_unquote(s: &str) -> Result<String, String> {
    let err = || format!("error unquoting string {s:?}: invalid syntax");
    let quote = s.chars().next().ok_or_else(err)?;
    if s.len() < 2 || !s.ends_with(quote) {
        return Err(err());
    }
    let inner = &s[1..s.len() - 1];
    if quote == '`' {
        if inner.contains('`') {
            return Err(err());
        }
        return Ok(inner.replace('\r', ""));
    }
    if quote != '"' && quote != '\'' {
        return Err(err());
    }
    let mut out: Vec<u8> = Vec::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == quote || c == '\n' {
            return Err(err());
        }
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let e = chars.next().ok_or_else(err)?;
        let simple = match e {
            'a' => Some(0x07u8),
            'b' => Some(0x08),
            'f' => Some(0x0c),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(0x0b),
            '\\' => Some(b'\\'),
            c if c == quote => Some(c as u8),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        let (n, radix, is_byte, first) = match e {
            '0'..='7' => (3, 8, true, Some(e)),
            'x' => (2, 16, true, None),
            'u' => (4, 16, false, None),
            'U' => (8, 16, false, None),
            _ => return Err(err()),
        };
        let mut x: u32 = 0;
        let mut taken = 0;
        if let Some(f) = first {
            x = f.to_digit(radix).ok_or_else(err)?;
            taken = 1;
        }
        while taken < n {
            let d = chars.next().and_then(|c| c.to_digit(radix)).ok_or_else(err)?;
            x = x * radix + d;
            taken += 1;
        }
        if is_byte {
            out.push(u8::try_from(x).map_err(|_| err())?);
        } else {
            let c = char::from_u32(x).ok_or_else(err)?;
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

// ---------------------------------------------------------------------------------------------
// Series descriptions.

/// Lexer tokens of the series-description mode.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Space,
    Add,
    Sub,
    Times,
    Blank,
    Number(String),
    Ident(String),
    /// A keyword or anything else the grammar cannot take in a value sequence.
    Other(String),
}

fn is_alpha(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_alnum(c: char) -> bool {
    is_alpha(c) || c.is_ascii_digit()
}

/// Keywords of the 2.42 lexer that `metric_identifier` accepts as a metric name.
const NAME_KEYWORDS: [&str; 18] = [
    "avg",
    "bottomk",
    "by",
    "count",
    "count_values",
    "group",
    "and",
    "or",
    "unless",
    "max",
    "min",
    "offset",
    "quantile",
    "stddev",
    "stdvar",
    "sum",
    "topk",
    "without",
];

/// Keywords of the 2.42 lexer a metric name cannot be (besides `start`/`end`, which it can).
const OTHER_KEYWORDS: [&str; 6] = ["atan2", "on", "ignoring", "group_left", "group_right", "bool"];

struct Cursor<'a> {
    chars: Vec<char>,
    pos: usize,
    line: &'a str,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, k: usize) -> Option<char> {
        self.chars.get(self.pos + k).copied()
    }

    fn err(&self, msg: impl std::fmt::Display) -> String {
        format!("{msg} (at column {} of {:?})", self.pos + 1, self.line)
    }

    fn word(&mut self, allow_colon: bool) -> String {
        let start = self.pos;
        while self.peek().is_some_and(|c| is_alnum(c) || (allow_colon && c == ':')) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.pos += 1;
        }
    }

    /// `Lexer.scanNumber` in series mode (no hex): digits, fraction, exponent; the next rune
    /// must be `x` or not alphanumeric.
    fn number(&mut self) -> Result<String, String> {
        let start = self.pos;
        let digits = |c: &mut Self| {
            while c.peek().is_some_and(|ch| ch.is_ascii_digit()) {
                c.pos += 1;
            }
        };
        digits(self);
        if self.peek() == Some('.') {
            self.pos += 1;
            digits(self);
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some('+' | '-')) {
                self.pos += 1;
            }
            digits(self);
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        match self.peek() {
            Some('x') => Ok(text),
            Some(c) if is_alnum(c) => Err(self.err(format!("bad number syntax: {:?}", format!("{text}{c}")))),
            _ => Ok(text),
        }
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// `parser.ParseSeriesDesc`: the labels of a `metric{...}` / `{...}` head and its expanded values.
pub(crate) fn parse_series_desc(line: &str) -> Result<(Labels, Vec<SeqValue>), String> {
    let mut c = Cursor { chars: line.chars().collect(), pos: 0, line };
    c.skip_spaces();
    let mut name: Option<String> = None;
    match c.peek() {
        Some(ch) if is_alpha(ch) || ch == ':' => {
            let word = c.word(true);
            let lower = word.to_ascii_lowercase();
            // `metric_identifier` takes identifiers and most keywords, but not these.
            if OTHER_KEYWORDS.contains(&lower.as_str()) || lower == "inf" || lower == "nan" {
                return Err(c.err(format!("unexpected {word:?} in series description")));
            }
            name = Some(word);
        }
        Some('{') => {}
        _ => return Err(c.err("expected a metric name or a label set")),
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    if c.peek() == Some('{') {
        c.pos += 1;
        pairs = parse_label_set(&mut c)?;
    }
    if let Some(n) = name {
        pairs.retain(|(k, _)| k != "__name__");
        pairs.push(("__name__".to_owned(), n));
    }
    let labels = Labels::new(pairs.into_iter().map(|(n, v)| Label::new(n, v)).collect());
    let toks = lex_values(&mut c)?;
    let values = parse_values(&toks).map_err(|e| format!("{e} in series values of {line:?}"))?;
    Ok((labels, values))
}

/// The inside of `{...}` after the brace: `name = "value"` items, commas, an optional trailing
/// comma. Label names are plain identifiers (no keyword check inside braces).
fn parse_label_set(c: &mut Cursor<'_>) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    loop {
        c.skip_spaces();
        match c.peek() {
            Some('}') => {
                c.pos += 1;
                return Ok(pairs);
            }
            Some(ch) if is_alpha(ch) => {}
            Some(ch) => return Err(c.err(format!("unexpected character inside braces: {ch:?}"))),
            None => return Err(c.err("unexpected end of input inside braces")),
        }
        let label = c.word(false);
        c.skip_spaces();
        if c.peek() != Some('=') || c.peek_at(1) == Some('~') {
            return Err(c.err("unexpected token in label set, expected \"=\""));
        }
        c.pos += 1;
        c.skip_spaces();
        let quote = c.peek().ok_or_else(|| c.err("unexpected end of input inside braces"))?;
        if !matches!(quote, '"' | '\'' | '`') {
            return Err(c.err("unexpected token in label set, expected string"));
        }
        let start = c.pos;
        c.pos += 1;
        loop {
            match c.peek() {
                None => return Err(c.err("unterminated quoted string")),
                Some('\\') if quote != '`' => c.pos += 2,
                Some('\n') if quote != '`' => return Err(c.err("unterminated quoted string")),
                Some(ch) if ch == quote => {
                    c.pos += 1;
                    break;
                }
                Some(_) => c.pos += 1,
            }
        }
        if c.pos > c.chars.len() {
            return Err(c.err("unterminated quoted string"));
        }
        let raw: String = c.chars[start..c.pos].iter().collect();
        pairs.push((label, go_unquote(&raw)?));
        c.skip_spaces();
        match c.peek() {
            Some(',') => c.pos += 1,
            Some('}') => {}
            _ => return Err(c.err("unexpected token in label set, expected \",\" or \"}\"")),
        }
    }
}

/// `lexValueSequence`.
fn lex_values(c: &mut Cursor<'_>) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    while let Some(ch) = c.peek() {
        match ch {
            _ if is_space(ch) => {
                c.skip_spaces();
                toks.push(Tok::Space);
            }
            '+' => {
                c.pos += 1;
                toks.push(Tok::Add);
            }
            '-' => {
                c.pos += 1;
                toks.push(Tok::Sub);
            }
            'x' => {
                c.pos += 1;
                toks.push(Tok::Times);
            }
            '_' => {
                c.pos += 1;
                toks.push(Tok::Blank);
            }
            _ if ch.is_ascii_digit() || (ch == '.' && c.peek_at(1).is_some_and(|d| d.is_ascii_digit())) => {
                toks.push(Tok::Number(c.number()?));
            }
            _ if is_alpha(ch) => {
                let word = c.word(true);
                let lower = word.to_ascii_lowercase();
                if lower == "inf" || lower == "nan" {
                    toks.push(Tok::Number(word));
                } else if NAME_KEYWORDS.contains(&lower.as_str())
                    || OTHER_KEYWORDS.contains(&lower.as_str())
                    || lower == "start"
                    || lower == "end"
                    || word.contains(':')
                {
                    toks.push(Tok::Other(word));
                } else {
                    toks.push(Tok::Ident(word));
                }
                if c.peek() == Some('{') {
                    return Err(c.err("unexpected \"{\" in series values"));
                }
            }
            _ => return Err(c.err(format!("unexpected character in series sequence: {ch:?}"))),
        }
    }
    Ok(toks)
}

/// `series_values` / `series_item` / `series_value` of the 2.42 grammar.
fn parse_values(toks: &[Tok]) -> Result<Vec<SeqValue>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    let number = |t: Option<&Tok>| -> Result<f64, String> {
        match t {
            Some(Tok::Number(s)) => parse_go_number(s).ok_or_else(|| format!("error parsing number {s:?}")),
            other => Err(format!("unexpected {other:?}, expected number")),
        }
    };
    let uint = |t: Option<&Tok>| -> Result<u64, String> {
        match t {
            Some(Tok::Number(s)) => {
                s.parse::<u64>().map_err(|e| format!("invalid repetition in series values: {s:?}: {e}"))
            }
            other => Err(format!("unexpected {other:?}, expected repetition count")),
        }
    };
    while i < toks.len() {
        if toks[i] != Tok::Space {
            return Err(format!("unexpected {:?}, expected space", toks[i]));
        }
        i += 1;
        if i == toks.len() {
            break; // `series_values SPACE`
        }
        // series_item
        if toks[i] == Tok::Blank {
            i += 1;
            if toks.get(i) == Some(&Tok::Times) {
                let n = uint(toks.get(i + 1))?;
                i += 2;
                for _ in 0..n {
                    out.push(SeqValue::OMITTED);
                }
            } else {
                out.push(SeqValue::OMITTED);
            }
            continue;
        }
        let mut v = match &toks[i] {
            Tok::Ident(s) if s == "stale" => {
                i += 1;
                f64::from_bits(STALE_NAN_BITS)
            }
            Tok::Number(_) => {
                i += 1;
                number(toks.get(i - 1))?
            }
            Tok::Add => {
                i += 2;
                number(toks.get(i - 1))?
            }
            Tok::Sub => {
                i += 2;
                -number(toks.get(i - 1))?
            }
            other => return Err(format!("unexpected {other:?}, expected number or \"stale\"")),
        };
        match toks.get(i) {
            Some(Tok::Times) => {
                let n = uint(toks.get(i + 1))?;
                i += 2;
                for _ in 0..=n {
                    out.push(SeqValue::value(v));
                }
            }
            Some(Tok::Add | Tok::Sub) => {
                let step = number(toks.get(i + 1))?;
                let step = if toks[i] == Tok::Sub { -step } else { step };
                if toks.get(i + 2) != Some(&Tok::Times) {
                    return Err(format!("unexpected {:?}, expected \"x\"", toks.get(i + 2)));
                }
                let n = uint(toks.get(i + 3))?;
                i += 4;
                for _ in 0..=n {
                    out.push(SeqValue::value(v));
                    v += step;
                }
            }
            None | Some(Tok::Space) => out.push(SeqValue::value(v)),
            Some(other) => return Err(format!("unexpected {other:?} after a series value")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(line: &str) -> Vec<Option<f64>> {
        parse_series_desc(line).unwrap().1.iter().map(|v| (!v.omitted).then_some(v.value)).collect()
    }

    #[test]
    fn expands_sequences() {
        assert_eq!(vals("m 0+10x3"), vec![Some(0.0), Some(10.0), Some(20.0), Some(30.0)]);
        assert_eq!(vals("m 10-2x2"), vec![Some(10.0), Some(8.0), Some(6.0)]);
        assert_eq!(vals("m -1-1x2"), vec![Some(-1.0), Some(-2.0), Some(-3.0)]);
        assert_eq!(vals("m 5x2"), vec![Some(5.0); 3]);
        assert_eq!(vals("m 1 _ 3"), vec![Some(1.0), None, Some(3.0)]);
        assert_eq!(vals("m _x3 1"), vec![None, None, None, Some(1.0)]);
        assert_eq!(vals("m 1x0"), vec![Some(1.0)]);
        assert_eq!(vals("m"), Vec::<Option<f64>>::new());
        assert_eq!(vals("m 1 2   3 "), vec![Some(1.0), Some(2.0), Some(3.0)]);
        assert_eq!(vals("m\t1\t+2"), vec![Some(1.0), Some(2.0)]);
        assert_eq!(vals("m 1e3 .5 1.5e-1"), vec![Some(1000.0), Some(0.5), Some(0.15)]);
        // Accumulated as Go does (`$1 += $2`), not a + i*b.
        let acc = vals("m 0+0.1x3");
        let mut x = 0.0f64;
        for v in acc {
            assert_eq!(v.unwrap().to_bits(), x.to_bits());
            x += 0.1;
        }
        // Leading zero: ParseInt base 0 reads octal.
        assert_eq!(vals("m 010 08"), vec![Some(8.0), Some(8.0)]);
    }

    #[test]
    fn special_values() {
        let v = parse_series_desc("m stale 1 Inf -Inf +inf NaN nan").unwrap().1;
        assert_eq!(v[0].value.to_bits(), STALE_NAN_BITS);
        assert_eq!(v[1].value, 1.0);
        assert_eq!(v[2].value, f64::INFINITY);
        assert_eq!(v[3].value, f64::NEG_INFINITY);
        assert_eq!(v[4].value, f64::INFINITY);
        assert!(v[5].value.is_nan() && v[5].value.to_bits() != STALE_NAN_BITS);
        assert!(v[6].value.is_nan());
        assert_eq!(vals("m Inf+0x2"), vec![Some(f64::INFINITY); 3]);
        // In a series description `0x5` is "0 repeated": hex is not lexed there.
        assert_eq!(vals("m 0x2"), vec![Some(0.0); 3]);
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            "m 1a",
            "m foo",
            "m Infx3",
            "m stalex2",
            "m 1+2",
            "m 1x1.5",
            "m 1 @",
            "m{} 1 {",
            "m{}1",
            "{a=\"b\" 1",
            "on 1",
            "{a=~\"b\"} 1",
            "5 1",
        ] {
            assert!(parse_series_desc(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn parses_labels() {
        let (l, _) = parse_series_desc(r#"http_requests{job="api", instance='0',} 1"#).unwrap();
        assert_eq!(l, Labels::from_pairs([("__name__", "http_requests"), ("job", "api"), ("instance", "0")]));
        let (l, _) = parse_series_desc(r#"{__name__="x", a="b"} 1"#).unwrap();
        assert_eq!(l, Labels::from_pairs([("__name__", "x"), ("a", "b")]));
        let (l, v) = parse_series_desc("{} 3").unwrap();
        assert!(l.is_empty());
        assert_eq!(v, vec![SeqValue::value(3.0)]);
        let (l, _) = parse_series_desc(r#"m:sum{a="q\"\\\n\x41\u00e9\101", b=`r\aw`, c='it\'s'} 1"#).unwrap();
        assert_eq!(l.get("__name__"), Some("m:sum"));
        assert_eq!(l.get("a"), Some("q\"\\\nAéA"));
        assert_eq!(l.get("b"), Some(r"r\aw"));
        assert_eq!(l.get("c"), Some("it's"));
        // Keywords that the grammar takes as metric names.
        assert_eq!(parse_series_desc("sum 1").unwrap().0.get("__name__"), Some("sum"));
        assert!(parse_series_desc(r#"m{a="\'"} 1"#).is_err());
        assert!(parse_series_desc(r#"m{a="\q"} 1"#).is_err());
    }

    #[test]
    fn go_numbers() {
        assert_eq!(parse_go_number("0x1F"), Some(31.0));
        assert_eq!(parse_go_number("-0X10"), Some(-16.0));
        assert_eq!(parse_go_number("0o17"), Some(15.0));
        assert_eq!(parse_go_number("017"), Some(15.0));
        assert_eq!(parse_go_number("0b101"), Some(5.0));
        assert_eq!(parse_go_number("1_000"), Some(1000.0));
        assert_eq!(parse_go_number("12340000"), Some(12_340_000.0));
        assert_eq!(parse_go_number("0.00001234"), Some(0.000_012_34));
        assert_eq!(parse_go_number("-0.0000002"), Some(-0.000_000_2));
        assert_eq!(parse_go_number("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_go_number("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_go_number("Infinity"), Some(f64::INFINITY));
        assert!(parse_go_number("NaN").unwrap().is_nan());
        assert!(parse_go_number("nAn").unwrap().is_nan());
        assert_eq!(parse_go_number("+nan"), None);
        assert_eq!(parse_go_number("0x1p-2"), Some(0.25));
        assert_eq!(parse_go_number("0x1.8p1"), Some(3.0));
        assert_eq!(parse_go_number("0x1.8"), None);
        assert_eq!(parse_go_number("1e400"), None);
        assert_eq!(parse_go_number("99999999999999999999"), Some(1e20));
        assert_eq!(parse_go_number("-9223372036854775808"), Some(-9.223_372_036_854_776e18));
        assert_eq!(parse_go_number("1."), Some(1.0));
        assert_eq!(parse_go_number(".5"), Some(0.5));
        for bad in ["", "-", "e5", "1e", "1_", "_1", "1__0", "foo", "{} 1", "1 2", "0x"] {
            assert_eq!(parse_go_number(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("0"), Ok(0));
        assert_eq!(parse_duration_ms("50m"), Ok(3_000_000));
        assert_eq!(parse_duration_ms("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration_ms("10s"), Ok(10_000));
        assert_eq!(parse_duration_ms("1ms"), Ok(1));
        assert_eq!(parse_duration_ms("1d2h3m4s5ms"), Ok(93_784_005));
        assert_eq!(parse_duration_ms("2y"), Ok(2 * 365 * 86_400_000));
        for bad in ["", "5", "1m1h", "1m1m", "1.5m", "-1m", "5x"] {
            assert!(parse_duration_ms(bad).is_err(), "{bad:?}");
        }
    }
}
