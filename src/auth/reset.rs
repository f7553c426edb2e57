//! Password reset links: 128 random bits, single use, one hour; only a SHA-256 of the
//! token is stored, so a database leak reveals no working link.

use base64::Engine;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

const LIFETIME: &str = "1 hour";

pub struct ValidToken {
    pub user_id: i64,
}

/// Creates a link token for `user_id` and returns it (the only time it exists in clear).
pub async fn issue(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<String> {
    let bytes: [u8; 16] = rand::random();
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    sqlx::query(&format!(
        "insert into password_reset_tokens (user_id, token_hash, expires_at)
         values ($1, $2, now() + interval '{LIFETIME}')"
    ))
    .bind(user_id)
    .bind(digest(&token))
    .execute(conn)
    .await?;
    Ok(token)
}

/// The unused, unexpired token, locked for the rest of the transaction so two tabs
/// cannot both use it.
pub async fn find_valid(
    conn: &mut PgConnection,
    token: &str,
    lock: bool,
) -> sqlx::Result<Option<ValidToken>> {
    let lock = if lock { "for update" } else { "" };
    let row: Option<(i64,)> = sqlx::query_as(&format!(
        "select t.user_id from password_reset_tokens t
         join users u on u.id = t.user_id
         where t.token_hash = $1 and t.used_at is null and t.expires_at > now() and u.is_active
         {lock}"
    ))
    .bind(digest(token))
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(user_id,)| ValidToken { user_id }))
}

/// Sets the new password and spends this and every other open link of the user.
pub async fn consume(conn: &mut PgConnection, token: &ValidToken, password_hash: &str) -> sqlx::Result<()> {
    sqlx::query("update users set password_hash = $2 where id = $1")
        .bind(token.user_id)
        .bind(password_hash)
        .execute(&mut *conn)
        .await?;
    sqlx::query("update password_reset_tokens set used_at = now() where user_id = $1 and used_at is null")
        .bind(token.user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}
