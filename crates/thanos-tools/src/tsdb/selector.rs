//! Series selectors as Prometheus' `parser.ParseMetricSelector` reads them (`name{l="v", …}`).
//!
//! The PromQL parser we use rejects selectors whose every matcher matches the empty string, but a
//! bare metric selector may: promtool's own default is `{__name__=~'(?s:.*)'}`.

use anyhow::{Result, bail};
use regex::Regex;
use tsdb_format::Labels;

use crate::go_format;

/// How a matcher compares a label value.
#[derive(Debug, Clone)]
pub(crate) enum MatchOp {
    Equal,
    NotEqual,
    Regex(Regex),
    NotRegex(Regex),
}

/// One label matcher; a missing label matches as the empty string.
#[derive(Debug, Clone)]
pub(crate) struct Matcher {
    pub(crate) name: String,
    pub(crate) op: MatchOp,
    pub(crate) value: String,
}

impl Matcher {
    /// Whether `value` satisfies the matcher.
    pub(crate) fn matches(&self, value: &str) -> bool {
        match &self.op {
            MatchOp::Equal => value == self.value,
            MatchOp::NotEqual => value != self.value,
            MatchOp::Regex(re) => re.is_match(value),
            MatchOp::NotRegex(re) => !re.is_match(value),
        }
    }
}

/// Whether `labels` satisfy every matcher.
pub(crate) fn matches_all(labels: &Labels, matchers: &[Matcher]) -> bool {
    matchers.iter().all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
}

/// Parses a series selector into its matchers.
pub(crate) fn parse_metric_selector(input: &str) -> Result<Vec<Matcher>> {
    let mut p = Parser { s: input, pos: 0 };
    let matchers = p.selector().map_err(|e| anyhow::anyhow!("invalid series selector {input:?}: {e}"))?;
    Ok(matchers)
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    fn skip_space(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.s.len() - trimmed.len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn ident(&mut self, allow_colon: bool) -> Option<String> {
        self.skip_space();
        let ok_first = |c: char| c.is_ascii_alphabetic() || c == '_' || (allow_colon && c == ':');
        let ok_rest = |c: char| ok_first(c) || c.is_ascii_digit();
        let mut chars = self.rest().char_indices();
        match chars.next() {
            Some((_, c)) if ok_first(c) => {}
            _ => return None,
        }
        let len = chars.find(|&(_, c)| !ok_rest(c)).map_or(self.rest().len(), |(i, _)| i);
        let ident = self.rest()[..len].to_string();
        self.pos += len;
        Some(ident)
    }

    fn selector(&mut self) -> Result<Vec<Matcher>> {
        let mut matchers = Vec::new();
        let name = self.ident(true);
        if self.eat("{") {
            while !self.eat("}") {
                matchers.push(self.matcher()?);
                if !self.eat(",") {
                    if !self.eat("}") {
                        bail!("expected ',' or '}}' at position {}", self.pos);
                    }
                    break;
                }
            }
        }
        self.skip_space();
        if !self.rest().is_empty() {
            bail!("unexpected {:?} at position {}", self.rest(), self.pos);
        }
        if let Some(name) = name {
            matchers.push(Matcher { name: "__name__".into(), op: MatchOp::Equal, value: name });
        }
        if matchers.is_empty() {
            bail!("vector selector must contain label matchers or metric name");
        }
        Ok(matchers)
    }

    fn matcher(&mut self) -> Result<Matcher> {
        let Some(name) = self.ident(false) else { bail!("expected a label name at position {}", self.pos) };
        let kind = ["=~", "!~", "!=", "="].into_iter().find(|op| self.eat(op));
        let Some(kind) = kind else { bail!("expected a match operator after {name:?}") };
        let value = self.string()?;
        let anchored = |v: &str| {
            Regex::new(&format!("^(?:{v})$")).map_err(|e| anyhow::anyhow!("invalid regex {v:?}: {e}"))
        };
        let op = match kind {
            "=" => MatchOp::Equal,
            "!=" => MatchOp::NotEqual,
            "=~" => MatchOp::Regex(anchored(&value)?),
            _ => MatchOp::NotRegex(anchored(&value)?),
        };
        Ok(Matcher { name, op, value })
    }

    /// A string literal: `"…"` or `'…'` with Go escapes, or a raw `` `…` ``, decoded by
    /// [`go_format::unquote_with`].
    fn string(&mut self) -> Result<String> {
        self.skip_space();
        let rest = self.rest();
        let mut chars = rest.char_indices();
        let Some((_, quote)) = chars.next().filter(|(_, c)| matches!(c, '"' | '\'' | '`')) else {
            bail!("expected a quoted string at position {}", self.pos);
        };
        // The closing quote is the first one not escaped by a backslash (raw strings have no escapes).
        let mut escaped = false;
        let close = chars.find(|&(_, c)| {
            let closes = c == quote && !escaped;
            escaped = quote != '`' && c == '\\' && !escaped;
            closes
        });
        let Some((close, _)) = close else { bail!("unterminated string") };
        // The quote is ASCII, one byte.
        let value = go_format::unquote_with(quote, &rest[1..close])?;
        self.pos += close + 1;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn promtool_default_matches_everything() {
        let m = parse_metric_selector("{__name__=~'(?s:.*)'}").unwrap();
        assert!(matches_all(&labels(&[("__name__", "up")]), &m));
    }

    #[test]
    fn names_operators_and_escapes() {
        let m = parse_metric_selector(r#"up{job="a\"b", x!~`c.*`, y!="", }"#).unwrap();
        assert_eq!(m.len(), 4);
        assert_eq!(m[0].value, "a\"b");
        assert!(matches_all(&labels(&[("__name__", "up"), ("job", "a\"b"), ("y", "1")]), &m));
        assert!(!matches_all(&labels(&[("__name__", "up"), ("job", "a\"b"), ("y", "1"), ("x", "cd")]), &m));
        let anchored = parse_metric_selector("{a=~\"b\"}").unwrap();
        assert!(!matches_all(&labels(&[("a", "abc")]), &anchored));
        let empty = parse_metric_selector("{a=\"\"}").unwrap();
        assert!(matches_all(&labels(&[("b", "1")]), &empty));
    }

    #[test]
    fn string_literals_as_the_promql_lexer_reads_them() {
        let value = |selector: &str| parse_metric_selector(selector).map(|m| m[0].value.clone());
        assert_eq!(value(r#"{a='it\'s "q"'}"#).unwrap(), "it's \"q\"");
        assert_eq!(value(r#"{a="\101\x42\u0043\t"}"#).unwrap(), "ABC\t");
        assert_eq!(value(r#"{a=`raw\n\`}"#).unwrap(), "raw\\n\\");
        // Rejected by Prometheus' lexer too: the other quote escaped, a raw newline, short or
        // out-of-range octal escapes.
        for bad in [r#"{a="\'"}"#, r#"{a='\"'}"#, "{a=\"x\ny\"}", r#"{a="\1"}"#, r#"{a="\400"}"#] {
            assert!(parse_metric_selector(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn errors() {
        for bad in ["", "{}", "up{", "up{a=b}", "up{a=~\"(\"}", "up} x", "{a=\"\\q\"}", "{a=\"b"] {
            assert!(parse_metric_selector(bad).is_err(), "{bad:?} parsed");
        }
    }

    proptest::proptest! {
        #[test]
        fn random_selectors_never_panic(input in "[a-z_{}=!~\"'`,\\\\ .*()\\PC]{0,40}") {
            let _ = parse_metric_selector(&input);
        }
    }
}
