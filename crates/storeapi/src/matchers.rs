//! Label matchers (`=`, `!=`, `=~`, `!~`) compiled for matching, with Prometheus' semantics:
//! regexes are fully anchored (`^(?:…)$`, as Prometheus 2.42 compiles them) and a missing
//! label matches as the empty string, so `{foo=""}` selects series without `foo`.
//!
//! Patterns use Go's RE2 syntax. The few places where the `regex` crate reads the same text
//! differently are rewritten first: `\d \w \s \b` are ASCII-only in Go, a `{` that does not
//! start a repetition is a literal, `[` inside a class is a literal, and `\Q…\E` quotes.

use std::fmt;

use promql_parser::label::{MatchOp, Matcher as PromqlMatcher};
use regex::Regex;
use tsdb_format::Labels;
use tsdb_format::labels::write_go_quoted;

use crate::error::{Error, Result};
use crate::pb::thanos::{self as pb, label_matcher::Type as PbType};

/// The four kinds of matcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchType {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regexp,
    /// `!~`
    NotRegexp,
}

impl MatchType {
    /// The PromQL operator.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchType::Equal => "=",
            MatchType::NotEqual => "!=",
            MatchType::Regexp => "=~",
            MatchType::NotRegexp => "!~",
        }
    }

    /// The StoreAPI enum value.
    pub fn to_pb(self) -> PbType {
        match self {
            MatchType::Equal => PbType::Eq,
            MatchType::NotEqual => PbType::Neq,
            MatchType::Regexp => PbType::Re,
            MatchType::NotRegexp => PbType::Nre,
        }
    }

    /// From the StoreAPI enum value.
    pub fn from_pb(kind: PbType) -> Self {
        match kind {
            PbType::Eq => MatchType::Equal,
            PbType::Neq => MatchType::NotEqual,
            PbType::Re => MatchType::Regexp,
            PbType::Nre => MatchType::NotRegexp,
        }
    }
}

/// A compiled label matcher.
#[derive(Debug, Clone)]
pub struct Matcher {
    op: Op,
    name: String,
    value: String,
}

/// The operation, with the anchored, Go-compatible compilation of the value for regexes.
#[derive(Debug, Clone)]
enum Op {
    Equal,
    NotEqual,
    Regexp(Regex),
    NotRegexp(Regex),
}

impl Matcher {
    /// Compiles a matcher; fails on an invalid regex.
    pub fn new(match_type: MatchType, name: impl Into<String>, value: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let value = value.into();
        let compile = || {
            compile_anchored(&value).map_err(|reason| Error::InvalidMatcher {
                name: name.clone(),
                reason: format!("invalid regex {value:?}: {reason}"),
            })
        };
        let op = match match_type {
            MatchType::Equal => Op::Equal,
            MatchType::NotEqual => Op::NotEqual,
            MatchType::Regexp => Op::Regexp(compile()?),
            MatchType::NotRegexp => Op::NotRegexp(compile()?),
        };
        Ok(Self { op, name, value })
    }

