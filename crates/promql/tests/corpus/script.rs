//! The `.test` script language in its v2.42 form (`promql/test.go`): `load`, `clear`,
//! `eval instant at`, `eval_ordered`, `eval_fail`.

use std::sync::LazyLock;

use regex::Regex;
use tsdb_format::Labels;

use crate::load::{SeqValue, parse_duration_ms, parse_go_number, parse_series_desc};

static PAT_SPACE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[\t ]+").expect("valid regex"));
static PAT_LOAD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^load\s+(.+?)$").expect("valid regex"));
static PAT_EVAL_INSTANT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^eval(?:_(fail|ordered))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$").expect("valid regex")
});

/// A parsed script.
#[derive(Debug, Clone, Default)]
pub(crate) struct Script {
    pub(crate) commands: Vec<Command>,
}

impl Script {
    /// The eval commands, in order.
    pub(crate) fn evals(&self) -> impl Iterator<Item = &Eval> {
        self.commands.iter().filter_map(|c| match c {
            Command::Eval(e) => Some(e),
            _ => None,
        })
    }
}

/// One command.
#[derive(Debug, Clone)]
pub(crate) enum Command {
    /// Drop all data and start a fresh engine.
    Clear,
    /// Add samples.
    Load(Load),
    /// Evaluate and check.
    Eval(Eval),
}

/// A `load <interval>` command.
#[derive(Debug, Clone)]
pub(crate) struct Load {
    /// 1-based line of the command.
    pub(crate) line: usize,
    /// Each series once (a later line for the same labels replaces an earlier one, as the Go
    /// harness keys its definitions by label hash), with its samples `(t_ms, v)` in order.
    pub(crate) series: Vec<(Labels, Vec<(i64, f64)>)>,
}

/// Which eval command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EvalKind {
    /// `eval`: compare ignoring order.
    Plain,
    /// `eval_ordered`: result order must match the expected lines.
    Ordered,
    /// `eval_fail`: the query must fail.
    Fail,
}

/// An `eval… instant at <t> <expr>` command and its expectations.
#[derive(Debug, Clone)]
pub(crate) struct Eval {
    /// 1-based line of the command.
    pub(crate) line: usize,
    pub(crate) kind: EvalKind,
    /// Evaluation time, ms since the epoch.
    pub(crate) at_ms: i64,
    /// The query text.
    pub(crate) expr: String,
    pub(crate) expected: Expected,
}

/// Expected results: the Go harness' `expected` map (scalar under key 0) and `metrics`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Expected {
    /// A bare-number line: a scalar expectation.
    pub(crate) scalar: Option<f64>,
    /// Expected series, one per label set (a later line replaces an earlier one).
    pub(crate) series: Vec<ExpectedSeries>,
}

/// One expected series line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExpectedSeries {
    pub(crate) labels: Labels,
    /// 1-based position among the body lines (for `eval_ordered`).
    pub(crate) pos: usize,
    /// The value; `None` if the line gave no value (Go would index out of range on a match).
    pub(crate) value: Option<f64>,
}

impl Expected {
    pub(crate) fn find(&self, labels: &Labels) -> Option<&ExpectedSeries> {
        self.series.iter().find(|s| &s.labels == labels)
    }
}

/// A script syntax error.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScriptError {
    /// 1-based line.
    pub(crate) line: usize,
    pub(crate) msg: String,
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.msg)
    }
}

/// `getLines`: trimmed lines, comment lines blanked (so a comment ends a command body).
fn get_lines(input: &str) -> Vec<&str> {
    input
        .split('\n')
        .map(|l| {
            let l = l.trim();
            if l.starts_with('#') { "" } else { l }
        })
        .collect()
}

/// Parses a whole script (`Test.parse`).
pub(crate) fn parse_script(input: &str) -> Result<Script, ScriptError> {
    let lines = get_lines(input);
    let mut script = Script::default();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.is_empty() {
            i += 1;
            continue;
        }
        let first = PAT_SPACE.splitn(l, 2).next().unwrap_or("").to_lowercase();
        let cmd = if first == "clear" {
            Command::Clear
        } else if first == "load" {
            let (next, load) = parse_load(&lines, i)?;
            i = next;
            Command::Load(load)
        } else if first.starts_with("eval") {
            let (next, eval) = parse_eval(&lines, i)?;
            i = next;
            Command::Eval(eval)
        } else {
            return Err(ScriptError { line: i + 1, msg: format!("invalid command {l:?}") });
        };
        script.commands.push(cmd);
        i += 1;
    }
    Ok(script)
}

/// `parseLoad`: returns the index of the last body line.
fn parse_load(lines: &[&str], mut i: usize) -> Result<(usize, Load), ScriptError> {
    let line = i + 1;
    let caps = PAT_LOAD.captures(lines[i]).ok_or_else(|| ScriptError {
        line,
        msg: "invalid load command. (load <step:duration>)".to_owned(),
    })?;
    let gap = parse_duration_ms(&caps[1])
        .map_err(|e| ScriptError { line, msg: format!("invalid step definition {:?}: {e}", &caps[1]) })?;
    let mut load = Load { line, series: Vec::new() };
    while i + 1 < lines.len() {
        i += 1;
        let def = lines[i];
        if def.is_empty() {
            i -= 1;
            break;
        }
        let (labels, vals) = parse_series_desc(def).map_err(|msg| ScriptError { line: i + 1, msg })?;
        let mut samples = Vec::with_capacity(vals.len());
        let mut t = 0i64;
        for v in vals {
            if !v.omitted {
                samples.push((t, v.value));
            }
            t += gap;
        }
        match load.series.iter_mut().find(|(l, _)| *l == labels) {
            Some(existing) => existing.1 = samples,
            None => load.series.push((labels, samples)),
        }
    }
    Ok((i, load))
}

