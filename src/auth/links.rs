//! Links that sign someone in (choose a password, confirm a sign-up): 128 random bits,
//! single use, expiring. A link is made only by the email worker at the moment it sends
//! the email, and only a SHA-256 of the token is stored, so neither the outbox, nor a
//! copy of the database, nor anyone reading `/admin/outbox` holds a working link.

use base64::Engine;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

/// A link's token as it arrives in a path (`/password/reset/{token}`): any text; only
/// its digest is ever looked up.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct LinkToken(pub String);

/// What a link is for: the purpose names the row it signs in (a user, or a sign-up
/// waiting to be confirmed) and how long it lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum LinkPurpose {
    /// `/password/reset/{token}` for a user who asked; one hour.
    PasswordReset,
    /// `/password/reset/{token}` for an account the office opened; `WELCOME_LINK_DAYS`.
    Welcome,
    /// `/signup/confirm/{token}` for a sign-up request; one day.
    Signup,
}

/// How long the office's welcome link lasts: longer than a reset link's hour, since
/// the person did not ask for it and may not read it straight away.
pub const WELCOME_LINK_DAYS: i32 = 7;

impl LinkPurpose {
    fn lifetime_hours(self) -> i32 {
        match self {
            LinkPurpose::PasswordReset => 1,
            LinkPurpose::Welcome => WELCOME_LINK_DAYS * 24,
            LinkPurpose::Signup => 24,
        }
    }

    /// The path the token is appended to.
    pub fn path(self) -> &'static str {
        match self {
            LinkPurpose::PasswordReset | LinkPurpose::Welcome => "/password/reset/",
            LinkPurpose::Signup => "/signup/confirm/",
        }
    }
}

/// Makes a token for `subject_id` and returns it: the only time it exists in clear. None
/// when the subject can no longer use one (a user disabled, a sign-up already confirmed
/// or gone), so the email is not sent.
pub async fn mint(
    conn: &mut PgConnection,
    purpose: LinkPurpose,
    subject_id: i64,
) -> sqlx::Result<Option<String>> {
    let bytes: [u8; 16] = rand::random();
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let (hash, hours) = (digest(&token), purpose.lifetime_hours());
    let done = match purpose {
        LinkPurpose::PasswordReset | LinkPurpose::Welcome => {
            sqlx::query!(
                "insert into password_reset_tokens (user_id, token_hash, expires_at)
                 select id, $2, now() + make_interval(hours => $3) from users where id = $1 and is_active",
                subject_id,
                hash,
                hours
            )
            .execute(conn)
            .await?
        }
        LinkPurpose::Signup => {
            sqlx::query!(
                "update signup_requests set token_hash = $2, expires_at = now() + make_interval(hours => $3)
                 where id = $1 and confirmed_at is null",
                subject_id,
                hash,
                hours
            )
            .execute(conn)
            .await?
        }
    };
    let made = done.rows_affected();
    Ok((made == 1).then_some(token))
}

pub struct ValidToken {
    pub user_id: i64,
}

/// The unused, unexpired password link; `lock` holds it for the rest of the
/// transaction so two tabs cannot both use it.
pub async fn find_valid(
    conn: &mut PgConnection,
    token: &LinkToken,
    lock: bool,
) -> sqlx::Result<Option<ValidToken>> {
    let hash = digest(&token.0);
    let user_id = if lock {
        sqlx::query_scalar!(
            "select t.user_id from password_reset_tokens t
             join users u on u.id = t.user_id
             where t.token_hash = $1 and t.used_at is null and t.expires_at > now() and u.is_active
             for update",
            hash
        )
        .fetch_optional(conn)
        .await?
    } else {
        sqlx::query_scalar!(
            "select t.user_id from password_reset_tokens t
             join users u on u.id = t.user_id
             where t.token_hash = $1 and t.used_at is null and t.expires_at > now() and u.is_active",
            hash
        )
        .fetch_optional(conn)
        .await?
    };
    Ok(user_id.map(|user_id| ValidToken { user_id }))
}

/// Sets the new password, spends this and every other open link of the user, and
/// ends the user's calendar-feed link: whoever may have read the old one (the reason
/// people reset passwords) loses it too, and the user's pages show a new one.
pub async fn consume(conn: &mut PgConnection, token: &ValidToken, password_hash: &str) -> sqlx::Result<()> {
    sqlx::query!("update users set password_hash = $2 where id = $1", token.user_id, password_hash)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "update password_reset_tokens set used_at = now() where user_id = $1 and used_at is null",
        token.user_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("delete from calendar_feeds where user_id = $1", token.user_id).execute(&mut *conn).await?;
    Ok(())
}

/// The reset itself: the link `token` (if still good) sets the password `hash`, with
/// its audit row. Returns the user, or `None` for a spent, expired or unknown link.
pub async fn reset_password(
    conn: &mut PgConnection,
    token: &LinkToken,
    password_hash: &str,
) -> sqlx::Result<Option<i64>> {
    let Some(valid) = find_valid(conn, token, true).await? else { return Ok(None) };
    consume(conn, &valid, password_hash).await?;
    crate::audit::record(conn)
        .by(valid.user_id)
        .action("user.password_reset")
        .entity("user", valid.user_id)
        .await?;
    Ok(Some(valid.user_id))
}

/// A sign-up waiting for its address to be proved.
pub struct PendingSignup {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub password_hash: String,
}

/// The unconfirmed, unexpired sign-up a link belongs to, locked when `lock`.
pub async fn find_signup(
    conn: &mut PgConnection,
    token: &LinkToken,
    lock: bool,
) -> sqlx::Result<Option<PendingSignup>> {
    let hash = digest(&token.0);
    if lock {
        sqlx::query_as!(
            PendingSignup,
            "select id, email, name, phone, password_hash from signup_requests
             where token_hash = $1 and confirmed_at is null and expires_at > now() for update",
            hash
        )
        .fetch_optional(conn)
        .await
    } else {
        sqlx::query_as!(
            PendingSignup,
            "select id, email, name, phone, password_hash from signup_requests
             where token_hash = $1 and confirmed_at is null and expires_at > now()",
            hash
        )
        .fetch_optional(conn)
        .await
    }
}

/// Marks the sign-up confirmed and spends its link; the caller makes the account.
pub async fn confirm_signup(conn: &mut PgConnection, signup: &PendingSignup) -> sqlx::Result<()> {
    sqlx::query!(
        "update signup_requests set confirmed_at = now(), token_hash = null, password_hash = '' where id = $1",
        signup.id
    )
    .execute(conn)
    .await?;
    Ok(())
}

fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}
