//! The pages of two-factor sign-in: the second sign-in step at `/login/two-factor`,
//! and `/account/two-factor` to set it up, turn it off and (the owner) require it.
//! They parse, call `actions` and render.
//!
//! Between the password and the code the session holds only a pending marker (the
//! user's id and when the password was checked); `auth.login` runs after both, so a
//! pending session is as anonymous as any other.

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
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tower_sessions::Session;

use super::actions::{self, Code, Proof, Refusal, RequiredRefusal, SignInRefusal, TurnOffRefusal};
use crate::{
    AppState,
    auth::{AuthSession, Role, User, csrf},
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

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login/two-factor", get(code_form).post(check_code))
        .route("/account/two-factor", get(show))
        .route("/account/two-factor/start", post(start))
        .route("/account/two-factor/confirm", post(confirm))
        .route("/account/two-factor/disable", post(disable))
        .route("/account/two-factor/required", post(set_required))
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
        Pending { user_id: user.id.0, password_checked_at: OffsetDateTime::now_utc().unix_timestamp() };
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
    let Some(user) =
        auth.backend.get_user(&crate::ids::UserId(pending.user_id)).await.map_err(anyhow::Error::from)?
    else {
        auth.session.remove::<Pending>(PENDING_KEY).await?;
        return Ok(Redirect::to("/login").into_response());
    };
    match actions::sign_in(&state.pool, state.two_factor_key.as_deref(), &user, &code).await? {
        Ok(()) => {}
        Err(SignInRefusal::TooManyAttempts) => {
            page.message = Some("Too many wrong codes. Wait 15 minutes, then sign in again.");
            return render_with(StatusCode::TOO_MANY_REQUESTS, &page);
        }
        Err(SignInRefusal::Code(refusal)) => {
            page.errors.add("code", refusal_message(&refusal));
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    }
    auth.session.remove::<Pending>(PENDING_KEY).await?;
    auth.login(&user).await?;
    crate::auth::mark_signed_in(&auth.session).await?;
    csrf::rotate(&auth.session).await?;
    tracing::info!(user.id = user.id.0, "signed in with two-factor");
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
        crate::auth::current_user(parts, state).await?.map(Account).ok_or(AppError::SignInRequired)
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
    let status = actions::status(&mut conn, state.two_factor_key.as_deref(), user).await?;
    let setup = status.pending_secret.map(|secret| setup_for(secret, user)).transpose()?;
    Ok(TwoFactorPage {
        ctx,
        enabled: status.enabled,
        setup,
        recovery_codes_left: status.recovery_codes_left,
        errors: FormErrors::default(),
        code: String::new(),
        is_owner: user.is_owner(),
        required: status.required,
        must_set_up: status.required && user.role == Role::Admin && !status.enabled,
        key_missing: state.two_factor_key.is_none(),
    })
}

fn setup_for(secret: Vec<u8>, user: &User) -> AppResult<Setup> {
    let totp = actions::totp_for(secret, &user.email)?;
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

async fn start(State(state): State<AppState>, Account(user): Account) -> AppResult<Response> {
    if let Some(key) = state.two_factor_key.as_deref() {
        actions::enrol(&state.pool, key, user.id.0).await?;
    }
    Ok(Redirect::to("/account/two-factor").into_response())
}

async fn confirm(
    State(state): State<AppState>,
    ctx: PageContext,
    Account(user): Account,
    Form(form): Form<CodeForm>,
) -> AppResult<Response> {
    let refusal = match Code::parse(&form.code) {
        Some(code @ Code::Totp(_)) => {
            match actions::confirm(&state.pool, state.two_factor_key.as_deref(), &user, &code).await? {
                // Shown once, now, and never again: only their hashes are kept.
                Ok(codes) => return render(&RecoveryCodesPage { ctx, codes }),
                Err(refusal) => refusal_message(&refusal),
            }
        }
        _ => "Enter the 6-digit code your app shows for Portico.",
    };
    let mut page = page_for(&state, ctx, &user).await?;
    // Already on, or never started: the page itself says what to do.
    if page.enabled || page.setup.is_none() {
        return Ok(Redirect::to("/account/two-factor").into_response());
    }
    page.errors.add("code", refusal);
    page.code = form.code.trim().chars().take(20).collect();
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

#[derive(Deserialize)]
struct DisableForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

impl DisableForm {
    /// The password if one was typed, else a code of the right shape.
    fn proof(&self) -> Option<Proof> {
        if !self.password.is_empty() {
            Some(Proof::Password(self.password.clone()))
        } else {
            Code::parse(&self.code).map(Proof::Code)
        }
    }
}

async fn disable(
    State(state): State<AppState>,
    ctx: PageContext,
    Account(user): Account,
    session: Session,
    Form(form): Form<DisableForm>,
) -> AppResult<Response> {
    let key = state.two_factor_key.as_deref();
    let refusal = match actions::turn_off(&state.pool, &state.passwords, key, &user, form.proof()).await? {
        Ok(()) => {
            flash::push(&session, FlashKind::Success, "Two-factor sign-in is off.").await?;
            return Ok(Redirect::to("/account/two-factor").into_response());
        }
        Err(TurnOffRefusal::NotEnabled) => return Ok(Redirect::to("/account/two-factor").into_response()),
        Err(refusal) => refusal,
    };
    let (field, message, status) = match refusal {
        TurnOffRefusal::RequiredByOwner => (
            "password",
            "The owner requires two-factor sign-in for every admin, so it stays on.",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        TurnOffRefusal::NoProof => {
            ("password", "Enter your password, or a code from your app.", StatusCode::UNPROCESSABLE_ENTITY)
        }
        TurnOffRefusal::TooManyAttempts => (
            "password",
            "Too many wrong attempts. Wait 15 minutes and try again.",
            StatusCode::TOO_MANY_REQUESTS,
        ),
        TurnOffRefusal::NoMatch | TurnOffRefusal::NotEnabled => {
            let field = if form.password.is_empty() { "code" } else { "password" };
            (field, "That does not match. Nothing was changed.", StatusCode::UNPROCESSABLE_ENTITY)
        }
    };
    let mut page = page_for(&state, ctx, &user).await?;
    page.errors.add(field, message);
    render_with(status, &page)
}

#[derive(Deserialize)]
struct RequiredForm {
    #[serde(default)]
    required: Option<String>,
}

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
    if let Err(RequiredRefusal::OwnerWithout) =
        actions::require_for_admins(&state.pool, &user, required).await?
    {
        let mut page = page_for(&state, ctx, &user).await?;
        page.errors.add("required", "Turn on two-factor sign-in for your own account first.");
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let message = if required {
        "Every admin now needs two-factor sign-in."
    } else {
        "Two-factor sign-in is now optional for admins."
    };
    flash::push(&session, FlashKind::Success, message).await?;
    Ok(Redirect::to("/account/two-factor").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_page_waits_five_minutes_after_the_password() {
        let now = time::macros::datetime!(2026-11-29 12:00 UTC);
        let ago = |seconds: i64| now.unix_timestamp() - seconds;
        assert!(is_fresh(ago(0), now));
        assert!(is_fresh(ago(299), now));
        assert!(!is_fresh(ago(301), now));
        assert!(!is_fresh(ago(-60), now), "a time in the future is not trusted");
    }
}