/// `parseEval`: returns the index of the last body line consumed.
fn parse_eval(lines: &[&str], mut i: usize) -> Result<(usize, Eval), ScriptError> {
    let line = i + 1;
    let caps = PAT_EVAL_INSTANT.captures(lines[i]).ok_or_else(|| ScriptError {
        line,
        msg: "invalid evaluation command. (eval[_fail|_ordered] instant [at <offset:duration>] <query>"
            .to_owned(),
    })?;
    let kind = match caps.get(1).map(|m| m.as_str()) {
        Some("ordered") => EvalKind::Ordered,
        Some("fail") => EvalKind::Fail,
        _ => EvalKind::Plain,
    };
    let at = caps.get(2).map_or("", |m| m.as_str());
    let expr = caps[3].to_owned();
    let at_ms = parse_duration_ms(at)
        .map_err(|e| ScriptError { line, msg: format!("invalid step definition {at:?}: {e}") })?;
    let mut expected = Expected::default();
    let mut j = 1;
    while i + 1 < lines.len() {
        i += 1;
        let def = lines[i];
        if def.is_empty() {
            i -= 1;
            break;
        }
        if let Some(f) = parse_go_number(def) {
            expected.scalar = Some(f);
            break;
        }
        let (labels, vals) = parse_series_desc(def).map_err(|msg| ScriptError { line: i + 1, msg })?;
        if vals.len() > 1 {
            return Err(ScriptError {
                line: i + 1,
                msg: "expecting multiple values in instant evaluation not allowed".to_owned(),
            });
        }
        let value = vals.first().map(|v: &SeqValue| v.value);
        let entry = ExpectedSeries { labels, pos: j, value };
        match expected.series.iter_mut().find(|s| s.labels == entry.labels) {
            Some(existing) => *existing = entry,
            None => expected.series.push(entry),
        }
        j += 1;
    }
    Ok((i, Eval { line, kind, at_ms, expr, expected }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &str = r#"
# A comment.
load 5m
    http_requests{job="api", instance="0"}  0+10x2
    other  1 _ 3
    other  7

clear
LOAD 1m
"#;

    #[test]
    fn parses_loads_and_clear() {
        let err = parse_script(SCRIPT).unwrap_err();
        assert_eq!(err.line, 9, "{err}");
        let s = parse_script(&SCRIPT.replace("LOAD 1m", "load 1m\n  x 1")).unwrap();
        assert_eq!(s.commands.len(), 3);
        let Command::Load(l) = &s.commands[0] else { panic!("not a load") };
        assert_eq!(l.line, 3);
        assert_eq!(l.series.len(), 2);
        assert_eq!(l.series[0].1, vec![(0, 0.0), (300_000, 10.0), (600_000, 20.0)]);
        // The later line for `other` replaces the earlier one.
        assert_eq!(l.series[1].0, Labels::from_pairs([("__name__", "other")]));
        assert_eq!(l.series[1].1, vec![(0, 7.0)]);
        assert!(matches!(s.commands[1], Command::Clear));
    }

    #[test]
    fn parses_evals() {
        let s = parse_script(
            r#"
eval instant at 50m sum by (job) (http_requests)
    {job="api"} 110
    {} 3
    {job="api"} 5

eval_ordered instant at 1h30m sort(x)
  x{a="2"} 1
  x{a="1"} 2

eval_fail instant at 0m label_replace(testmetric, "dst", "v-$1", "src", "(.*")

eval instant at 50m 1 + 1
	0x10

eval instant at 50m vector(1) == 2

eval instant at 10s foo
  # a comment ends the body
"#,
        )
        .unwrap();
        let evals: Vec<&Eval> = s.evals().collect();
        assert_eq!(evals.len(), 6);
        let e = evals[0];
        assert_eq!((e.line, e.kind, e.at_ms), (2, EvalKind::Plain, 3_000_000));
        assert_eq!(e.expr, "sum by (job) (http_requests)");
        assert_eq!(e.expected.scalar, None);
        assert_eq!(e.expected.series.len(), 2);
        let api = e.expected.find(&Labels::from_pairs([("job", "api")])).unwrap();
        assert_eq!((api.pos, api.value), (3, Some(5.0)));
        let empty = e.expected.find(&Labels::default()).unwrap();
        assert_eq!((empty.pos, empty.value), (2, Some(3.0)));
        assert_eq!((evals[1].kind, evals[1].at_ms), (EvalKind::Ordered, 5_400_000));
        assert_eq!(evals[1].expected.series[0].pos, 1);
        assert_eq!(evals[2].kind, EvalKind::Fail);
        assert_eq!(evals[2].expr, r#"label_replace(testmetric, "dst", "v-$1", "src", "(.*")"#);
        assert_eq!(evals[2].expected, Expected::default());
        assert_eq!(evals[3].expr, "1 + 1");
        assert_eq!(evals[3].expected.scalar, Some(16.0));
        assert!(evals[3].expected.series.is_empty());
        assert_eq!(evals[4].expected, Expected::default());
        assert_eq!(evals[5].at_ms, 10_000);
    }

    #[test]
    fn rejects_bad_commands() {
        for bad in [
            "foo bar",
            "load",
            "load 5x\n  m 1",
            "eval instant 50m foo",
            "eval range at 50m foo",
            "eval instant at 50m foo\n  foo 1 2",
            "eval instant at 50m foo\n  3\n  foo 1",
            "load 1m\n  foo 1 2 bar",
        ] {
            assert!(parse_script(bad).is_err(), "{bad:?}");
        }
    }
}
