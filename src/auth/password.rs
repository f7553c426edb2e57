//! argon2id hashing, off the async threads and bounded: a burst of sign-ins must not
//! starve every other request of CPU.

use std::sync::Arc;

use anyhow::Context;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    /// Verified against when the email is unknown, so timing does not reveal which
    /// accounts exist.
    dummy_hash: Arc<str>,
}

impl Passwords {
    pub async fn new() -> anyhow::Result<Self> {
        let parallelism = std::thread::available_parallelism().map_or(2, |n| n.get());
        let permits = Arc::new(Semaphore::new(parallelism));
        let dummy_hash = hash_blocking("not a real password, only for timing".into()).await?;
        Ok(Self { permits, dummy_hash: dummy_hash.into() })
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await.context("password hashing is shut down")?;
        hash_blocking(password.to_owned()).await
    }

    /// Checks `password` against `hash`, or against the dummy hash when there is no
    /// account, taking the same time either way.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await.context("password hashing is shut down")?;
        let known = hash.is_some();
        let hash = hash.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
                .unwrap_or(false)
        })
        .await
        .context("password check panicked")?;
        Ok(known && matches)
    }
}

async fn hash_blocking(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        // The defaults are argon2id, m=19456 KiB, t=2, p=1: the OWASP minimum.
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("Failed to hash a password: {e}"))
    })
    .await
    .context("password hashing panicked")?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_only_its_own_password_and_is_argon2id() {
        let passwords = Passwords::new().await.unwrap();
        let hash = passwords.hash("correct horse battery").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(passwords.verify("correct horse battery", Some(&hash)).await.unwrap());
        assert!(!passwords.verify("wrong horse battery", Some(&hash)).await.unwrap());
        assert!(!passwords.verify("anything", None).await.unwrap());
        assert!(!passwords.verify("x", Some("not a phc string")).await.unwrap());
    }
}
