//! A small time-limited cache for what every request reads and almost nothing writes: projects,
//! key checks, verified access tokens. Writers on this instance invalidate at once; other
//! instances see a change within the entry's lifetime.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::time::{Duration, Instant};

pub struct TtlCache<K, V> {
    entries: RwLock<HashMap<K, (Instant, V)>>,
    ttl: Duration,
    capacity: usize,
}

impl<K: Hash + Eq + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        TtlCache {
            entries: RwLock::new(HashMap::new()),
            ttl,
            capacity,
        }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.read().ok()?;
        let (until, value) = entries.get(key)?;
        (Instant::now() < *until).then(|| value.clone())
    }

    pub fn insert(&self, key: K, value: V) {
        self.insert_until(key, value, Instant::now() + self.ttl);
    }

    /// Inserts with its own expiry (never later than the cache's lifetime allows).
    pub fn insert_until(&self, key: K, value: V, until: Instant) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= self.capacity {
            // Crude but bounded: drop what is stale, and everything if that is not enough.
            let now = Instant::now();
            entries.retain(|_, (u, _)| *u > now);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (until.min(Instant::now() + self.ttl), value));
    }

    pub fn remove(&self, key: &K) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(key);
        }
    }

    /// Keeps only the entries `keep` approves of.
    pub fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool) {
        if let Ok(mut entries) = self.entries.write() {
            entries.retain(|k, (_, v)| keep(k, v));
        }
    }

    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_capacity_is_bounded() {
        let c = TtlCache::new(Duration::from_millis(30), 2);
        c.insert(1, "a");
        assert_eq!(c.get(&1), Some("a"));
        c.insert_until(2, "b", Instant::now());
        assert_eq!(c.get(&2), None);
        c.insert(3, "c");
        c.insert(4, "d");
        assert!(c.entries.read().unwrap().len() <= 2);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(c.get(&4), None);
    }
}
