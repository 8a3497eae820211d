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

use promql_parser::parser::Expr;

use crate::error::Result;
use crate::value::{Series, Vector};

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

/// A function's definition: name, argument shape and implementation.
#[derive(Debug, Clone, Copy)]
pub struct FunctionDef {
    /// Its PromQL name.
    pub name: &'static str,
    /// Whether it takes a range vector (and so is called once per series).
    pub takes_range_vector: bool,
    /// For range-vector functions: whether the output keeps the input's `__name__` (in 2.42 only
    /// `last_over_time` does). Ignored for other functions, which label their own output.
    pub keeps_metric_name: bool,
    /// The implementation.
    pub implementation: FunctionImpl,
}

/// Every function Prometheus 2.42 has, by name; `None` for a name 2.42 does not know.
pub fn lookup(name: &str) -> Option<&'static FunctionDef> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

/// The function table. Filled in by the function modules.
static FUNCTIONS: &[FunctionDef] = &[];
