//! Two-factor sign-in (TOTP, RFC 6238): setting it up and turning it off at
//! `/account/two-factor`, the second sign-in step at `/login/two-factor`, one-time
//! recovery codes, and the owner's "required for every admin" setting.
//!
//! Between the password and the code the session holds only a pending marker (the
//! user's id and when the password was checked); `auth.login` runs after both, so a
//! pending session is as anonymous as any other.

use std::path::Path;

use askama::Template;
use axum::{
    Form, Router,
    extract::{FromRequestParts, State},
    http::{StatusCode, request::Parts},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use axum_login::AuthnBackend;
use base64::Engine;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use totp_rs::{Builder, Totp};
use tower_sessions::Session;

use super::{AuthSession, Role, User, csrf};
use crate::{
    AppState, audit,
    error::{AppError, AppResult},
    web::{
        FormErrors, PageContext,
        flash::{self, FlashKind},
        form::{render, render_with},
    },
};

const PENDING_KEY: &str = "two_factor.pending";
/// How long the code page waits after the password was checked.
const PENDING_LIFETIME_SECONDS: i64 = 5 * 60;
/// Wrong codes (or passwords, when turning it off) allowed per account per window.
const MAX_FAILURES: i32 = 5;
const FAILURE_WINDOW: &str = "15 minutes";
const RECOVERY_CODES: usize = 10;
const ISSUER: &str = "Portico";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login/two-factor", get(code_form).post(check_code))
        .route("/account/two-factor", get(show))
        .route("/account/two-factor/start", post(start))
        .route("/account/two-factor/confirm", post(confirm))
        .route("/account/two-factor/disable", post(disable))
        .route("/account/two-factor/required", post(set_required))
}

// ---------------------------------------------------------------------------------
// The key that encrypts secrets at rest.

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

    fn seal(&self, user_id: i64, plaintext: &[u8]) -> anyhow::Result<Vec<u8>> {
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
    fn open(&self, user_id: i64, stored: &[u8]) -> Option<Vec<u8>> {
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

// ---------------------------------------------------------------------------------
// Codes.

fn totp_for(secret: Vec<u8>, account: &str) -> anyhow::Result<Totp> {
    // A colon would split the label in the otpauth URL.
    let account = account.replace(':', " ");
    Builder::new()
        .with_secret(secret)
        .with_issuer(Some(ISSUER))
        .with_account_name(account)
        .build()
        .map_err(|e| anyhow::anyhow!("Failed to build a TOTP: {e:?}"))
}

/// What the user typed: six digits from the app, or a recovery code.
enum Code {
    Totp(String),
    Recovery(String),
}

impl Code {
    fn parse(input: &str) -> Option<Code> {
        let compact: String =
            input.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_lowercase();
        if compact.len() == 6 && compact.bytes().all(|b| b.is_ascii_digit()) {
            Some(Code::Totp(compact))
        } else if compact.len() == 10 && compact.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Some(Code::Recovery(compact))
        } else {
            None
        }
    }
}

/// Ten random characters from an alphabet without look-alikes (50 bits each),
/// shown as `abcde-fghjk`.
fn new_recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut code = String::with_capacity(11);
    for i in 0..10 {
        if i == 5 {
            code.push('-');
        }
        let index = rand::random_range(0..ALPHABET.len());
        code.push(char::from(ALPHABET[index]));
    }
    code
}

fn recovery_hash(compact: &str) -> Vec<u8> {
    Sha256::digest(compact.as_bytes()).to_vec()
}

// ---------------------------------------------------------------------------------
// The store.

#[derive(sqlx::FromRow)]
struct Row {
    secret_encrypted: Vec<u8>,
    enabled_at: Option<OffsetDateTime>,
}

async fn find(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Option<Row>> {
    sqlx::query_as("select secret_encrypted, enabled_at from two_factor where user_id = $1")
        .bind(user_id)
        .fetch_optional(conn)
        .await
}

/// Whether sign-in asks `user_id` for a code after the password.
pub async fn is_enabled(pool: &PgPool, user_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from two_factor where user_id = $1 and enabled_at is not null)",
    )
    .bind(user_id)
    .fetch_one(pool)
    .await
}

async fn required_for_admins(conn: &mut PgConnection) -> sqlx::Result<bool> {
    sqlx::query_scalar("select require_two_factor_for_admins from security_settings")
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
    sqlx::query_scalar(
        "select s.require_two_factor_for_admins
                and not exists (select 1 from two_factor where user_id = $1 and enabled_at is not null)
         from security_settings s",
    )
    .bind(user.id)
    .fetch_optional(pool)
    .await
    .map(|r| r.unwrap_or(false))
}

