//! The Prometheus TSDB block format, byte-compatible with Prometheus 2.42: varints and bit
//! streams, XOR chunks, chunk segment files, the index, tombstones and `meta.json`.

pub mod chunks;
pub mod encoding;
mod error;
pub mod labels;

pub use error::{Error, Result};
pub use labels::{Label, Labels};
