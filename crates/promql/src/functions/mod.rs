//! PromQL functions as Prometheus 2.42 defines them (`promql/functions.go`).
//!
//! The engine evaluates a call's arguments for one step and hands them over as [`FunctionArgs`];
//! a function returns the output vector for that step.
//! - Functions over instant vectors (`abs`, `label_replace`, `sort`, …) label their output
//!   themselves, dropping `__name__` exactly where Prometheus' implementation does.
//! - Functions over a range vector (`rate`, `*_over_time`, …) are called once per input series and
//!   step, with that series' points in the window; they return zero or one sample, and the engine
//!   names it: the input series' labels, without `__name__` unless
//!   [`FunctionDef::keeps_metric_name`].
//! - Functions returning a scalar ([`FunctionDef::return_type`] is [`ValueType::Scalar`]: `time`,
//!   `pi`, `scalar`) return exactly one sample with empty labels; the engine turns it into a
//!   scalar.
//!
//! What the engine must still do itself, as 2.42's evaluator does around the function calls:
//! - reject a step's output vector holding two samples with the same labels ("vector cannot
//!   contain metrics with the same labelset"), e.g. after `label_replace`;
//! - `absent_over_time`: the function returns 1 for every series with points in the window; the
//!   engine then emits, for the steps where NO series had points, one series labelled with
//!   [`absent_labels`] of the argument expression (2.42's post-processing in `engine.go`);
//! - `timestamp(v)`: when the argument is a vector selector (possibly in parentheses), pass
//!   samples whose [`Sample::t`] is the ORIGINAL sample timestamp; for any other argument,
//!   `Sample::t` is the step time. The function reads nothing but `Sample::t`.
//! - range functions are only called for series with at least one point in the window (2.42 skips
//!   the call otherwise); they return nothing when called with an empty window.

mod histogram;
mod labels;
mod math;
mod misc;
mod over_time;
mod rate;
mod time;

use std::fmt;

use promql_parser::parser::Expr;
use tsdb_format::Labels;

use crate::error::{PromqlError, Result};
use crate::value::{Point, Sample, Series, Vector};

pub(crate) use crate::gosort::{go_search, go_sort};
pub use misc::absent_labels;

/// One evaluated argument.
#[derive(Debug, Clone, Copy)]
pub enum ArgValue<'a> {
    /// A scalar argument (or a number literal).
    Scalar(f64),
    /// A string literal argument (label names, regexes, …).
    String(&'a str),
    /// An instant vector argument.
    Vector(&'a Vector),
    /// A range vector argument: for range functions, exactly one series with the points inside
    /// the window `[range_start, range_end]` (both inclusive, as in 2.42).
    Matrix(&'a [Series]),
    /// A range vector argument as the engine passes it to range functions: the points of one
    /// series inside the window (the series' labels are not needed).
    Window(&'a [Point]),
}

/// The window of a range-vector argument at this step, after `offset` and `@` are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeWindow {
    /// First timestamp in the window (inclusive), ms.
    pub start: i64,
    /// Last timestamp in the window (inclusive), ms.
    pub end: i64,
}

/// Everything a function sees at one evaluation step.
#[derive(Debug, Clone, Copy)]
pub struct FunctionArgs<'a> {
    /// The evaluated arguments, in order.
    pub values: &'a [ArgValue<'a>],
    /// The argument expressions as parsed (some functions inspect them).
    pub exprs: &'a [Expr],
    /// The evaluation timestamp of this step, ms (Prometheus' `enh.Ts`).
    pub step_time: i64,
    /// For a call with a range-vector argument: that argument's window at this step.
    pub window: Option<RangeWindow>,
}

/// The Rust side of one PromQL function.
pub type FunctionImpl = fn(&FunctionArgs<'_>) -> Result<Vector>;

/// A PromQL value type as 2.42's parser types function arguments and results
/// (`parser.ValueType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// A number.
    Scalar,
    /// An instant vector.
    Vector,
    /// A range vector.
    Matrix,
    /// A string.
    String,
}

