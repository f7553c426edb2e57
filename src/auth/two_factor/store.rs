//! The SQL of two-factor sign-in: the user's secret and its counters (`two_factor`),
//! their recovery codes (hashes only) and the owner's setting (`security_settings`).

use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use crate::auth::{Role, User};

/// The user's secret, sealed with the server's key; enabled once their app proved it.
pub(super) struct Secret {
    pub secret_encrypted: Vec<u8>,
    pub enabled_at: Option<OffsetDateTime>,
}

pub(super) async fn find(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Option<Secret>> {
    sqlx::query_as!(Secret, "select secret_encrypted, enabled_at from two_factor where user_id = $1", user_id)
        .fetch_optional(conn)
        .await
}

/// Whether sign-in asks `user_id` for a code after the password.
pub async fn is_enabled(pool: &PgPool, user_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from two_factor where user_id = $1 and enabled_at is not null) as "enabled!""#,
        user_id
    )
    .fetch_one(pool)
    .await
}

pub(super) async fn required_for_admins(conn: &mut PgConnection) -> sqlx::Result<bool> {
    sqlx::query_scalar!("select require_two_factor_for_admins from security_settings")
        .fetch_optional(conn)
        .await
        .map(|r| r.unwrap_or(false))
}

/// True for an admin without two-factor while the owner requires it: every admin
/// page sends them to set it up first.
pub async fn must_set_up(pool: &PgPool, user: &User) -> sqlx::Result<bool> {
    if user.role != Role::Admin {
        return Ok(false);
    }
    sqlx::query_scalar!(
        r#"select s.require_two_factor_for_admins
                  and not exists (select 1 from two_factor where user_id = $1 and enabled_at is not null)
                  as "due!"
           from security_settings s"#,
        user.id.0
    )
    .fetch_optional(pool)
    .await
    .map(|r| r.unwrap_or(false))
}

/// Counts one attempt against the account in `window` and returns the count, or
/// `None` without a row. One UPDATE takes the row lock, so concurrent attempts each
/// see their own count.
pub(super) async fn count_attempt(pool: &PgPool, user_id: i64, window: &str) -> sqlx::Result<Option<i32>> {
    sqlx::query_scalar!(
        "update two_factor set
             failed_attempts = case when failures_since > now() - $2::text::interval
                                    then failed_attempts + 1 else 1 end,
             failures_since = case when failures_since > now() - $2::text::interval
                                   then failures_since else now() end
         where user_id = $1
         returning failed_attempts",
        user_id,
        window
    )
    .fetch_optional(pool)
    .await
}

pub(super) async fn clear_attempts(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<()> {
    sqlx::query!("update two_factor set failed_attempts = 0 where user_id = $1", user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Accepts a time step once: a later step moves the mark forward, a replay finds
/// nothing to update.
pub(super) async fn use_step(conn: &mut PgConnection, user_id: i64, step: u64) -> sqlx::Result<bool> {
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    let done = sqlx::query!(
        "update two_factor set last_used_step = $2 where user_id = $1 and last_used_step < $2",
        user_id,
        step
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Spends a recovery code by its hash; false if it is unknown or spent.
pub(super) async fn spend_recovery_code(
    conn: &mut PgConnection,
    user_id: i64,
    hash: &[u8],
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update two_factor_recovery_codes set used_at = now()
         where user_id = $1 and code_hash = $2 and used_at is null",
        user_id,
        hash
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn recovery_codes_left(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "left!" from two_factor_recovery_codes where user_id = $1 and used_at is null"#,
        user_id
    )
    .fetch_one(conn)
    .await
}

/// Keeps a new sealed secret until the user's app proves it. An enabled row is left
/// alone: turning it off comes first.
pub(super) async fn save_pending_secret(pool: &PgPool, user_id: i64, sealed: &[u8]) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into two_factor (user_id, secret_encrypted) values ($1, $2)
         on conflict (user_id) do update
             set secret_encrypted = excluded.secret_encrypted, created_at = now(), last_used_step = 0
             where two_factor.enabled_at is null",
        user_id,
        sealed
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn enable(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<()> {
    sqlx::query!("update two_factor set enabled_at = now(), failed_attempts = 0 where user_id = $1", user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Replaces the user's recovery codes with these hashes.
pub(super) async fn replace_recovery_codes(
    conn: &mut PgConnection,
    user_id: i64,
    hashes: &[Vec<u8>],
) -> sqlx::Result<()> {
    delete_recovery_codes(conn, user_id).await?;
    sqlx::query!(
        "insert into two_factor_recovery_codes (user_id, code_hash) select $1, unnest($2::bytea[])",
        user_id,
        hashes
    )
    .execute(conn)
    .await?;
    Ok(())
}

async fn delete_recovery_codes(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<()> {
    sqlx::query!("delete from two_factor_recovery_codes where user_id = $1", user_id).execute(conn).await?;
    Ok(())
}

/// Removes the user's second factor and its recovery codes.
pub(super) async fn delete(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<()> {
    delete_recovery_codes(conn, user_id).await?;
    sqlx::query!("delete from two_factor where user_id = $1", user_id).execute(conn).await?;
    Ok(())
}

pub(super) async fn set_required_for_admins(conn: &mut PgConnection, required: bool) -> sqlx::Result<()> {
    sqlx::query!(
        "update security_settings set require_two_factor_for_admins = $1, updated_at = now()",
        required
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The code completed a sign-in.
pub(super) async fn mark_signed_in(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<()> {
    sqlx::query!("update users set last_sign_in_at = now() where id = $1", user_id).execute(conn).await?;
    Ok(())
}
