//! The session store keeps a hash of each session id, never the id itself: the cookie
//! is the only place a working id exists, so a copy of the database (or a backup)
//! signs nobody in.
//!
//! Loading a session also reads the sign-in generation (`cache`), in the same query, so
//! the user behind the session can be remembered between requests without a read of
//! its own.

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::cache::SignedInCache;
use tower_sessions::{
    session::{Id, Record},
    session_store::{self, SessionStore},
};

#[derive(Clone)]
pub struct HashedIds<S> {
    inner: S,
    pool: PgPool,
    cache: SignedInCache,
}

impl<S> std::fmt::Debug for HashedIds<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashedIds").finish_non_exhaustive()
    }
}

impl<S> HashedIds<S> {
    /// `inner` writes; loads go to `pool` directly, to read the generation with the row.
    pub fn new(inner: S, pool: PgPool, cache: SignedInCache) -> Self {
        Self { inner, pool, cache }
    }
}

/// The stored key: the first 128 bits of SHA-256 of the id, which the cookie holds.
fn stored(id: &Id) -> Id {
    let digest = Sha256::digest(id.0.to_le_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Id(i128::from_le_bytes(bytes))
}

fn for_storage(record: &Record) -> Record {
    Record { id: stored(&record.id), ..record.clone() }
}

#[async_trait]
impl<S: SessionStore> SessionStore for HashedIds<S> {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        loop {
            let mut hashed = for_storage(record);
            let wanted = hashed.id;
            self.inner.create(&mut hashed).await?;
            if hashed.id == wanted {
                return Ok(());
            }
            // The inner store chose another key (its id was taken): that key hashes from
            // no id we know, so drop it and start again from a new id.
            self.inner.delete(&hashed.id).await?;
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.inner.save(&for_storage(record)).await
    }

    /// The query tower-sessions-sqlx-store's `PostgresStore::load` makes, plus the generation.
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let row = sqlx::query!(
            "select s.data, g.n from tower_sessions.session s, auth_generation g
             where s.id = $1 and s.expiry_date > now()",
            stored(id).to_string()
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(|err| session_store::Error::Backend(err.to_string()))?;
        let Some(row) = row else { return Ok(None) };
        let (data, generation) = (row.data, row.n);
        self.cache.saw_generation(generation);
        let record: Record =
            rmp_serde::from_slice(&data).map_err(|err| session_store::Error::Decode(err.to_string()))?;
        Ok(Some(Record { id: *id, ..record }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.inner.delete(&stored(id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_key_is_not_the_id_and_is_the_same_each_time() {
        let id = Id(0x1234_5678_9abc_def0_1234_5678_9abc_def0);
        assert_ne!(stored(&id), id);
        assert_eq!(stored(&id), stored(&id));
        assert_ne!(stored(&id), stored(&Id(id.0 + 1)));
    }
}