impl ValueType {
    /// The name 2.42 uses in error messages (`parser.DocumentedType`): `scalar`,
    /// `instant vector`, `range vector`, `string`.
    pub fn documented(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::Vector => "instant vector",
            ValueType::Matrix => "range vector",
            ValueType::String => "string",
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.documented())
    }
}

/// A function's definition: name, argument shape and implementation.
#[derive(Debug, Clone, Copy)]
pub struct FunctionDef {
    /// Its PromQL name.
    pub name: &'static str,
    /// Argument types, as 2.42's `parser.Functions` lists them.
    pub arg_types: &'static [ValueType],
    /// 2.42's `Variadic`: 0 = exactly `arg_types.len()` arguments; n > 0 = the last argument type
    /// may be given 0..=n times (so `arg_types.len() - 1 ..= arg_types.len() - 1 + n` arguments);
    /// -1 = the last argument type may repeat without limit (at least `arg_types.len() - 1`).
    pub variadic: i32,
    /// The type of the result (`Scalar` for `time`, `pi`, `scalar`; `Vector` otherwise).
    pub return_type: ValueType,
    /// Whether it takes a range vector (and so is called once per series).
    pub takes_range_vector: bool,
    /// For range-vector functions: whether the output keeps the input's `__name__` (in 2.42 only
    /// `last_over_time` does). Ignored for other functions, which label their own output.
    pub keeps_metric_name: bool,
    /// The implementation.
    pub implementation: FunctionImpl,
}

impl FunctionDef {
    /// Checks the number of arguments of a call as 2.42's parser does, returning its error
    /// message (`expected 1 argument(s) in call to "abs", got 2`, …) when it is wrong.
    pub fn check_arity(&self, nargs: usize) -> std::result::Result<(), String> {
        let n = self.arg_types.len();
        if self.variadic == 0 {
            if n != nargs {
                return Err(format!("expected {n} argument(s) in call to {:?}, got {nargs}", self.name));
            }
        } else {
            let na = n.saturating_sub(1);
            if na > nargs {
                return Err(format!(
                    "expected at least {na} argument(s) in call to {:?}, got {nargs}",
                    self.name
                ));
            }
            let max = na + self.variadic.max(0) as usize;
            if self.variadic > 0 && max < nargs {
                return Err(format!(
                    "expected at most {max} argument(s) in call to {:?}, got {nargs}",
                    self.name
                ));
            }
        }
        Ok(())
    }

    /// The type 2.42 expects for argument `i` (variadic arguments repeat the last type);
    /// `None` past the end of a non-variadic function's arguments.
    pub fn arg_type(&self, i: usize) -> Option<ValueType> {
        match self.arg_types.get(i) {
            Some(t) => Some(*t),
            None if self.variadic != 0 => self.arg_types.last().copied(),
            None => None,
        }
    }
}

/// 2.42's parse error for a call to a function it does not know.
pub fn unknown_function_message(name: &str) -> String {
    format!("unknown function with name {name:?}")
}

/// A range-vector function computing at most one value per window, called by the engine
/// without building a one-sample vector per series and step (an allocation that cost as much as
/// the computation).
pub(crate) type RangeValueFn = fn(&FunctionArgs<'_>) -> Result<Option<f64>>;

/// The [`RangeValueFn`] of a function whose implementation is one; `None` for the others, which
/// are called through [`FunctionDef::implementation`].
pub(crate) fn range_value_fn(name: &str) -> Option<RangeValueFn> {
    Some(match name {
        "rate" => rate::rate_value,
        "increase" => rate::increase_value,
        "delta" => rate::delta_value,
        "irate" => rate::irate_value,
        "idelta" => rate::idelta_value,
        "resets" => misc::resets_value,
        "changes" => misc::changes_value,
        "deriv" => misc::deriv_value,
        "predict_linear" => misc::predict_linear_value,
        "holt_winters" => misc::holt_winters_value,
        "avg_over_time" => over_time::avg_over_time_value,
        "count_over_time" => over_time::count_over_time_value,
        "last_over_time" => over_time::last_over_time_value,
        "max_over_time" => over_time::max_over_time_value,
        "min_over_time" => over_time::min_over_time_value,
        "sum_over_time" => over_time::sum_over_time_value,
        "stddev_over_time" => over_time::stddev_over_time_value,
        "stdvar_over_time" => over_time::stdvar_over_time_value,
        "present_over_time" => over_time::present_over_time_value,
        "quantile_over_time" => over_time::quantile_over_time_value,
        _ => return None,
    })
}

/// Every function Prometheus 2.42 has, by name; `None` for a name 2.42 does not know.
pub fn lookup(name: &str) -> Option<&'static FunctionDef> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

/// All function definitions, sorted by name.
pub fn all() -> &'static [FunctionDef] {
    FUNCTIONS
}

