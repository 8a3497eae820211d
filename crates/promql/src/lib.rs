//! A PromQL engine that answers exactly as Prometheus 2.42 does.
//!
//! It parses with `promql-parser`, reads series through the [`Queryable`] trait and returns
//! [`Value`]s; it knows nothing of gRPC or HTTP.

mod aggregation;
mod binary;
pub mod engine;
mod error;
mod fasthash;
pub mod functions;
mod gomath;
mod gosort;
mod name_drop;
mod parse;
pub mod queryable;
pub mod value;

pub use engine::{CancelToken, Engine, EngineOptions};
pub use error::{PromqlError, Result};
pub use queryable::{MemoryQueryable, Queryable, SelectHints};
pub use value::{Matrix, Point, Sample, Series, Value, Vector};
