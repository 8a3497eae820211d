//! `label_replace` and `label_join`, with 2.42's validation and error texts. Both keep
//! `__name__` (unless it is the destination label).

use std::cell::RefCell;

use regex::Regex;
use tsdb_format::{Label, Labels};

use super::FunctionArgs;
use crate::error::{PromqlError, Result};
use crate::fasthash::FastMap;
use crate::value::{Sample, Vector};

/// `model.LabelName.IsValid` / `model.LabelNameRE`: `^[a-zA-Z_][a-zA-Z0-9_]*$`.
fn is_valid_label_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_alphabetic() || b == b'_' || (b.is_ascii_digit() && i > 0))
}

/// `labels` with `name` set to `value`, or removed when `value` is empty (2.42's
/// `labels.Builder` semantics).
fn with_label(labels: &Labels, name: &str, value: &str) -> Labels {
    let mut out: Vec<Label> = labels.iter().filter(|l| l.name != name).cloned().collect();
    if !value.is_empty() {
        out.push(Label::new(name, value));
    }
    Labels::new(out)
}

thread_local! {
    /// The last anchored regex compiled by `label_replace` (the engine calls it once per step
    /// with the same pattern).
    static LAST_REGEX: RefCell<Option<(String, Regex)>> = const { RefCell::new(None) };
}

/// Compiles `^(?:pattern)$`, reusing the previous compilation for the same pattern.
fn anchored_regex(pattern: &str) -> Option<Regex> {
    LAST_REGEX.with(|cell| {
        let mut cell = cell.borrow_mut();
        if let Some((p, re)) = cell.as_ref()
            && p == pattern
        {
            return Some(re.clone());
        }
        let re = Regex::new(&format!("^(?:{})$", go_to_rust_regex(pattern)?)).ok()?;
        *cell = Some((pattern.to_string(), re.clone()));
        Some(re)
    })
}

/// Rewrites Go (RE2) regex syntax into the `regex` crate's where they differ: Go's Perl classes
/// `\d \w \s` and `\b` are ASCII-only, `\Q...\E` quotes, a `{` that does not start a
/// repetition is literal; Go rejects repeat counts above 1000, stacked repetition operators
/// (`a**`) and `(?<name>` (Go 1.19).
/// `None` when Go would reject the pattern for one of these reasons.
fn go_to_rust_regex(pattern: &str) -> Option<String> {
    const DIGIT: &str = "0-9";
    const WORD: &str = "0-9A-Za-z_";
    const SPACE: &str = "\\t\\n\\x0C\\r\\x20";
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut in_class = false;
    // Whether the previous token was a repetition operator (Go rejects `a**`, `a{2}+`, …).
    let mut last_repeat = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let is_repeat = !in_class && matches!(c, '*' | '+' | '?');
        if is_repeat {
            if last_repeat {
                return None;
            }
            out.push(c);
            i += 1;
            if chars.get(i) == Some(&'?') {
                out.push('?');
                i += 1;
            }
            last_repeat = true;
            continue;
        }
        if c != '{' || in_class {
            last_repeat = false;
        }
        match c {
            '\\' if i + 1 < chars.len() => {
                let n = chars[i + 1];
                i += 2;
                let perl = match n.to_ascii_lowercase() {
                    'd' => Some(DIGIT),
                    'w' => Some(WORD),
                    's' => Some(SPACE),
                    _ => None,
                };
                match (perl, in_class) {
                    (Some(set), false) => {
                        out.push_str(if n.is_ascii_uppercase() { "[^" } else { "[" });
                        out.push_str(set);
                        out.push(']');
                    }
                    (Some(set), true) if n.is_ascii_lowercase() => out.push_str(set),
                    (Some(set), true) => {
                        out.push_str("[^");
                        out.push_str(set);
                        out.push(']');
                    }
                    (None, _) if n == 'Q' => {
                        let mut lit = String::new();
                        while i < chars.len() && !(chars[i] == '\\' && chars.get(i + 1) == Some(&'E')) {
                            lit.push(chars[i]);
                            i += 1;
                        }
                        if i < chars.len() {
                            i += 2;
                        }
                        out.push_str(&regex::escape(&lit));
                    }
                    (None, _) if (n == 'p' || n == 'P') && chars.get(i) == Some(&'{') => {
                        let end = (i..chars.len()).find(|&j| chars[j] == '}')?;
                        out.push('\\');
                        out.push(n);
                        out.extend(&chars[i..=end]);
                        i = end + 1;
                    }
                    (None, false) if n == 'b' || n == 'B' => {
                        out.push_str(if n == 'b' { "(?-u:\\b)" } else { "(?-u:\\B)" });
                    }
                    (None, _) => {
                        out.push('\\');
                        out.push(n);
                    }
                }
                continue;
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
                continue;
            }
            '[' if in_class && chars.get(i + 1) == Some(&':') => {
                // An ASCII class like [:alpha:]: copy through its closing `:]`.
                let end = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars[j] == ':' && chars[j + 1] == ']')?;
                out.extend(&chars[i..end + 2]);
                i = end + 2;
                continue;
            }
            '[' if in_class => out.push_str("\\["),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '(' if !in_class && chars.get(i + 1) == Some(&'?') => {
                if chars.get(i + 2) == Some(&'<') && !matches!(chars.get(i + 3), Some('=' | '!')) {
                    return None;
                }
                out.push_str("(?");
                i += 2;
                continue;
            }
            '{' if !in_class => {
                // A repetition `{n}`, `{n,}`, `{n,m}` (counts up to 1000), else a literal `{`.
                let rest: String = chars[i + 1..].iter().take_while(|&&c| c != '}').collect();
                let closed = i + 1 + rest.chars().count() < chars.len();
                let (lo, hi) = rest.split_once(',').unwrap_or((rest.as_str(), rest.as_str()));
                let is_num = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                if closed && is_num(lo) && (hi.is_empty() || is_num(hi)) {
                    let too_big = |s: &str| s.len() > 4 || s.parse::<u32>().map_or(true, |n| n > 1000);
                    if too_big(lo) || (!hi.is_empty() && too_big(hi)) || last_repeat {
                        return None;
                    }
                    let len = rest.chars().count() + 2;
                    out.extend(&chars[i..i + len]);
                    i += len;
                    if chars.get(i) == Some(&'?') {
                        out.push('?');
                        i += 1;
                    }
                    last_repeat = true;
                    continue;
                } else {
                    last_repeat = false;
                    out.push_str("\\{");
                }
            }
            _ => out.push(c),
        }
        i += 1;
    }
    Some(out)
}