    /// An `=` matcher (cannot fail).
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self { op: Op::Equal, name: name.into(), value: value.into() }
    }

    /// Compiles a StoreAPI matcher; an unknown type or a bad regex is `InvalidMatcher`.
    pub fn from_pb(matcher: &pb::LabelMatcher) -> Result<Self> {
        let kind = PbType::try_from(matcher.r#type).map_err(|_| Error::InvalidMatcher {
            name: matcher.name.clone(),
            reason: format!("unknown matcher type {}", matcher.r#type),
        })?;
        Self::new(MatchType::from_pb(kind), matcher.name.clone(), matcher.value.clone())
    }

    /// Compiles a matcher parsed by `promql-parser`, with this module's Go-compatible regexes.
    pub fn from_promql(matcher: &PromqlMatcher) -> Result<Self> {
        Self::new(promql_match_type(&matcher.op), matcher.name.clone(), matcher.value.clone())
    }

    /// The StoreAPI form.
    pub fn to_pb(&self) -> pb::LabelMatcher {
        pb::LabelMatcher {
            r#type: self.match_type().to_pb() as i32,
            name: self.name.clone(),
            value: self.value.clone(),
        }
    }

    /// The matcher type.
    pub fn match_type(&self) -> MatchType {
        match self.op {
            Op::Equal => MatchType::Equal,
            Op::NotEqual => MatchType::NotEqual,
            Op::Regexp(_) => MatchType::Regexp,
            Op::NotRegexp(_) => MatchType::NotRegexp,
        }
    }

    /// The label name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value or pattern as written.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether a label value matches (pass `""` for a missing label).
    pub fn matches(&self, value: &str) -> bool {
        match &self.op {
            Op::Equal => self.value == value,
            Op::NotEqual => self.value != value,
            Op::Regexp(re) => re.is_match(value),
            Op::NotRegexp(re) => !re.is_match(value),
        }
    }

    /// Whether the matcher accepts a series' label set (a missing label is `""`).
    pub fn matches_labels(&self, labels: &Labels) -> bool {
        self.matches(labels.get(&self.name).unwrap_or(""))
    }

    /// Whether the matcher accepts a wire label list (a missing label is `""`).
    pub fn matches_pb(&self, labels: &[pb::Label]) -> bool {
        self.matches(crate::labels::get(labels, &self.name).unwrap_or(""))
    }

    /// Whether the matcher accepts the empty string, i.e. also selects series without the label.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.match_type() == other.match_type() && self.name == other.name && self.value == other.value
    }
}

impl Eq for Matcher {}

/// Prints as PromQL: `name="value"`, `name=~"pattern"`.
impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        f.write_str(self.match_type().as_str())?;
        write_go_quoted(f, &self.value)
    }
}

/// The matcher type of a `promql-parser` operator.
pub fn promql_match_type(op: &MatchOp) -> MatchType {
    match op {
        MatchOp::Equal => MatchType::Equal,
        MatchOp::NotEqual => MatchType::NotEqual,
        MatchOp::Re(_) => MatchType::Regexp,
        MatchOp::NotRe(_) => MatchType::NotRegexp,
    }
}

/// The StoreAPI form of a `promql-parser` matcher (what a querier sends to stores).
pub fn promql_to_pb(matcher: &PromqlMatcher) -> pb::LabelMatcher {
    pb::LabelMatcher {
        r#type: promql_match_type(&matcher.op).to_pb() as i32,
        name: matcher.name.clone(),
        value: matcher.value.clone(),
    }
}

/// Compiles every StoreAPI matcher of a request.
pub fn from_pb_all(matchers: &[pb::LabelMatcher]) -> Result<Vec<Matcher>> {
    matchers.iter().map(Matcher::from_pb).collect()
}

/// The StoreAPI form of every matcher.
pub fn to_pb_all(matchers: &[Matcher]) -> Vec<pb::LabelMatcher> {
    matchers.iter().map(Matcher::to_pb).collect()
}

/// Whether every matcher accepts the label set.
pub fn matches_all(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| m.matches_labels(labels))
}

/// Whether every matcher accepts the wire label list.
pub fn matches_all_pb(matchers: &[Matcher], labels: &[pb::Label]) -> bool {
    matchers.iter().all(|m| m.matches_pb(labels))
}

/// Store selection (Thanos' `LabelSetsMatch`): whether a store with these external label sets
/// can hold series the matchers select. A matcher on a label a set lacks does not rule the set
/// out (the series may carry that label); a matcher that rejects a set's value does. No label
/// sets at all means the store may hold anything.
pub fn label_sets_match(matchers: &[Matcher], label_sets: &[Labels]) -> bool {
    if label_sets.is_empty() {
        return true;
    }
    label_sets.iter().any(|set| {
        matchers.iter().all(|m| match set.get(&m.name) {
            Some(value) => m.matches(value),
            None => true,
        })
    })
}