use ValueType::{Matrix as M, Scalar as S, String as Str, Vector as V};

const fn def(
    name: &'static str,
    arg_types: &'static [ValueType],
    variadic: i32,
    return_type: ValueType,
    implementation: FunctionImpl,
) -> FunctionDef {
    let mut takes_range_vector = false;
    let mut i = 0;
    while i < arg_types.len() {
        if matches!(arg_types[i], ValueType::Matrix) {
            takes_range_vector = true;
        }
        i += 1;
    }
    FunctionDef {
        name,
        arg_types,
        variadic,
        return_type,
        takes_range_vector,
        keeps_metric_name: false,
        implementation,
    }
}

const fn vector_fn(name: &'static str, implementation: FunctionImpl) -> FunctionDef {
    def(name, &[V], 0, V, implementation)
}

const fn range_fn(name: &'static str, implementation: FunctionImpl) -> FunctionDef {
    def(name, &[M], 0, V, implementation)
}

const fn date_fn(name: &'static str, implementation: FunctionImpl) -> FunctionDef {
    def(name, &[V], 1, V, implementation)
}

/// The function table: exactly 2.42's `parser.Functions`, sorted by name.
static FUNCTIONS: &[FunctionDef] = &[
    vector_fn("abs", math::abs),
    vector_fn("absent", misc::absent),
    range_fn("absent_over_time", misc::absent_over_time),
    vector_fn("acos", math::acos),
    vector_fn("acosh", math::acosh),
    vector_fn("asin", math::asin),
    vector_fn("asinh", math::asinh),
    vector_fn("atan", math::atan),
    vector_fn("atanh", math::atanh),
    range_fn("avg_over_time", over_time::avg_over_time),
    vector_fn("ceil", math::ceil),
    range_fn("changes", misc::changes),
    def("clamp", &[V, S, S], 0, V, math::clamp),
    def("clamp_max", &[V, S], 0, V, math::clamp_max),
    def("clamp_min", &[V, S], 0, V, math::clamp_min),
    vector_fn("cos", math::cos),
    vector_fn("cosh", math::cosh),
    range_fn("count_over_time", over_time::count_over_time),
    date_fn("day_of_month", time::day_of_month),
    date_fn("day_of_week", time::day_of_week),
    date_fn("day_of_year", time::day_of_year),
    date_fn("days_in_month", time::days_in_month),
    vector_fn("deg", math::deg),
    range_fn("delta", rate::delta),
    range_fn("deriv", misc::deriv),
    vector_fn("exp", math::exp),
    vector_fn("floor", math::floor),
    vector_fn("histogram_count", histogram::histogram_count),
    def("histogram_fraction", &[S, S, V], 0, V, histogram::histogram_fraction),
    def("histogram_quantile", &[S, V], 0, V, histogram::histogram_quantile),
    vector_fn("histogram_sum", histogram::histogram_sum),
    def("holt_winters", &[M, S, S], 0, V, misc::holt_winters),
    date_fn("hour", time::hour),
    range_fn("idelta", rate::idelta),
    range_fn("increase", rate::increase),
    range_fn("irate", rate::irate),
    def("label_join", &[V, Str, Str, Str], -1, V, labels::label_join),
    def("label_replace", &[V, Str, Str, Str, Str], 0, V, labels::label_replace),
    FunctionDef { keeps_metric_name: true, ..range_fn("last_over_time", over_time::last_over_time) },
    vector_fn("ln", math::ln),
    vector_fn("log10", math::log10),
    vector_fn("log2", math::log2),
    range_fn("max_over_time", over_time::max_over_time),
    range_fn("min_over_time", over_time::min_over_time),
    date_fn("minute", time::minute),
    date_fn("month", time::month),
    def("pi", &[], 0, S, math::pi),
    def("predict_linear", &[M, S], 0, V, misc::predict_linear),
    range_fn("present_over_time", over_time::present_over_time),
    def("quantile_over_time", &[S, M], 0, V, over_time::quantile_over_time),
    vector_fn("rad", math::rad),
    range_fn("rate", rate::rate),
    range_fn("resets", misc::resets),
    def("round", &[V, S], 1, V, math::round),
    def("scalar", &[V], 0, S, misc::scalar),
    vector_fn("sgn", math::sgn),
    vector_fn("sin", math::sin),
    vector_fn("sinh", math::sinh),
    vector_fn("sort", misc::sort),
    vector_fn("sort_desc", misc::sort_desc),
    vector_fn("sqrt", math::sqrt),
    range_fn("stddev_over_time", over_time::stddev_over_time),
    range_fn("stdvar_over_time", over_time::stdvar_over_time),
    range_fn("sum_over_time", over_time::sum_over_time),
    vector_fn("tan", math::tan),
    vector_fn("tanh", math::tanh),
    def("time", &[], 0, S, time::time),
    vector_fn("timestamp", time::timestamp),
    def("vector", &[S], 0, V, misc::vector),
    date_fn("year", time::year),
];