/// `label_replace(v, dst, replacement, src, regex)`.
pub(super) fn label_replace(args: &FunctionArgs<'_>) -> Result<Vector> {
    const NAME: &str = "label_replace";
    let vector = args.vector(NAME, 0)?;
    let dst = args.string(NAME, 1)?;
    let repl = args.string(NAME, 2)?;
    let src = args.string(NAME, 3)?;
    let regex_str = args.string(NAME, 4)?;

    let Some(re) = anchored_regex(regex_str) else {
        return Err(PromqlError::Execution(format!(
            "invalid regular expression in label_replace(): {regex_str}"
        )));
    };
    if !is_valid_label_name(dst) {
        return Err(PromqlError::Execution(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }

    let mut out = Vec::with_capacity(vector.len());
    REPLACED.with(|cache| {
        let mut cache = cache.borrow_mut();
        cache.use_for(&[regex_str, dst, repl, src]);
        for (position, el) in vector.iter().enumerate() {
            let labels = cache.get_or_insert(position, &el.labels, || {
                let src_val = el.labels.get(src).unwrap_or("");
                match re.captures(src_val) {
                    None => el.labels.clone(),
                    Some(caps) => {
                        let res = go_expand(&re, &caps, repl);
                        with_label(&el.labels, dst, &res)
                    }
                }
            });
            out.push(Sample { labels, t: args.step_time, v: el.v });
        }
    });
    Ok(out)
}

thread_local! {
    /// `label_replace`'s output labels by input labels, for the last arguments it was called
    /// with: the engine calls it once per step with the same series, and running the regex and
    /// building the labels again at every step was most of its cost (2.42 caches the same way,
    /// in `enh.Dmn`).
    static REPLACED: RefCell<ReplaceCache> = RefCell::new(ReplaceCache::default());

    /// The same for `label_join` (destination, separator, sources).
    static JOINED: RefCell<ReplaceCache> = RefCell::new(ReplaceCache::default());
}

/// See [`REPLACED`].
#[derive(Default)]
struct ReplaceCache {
    /// The arguments the results are for (label_replace: regex, destination, replacement,
    /// source).
    params: Vec<String>,
    out: FastMap<Labels, Labels>,
    /// Per position in the input vector: the labels last seen there and their output, found
    /// without hashing when the same series comes again at the next step.
    by_position: Vec<(Labels, Labels)>,
}

impl ReplaceCache {
    /// Most label sets kept; the cache starts over past this, so it cannot grow without bound.
    const MAX_ENTRIES: usize = 1 << 16;

    /// Empties the cache unless it holds results for these arguments.
    fn use_for(&mut self, params: &[&str]) {
        if self.params.len() != params.len() || self.params.iter().zip(params).any(|(a, b)| a != b) {
            self.params = params.iter().map(|p| (*p).to_string()).collect();
            self.out.clear();
            self.by_position.clear();
        }
    }

    fn get_or_insert(
        &mut self,
        position: usize,
        labels: &Labels,
        compute: impl FnOnce() -> Labels,
    ) -> Labels {
        if let Some((seen, out)) = self.by_position.get(position)
            && seen.ptr_eq(labels)
        {
            return out.clone();
        }
        let out = match self.out.get(labels) {
            Some(out) => out.clone(),
            None => {
                let out = compute();
                if self.out.len() >= Self::MAX_ENTRIES {
                    self.out.clear();
                }
                self.out.insert(labels.clone(), out.clone());
                out
            }
        };
        if position >= self.by_position.len() {
            self.by_position.resize(position + 1, Default::default());
        }
        self.by_position[position] = (labels.clone(), out.clone());
        out
    }
}

/// Go's `Regexp.ExpandString`: `$name`, `${name}`, `$1`, `${1}`, `$$`; a name is the longest run
/// of letters, digits and `_`; numbers with a leading zero are names; unknown groups expand to
/// nothing; a malformed reference is kept as a literal `$`.
fn go_expand(re: &Regex, caps: &regex::Captures<'_>, template: &str) -> String {
    let mut dst = String::new();
    let mut template = template;
    while let Some(pos) = template.find('$') {
        dst.push_str(&template[..pos]);
        template = &template[pos + 1..];
        if let Some(rest) = template.strip_prefix('$') {
            dst.push('$');
            template = rest;
            continue;
        }
        let Some((name, num, rest)) = extract(template) else {
            dst.push('$');
            continue;
        };
        template = rest;
        let group = match num {
            Some(n) => caps.get(n),
            None => {
                re.capture_names().enumerate().find(|(_, n)| *n == Some(name)).and_then(|(i, _)| caps.get(i))
            }
        };
        if let Some(m) = group {
            dst.push_str(m.as_str());
        }
    }
    dst.push_str(template);
    dst
}

/// Go's `extract`: parses `name` or `{name}` at the start of `s`; returns the name, its number
/// if it is a plain decimal without leading zero (below 1e8), and the rest.
fn extract(s: &str) -> Option<(&str, Option<usize>, &str)> {
    let (brace, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let end = body
        .char_indices()
        .find(|(_, c)| !(c.is_alphabetic() || c.is_numeric() || *c == '_'))
        .map_or(body.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let name = &body[..end];
    let mut rest = &body[end..];
    if brace {
        rest = rest.strip_prefix('}')?;
    }
    let mut num: Option<usize> = Some(0);
    for b in name.bytes() {
        match num {
            Some(n) if b.is_ascii_digit() && n < 100_000_000 => num = Some(n * 10 + usize::from(b - b'0')),
            _ => {
                num = None;
                break;
            }
        }
    }
    if name.len() > 1 && name.starts_with('0') {
        num = None;
    }
    Some((name, num, rest))
}

/// `label_join(v, dst, separator, src...)`.
pub(super) fn label_join(args: &FunctionArgs<'_>) -> Result<Vector> {
    const NAME: &str = "label_join";
    let vector = args.vector(NAME, 0)?;
    let dst = args.string(NAME, 1)?;
    let sep = args.string(NAME, 2)?;
    let nargs = args.values.len().max(args.exprs.len());
    let mut src_labels = Vec::with_capacity(nargs.saturating_sub(3));
    for i in 3..nargs {
        let src = args.string(NAME, i)?;
        if !is_valid_label_name(src) {
            return Err(PromqlError::Execution(format!("invalid source label name in label_join(): {src}")));
        }
        src_labels.push(src);
    }
    if !is_valid_label_name(dst) {
        return Err(PromqlError::Execution(format!("invalid destination label name in label_join(): {dst}")));
    }
    let mut out = Vec::with_capacity(vector.len());
    JOINED.with(|cache| {
        let mut cache = cache.borrow_mut();
        let mut params = Vec::with_capacity(src_labels.len() + 2);
        params.extend([dst, sep]);
        params.extend(&src_labels);
        cache.use_for(&params);
        for (position, el) in vector.iter().enumerate() {
            let labels = cache.get_or_insert(position, &el.labels, || {
                let values: Vec<&str> =
                    src_labels.iter().map(|src| el.labels.get(src).unwrap_or("")).collect();
                with_label(&el.labels, dst, &values.join(sep))
            });
            out.push(Sample { labels, t: args.step_time, v: el.v });
        }
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    fn testmetric() -> Vector {
        vec![
            sample(
                &[
                    ("__name__", "testmetric"),
                    ("src", "source-value-10"),
                    ("dst", "original-destination-value"),
                ],
                0.0,
            ),
            sample(
                &[
                    ("__name__", "testmetric"),
                    ("src", "source-value-20"),
                    ("dst", "original-destination-value"),
                ],
                1.0,
            ),
        ]
    }

    fn replace(input: &Vector, dst: &str, repl: &str, src: &str, re: &str) -> Result<Vector> {
        call("label_replace", &[arg_vec(input), Str(dst), Str(repl), Str(src), Str(re)], 0)
    }

    fn dsts(out: &Vector) -> Vec<Option<&str>> {
        out.iter().map(|s| s.labels.get("dst")).collect()
    }

    #[test]
    fn label_replace_like_2_42() {
        let input = testmetric();
        let out = replace(&input, "dst", "destination-value-$1", "src", "source-value-(.*)").expect("ok");
        assert_eq!(dsts(&out), vec![Some("destination-value-10"), Some("destination-value-20")]);
        assert_eq!(out[0].labels.get("__name__"), Some("testmetric"));
        // Full-string match only.
        let out = replace(&input, "dst", "destination-value-$1", "src", "value-(.*)").expect("ok");
        assert_eq!(dsts(&out), vec![Some("original-destination-value"); 2]);
        let out = replace(&input, "dst", "$1-value-$2", "src", "(.*)-value-(.*)").expect("ok");
        assert_eq!(dsts(&out), vec![Some("source-value-10"), Some("source-value-20")]);
        let out = replace(&input, "dst", "value-$1", "nonexistent-src", "source-value-(.*)").expect("ok");
        assert_eq!(dsts(&out), vec![Some("original-destination-value"); 2]);
        let out = replace(&input, "dst", "value-$1", "nonexistent-src", "(.*)").expect("ok");
        assert_eq!(dsts(&out), vec![Some("value-"); 2]);
        let out = replace(&input, "dst", "", "dst", ".*").expect("ok");
        assert_eq!(dsts(&out), vec![None, None]);
        assert_eq!(out[1].v, 1.0);
    }

    #[test]
    fn label_replace_errors() {
        let input = testmetric();
        let err = replace(&input, "dst", "value-$1", "src", "(.*").expect_err("bad regex");
        assert_eq!(err, PromqlError::Execution("invalid regular expression in label_replace(): (.*".into()));
        let err = replace(&input, "invalid-label-name", "", "src", "(.*)").expect_err("bad dst");
        assert_eq!(
            err,
            PromqlError::Execution(
                "invalid destination label name in label_replace(): invalid-label-name".into()
            )
        );
        // The regex is checked before the label name, and even for an empty input.
        let err = replace(&Vec::new(), "invalid-label-name", "", "src", "(").expect_err("bad");
        assert!(err.to_string().starts_with("invalid regular expression"));
    }

    #[test]
    fn label_replace_reads_string_literals_from_expressions() {
        let input = testmetric();
        let exprs = call_exprs(r#"label_replace(testmetric, (("dst")), "v-$1", "src", "source-value-(.*)")"#);
        let out = call_with(
            "label_replace",
            &[arg_vec(&input), Scalar(0.0), Scalar(0.0), Scalar(0.0), Scalar(0.0)],
            &exprs,
            0,
            None,
        )
        .expect("ok");
        assert_eq!(dsts(&out), vec![Some("v-10"), Some("v-20")]);
    }

    #[test]
    fn expand_like_go() {
        let re = Regex::new("^(?:(?P<first>a+)(b*)(c)?)$").expect("regex");
        let caps = re.captures("aab").expect("match");
        assert_eq!(
            go_expand(&re, &caps, "$1-$2-$3-$first-${first}x-$firstx-$$-$-${1"),
            "aa-b--aa-aax--$-$-${1"
        );
        assert_eq!(go_expand(&re, &caps, "$01|${2}|$0"), "|b|aab");
    }

    #[test]
    fn label_join_like_2_42() {
        let input = vec![
            sample(
                &[
                    ("__name__", "testmetric"),
                    ("src", "a"),
                    ("src1", "b"),
                    ("src2", "c"),
                    ("dst", "original"),
                ],
                0.0,
            ),
            sample(&[("__name__", "testmetric"), ("src", "d"), ("src1", "e"), ("src2", "f")], 1.0),
        ];
        let join = |args: &[&str]| {
            let mut values = vec![arg_vec(&input)];
            values.extend(args.iter().map(|s| Str(s)));
            call("label_join", &values, 0)
        };
        let out = join(&["dst", "-", "src", "src1", "src2"]).expect("ok");
        assert_eq!(dsts(&out), vec![Some("a-b-c"), Some("d-e-f")]);
        assert_eq!(out[0].labels.get("__name__"), Some("testmetric"));
        let out = join(&["dst", "-", "src", "src3", "src1"]).expect("ok");
        assert_eq!(dsts(&out), vec![Some("a--b"), Some("d--e")]);
        let out = join(&["dst", "", "emptysrc", "emptysrc1"]).expect("ok");
        assert_eq!(dsts(&out), vec![None, None]);
        let out = join(&["dst", ", "]).expect("ok");
        assert_eq!(dsts(&out), vec![None, None]);
        let err = join(&["dst", "-", "in-valid"]).expect_err("bad src");
        assert_eq!(err.to_string(), "invalid source label name in label_join(): in-valid");
        let err = join(&["1dst", "-", "src"]).expect_err("bad dst");
        assert_eq!(err.to_string(), "invalid destination label name in label_join(): 1dst");
        let err = join(&["dst", "-", ""]).expect_err("empty src");
        assert_eq!(err.to_string(), "invalid source label name in label_join(): ");
    }

    #[test]
    fn go_regex_syntax() {
        let tr = |p: &str| go_to_rust_regex(p);
        let matches = |p: &str, s: &str| {
            let re = Regex::new(&format!("^(?:{})$", tr(p).expect("valid"))).expect("compiles");
            re.is_match(s)
        };
        // Perl classes and \b are ASCII-only in Go.
        assert!(!matches(r"\d+", "١٢"));
        assert!(matches(r"\d+", "12"));
        assert!(!matches(r"\w", "é"));
        assert!(matches(r"[\W]", "é"));
        assert!(!matches(r"\s", "\u{a0}"));
        assert!(matches(r"[\d\s]+", "1 2"));
        assert!(matches(r"a\b.*", "aé"));
        assert!(matches(r"\pL", "é"));
        assert!(matches(r"\p{Greek}", "α"));
        // Quoting, literal braces, repeat counts.
        assert!(matches(r"\Qa.b\E", "a.b"));
        assert!(!matches(r"\Qa.b\E", "axb"));
        assert!(matches(r"a{", "a{"));
        assert!(matches(r"a{x}", "a{x}"));
        assert!(matches(r"a{2}", "aa"));
        assert!(matches(r"a{2,}?", "aaa"));
        assert!(matches(r"[]a]+", "a]"));
        assert!(matches(r"(?i)x", "X"));
        assert_eq!(tr(r"x{1001}"), None);
        assert_eq!(tr(r"x{0,1001}"), None);
        assert!(tr(r"x{1000}").is_some());
        assert_eq!(tr(r"(?<n>x)"), None);
        assert!(tr(r"(?P<n>x)").is_some());
        assert_eq!(tr(r"x**"), None);
        assert_eq!(tr(r"x*?+"), None);
        assert_eq!(tr(r"x{2}*"), None);
        assert!(tr(r"(x*)*").is_some());
        assert!(tr(r"x*?").is_some());
    }

    #[test]
    fn label_names() {
        assert!(is_valid_label_name("_a1"));
        assert!(!is_valid_label_name("1a"));
        assert!(!is_valid_label_name(""));
        assert!(!is_valid_label_name("a-b"));
        assert!(!is_valid_label_name("ä"));
    }
}
