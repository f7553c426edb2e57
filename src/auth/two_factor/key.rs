//! The key that encrypts two-factor secrets at rest.

use std::path::Path;

use base64::Engine;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

/// AES-256-GCM key for TOTP secrets. It lives outside the database (`TWO_FACTOR_KEY`,
/// or a file beside the private cluster), so a database copy alone cannot make codes.
pub struct TwoFactorKey(LessSafeKey);

impl std::fmt::Debug for TwoFactorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TwoFactorKey(..)")
    }
}

impl TwoFactorKey {
    /// 32 bytes, as 64 hex digits or in base64.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()?
        } else {
            base64::engine::general_purpose::STANDARD.decode(text)?
        };
        Self::from_bytes(&bytes)
    }

    fn from_bytes(bytes: &[u8]) -> anyhow::Result<Self> {
        let key = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| anyhow::anyhow!("the key must be 32 bytes (64 hex digits, or base64)"))?;
        Ok(Self(LessSafeKey::new(key)))
    }

    /// `TWO_FACTOR_KEY`; without it, the private cluster's key file (created on first
    /// start); with an external database and no key, two-factor cannot be turned on.
    pub fn load(config: &crate::Config) -> anyhow::Result<Option<Self>> {
        if let Some(text) = &config.two_factor_key {
            return Self::parse(text).map(Some).map_err(|e| anyhow::anyhow!("TWO_FACTOR_KEY: {e}"));
        }
        if config.database_url.is_some() {
            tracing::warn!("TWO_FACTOR_KEY is not set: two-factor sign-in cannot be turned on");
            return Ok(None);
        }
        load_or_create_key_file(&config.data_dir.join("two-factor.key")).map(Some)
    }

    pub(super) fn seal(&self, user_id: i64, plaintext: &[u8]) -> anyhow::Result<Vec<u8>> {
        let nonce_bytes: [u8; NONCE_LEN] = rand::random();
        let mut sealed = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(user_id.to_be_bytes()),
                &mut sealed,
            )
            .map_err(|_| anyhow::anyhow!("Failed to encrypt a two-factor secret"))?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// `None` when the stored secret was sealed with another key (or for another user).
    pub(super) fn open(&self, user_id: i64, stored: &[u8]) -> Option<Vec<u8>> {
        if stored.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = stored.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = sealed.to_vec();
        let plain = self.0.open_in_place(nonce, Aad::from(user_id.to_be_bytes()), &mut buffer).ok()?;
        Some(plain.to_vec())
    }
}

/// Reads the key file, or creates it (readable by this user only). A new file is
/// written aside and hard-linked into place, so two processes starting at once end
/// up with the same key.
fn load_or_create_key_file(path: &Path) -> anyhow::Result<TwoFactorKey> {
    use anyhow::Context;
    if !path.exists() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("Failed to create {}", dir.display()))?;
        }
        let bytes: [u8; 32] = rand::random();
        let aside = path.with_extension(format!("new-{}", std::process::id()));
        {
            use std::{io::Write, os::unix::fs::OpenOptionsExt};
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&aside)
                .with_context(|| format!("Failed to write {}", aside.display()))?;
            file.write_all(base64::engine::general_purpose::STANDARD.encode(bytes).as_bytes())?;
            file.sync_all()?;
        }
        // Losing the race is fine: the winner's key is read below.
        let _ = std::fs::hard_link(&aside, path);
        let _ = std::fs::remove_file(&aside);
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("Failed to read {}", path.display()))?;
    TwoFactorKey::parse(&text).with_context(|| format!("{} is not a valid key", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_opens_only_with_its_key_and_for_its_user() {
        let key = TwoFactorKey::from_bytes(&[7; 32]).unwrap();
        let sealed = key.seal(1, b"twenty bytes secret!").unwrap();
        assert_eq!(key.open(1, &sealed).as_deref(), Some(&b"twenty bytes secret!"[..]));
        assert!(key.open(2, &sealed).is_none(), "copied onto another user, it does not open");
        let other = TwoFactorKey::from_bytes(&[8; 32]).unwrap();
        assert!(other.open(1, &sealed).is_none());
        assert!(!sealed.windows(20).any(|w| w == b"twenty bytes secret!"));
    }

    #[test]
    fn keys_are_read_as_hex_or_base64() {
        assert!(TwoFactorKey::parse(&"ab".repeat(32)).is_ok());
        assert!(TwoFactorKey::parse(&base64::engine::general_purpose::STANDARD.encode([1u8; 32])).is_ok());
        assert!(TwoFactorKey::parse("short").is_err());
    }
}
