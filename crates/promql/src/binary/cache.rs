//! What a binary operator remembers across the steps of a range query.
//!
//! The join signature of a series (its `on`/`ignoring` labels) and the labels of a result
//! depend only on the series' labels and the operator, which do not change between steps;
//! 2.42 caches them too (its signature and result-metric caches). Signatures are interned to
//! small ids, so the per-step matching works on arrays stamped with the step instead of maps.

use tsdb_format::Labels;

use super::Matching;
use crate::fasthash::FastMap;

/// The caches of one binary-operator node.
#[derive(Default)]
pub(crate) struct BinopCache {
    /// Series labels → signature id.
    sig_by_series: FastMap<Labels, usize>,
    /// Signature → id.
    sig_ids: FastMap<Vec<u8>, usize>,
    /// Per signature id, for this step: set-operator mark, or the index of the "one"-side sample.
    one_side: Vec<(u32, usize)>,
    /// Per signature id, the step at which a one-to-one match used it.
    matched: Vec<u32>,
    step: u32,
    /// "Many"-side labels → the "one"-side labels it was last joined with, and the result labels.
    results: FastMap<Labels, (Labels, Labels)>,
    /// Per side (left, right) and position in that side's vector: the series last seen there and
    /// its signature id. Usually the same series at every step, found without hashing.
    sig_by_position: [Vec<(Labels, usize)>; 2],
    /// Per position in the "many" side's vector: the pair last joined there and its result
    /// labels, found without hashing when the same pair comes again.
    result_by_position: Vec<(Labels, Labels, Labels)>,
}

/// Which operand a series comes from, for [`BinopCache::signature`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Left = 0,
    Right = 1,
}

impl BinopCache {
    /// Starts a new step: no signature is marked or matched.
    pub(crate) fn start_step(&mut self) {
        self.step += 1;
    }

    /// The id of the join signature of `labels`.
    pub(crate) fn signature(
        &mut self,
        side: Side,
        position: usize,
        labels: &Labels,
        matching: &Matching<'_>,
    ) -> usize {
        let memo = &mut self.sig_by_position[side as usize];
        if let Some((seen, id)) = memo.get(position)
            && seen.ptr_eq(labels)
        {
            return *id;
        }
        let id = self.signature_by_labels(labels, matching);
        let memo = &mut self.sig_by_position[side as usize];
        if position >= memo.len() {
            memo.resize(position + 1, (Labels::default(), 0));
        }
        memo[position] = (labels.clone(), id);
        id
    }

    fn signature_by_labels(&mut self, labels: &Labels, matching: &Matching<'_>) -> usize {
        if let Some(&id) = self.sig_by_series.get(labels) {
            return id;
        }
        let n = self.sig_ids.len();
        let id = *self.sig_ids.entry(matching.signature(labels)).or_insert(n);
        if id == n {
            self.one_side.push((0, 0));
            self.matched.push(0);
        }
        self.sig_by_series.insert(labels.clone(), id);
        id
    }

    /// Marks a signature as present at this step (set operators).
    pub(crate) fn mark(&mut self, sig: usize) {
        self.one_side[sig] = (self.step, 0);
    }

    /// Whether a signature was marked at this step.
    pub(crate) fn is_marked(&self, sig: usize) -> bool {
        self.one_side[sig].0 == self.step
    }

    /// The "one"-side sample with this signature at this step.
    pub(crate) fn one_side(&self, sig: usize) -> Option<usize> {
        let (step, i) = self.one_side[sig];
        (step == self.step).then_some(i)
    }

    pub(crate) fn set_one_side(&mut self, sig: usize, i: usize) {
        self.one_side[sig] = (self.step, i);
    }

    /// Records a one-to-one match of `sig`; false if it was already matched at this step.
    pub(crate) fn match_once(&mut self, sig: usize) -> bool {
        let first = self.matched[sig] != self.step;
        self.matched[sig] = self.step;
        first
    }

    /// The result labels of joining `many` with `one`, computed by `compute` the first time.
    pub(crate) fn result_labels(
        &mut self,
        position: usize,
        many: &Labels,
        one: &Labels,
        compute: impl FnOnce() -> Labels,
    ) -> &Labels {
        if let Some((m, o, _)) = self.result_by_position.get(position)
            && m.ptr_eq(many)
            && o.ptr_eq(one)
        {
            return &self.result_by_position[position].2;
        }
        let result = match self.results.get(many) {
            Some((cached_one, result)) if cached_one == one => result.clone(),
            _ => {
                let result = compute();
                self.results.insert(many.clone(), (one.clone(), result.clone()));
                result
            }
        };
        if position >= self.result_by_position.len() {
            self.result_by_position.resize(position + 1, Default::default());
        }
        self.result_by_position[position] = (many.clone(), one.clone(), result);
        &self.result_by_position[position].2
    }

    /// The result labels [`BinopCache::result_labels`] last gave for `position`.
    pub(crate) fn last_result_labels(&self, position: usize) -> &Labels {
        &self.result_by_position[position].2
    }
}
