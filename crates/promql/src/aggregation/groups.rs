//! The groups of an aggregation's input series, remembered across the steps of a range query.
//!
//! Which group an input series falls in depends only on its labels and the `by`/`without`
//! clause, neither of which changes between steps; computing the grouping key (and the group's
//! labels) once per series instead of once per series and step is most of the cost of an
//! aggregation. Per step only the order in which groups are first seen is tracked, since 2.42
//! outputs groups in that order.

use tsdb_format::{Label, Labels};

use crate::fasthash::FastMap;

/// Group ids of input series, for one aggregation node (fixed grouping, no `count_values`).
#[derive(Default)]
pub(crate) struct GroupCache {
    /// Input series labels → group id.
    by_series: FastMap<Labels, usize>,
    /// Grouping key → group id.
    by_key: FastMap<Vec<u8>, usize>,
    /// Group id → output labels.
    labels: Vec<Labels>,
    /// Group id → the step it was last seen at, and its index in that step's groups.
    seen: Vec<(u32, usize)>,
    step: u32,
    key: Vec<u8>,
    /// Per position in the input vector, the series last seen there and its group id: usually
    /// the same series at every step, found without hashing.
    by_position: Vec<(Labels, usize)>,
}

impl GroupCache {
    /// Starts a new step: no group has been seen yet.
    pub(crate) fn start_step(&mut self) {
        self.step += 1;
    }

    /// The group of `series` at this step: `Ok(index)` of a group already seen at this step, or
    /// `Err(labels)` of a group that becomes index `next` (the caller adds it).
    pub(crate) fn find(
        &mut self,
        position: usize,
        series: &Labels,
        next: usize,
        key_of: impl FnOnce(&[Label], &mut Vec<u8>),
        labels_of: impl FnOnce(&[Label]) -> Labels,
    ) -> Result<usize, Labels> {
        let id = match self.by_position.get(position) {
            Some((labels, id)) if labels.ptr_eq(series) => *id,
            _ => self.find_by_labels(position, series, key_of, labels_of),
        };
        let seen = &mut self.seen[id];
        if seen.0 == self.step {
            return Ok(seen.1);
        }
        *seen = (self.step, next);
        Err(self.labels[id].clone())
    }

    /// The group id of `series`, remembered for `position`.
    fn find_by_labels(
        &mut self,
        position: usize,
        series: &Labels,
        key_of: impl FnOnce(&[Label], &mut Vec<u8>),
        labels_of: impl FnOnce(&[Label]) -> Labels,
    ) -> usize {
        let id = match self.by_series.get(series) {
            Some(&id) => id,
            None => {
                key_of(series.as_slice(), &mut self.key);
                let id = match self.by_key.get(&self.key) {
                    Some(&id) => id,
                    None => {
                        let id = self.labels.len();
                        self.labels.push(labels_of(series.as_slice()));
                        self.seen.push((0, 0));
                        self.by_key.insert(self.key.clone(), id);
                        id
                    }
                };
                self.by_series.insert(series.clone(), id);
                id
            }
        };
        if position >= self.by_position.len() {
            self.by_position.resize(position + 1, (Labels::default(), 0));
        }
        self.by_position[position] = (series.clone(), id);
        id
    }
}
