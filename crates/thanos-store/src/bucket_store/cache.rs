//! The in-memory index cache (Thanos' `InMemoryIndexCache`): decoded postings lists and raw
//! series entries of every block, in one cache bounded by `--index-cache-size` bytes.
//!
//! Metrics: `thanos_store_index_cache_requests_total{item_type}` and
//! `thanos_store_index_cache_hits_total{item_type}`, item types `Postings` and `Series`.

use std::sync::Arc;

use bytes::Bytes;
use quick_cache::Weighter;
use quick_cache::sync::Cache;
use tsdb_format::index::Postings;
use ulid::Ulid;

/// A cached item's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Postings(Ulid, Box<str>, Box<str>),
    Series(Ulid, u64),
}

/// A cached item.
#[derive(Debug, Clone)]
enum Value {
    Postings(Arc<Postings>),
    Series(Bytes),
}

/// Weighs items by their approximate heap size.
#[derive(Debug, Clone, Copy)]
struct ByteWeighter;

/// Per-entry bookkeeping, so many tiny items still count.
const ENTRY_OVERHEAD: u64 = 64;

impl Weighter<Key, Value> for ByteWeighter {
    fn weight(&self, key: &Key, value: &Value) -> u64 {
        let key_bytes = match key {
            Key::Postings(_, name, value) => (name.len() + value.len()) as u64,
            Key::Series(..) => 8,
        };
        let value_bytes = match value {
            Value::Postings(list) => list.len() as u64 * 8,
            Value::Series(bytes) => bytes.len() as u64,
        };
        ENTRY_OVERHEAD + key_bytes + value_bytes
    }
}

const REQUESTS_TOTAL: &str = "thanos_store_index_cache_requests_total";
const HITS_TOTAL: &str = "thanos_store_index_cache_hits_total";

/// Postings and series of all blocks, bounded by bytes. A size of 0 disables it.
#[derive(Clone)]
pub(crate) struct IndexCache {
    cache: Option<Arc<Cache<Key, Value, ByteWeighter>>>,
}

impl std::fmt::Debug for IndexCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let weight = self.cache.as_ref().map_or(0, |c| c.weight());
        f.debug_struct("IndexCache").field("weight", &weight).finish()
    }
}

impl IndexCache {
    /// A cache holding at most `max_bytes` (approximately).
    pub(crate) fn new(max_bytes: u64) -> Self {
        if max_bytes == 0 {
            return Self { cache: None };
        }
        // quick_cache sizes its tables from an item estimate; assume ~1 KiB items.
        let estimated_items = usize::try_from(max_bytes / 1024).unwrap_or(usize::MAX).clamp(1024, 1 << 22);
        Self { cache: Some(Arc::new(Cache::with_weighter(estimated_items, max_bytes, ByteWeighter))) }
    }

    /// A cached postings list.
    pub(crate) fn postings(&self, block: Ulid, name: &str, value: &str) -> Option<Arc<Postings>> {
        let cache = self.cache.as_ref()?;
        metrics::counter!(REQUESTS_TOTAL, "item_type" => "Postings").increment(1);
        let hit = cache.get(&Key::Postings(block, name.into(), value.into()))?;
        metrics::counter!(HITS_TOTAL, "item_type" => "Postings").increment(1);
        match hit {
            Value::Postings(list) => Some(list),
            Value::Series(_) => None,
        }
    }

    /// Caches a postings list.
    pub(crate) fn store_postings(&self, block: Ulid, name: &str, value: &str, list: Arc<Postings>) {
        if let Some(cache) = &self.cache {
            cache.insert(Key::Postings(block, name.into(), value.into()), Value::Postings(list));
        }
    }

    /// The cached series entry bodies of `refs`, in order (`None` = not cached). The request
    /// and hit counters move once per call: a metrics lookup per series costs more than the
    /// cache lookup itself.
    pub(crate) fn series_many(
        &self,
        block: Ulid,
        refs: impl ExactSizeIterator<Item = u64>,
    ) -> Vec<Option<Bytes>> {
        let Some(cache) = self.cache.as_ref() else {
            return refs.map(|_| None).collect();
        };
        let requested = refs.len() as u64;
        let found: Vec<Option<Bytes>> = refs
            .map(|series_ref| match cache.get(&Key::Series(block, series_ref)) {
                Some(Value::Series(bytes)) => Some(bytes),
                _ => None,
            })
            .collect();
        let hits = found.iter().filter(|b| b.is_some()).count() as u64;
        metrics::counter!(REQUESTS_TOTAL, "item_type" => "Series").increment(requested);
        metrics::counter!(HITS_TOTAL, "item_type" => "Series").increment(hits);
        found
    }

    /// Caches a series entry body (copied, so it does not pin a larger read buffer).
    pub(crate) fn store_series(&self, block: Ulid, series_ref: u64, body: &[u8]) {
        if let Some(cache) = &self.cache {
            cache.insert(Key::Series(block, series_ref), Value::Series(Bytes::copy_from_slice(body)));
        }
    }

    /// Bytes held now.
    pub(crate) fn weight(&self) -> u64 {
        self.cache.as_ref().map_or(0, |c| c.weight())
    }
}

#[cfg(test)]
mod tests {
    use tsdb_format::index::SeriesRef;

    use super::*;

    #[test]
    fn stays_within_its_byte_budget() {
        let cache = IndexCache::new(64 * 1024);
        let block = Ulid::nil();
        for i in 0..1000u64 {
            cache.store_series(block, i, &[0u8; 1000]);
        }
        assert!(cache.weight() <= 64 * 1024, "weight {}", cache.weight());
        let list = Arc::new(Postings::from_sorted(vec![SeriesRef(1), SeriesRef(2)]));
        cache.store_postings(block, "a", "b", list.clone());
        assert_eq!(cache.postings(block, "a", "b"), Some(list));
        assert_eq!(cache.postings(block, "a", "c"), None);
        assert!(IndexCache::new(0).postings(block, "a", "b").is_none());
    }
}
