//! The Prometheus TSDB block format, byte-compatible with Prometheus 2.42: varints and bit
//! streams, XOR chunks, chunk segment files, the index, tombstones and `meta.json`.

pub mod block;
pub mod chunkenc;
pub mod chunks;
pub mod encoding;
mod error;
pub mod index;
pub mod index_header;
pub mod labels;
pub mod meta;
pub mod postings_codec;
pub mod tombstones;

pub use error::{Error, Result};
pub use labels::{Label, Labels};
pub use meta::BlockMeta;