/// The sidecar's check (Thanos' `matchesExternalLabels`): `None` when a matcher on an external
/// label rejects its value (the store holds nothing that matches); otherwise the matchers that
/// remain to be evaluated against the series, i.e. those not on external label names.
pub fn matches_external_labels(matchers: &[Matcher], external: &Labels) -> Option<Vec<Matcher>> {
    let mut remaining = Vec::with_capacity(matchers.len());
    for matcher in matchers {
        match external.get(&matcher.name) {
            Some(value) if !matcher.matches(value) => return None,
            Some(_) => {}
            None => remaining.push(matcher.clone()),
        }
    }
    Some(remaining)
}

/// Compiles `^(?:pattern)$` after rewriting Go syntax that the `regex` crate reads differently.
fn compile_anchored(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&format!("^(?:{})$", go_to_rust_syntax(pattern)))
}

/// ASCII classes as Go defines `\d`, `\w` and `\s`; nested classes are valid in and out of `[…]`.
const PERL_CLASSES: [(char, &str); 6] = [
    ('d', "[0-9]"),
    ('D', "[^0-9]"),
    ('w', "[0-9A-Za-z_]"),
    ('W', "[^0-9A-Za-z_]"),
    ('s', "[\\t\\n\\x0C\\r ]"),
    ('S', "[^\\t\\n\\x0C\\r ]"),
];

