//! Go's text forms of floats (`%g`, as `promtool tsdb dump` prints values) and of
//! `time.Duration` (as promtool and Thanos print block ranges), so our output matches theirs.

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

/// Formats a duration of `ms` milliseconds as Go's `time.Duration.String()` does (`2h0m0s`, `1.5s`).
pub(crate) fn format_duration_ms(ms: i64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let sign = if ms < 0 { "-" } else { "" };
    let abs = ms.unsigned_abs();
    if abs < 1000 {
        return format!("{sign}{abs}ms");
    }
    let (hours, minutes) = (abs / 3_600_000, abs / 60_000 % 60);
    let millis = abs % 60_000;
    let mut seconds = format!("{}.{:03}", millis / 1000, millis % 1000);
    while seconds.ends_with('0') {
        seconds.pop();
    }
    if seconds.ends_with('.') {
        seconds.pop();
    }
    match (hours, minutes) {
        (0, 0) => format!("{sign}{seconds}s"),
        (0, m) => format!("{sign}{m}m{seconds}s"),
        (h, m) => format!("{sign}{h}h{m}m{seconds}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::{format_duration_ms, format_g};

    #[test]
    fn matches_go_duration_string() {
        assert_eq!(format_duration_ms(7_200_000), "2h0m0s");
        assert_eq!(format_duration_ms(7_170_001), "1h59m30.001s");
        assert_eq!(format_duration_ms(90_000), "1m30s");
        assert_eq!(format_duration_ms(1_500), "1.5s");
        assert_eq!(format_duration_ms(5), "5ms");
        assert_eq!(format_duration_ms(0), "0s");
    }

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
}
