//! Chunk segment files: `chunks/000001`, `chunks/000002`, … of a block.

/// A chunk's address in a block: segment index (0-based; file `000001` is 0) in the upper 32 bits,
/// byte offset within that segment file in the lower 32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ChunkRef(pub u64);

impl ChunkRef {
    /// A reference to `offset` in segment `segment`.
    pub fn new(segment: u32, offset: u32) -> Self {
        Self((u64::from(segment) << 32) | u64::from(offset))
    }

    /// The 0-based segment index.
    pub fn segment(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The byte offset within the segment file.
    pub fn offset(self) -> u32 {
        self.0 as u32
    }
}