/// Rewrites the parts of Go's RE2 syntax whose meaning differs in the `regex` crate.
fn go_to_rust_syntax(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut in_class = false;
    // Index of the first character inside the current class (where `]` is a literal).
    let mut class_start = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if i + 1 < chars.len() => {
                let next = chars[i + 1];
                i += 2;
                if let Some((_, class)) = PERL_CLASSES.iter().find(|(k, _)| *k == next) {
                    out.push_str(class);
                } else if (next == 'b' || next == 'B') && !in_class {
                    out.push_str(if next == 'b' { "(?-u:\\b)" } else { "(?-u:\\B)" });
                } else if next == 'Q' {
                    let mut literal = String::new();
                    while i < chars.len() && !(chars[i] == '\\' && chars.get(i + 1) == Some(&'E')) {
                        literal.push(chars[i]);
                        i += 1;
                    }
                    i = (i + 2).min(chars.len());
                    out.push_str(&regex::escape(&literal));
                } else {
                    out.push('\\');
                    out.push(next);
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
                class_start = i;
                continue;
            }
            '[' if chars.get(i + 1) == Some(&':') => {
                // A POSIX class such as [:alpha:]: same syntax in both.
                let end =
                    (i + 2..chars.len().saturating_sub(1)).find(|&j| chars[j] == ':' && chars[j + 1] == ']');
                match end {
                    Some(end) => {
                        out.extend(&chars[i..end + 2]);
                        i = end + 2;
                    }
                    None => {
                        out.push_str("\\[");
                        i += 1;
                    }
                }
                continue;
            }
            // Literal in a Go class; would open a nested class or a set operation here.
            '[' | '&' | '~' if in_class => out.push('\\'),
            ']' if in_class && i != class_start => in_class = false,
            '{' if !in_class && !starts_repetition(&chars[i..]) => out.push('\\'),
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Whether `chars` (starting at `{`) is a repetition `{n}`, `{n,}` or `{n,m}`.
fn starts_repetition(chars: &[char]) -> bool {
    let mut i = 1;
    let digits = |i: &mut usize| {
        let start = *i;
        while chars.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return false;
    }
    if chars.get(i) == Some(&',') {
        i += 1;
        digits(&mut i);
    }
    chars.get(i) == Some(&'}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(t: MatchType, name: &str, value: &str) -> Matcher {
        Matcher::new(t, name, value).expect("valid matcher")
    }

    fn lset(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn empty_value_matchers_select_series_without_the_label() {
        let with_foo = lset(&[("__name__", "up"), ("foo", "bar")]);
        let without_foo = lset(&[("__name__", "up")]);
        let eq_empty = m(MatchType::Equal, "foo", "");
        assert!(!eq_empty.matches_labels(&with_foo));
        assert!(eq_empty.matches_labels(&without_foo));
        let neq_empty = m(MatchType::NotEqual, "foo", "");
        assert!(neq_empty.matches_labels(&with_foo));
        assert!(!neq_empty.matches_labels(&without_foo));
        let re_maybe = m(MatchType::Regexp, "foo", "bar|");
        assert!(re_maybe.matches_labels(&with_foo) && re_maybe.matches_labels(&without_foo));
        let re_any = m(MatchType::Regexp, "foo", ".+");
        assert!(re_any.matches_labels(&with_foo) && !re_any.matches_labels(&without_foo));
        let nre_any = m(MatchType::NotRegexp, "foo", ".+");
        assert!(!nre_any.matches_labels(&with_foo) && nre_any.matches_labels(&without_foo));
        assert!(eq_empty.matches_empty() && !re_any.matches_empty());
        // Wire labels answer the same.
        assert!(eq_empty.matches_pb(&crate::labels::to_pb(&without_foo)));
        assert!(!eq_empty.matches_pb(&crate::labels::to_pb(&with_foo)));
    }

    #[test]
    fn regexes_are_fully_anchored() {
        let re = m(MatchType::Regexp, "job", "node|prom");
        assert!(re.matches("node") && re.matches("prom"));
        assert!(!re.matches("node_exporter"), "no prefix match");
        assert!(!re.matches("xprom"), "no suffix match");
        assert!(!re.matches("nodeprom"));
        let nre = m(MatchType::NotRegexp, "job", "no.*");
        assert!(!nre.matches("node") && nre.matches("a_node"));
        let anchored_already = m(MatchType::Regexp, "a", "^b$");
        assert!(anchored_already.matches("b"));
        // `.` does not match a newline, as in Prometheus 2.42.
        assert!(!m(MatchType::Regexp, "a", ".*").matches("x\ny"));
    }

    #[test]
    fn go_syntax_differences() {
        assert!(!m(MatchType::Regexp, "a", "\\d+").matches("٣"), "\\d is ASCII only in Go");
        assert!(m(MatchType::Regexp, "a", "\\d+").matches("42"));
        assert!(!m(MatchType::Regexp, "a", "\\w").matches("é"));
        assert!(m(MatchType::Regexp, "a", "[\\w.]+").matches("a.b_1"));
        assert!(m(MatchType::Regexp, "a", "[^\\s]+").matches("abc"));
        assert!(
            m(MatchType::Regexp, "a", "a{b}").matches("a{b}"),
            "a brace that is no repetition is literal"
        );
        assert!(m(MatchType::Regexp, "a", "a{2}").matches("aa"));
        assert!(m(MatchType::Regexp, "a", "a{1,}b{,").matches("aab{,"));
        assert!(m(MatchType::Regexp, "a", "[a[]+").matches("a[a"), "[ is literal inside a class");
        assert!(m(MatchType::Regexp, "a", "[[:alpha:]]+").matches("abc"));
        assert!(m(MatchType::Regexp, "a", "[a&&b]+").matches("a&b"));
        assert!(m(MatchType::Regexp, "a", "\\Qa.b\\E").matches("a.b"));
        assert!(!m(MatchType::Regexp, "a", "\\Qa.b\\E").matches("axb"));
        assert!(m(MatchType::Regexp, "a", "x\\b.*").matches("x y"));
        assert!(m(MatchType::Regexp, "a", "[]a]+").matches("]a"));
        assert!(m(MatchType::Regexp, "a", "(?i)UP").matches("up"));
    }

    #[test]
    fn invalid_regex_is_invalid_argument() {
        let error = Matcher::new(MatchType::Regexp, "job", "(unclosed").expect_err("must fail");
        assert!(matches!(error, Error::InvalidMatcher { ref name, .. } if name == "job"));
        assert_eq!(error.code(), tonic::Code::InvalidArgument);
        let bad_type = pb::LabelMatcher { r#type: 9, name: "a".into(), value: "b".into() };
        assert!(matches!(Matcher::from_pb(&bad_type), Err(Error::InvalidMatcher { .. })));
    }

    #[test]
    fn pb_round_trip() {
        for (t, wire) in [
            (MatchType::Equal, PbType::Eq),
            (MatchType::NotEqual, PbType::Neq),
            (MatchType::Regexp, PbType::Re),
            (MatchType::NotRegexp, PbType::Nre),
        ] {
            let matcher = m(t, "job", "n.*");
            let pb = matcher.to_pb();
            assert_eq!(pb.r#type, wire as i32);
            assert_eq!(Matcher::from_pb(&pb).expect("valid"), matcher);
        }
        let all = vec![m(MatchType::Equal, "a", "1"), m(MatchType::Regexp, "b", "2|3")];
        assert_eq!(from_pb_all(&to_pb_all(&all)).expect("valid"), all);
    }

    #[test]
    fn from_promql_parser() {
        let expr =
            promql_parser::parser::parse(r#"up{job=~"no.e",env!="dev",zone!~"a|b",x="y"}"#).expect("parses");
        let promql_parser::parser::Expr::VectorSelector(selector) = expr else {
            panic!("not a vector selector");
        };
        let ours: Vec<Matcher> =
            selector.matchers.matchers.iter().map(|pm| Matcher::from_promql(pm).expect("valid")).collect();
        let printed: Vec<String> = ours.iter().map(ToString::to_string).collect();
        for want in [r#"job=~"no.e""#, r#"env!="dev""#, r#"zone!~"a|b""#, r#"x="y""#] {
            assert!(printed.iter().any(|p| p == want), "{want} missing from {printed:?}");
        }
        for (pm, ours) in selector.matchers.matchers.iter().zip(&ours) {
            assert_eq!(promql_to_pb(pm), ours.to_pb());
            for value in ["node", "nope", "dev", "a", "b", "y", ""] {
                assert_eq!(pm.is_match(value), ours.matches(value), "{ours} on {value:?}");
            }
        }
    }

    #[test]
    fn store_selection_by_external_labels() {
        let sets =
            [lset(&[("cluster", "eu"), ("replica", "0")]), lset(&[("cluster", "us"), ("replica", "0")])];
        let cluster_eu = m(MatchType::Equal, "cluster", "eu");
        let cluster_asia = m(MatchType::Equal, "cluster", "asia");
        let job = m(MatchType::Equal, "job", "node");
        assert!(label_sets_match(&[cluster_eu.clone(), job.clone()], &sets));
        assert!(!label_sets_match(&[cluster_asia.clone(), job.clone()], &sets));
        assert!(
            label_sets_match(std::slice::from_ref(&job), &sets),
            "matchers on other labels never rule out"
        );
        assert!(label_sets_match(std::slice::from_ref(&cluster_asia), &[]), "no label sets: anything");
        assert!(!label_sets_match(&[m(MatchType::Equal, "cluster", "")], &sets));

        let external = &sets[0];
        assert_eq!(
            matches_external_labels(&[cluster_eu.clone(), job.clone()], external),
            Some(vec![job.clone()])
        );
        assert_eq!(matches_external_labels(&[cluster_asia, job.clone()], external), None);
        assert_eq!(matches_external_labels(std::slice::from_ref(&job), &Labels::default()), Some(vec![job]));
    }

    #[test]
    fn display_quotes_like_go() {
        assert_eq!(m(MatchType::Equal, "a", "x\"y\n").to_string(), r#"a="x\"y\n""#);
        assert_eq!(m(MatchType::NotRegexp, "a", "b").to_string(), r#"a!~"b""#);
    }
}
