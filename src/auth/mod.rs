//! Who is signed in, and what they may see.
//!
//! Sessions live in PostgreSQL (tower-sessions); axum-login ties a session to a user
//! and rotates the session id at sign-in. A session stops working when its user is
//! disabled (`get_user` finds nobody), when their password changes (the session
//! auth hash no longer matches), after two idle hours, or twelve hours after sign-in.

pub mod cache;
pub mod client_ip;
pub mod csrf;
pub mod domain;
pub mod links;
mod pages;
pub mod password;
pub mod session_store;
pub mod throttle;
pub mod two_factor;

use axum::{Router, extract::FromRequestParts, http::request::Parts, routing::get};
use axum_login::{AuthUser, AuthnBackend};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use time::OffsetDateTime;
use tower_sessions::Session;

use crate::{
    AppState,
    error::{AppError, AppResult},
};
use password::Passwords;

pub type AuthSession = axum_login::AuthSession<Backend>;

/// Sessions older than this are signed out however active they are.
pub const ABSOLUTE_SESSION_LIFETIME: time::Duration = time::Duration::hours(12);
/// Sessions unused for this long are dropped by the store.
pub const IDLE_SESSION_LIFETIME: time::Duration = time::Duration::hours(2);
const SIGNED_IN_AT_KEY: &str = "auth.signed_in_at";
const SEEN_AT_KEY: &str = "auth.seen_at";
/// A session is written back (its idle expiry moved on) at most this often while it is
/// only read: pages that change nothing do not write a row each.
const IDLE_REFRESH_SECONDS: i64 = 5 * 60;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", axum::routing::post(pages::logout))
        .route("/password/forgot", get(pages::forgot_form).post(pages::forgot))
        .route("/password/reset/{token}", get(pages::reset_form).post(pages::reset))
        .merge(two_factor::router())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Role {
    Parent,
    Trainer,
    Admin,
}

impl Role {
    pub fn portal(self) -> &'static str {
        match self {
            Role::Parent => "/parent",
            Role::Trainer => "/trainer",
            Role::Admin => "/admin",
        }
    }
}

/// Permissions within the admin portal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum AdminRole {
    Owner,
    Coordinator,
    Finance,
    SafeguardingLead,
}

impl AdminRole {
    pub fn label(self) -> &'static str {
        match self {
            AdminRole::Owner => "Owner",
            AdminRole::Coordinator => "Coordinator",
            AdminRole::Finance => "Finance",
            AdminRole::SafeguardingLead => "Safeguarding lead",
        }
    }
}

#[derive(Clone)]
pub struct User {
    pub id: crate::ids::UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub admin_role: Option<AdminRole>,
    password_hash: String,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User").field("id", &self.id).field("role", &self.role).finish_non_exhaustive()
    }
}

impl AuthUser for User {
    type Id = crate::ids::UserId;

    fn id(&self) -> crate::ids::UserId {
        self.id
    }

    /// The password hash changes with the password, which ends every other session.
    fn session_auth_hash(&self) -> &[u8] {
        self.password_hash.as_bytes()
    }
}

impl User {
    pub fn first_name(&self) -> &str {
        self.name.split_whitespace().next().unwrap_or(&self.name)
    }

    pub fn is_owner(&self) -> bool {
        self.admin_role == Some(AdminRole::Owner)
    }
}

pub struct Credentials {
    pub email: String,
    pub password: String,
}

#[derive(Clone)]
pub struct Backend {
    pool: PgPool,
    passwords: Passwords,
    cache: cache::SignedInCache,
}

