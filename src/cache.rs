//! A small time-limited cache for what every request reads and almost nothing writes: projects,
//! key checks, verified access tokens. The record of changes drops entries (see
//! `Caches::follow`); the lifetime bounds what nothing dropped.
//!
//! A reader fills an entry with what it read before a concurrent change committed; so that the
//! drop of that change is not undone by the late fill, readers note [`TtlCache::generation`]
//! before reading and fill with [`TtlCache::fill`], which does nothing if anything was dropped
//! meanwhile.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

pub struct TtlCache<K, V> {
    entries: RwLock<HashMap<K, (Instant, V)>>,
    ttl: Duration,
    capacity: usize,
    /// Counts the drops (see the module's comment).
    drops: AtomicU64,
}

impl<K: Hash + Eq + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        TtlCache {
            entries: RwLock::new(HashMap::new()),
            ttl,
            capacity,
            drops: AtomicU64::new(0),
        }
    }

    /// Where the cache stands, to pass to [`TtlCache::fill`] after reading.
    pub fn generation(&self) -> u64 {
        self.drops.load(Ordering::Acquire)
    }

    /// Inserts what was read since `generation`, unless something was dropped meanwhile.
    pub fn fill(&self, generation: u64, key: K, value: V) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if self.drops.load(Ordering::Acquire) == generation {
            Self::put(
                &mut entries,
                self.capacity,
                key,
                value,
                Instant::now() + self.ttl,
            );
        }
    }

    /// The live copy under `key` (a `&str` for a `String` key: no key is built to look up).
    pub fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
    {
        let entries = self.entries.read().ok()?;
        let (until, value) = entries.get(key)?;
        (Instant::now() < *until).then(|| value.clone())
    }

    /// Inserts, for copies no change makes stale (fetched documents); others use
    /// [`TtlCache::fill`].
    pub fn insert(&self, key: K, value: V) {
        self.insert_until(key, value, Instant::now() + self.ttl);
    }

    /// Inserts with its own expiry (never later than the cache's lifetime allows).
    pub fn insert_until(&self, key: K, value: V, until: Instant) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        let until = until.min(Instant::now() + self.ttl);
        Self::put(&mut entries, self.capacity, key, value, until);
    }

    fn put(
        entries: &mut HashMap<K, (Instant, V)>,
        capacity: usize,
        key: K,
        value: V,
        until: Instant,
    ) {
        if entries.len() >= capacity {
            // Crude but bounded: drop what is stale, and everything if that is not enough.
            let now = Instant::now();
            entries.retain(|_, (u, _)| *u > now);
            if entries.len() >= capacity {
                entries.clear();
            }
        }
        entries.insert(key, (until, value));
    }

    pub fn remove(&self, key: &K) {
        if let Ok(mut entries) = self.entries.write() {
            self.drops.fetch_add(1, Ordering::AcqRel);
            entries.remove(key);
        }
    }

    /// Keeps only the entries `keep` approves of.
    pub fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool) {
        if let Ok(mut entries) = self.entries.write() {
            self.drops.fetch_add(1, Ordering::AcqRel);
            entries.retain(|k, (_, v)| keep(k, v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_capacity_is_bounded() {
        let c = TtlCache::new(Duration::from_millis(30), 2);
        c.fill(c.generation(), 1, "a");
        assert_eq!(c.get(&1), Some("a"));
        c.insert_until(2, "b", Instant::now());
        assert_eq!(c.get(&2), None);
        c.fill(c.generation(), 3, "c");
        c.fill(c.generation(), 4, "d");
        assert!(c.entries.read().unwrap().len() <= 2);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(c.get(&4), None);
    }

    #[test]
    fn a_fill_read_before_a_drop_is_not_kept() {
        let c = TtlCache::new(Duration::from_secs(60), 10);
        let before = c.generation();
        c.remove(&1);
        c.fill(before, 1, "old");
        assert_eq!(c.get(&1), None);
        c.fill(c.generation(), 1, "new");
        assert_eq!(c.get(&1), Some("new"));
    }
}