/// Counts one attempt against the account and says whether it may be checked. One
/// UPDATE takes the row lock, so concurrent attempts each see their own count.
async fn take_attempt(pool: &PgPool, user_id: i64) -> sqlx::Result<bool> {
    let count: Option<i32> = sqlx::query_scalar(
        "update two_factor set
             failed_attempts = case when failures_since > now() - $2::text::interval
                                    then failed_attempts + 1 else 1 end,
             failures_since = case when failures_since > now() - $2::text::interval
                                   then failures_since else now() end
         where user_id = $1
         returning failed_attempts",
    )
    .bind(user_id)
    .bind(FAILURE_WINDOW)
    .fetch_optional(pool)
    .await?;
    Ok(count.is_some_and(|n| n <= MAX_FAILURES))
}

async fn clear_attempts(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<()> {
    sqlx::query("update two_factor set failed_attempts = 0 where user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Accepts a time step once: a later step moves the mark forward, a replay finds
/// nothing to update.
async fn use_step(conn: &mut PgConnection, user_id: i64, step: u64) -> sqlx::Result<bool> {
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    let done =
        sqlx::query("update two_factor set last_used_step = $2 where user_id = $1 and last_used_step < $2")
            .bind(user_id)
            .bind(step)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Spends a recovery code; false if it is unknown or spent.
async fn spend_recovery_code(conn: &mut PgConnection, user_id: i64, compact: &str) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update two_factor_recovery_codes set used_at = now()
         where user_id = $1 and code_hash = $2 and used_at is null",
    )
    .bind(user_id)
    .bind(recovery_hash(compact))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn recovery_codes_left(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select count(*) from two_factor_recovery_codes where user_id = $1 and used_at is null",
    )
    .bind(user_id)
    .fetch_one(conn)
    .await
}

/// Why a code was not accepted.
enum Refusal {
    Wrong,
    Replayed,
    /// The stored secret does not open with this server's key.
    Unreadable,
}

/// Checks `code` against the user's enabled (or, with `setting_up`, pending) secret,
/// spending the time step or the recovery code in `conn`'s transaction.
async fn verify(
    conn: &mut PgConnection,
    key: Option<&TwoFactorKey>,
    user: &User,
    code: &Code,
    setting_up: bool,
) -> anyhow::Result<Result<(), Refusal>> {
    let Some(row) = find(conn, user.id).await? else { return Ok(Err(Refusal::Wrong)) };
    if row.enabled_at.is_some() == setting_up {
        return Ok(Err(Refusal::Wrong));
    }
    match code {
        Code::Totp(digits) => {
            let Some(secret) = key.and_then(|k| k.open(user.id, &row.secret_encrypted)) else {
                tracing::error!(user.id = user.id, "a two-factor secret cannot be decrypted with this key");
                return Ok(Err(Refusal::Unreadable));
            };
            let Some(step) = totp_for(secret, &user.email)?.check_current(digits) else {
                return Ok(Err(Refusal::Wrong));
            };
            if !use_step(conn, user.id, step).await? {
                return Ok(Err(Refusal::Replayed));
            }
            Ok(Ok(()))
        }
        Code::Recovery(compact) if !setting_up => {
            if spend_recovery_code(conn, user.id, compact).await? {
                audit::record(conn)
                    .by(user.id)
                    .action("two_factor.recovery_code_used")
                    .entity("user", user.id)
                    .await?;
                Ok(Ok(()))
            } else {
                Ok(Err(Refusal::Wrong))
            }
        }
        Code::Recovery(_) => Ok(Err(Refusal::Wrong)),
    }
}

fn refusal_message(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::Wrong => "That code is not right. Check the time on your phone and try the newest code.",
        Refusal::Replayed => "That code has been used already. Wait for the next code in your app.",
        Refusal::Unreadable => {
            "Codes from your app cannot be checked at the moment. Use one of your recovery codes."
        }
    }
}

// ---------------------------------------------------------------------------------
// Sign-in, step two.

#[derive(Serialize, Deserialize)]
struct Pending {
    user_id: i64,
    password_checked_at: i64,
}

/// Called by `login` once the password is right: remembers who is half signed in
/// and asks for the code. Nothing here signs anyone in.
pub async fn begin(session: &Session, user: &User) -> AppResult<Response> {
    // A new id, so an id planted before the password cannot be the one that waits here.
    session.cycle_id().await?;
    let pending =
        Pending { user_id: user.id, password_checked_at: OffsetDateTime::now_utc().unix_timestamp() };
    session.insert(PENDING_KEY, pending).await?;
    Ok(Redirect::to("/login/two-factor").into_response())
}

async fn pending(session: &Session) -> AppResult<Option<Pending>> {
    let pending: Option<Pending> = session.get(PENDING_KEY).await?;
    match pending {
        Some(p) if is_fresh(p.password_checked_at, OffsetDateTime::now_utc()) => Ok(Some(p)),
        Some(_) => {
            session.remove::<Pending>(PENDING_KEY).await?;
            Ok(None)
        }
        None => Ok(None),
    }
}

/// The code page waits five minutes after the password; a clock that went back does
/// not stretch it.
fn is_fresh(password_checked_at: i64, now: OffsetDateTime) -> bool {
    (0..=PENDING_LIFETIME_SECONDS).contains(&(now.unix_timestamp() - password_checked_at))
}

#[derive(Template)]
#[template(path = "auth/two_factor.html")]
pub struct CodePage {
    pub ctx: PageContext,
    pub errors: FormErrors,
    pub message: Option<&'static str>,
}

async fn code_form(ctx: PageContext, session: Session) -> AppResult<Response> {
    if pending(&session).await?.is_none() {
        return Ok(Redirect::to("/login").into_response());
    }
    render(&CodePage { ctx, errors: FormErrors::default(), message: None })
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn check_code(
    State(state): State<AppState>,
    mut auth: AuthSession,
    ctx: PageContext,
    Form(form): Form<CodeForm>,
) -> AppResult<Response> {
    let Some(pending) = pending(&auth.session).await? else {
        flash::push(&auth.session, FlashKind::Info, "Sign in again: the code page waits five minutes.")
            .await?;
        return Ok(Redirect::to("/login").into_response());
    };
    let mut page = CodePage { ctx, errors: FormErrors::default(), message: None };
    let Some(code) = Code::parse(&form.code) else {
        page.errors.add("code", "Enter the 6-digit code from your app, or a recovery code.");
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let Some(user) = auth.backend.get_user(&pending.user_id).await.map_err(anyhow::Error::from)? else {
        auth.session.remove::<Pending>(PENDING_KEY).await?;
        return Ok(Redirect::to("/login").into_response());
    };
    if !take_attempt(&state.pool, user.id).await? {
        page.message = Some("Too many wrong codes. Wait 15 minutes, then sign in again.");
        return render_with(StatusCode::TOO_MANY_REQUESTS, &page);
    }
    let mut tx = state.pool.begin().await?;
    if let Err(refusal) = verify(&mut tx, state.two_factor_key.as_deref(), &user, &code, false).await? {
        tx.rollback().await?;
        page.errors.add("code", refusal_message(&refusal));
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    clear_attempts(&mut tx, user.id).await?;
    sqlx::query("update users set last_sign_in_at = now() where id = $1")
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;

    auth.session.remove::<Pending>(PENDING_KEY).await?;
    auth.login(&user).await?;
    super::mark_signed_in(&auth.session).await?;
    csrf::rotate(&auth.session).await?;
    tracing::info!(user.id = user.id, "signed in with two-factor");
    Ok(Redirect::to(user.role.portal()).into_response())
}

// ---------------------------------------------------------------------------------
// The account page.

/// Any signed-in user. Unlike `SignedIn`, it does not send an admin who must set up
/// two-factor back here: this is where they set it up.
struct Account(User);

impl FromRequestParts<AppState> for Account {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        super::current_user(parts, state).await?.map(Account).ok_or(AppError::SignInRequired)
    }
}

pub struct Setup {
    pub qr_data_url: String,
    /// Base32, in groups of four, for typing into an app by hand.
    pub secret_text: String,
}

#[derive(Template)]
#[template(path = "account/two_factor.html")]
pub struct TwoFactorPage {
    pub ctx: PageContext,
    pub enabled: bool,
    pub setup: Option<Setup>,
    pub recovery_codes_left: i64,
    pub errors: FormErrors,
    pub code: String,
    /// The owner's setting, shown to the owner only.
    pub is_owner: bool,
    pub required: bool,
    /// An admin sent here because the owner requires it.
    pub must_set_up: bool,
    pub key_missing: bool,
}

#[derive(Template)]
#[template(path = "account/two_factor_codes.html")]
pub struct RecoveryCodesPage {
    pub ctx: PageContext,
    pub codes: Vec<String>,
}

async fn page_for(state: &AppState, ctx: PageContext, user: &User) -> AppResult<TwoFactorPage> {
    let mut conn = state.pool.acquire().await?;
    let row = find(&mut conn, user.id).await?;
    let required = required_for_admins(&mut conn).await?;
    let enabled = row.as_ref().is_some_and(|r| r.enabled_at.is_some());
    let setup = match (&row, state.two_factor_key.as_deref()) {
        (Some(row), Some(key)) if row.enabled_at.is_none() => {
            key.open(user.id, &row.secret_encrypted).map(|secret| setup_for(secret, user)).transpose()?
        }
        _ => None,
    };
    let recovery_codes_left = if enabled { recovery_codes_left(&mut conn, user.id).await? } else { 0 };
    Ok(TwoFactorPage {
        ctx,
        enabled,
        setup,
        recovery_codes_left,
        errors: FormErrors::default(),
        code: String::new(),
        is_owner: user.is_owner(),
        required,
        must_set_up: required && user.role == Role::Admin && !enabled,
        key_missing: state.two_factor_key.is_none(),
    })
}

fn setup_for(secret: Vec<u8>, user: &User) -> AppResult<Setup> {
    let totp = totp_for(secret, &user.email)?;
    let url = totp.to_url().map_err(|e| anyhow::anyhow!("Failed to make an otpauth URL: {e:?}"))?;
    let svg = qrcode::QrCode::new(url.as_bytes())
        .map_err(|e| anyhow::anyhow!("Failed to make a QR code: {e}"))?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build();
    // An <img> with a data: URL: the CSP allows data: images, and the SVG's own
    // attributes never meet the page's style rules.
    let qr_data_url =
        format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(svg));
    let base32 = totp.secret().to_base32();
    let secret_text = base32.as_bytes().chunks(4).map(String::from_utf8_lossy).collect::<Vec<_>>().join(" ");
    Ok(Setup { qr_data_url, secret_text })
}

async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    Account(user): Account,
) -> AppResult<Response> {
    render(&page_for(&state, ctx, &user).await?)
}

/// Makes a new secret, kept (encrypted) until the user proves their app has it.
async fn start(State(state): State<AppState>, Account(user): Account) -> AppResult<Response> {
    let Some(key) = state.two_factor_key.as_deref() else {
        return Ok(Redirect::to("/account/two-factor").into_response());
    };
    let secret: [u8; 20] = rand::random();
    let sealed = key.seal(user.id, &secret)?;
    // An enabled row is left alone: turning it off comes first.
    sqlx::query(
        "insert into two_factor (user_id, secret_encrypted) values ($1, $2)
         on conflict (user_id) do update
             set secret_encrypted = excluded.secret_encrypted, created_at = now(), last_used_step = 0
             where two_factor.enabled_at is null",
    )
    .bind(user.id)
    .bind(sealed)
    .execute(&state.pool)
    .await?;
    Ok(Redirect::to("/account/two-factor").into_response())
}

async fn confirm(
    State(state): State<AppState>,
    ctx: PageContext,
    Account(user): Account,
    Form(form): Form<CodeForm>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let refusal = match Code::parse(&form.code) {
        Some(code @ Code::Totp(_)) => verify(&mut tx, state.two_factor_key.as_deref(), &user, &code, true)
            .await?
            .err()
            .map(|r| refusal_message(&r)),
        _ => Some("Enter the 6-digit code your app shows for Portico."),
    };
    if let Some(message) = refusal {
        tx.rollback().await?;
        let mut page = page_for(&state, ctx, &user).await?;
        // Already on, or never started: the page itself says what to do.
        if page.enabled || page.setup.is_none() {
            return Ok(Redirect::to("/account/two-factor").into_response());
        }
        page.errors.add("code", message);
        page.code = form.code.trim().chars().take(20).collect();
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let codes = enable(&mut tx, user.id).await?;
    tx.commit().await?;
    // Shown once, now, and never again: only their hashes are kept.
    render(&RecoveryCodesPage { ctx, codes })
}

/// Turns on the user's confirmed secret and makes their recovery codes; returns the
/// codes, to be shown once (only their hashes are kept).
async fn enable(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query("update two_factor set enabled_at = now(), failed_attempts = 0 where user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("delete from two_factor_recovery_codes where user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
    for code in &codes {
        sqlx::query("insert into two_factor_recovery_codes (user_id, code_hash) values ($1, $2)")
            .bind(user_id)
            .bind(recovery_hash(&code.replace('-', "")))
            .execute(&mut *conn)
            .await?;
    }
    audit::record(conn).by(user_id).action("two_factor.enabled").entity("user", user_id).await?;
    Ok(codes)
}

/// Removes the user's second factor and its recovery codes (the caller has checked
/// their password or a code).
async fn turn_off(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<()> {
    sqlx::query("delete from two_factor_recovery_codes where user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("delete from two_factor where user_id = $1").bind(user_id).execute(&mut *conn).await?;
    audit::record(conn).by(user_id).action("two_factor.disabled").entity("user", user_id).await
}

/// The owner's setting that every admin must use two-factor sign-in.
async fn require_for_admins(conn: &mut PgConnection, owner_id: i64, required: bool) -> sqlx::Result<()> {
    let before = required_for_admins(conn).await?;
    sqlx::query("update security_settings set require_two_factor_for_admins = $1, updated_at = now()")
        .bind(required)
        .execute(&mut *conn)
        .await?;
    audit::record(conn)
        .by(owner_id)
        .action("settings.two_factor_required")
        .about("security_settings")
        .before(json!({ "require_two_factor_for_admins": before }))
        .after(json!({ "require_two_factor_for_admins": required }))
        .await
}

#[derive(Deserialize)]
struct DisableForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

/// Turning it off needs the password or a current code, so a session left open on a
/// shared computer cannot quietly remove the second factor.
async fn disable(
    State(state): State<AppState>,
    ctx: PageContext,
    Account(user): Account,
    session: Session,
    Form(form): Form<DisableForm>,
) -> AppResult<Response> {
    let mut page = page_for(&state, ctx, &user).await?;
    if !page.enabled {
        return Ok(Redirect::to("/account/two-factor").into_response());
    }
    if page.required && user.role == Role::Admin {
        page.errors.add("password", "The owner requires two-factor sign-in for every admin, so it stays on.");
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let code = Code::parse(&form.code);
    if form.password.is_empty() && code.is_none() {
        page.errors.add("password", "Enter your password, or a code from your app.");
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    // Wrong passwords here count with wrong codes: this form must not become a way
    // round the sign-in throttle.
    if !take_attempt(&state.pool, user.id).await? {
        page.errors.add("password", "Too many wrong attempts. Wait 15 minutes and try again.");
        return render_with(StatusCode::TOO_MANY_REQUESTS, &page);
    }
    let mut tx = state.pool.begin().await?;
    let proved = if !form.password.is_empty() {
        state.passwords.verify(&form.password, Some(&user.password_hash)).await?
    } else if let Some(code) = &code {
        verify(&mut tx, state.two_factor_key.as_deref(), &user, code, false).await?.is_ok()
    } else {
        false
    };
    if !proved {
        tx.rollback().await?;
        let field = if form.password.is_empty() { "code" } else { "password" };
        page.errors.add(field, "That does not match. Nothing was changed.");
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    turn_off(&mut tx, user.id).await?;
    flash::done(tx, &session, "Two-factor sign-in is off.", "/account/two-factor").await
}

#[derive(Deserialize)]
struct RequiredForm {
    #[serde(default)]
    required: Option<String>,
}

/// The owner's setting. They must use two-factor themselves first, or turning it on
/// would send them straight to set it up.
async fn set_required(
    State(state): State<AppState>,
    ctx: PageContext,
    Account(user): Account,
    session: Session,
    Form(form): Form<RequiredForm>,
) -> AppResult<Response> {
    if !user.is_owner() {
        return Err(AppError::Forbidden);
    }
    let required = form.required.is_some();
    let mut page = page_for(&state, ctx, &user).await?;
    if required && !page.enabled {
        page.errors.add("required", "Turn on two-factor sign-in for your own account first.");
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let mut tx = state.pool.begin().await?;
    require_for_admins(&mut tx, user.id, required).await?;
    let message = if required {
        "Every admin now needs two-factor sign-in."
    } else {
        "Two-factor sign-in is now optional for admins."
    };
    flash::done(tx, &session, message, "/account/two-factor").await
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

    #[test]
    fn the_code_page_waits_five_minutes_after_the_password() {
        let now = time::macros::datetime!(2026-11-29 12:00 UTC);
        let ago = |seconds: i64| now.unix_timestamp() - seconds;
        assert!(is_fresh(ago(0), now));
        assert!(is_fresh(ago(299), now));
        assert!(!is_fresh(ago(301), now));
        assert!(!is_fresh(ago(-60), now), "a time in the future is not trusted");
    }

    #[test]
    fn codes_are_told_apart_by_shape() {
        assert!(matches!(Code::parse(" 123 456 "), Some(Code::Totp(c)) if c == "123456"));
        assert!(matches!(Code::parse("ABCDE-FGHJK"), Some(Code::Recovery(c)) if c == "abcdefghjk"));
        assert!(Code::parse("12345").is_none());
        assert!(Code::parse("\0\0\0\0\0\0").is_none());
        let code = new_recovery_code();
        assert!(matches!(Code::parse(&code), Some(Code::Recovery(_))), "{code}");
    }
}