// ---------------------------------------------------------------------------------------------
// Helpers shared by the function modules.

/// An error for arguments that do not have the shape the function's signature promises (the
/// parser and engine rule these out; this only guards against engine bugs).
fn bad_args(name: &str, what: &str) -> PromqlError {
    PromqlError::Execution(format!("unexpected arguments in call to {name:?}: {what}"))
}

impl<'a> FunctionArgs<'a> {
    /// Argument `i` as a scalar.
    fn scalar(&self, name: &str, i: usize) -> Result<f64> {
        match self.values.get(i) {
            Some(ArgValue::Scalar(v)) => Ok(*v),
            _ => Err(bad_args(name, &format!("argument {i} is not a scalar"))),
        }
    }

    /// Argument `i` as an instant vector.
    fn vector(&self, name: &str, i: usize) -> Result<&'a Vector> {
        match self.values.get(i) {
            Some(ArgValue::Vector(v)) => Ok(v),
            _ => Err(bad_args(name, &format!("argument {i} is not an instant vector"))),
        }
    }

    /// Argument `i` as the points of the one series of a range-function call (`None` if the
    /// matrix is empty).
    #[inline]
    fn series(&self, name: &str, i: usize) -> Result<Option<&'a [Point]>> {
        match self.values.get(i) {
            Some(ArgValue::Window(points)) => Ok(Some(points)),
            Some(ArgValue::Matrix(m)) => Ok(m.first().map(|s| s.points.as_slice())),
            _ => Err(not_a_range_vector(name, i)),
        }
    }

    /// Argument `i` as a string: the evaluated string, or else the string literal in the
    /// argument expression (inside any parentheses), as 2.42's `stringFromArg` reads it.
    fn string(&self, name: &str, i: usize) -> Result<&'a str> {
        if let Some(ArgValue::String(s)) = self.values.get(i) {
            return Ok(s);
        }
        let mut e = self.exprs.get(i);
        while let Some(Expr::Paren(p)) = e {
            e = Some(&p.expr);
        }
        match e {
            Some(Expr::StringLiteral(s)) => Ok(&s.val),
            _ => Err(bad_args(name, &format!("argument {i} is not a string"))),
        }
    }

    /// The window of the range argument; falls back to an empty window ending at the step.
    fn window_or_step(&self) -> RangeWindow {
        self.window.unwrap_or(RangeWindow { start: self.step_time, end: self.step_time })
    }
}

/// The labels without `__name__` (2.42's `dropMetricName`).
fn drop_metric_name(labels: &Labels) -> Labels {
    crate::name_drop::drop_metric_name(labels)
}

