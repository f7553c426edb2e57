//! A few seconds' memory of who is signed in, so a page does not read the user and their
//! two-factor duty from the database on every request.
//!
//! Staleness is ruled out by a generation rather than by remembering to forget: triggers
//! (migration 0024) bump `auth_generation.n` in the same transaction as any change to a
//! user's sign-in (active, password, name, email, role), their two-factor sign-in, or the
//! owner's two-factor requirement. The session store reads the generation in the query
//! that loads the session, which every signed-in request makes anyway, so a remembered
//! user is used only while no such change has been committed, by this process, another,
//! or by hand in SQL.

use std::{
    collections::HashMap,
    sync::{
        Mutex, MutexGuard,
        atomic::{AtomicI64, Ordering},
    },
    time::{Duration, Instant},
};

use super::User;

const FRESH_FOR: Duration = Duration::from_secs(5);
/// Bounds memory whatever the traffic: past it, stale entries go, then everything.
const MAX_ENTRIES: usize = 20_000;

#[derive(Clone, Default)]
pub struct SignedInCache(std::sync::Arc<Maps>);

#[derive(Default)]
struct Maps {
    /// The highest generation any request has seen; it only grows.
    generation: AtomicI64,
    users: Mutex<Expiring<Option<User>>>,
    two_factor_due: Mutex<Expiring<bool>>,
}

struct Entry<V> {
    generation: i64,
    at: Instant,
    value: V,
}

struct Expiring<V> {
    entries: HashMap<i64, Entry<V>>,
}

impl<V> Default for Expiring<V> {
    fn default() -> Self {
        Self { entries: HashMap::new() }
    }
}

impl<V: Clone> Expiring<V> {
    fn get(&self, key: i64, generation: i64) -> Option<V> {
        self.entries
            .get(&key)
            .filter(|e| e.generation == generation && e.at.elapsed() < FRESH_FOR)
            .map(|e| e.value.clone())
    }

    fn put(&mut self, key: i64, generation: i64, value: V) {
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.retain(|_, e| e.generation == generation && e.at.elapsed() < FRESH_FOR);
            if self.entries.len() >= MAX_ENTRIES {
                self.entries.clear();
            }
        }
        self.entries.insert(key, Entry { generation, at: Instant::now(), value });
    }
}

/// A poisoned lock only means another request panicked mid-update: the entries are still
/// whole values, so carry on with them.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SignedInCache {
    /// The session store reports the generation it read with each session.
    pub fn saw_generation(&self, generation: i64) {
        self.0.generation.fetch_max(generation, Ordering::AcqRel);
    }

    fn generation(&self) -> i64 {
        self.0.generation.load(Ordering::Acquire)
    }

    /// The user (or `None`: disabled or gone) as read recently, else `load`'s answer.
    pub async fn user<E, F>(&self, id: crate::ids::UserId, load: F) -> Result<Option<User>, E>
    where
        F: Future<Output = Result<Option<User>, E>>,
    {
        // Taken before the read: a change committed meanwhile bumps past it, so what
        // this read returns is never kept as current.
        let generation = self.generation();
        if let Some(user) = lock(&self.0.users).get(id.0, generation) {
            return Ok(user);
        }
        let user = load.await?;
        lock(&self.0.users).put(id.0, generation, user.clone());
        Ok(user)
    }

    pub async fn two_factor_due<E, F>(&self, id: crate::ids::UserId, load: F) -> Result<bool, E>
    where
        F: Future<Output = Result<bool, E>>,
    {
        let generation = self.generation();
        if let Some(due) = lock(&self.0.two_factor_due).get(id.0, generation) {
            return Ok(due);
        }
        let due = load.await?;
        lock(&self.0.two_factor_due).put(id.0, generation, due);
        Ok(due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_used_only_in_its_generation() {
        let mut map: Expiring<&str> = Expiring::default();
        map.put(1, 7, "read at 7");
        assert_eq!(map.get(1, 7), Some("read at 7"));
        assert_eq!(map.get(1, 8), None, "a change was committed since");
    }

    #[test]
    fn the_generation_seen_never_goes_back() {
        let cache = SignedInCache::default();
        cache.saw_generation(9);
        cache.saw_generation(4);
        assert_eq!(cache.generation(), 9);
    }

    #[test]
    fn the_map_never_grows_past_its_bound() {
        let mut map: Expiring<()> = Expiring::default();
        for key in 0..(MAX_ENTRIES as i64) * 2 {
            map.put(key, 0, ());
        }
        assert!(map.entries.len() <= MAX_ENTRIES);
    }
}
