//! Reading counter aggregates back as one monotonic series (Thanos'
//! `ApplyCounterResetsSeriesIterator`).

/// A monotonic running total over counter chunks read in order (raw chunks or counter
/// aggregates), with the true last raw value kept for comparing with the next chunk.
///
/// NaN values are skipped. A value below the previous one is a reset and adds itself; otherwise
/// the difference is added. A sample at the previous timestamp is an aggregate chunk's repeated
/// last raw value: it only becomes the value the next sample is compared with. Samples going back
/// in time (overlapping chunks) are skipped.
#[derive(Debug, Clone, Default)]
pub struct CounterResets {
    started: bool,
    last_t: i64,
    last_v: f64,
    total: f64,
}

impl CounterResets {
    /// A reader before its first sample.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next sample; returns the running total at `t` when it is a new point.
    pub fn push(&mut self, t: i64, v: f64) -> Option<(i64, f64)> {
        if v.is_nan() {
            return None;
        }
        if !self.started {
            self.started = true;
            (self.last_t, self.last_v, self.total) = (t, v, v);
            return Some((t, v));
        }
        if t > self.last_t {
            self.total += if v >= self.last_v { v - self.last_v } else { v };
            (self.last_t, self.last_v) = (t, v);
            return Some((t, self.total));
        }
        if t == self.last_t {
            self.last_v = v;
        }
        None
    }

    /// The last raw value seen (the true value at the end of the last chunk read).
    pub fn last_value(&self) -> f64 {
        self.last_v
    }
}

/// Every point of `chunks` read as one counter (see [`CounterResets`]), and the last raw value.
pub fn apply_counter_resets<'a>(
    chunks: impl IntoIterator<Item = &'a [(i64, f64)]>,
) -> (Vec<(i64, f64)>, f64) {
    let mut reader = CounterResets::new();
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend(chunk.iter().filter_map(|&(t, v)| reader.push(t, v)));
    }
    (out, reader.last_value())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_between_and_inside_chunks() {
        // Chunk 1: raw first (0, 5), windows 7 and 9, true last raw value 2 (a reset inside).
        let first: &[(i64, f64)] = &[(0, 5.0), (10, 7.0), (20, 9.0), (20, 2.0)];
        // Chunk 2 starts at 1: below 2, so a reset between chunks.
        let second: &[(i64, f64)] = &[(30, 1.0), (40, 4.0), (40, 4.0)];
        let (points, last) = apply_counter_resets([first, second]);
        assert_eq!(points, [(0, 5.0), (10, 7.0), (20, 9.0), (30, 10.0), (40, 13.0)]);
        assert_eq!(last, 4.0);
    }

    #[test]
    fn nan_and_going_back_in_time_are_skipped() {
        let (points, _) =
            apply_counter_resets([&[(0, 1.0), (5, f64::NAN), (10, 2.0)][..], &[(8, 0.0), (12, 3.0)]]);
        assert_eq!(points, [(0, 1.0), (10, 2.0), (12, 3.0)]);
    }
}