/// A one-sample output for range functions (labels are set by the engine) and scalar results.
#[cold]
fn not_a_range_vector(name: &str, i: usize) -> PromqlError {
    bad_args(name, &format!("argument {i} is not a range vector"))
}

/// The vector of a [`RangeValueFn`]'s value: one sample without labels, or none.
fn value_vector(args: &FunctionArgs<'_>, value: Option<f64>) -> Result<Vector> {
    Ok(value.map_or_else(Vec::new, |v| single(args.step_time, v)))
}

fn single(t: i64, v: f64) -> Vector {
    vec![Sample { labels: Labels::default(), t, v }]
}

/// 2.42's `kahanSumInc`: Kahan-Babuška-Neumaier summation step.
fn kahan_sum_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if sum.abs() >= inc.abs() { c + ((sum - t) + inc) } else { c + ((inc - t) + sum) };
    (t, c)
}

/// Go's `math.Max`: +Inf wins over NaN, NaN wins over numbers, +0 over -0.
fn go_max(x: f64, y: f64) -> f64 {
    if x == f64::INFINITY || y == f64::INFINITY {
        return f64::INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && x == y {
        return if x.is_sign_negative() { y } else { x };
    }
    if x > y { x } else { y }
}

/// Go's `math.Min`: -Inf wins over NaN, NaN wins over numbers, -0 over +0.
fn go_min(x: f64, y: f64) -> f64 {
    if x == f64::NEG_INFINITY || y == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && x == y {
        return if x.is_sign_negative() { x } else { y };
    }
    if x < y { x } else { y }
}

/// Go's `fmt` `%f` (6 decimals; `NaN`, `+Inf`, `-Inf` for the specials).
fn go_fmt_f(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{v:.6}")
    }
}

#[cfg(test)]
mod test_util;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_complete() {
        assert!(FUNCTIONS.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(FUNCTIONS.len(), 70);
        assert!(lookup("rate").is_some_and(|f| f.takes_range_vector));
        assert!(lookup("last_over_time").is_some_and(|f| f.keeps_metric_name));
        assert!(lookup("xrate").is_none());
        assert!(lookup("sort_by_label").is_none());
        assert_eq!(lookup("pi").map(|f| f.return_type), Some(ValueType::Scalar));
    }

    #[test]
    fn arity_messages() {
        let abs = lookup("abs").expect("abs");
        assert_eq!(abs.check_arity(1), Ok(()));
        assert_eq!(abs.check_arity(2), Err(r#"expected 1 argument(s) in call to "abs", got 2"#.to_string()));
        let round = lookup("round").expect("round");
        assert_eq!(round.check_arity(1), Ok(()));
        assert_eq!(round.check_arity(2), Ok(()));
        assert_eq!(
            round.check_arity(3),
            Err(r#"expected at most 2 argument(s) in call to "round", got 3"#.to_string())
        );
        assert_eq!(
            round.check_arity(0),
            Err(r#"expected at least 1 argument(s) in call to "round", got 0"#.to_string())
        );
        let year = lookup("year").expect("year");
        assert_eq!(year.check_arity(0), Ok(()));
        let join = lookup("label_join").expect("label_join");
        assert_eq!(join.check_arity(3), Ok(()));
        assert_eq!(join.check_arity(10), Ok(()));
        assert_eq!(join.arg_type(9), Some(ValueType::String));
        assert_eq!(abs.arg_type(1), None);
        assert_eq!(unknown_function_message("foo"), r#"unknown function with name "foo""#);
    }

    #[test]
    fn go_min_max() {
        assert!(go_max(1.0, f64::NAN).is_nan());
        assert_eq!(go_max(f64::NAN, f64::INFINITY), f64::INFINITY);
        assert_eq!(go_min(f64::NAN, f64::NEG_INFINITY), f64::NEG_INFINITY);
        assert!(go_min(f64::NAN, 1.0).is_nan());
        assert!(go_max(-0.0, 0.0).is_sign_positive());
        assert!(go_min(-0.0, 0.0).is_sign_negative());
        assert_eq!(go_fmt_f(1.0), "1.000000");
        assert_eq!(go_fmt_f(f64::INFINITY), "+Inf");
    }
}
