//! Whole blocks: a writer that turns samples into a block directory, and a reader that iterates
//! a block's series and samples.

mod head_chunks;
mod reader;
mod writer;

pub use head_chunks::HeadChunker;
pub use reader::{BlockReader, SeriesSamples};
pub use writer::BlockWriter;

/// Name of a block's chunk directory.
pub const CHUNKS_DIRNAME: &str = "chunks";
/// Name of a block's index file.
pub const INDEX_FILENAME: &str = "index";

/// Prometheus' default block duration (2h) in milliseconds.
pub const DEFAULT_BLOCK_DURATION: i64 = 2 * 3600 * 1000;