impl Backend {
    pub fn new(pool: PgPool, passwords: Passwords, cache: cache::SignedInCache) -> Self {
        Self { pool, passwords, cache }
    }
}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = Credentials;
    type Error = AuthError;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<User>, AuthError> {
        let user = sqlx::query_as!(
            User,
            r#"select id as "id: _", email, name, role as "role: Role", admin_role as "admin_role: AdminRole", password_hash
               from users where email = $1 and is_active"#,
            creds.email
        )
        .fetch_optional(&self.pool)
        .await?;
        let hash = user.as_ref().map(|u| u.password_hash.as_str());
        let matches = self.passwords.verify(&creds.password, hash).await?;
        Ok(user.filter(|_| matches))
    }

    async fn get_user(&self, id: &axum_login::UserId<Self>) -> Result<Option<User>, AuthError> {
        let load = sqlx::query_as!(
            User,
            r#"select id as "id: _", email, name, role as "role: Role", admin_role as "admin_role: AdminRole", password_hash
               from users where id = $1 and is_active"#,
            id.0
        )
        .fetch_optional(&self.pool);
        Ok(self.cache.user(*id, load).await?)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<axum_login::Error<Backend>> for AppError {
    fn from(err: axum_login::Error<Backend>) -> Self {
        AppError::Internal(anyhow::anyhow!("authentication failed: {err:?}"))
    }
}

/// The signed-in user, if any, after the absolute session lifetime is enforced.
pub async fn current_user(parts: &mut Parts, state: &AppState) -> AppResult<Option<User>> {
    let mut auth = AuthSession::from_request_parts(parts, state)
        .await
        .map_err(|_| anyhow::anyhow!("the auth layer is missing"))?;
    let Some(user) = auth.user.clone() else { return Ok(None) };
    let signed_in_at: Option<i64> = auth.session.get(SIGNED_IN_AT_KEY).await?;
    let now = OffsetDateTime::now_utc();
    if is_past_absolute_lifetime(signed_in_at, now) {
        auth.logout().await?;
        return Ok(None);
    }
    let seen_at: Option<i64> = auth.session.get(SEEN_AT_KEY).await?;
    if seen_at.is_none_or(|at| now.unix_timestamp() - at >= IDLE_REFRESH_SECONDS) {
        auth.session.insert(SEEN_AT_KEY, now.unix_timestamp()).await?;
    }
    Ok(Some(user))
}

/// A session with no sign-in time, or one older than the absolute lifetime, is over.
fn is_past_absolute_lifetime(signed_in_at: Option<i64>, now: OffsetDateTime) -> bool {
    signed_in_at.is_none_or(|at| now.unix_timestamp() - at > ABSOLUTE_SESSION_LIFETIME.whole_seconds())
}

pub async fn mark_signed_in(session: &Session) -> AppResult<()> {
    session.insert(SIGNED_IN_AT_KEY, OffsetDateTime::now_utc().unix_timestamp()).await?;
    Ok(())
}

/// Any signed-in user; anonymous visitors are sent to sign in.
pub struct SignedIn(pub User);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        let user = current_user(parts, state).await?.ok_or(AppError::SignInRequired)?;
        // While the owner requires two-factor, an admin without it sets it up first.
        let due = state.signed_in.two_factor_due(user.id, two_factor::must_set_up(&state.pool, &user));
        if due.await? {
            return Err(AppError::TwoFactorSetupRequired);
        }
        Ok(SignedIn(user))
    }
}

macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, $role:expr) => {
        $(#[$doc])*
        pub struct $name(pub User);

        impl FromRequestParts<AppState> for $name {
            type Rejection = AppError;

            async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
                let SignedIn(user) = SignedIn::from_request_parts(parts, state).await?;
                if user.role == $role { Ok($name(user)) } else { Err(AppError::Forbidden) }
            }
        }
    };
}

role_extractor!(
    /// A signed-in parent; other roles get 403.
    Parent,
    Role::Parent
);
role_extractor!(
    /// A signed-in trainer; other roles get 403.
    Trainer,
    Role::Trainer
);
role_extractor!(
    /// A signed-in admin of any sub-role; other roles get 403.
    Admin,
    Role::Admin
);

impl Admin {
    /// 403 unless the admin has one of `roles` (owners may do everything).
    pub fn require(&self, roles: &[AdminRole]) -> AppResult<()> {
        match self.0.admin_role {
            Some(AdminRole::Owner) => Ok(()),
            Some(role) if roles.contains(&role) => Ok(()),
            _ => Err(AppError::Forbidden),
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_session_ends_twelve_hours_after_sign_in_however_active() {
        let now = datetime!(2026-11-23 20:00 UTC);
        let at = |hours_ago: i64| Some(now.unix_timestamp() - hours_ago * 3600);
        assert!(!is_past_absolute_lifetime(at(1), now));
        assert!(!is_past_absolute_lifetime(at(12), now));
        assert!(is_past_absolute_lifetime(at(13), now));
        assert!(is_past_absolute_lifetime(None, now), "a session without a sign-in time is not trusted");
    }
}
