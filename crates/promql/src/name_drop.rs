//! Label sets without `__name__`, computed once per label set.
//!
//! Arithmetic, most functions and `bool` comparisons drop the metric name of every sample at every
//! step (2.42's `dropMetricName`); building the new label set each time was a large part of their
//! cost. 2.42 caches it too (`enh.Dmn`). The cache is keyed by label contents, so it is right
//! across queries; it lives per thread, as evaluation is single-threaded.

use std::cell::RefCell;

use tsdb_format::Labels;

use crate::fasthash::FastMap;

/// The metric name label.
const METRIC_NAME: &str = "__name__";

/// Most label sets kept; the cache starts over past this, so it cannot grow without bound.
const MAX_ENTRIES: usize = 1 << 16;

thread_local! {
    static WITHOUT_NAME: RefCell<NameCache> = RefCell::new(NameCache::default());
}

#[derive(Default)]
struct NameCache {
    by_labels: FastMap<Labels, Labels>,
    /// Per position in the vector being processed: the labels last seen there and the result,
    /// found without hashing when the same series comes again at the next step.
    by_position: Vec<(Labels, Labels)>,
}

impl NameCache {
    fn get(&mut self, labels: &Labels) -> Labels {
        if let Some(out) = self.by_labels.get(labels) {
            return out.clone();
        }
        if self.by_labels.len() >= MAX_ENTRIES {
            self.by_labels.clear();
        }
        let out = labels.without_metric_name();
        self.by_labels.insert(labels.clone(), out.clone());
        out
    }
}

/// `labels` without `__name__`: `labels` itself (shared) if it has none.
pub(crate) fn drop_metric_name(labels: &Labels) -> Labels {
    if !labels.has(METRIC_NAME) {
        return labels.clone();
    }
    WITHOUT_NAME.with(|cache| cache.borrow_mut().get(labels))
}

/// Runs `f` with a [`NameDropper`], for dropping the names of a whole vector.
pub(crate) fn dropping_names<R>(f: impl FnOnce(&mut NameDropper<'_>) -> R) -> R {
    WITHOUT_NAME.with(|cache| f(&mut NameDropper { cache: &mut cache.borrow_mut() }))
}

/// [`drop_metric_name`] for the samples of one vector, by position.
pub(crate) struct NameDropper<'a> {
    cache: &'a mut NameCache,
}

impl NameDropper<'_> {
    /// The labels of the sample at `position` of the vector, without `__name__`.
    pub(crate) fn drop(&mut self, position: usize, labels: &Labels) -> Labels {
        if let Some((seen, out)) = self.cache.by_position.get(position)
            && seen.ptr_eq(labels)
        {
            return out.clone();
        }
        let out = if labels.has(METRIC_NAME) { self.cache.get(labels) } else { labels.clone() };
        let by_position = &mut self.cache.by_position;
        if position >= by_position.len() {
            by_position.resize(position + 1, Default::default());
        }
        by_position[position] = (labels.clone(), out.clone());
        out
    }
}
