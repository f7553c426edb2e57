//! The session store keeps a hash of each session id, never the id itself: the cookie
//! is the only place a working id exists, so a copy of the database (or a backup)
//! signs nobody in.

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tower_sessions::{
    session::{Id, Record},
    session_store::{self, SessionStore},
};

#[derive(Clone, Debug)]
pub struct HashedIds<S> {
    inner: S,
}

impl<S> HashedIds<S> {
    pub fn new(inner: S) -> Self {
        Self { inner }
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

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        Ok(self.inner.load(&stored(id)).await?.map(|record| Record { id: *id, ..record }))
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
