//! Sign-in, sign-out and password reset pages.

use askama::Template;
use axum::{
    Form,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::{
    AuthSession, Credentials,
    client_ip::ClientIp,
    csrf,
    domain::{EmailAddress, NewPassword},
    links::{self, LinkToken},
    throttle,
};
use crate::{
    AppState,
    error::AppResult,
    notifications::account_requests::AccountRequest,
    web::{
        FormErrors, PageContext, Path,
        flash::{self, FlashKind},
        form::{QueryFields, render, render_with},
        next::local_path,
    },
};

pub struct DemoAccount {
    pub email: &'static str,
    pub role: &'static str,
}

const DEMO_ACCOUNTS: &[DemoAccount] = &[
    DemoAccount { email: "admin@portico.test", role: "Admin (owner)" },
    DemoAccount { email: "coordinator@portico.test", role: "Admin (coordinator)" },
    DemoAccount { email: "finance@portico.test", role: "Admin (finance)" },
    DemoAccount { email: "safeguarding@portico.test", role: "Admin (safeguarding lead)" },
    DemoAccount { email: "trainer@portico.test", role: "Trainer" },
    DemoAccount { email: "parent@portico.test", role: "Parent" },
    DemoAccount { email: "learner@portico.test", role: "Adult learner" },
];

#[derive(Template)]
#[template(path = "auth/login.html")]
pub struct LoginPage {
    pub ctx: PageContext,
    pub email: String,
    pub message: Option<&'static str>,
    pub errors: FormErrors,
    pub demo_accounts: &'static [DemoAccount],
    pub demo_password: &'static str,
    /// Where to go once signed in (a local path, e.g. back to book a course), or empty.
    pub next: String,
}

impl LoginPage {
    fn new(ctx: PageContext, email: String) -> Self {
        let demo_accounts = if ctx.demo { DEMO_ACCOUNTS } else { &[] };
        Self {
            ctx,
            email,
            next: String::new(),
            message: None,
            errors: FormErrors::default(),
            demo_accounts,
            demo_password: crate::demo::DEMO_PASSWORD,
        }
    }
}

pub async fn login_form(ctx: PageContext, QueryFields(query): QueryFields) -> AppResult<Response> {
    let next = query.get("next").and_then(local_path).map(str::to_owned);
    if let Some(user) = &ctx.user {
        return Ok(Redirect::to(next.as_deref().unwrap_or(user.role.portal())).into_response());
    }
    let mut page = LoginPage::new(ctx, String::new());
    page.next = next.unwrap_or_default();
    render(&page)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    mut auth: AuthSession,
    ctx: PageContext,
    Form(form): Form<LoginForm>,
) -> AppResult<Response> {
    let mut page = LoginPage::new(ctx, form.email.trim().to_string());
    let next = local_path(&form.next).map(str::to_owned);
    page.next = next.clone().unwrap_or_default();
    let email = match EmailAddress::parse(&form.email) {
        Ok(email) => Some(email),
        Err(message) => {
            page.errors.add("email", message);
            None
        }
    };
    if form.password.is_empty() {
        page.errors.add("password", "Enter your password.");
    }
    let Some(email) = email.filter(|_| page.errors.is_empty()) else {
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };

    let Some(attempt) = throttle::begin_sign_in(&state.pool, email.as_str(), ip).await? else {
        page.message = Some("Too many failed attempts from here. Wait 15 minutes, or reset your password.");
        return render_with(StatusCode::TOO_MANY_REQUESTS, &page);
    };
    if let Some(delay) = attempt.delay {
        tokio::time::sleep(delay).await;
    }
    let creds = Credentials { email: email.as_str().to_owned(), password: form.password };
    let user = auth.authenticate(creds).await;
    throttle::finish_sign_in(&state.pool, attempt, matches!(user, Ok(Some(_)))).await?;
    let Some(user) = user? else {
        page.message = Some("That email and password do not match an account.");
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    if super::two_factor::is_enabled(&state.pool, user.id.0).await? {
        return super::two_factor::begin(&auth.session, &user).await;
    }

    auth.login(&user).await?;
    super::mark_signed_in(&auth.session).await?;
    csrf::rotate(&auth.session).await?;
    sqlx::query!("update users set last_sign_in_at = now() where id = $1", user.id.0)
        .execute(&state.pool)
        .await?;
    tracing::info!(user.id = user.id.0, "signed in");
    Ok(Redirect::to(next.as_deref().unwrap_or(user.role.portal())).into_response())
}

pub async fn logout(mut auth: AuthSession) -> AppResult<Response> {
    auth.logout().await?;
    // The flash below needs a session; it must not reuse the id just signed out.
    auth.session.cycle_id().await?;
    flash::push(&auth.session, FlashKind::Info, "You have signed out.").await?;
    Ok(Redirect::to("/login").into_response())
}

#[derive(Template)]
#[template(path = "auth/forgot.html")]
pub struct ForgotPage {
    pub ctx: PageContext,
    pub email: String,
    pub errors: FormErrors,
    pub sent: bool,
}

pub async fn forgot_form(ctx: PageContext) -> AppResult<Response> {
    render(&ForgotPage { ctx, email: String::new(), errors: FormErrors::default(), sent: false })
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

/// Reset emails allowed per address asked for, and per client address, in an hour.
const RESETS_PER_EMAIL: i64 = 3;
const RESETS_PER_CLIENT: i64 = 10;

/// The answer, and the work done before it, are the same whether or not the account
/// exists: the email is written by the account-request job.
pub async fn forgot(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ctx: PageContext,
    Form(form): Form<ForgotForm>,
) -> AppResult<Response> {
    let mut errors = FormErrors::default();
    let email = match EmailAddress::parse(&form.email) {
        Ok(email) => email,
        Err(message) => {
            errors.add("email", message);
            let page = ForgotPage { ctx, email: form.email, errors, sent: false };
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let client = ip.to_string();
    let limits = [
        throttle::Limit { key: email.as_str(), max: RESETS_PER_EMAIL },
        throttle::Limit { key: &client, max: RESETS_PER_CLIENT },
    ];
    if !throttle::allow_request(&state.pool, "password-reset", "1 hour", &limits).await? {
        errors.add("email", "We have sent several links already. Check your inbox, or try again in an hour.");
        let page = ForgotPage { ctx, email: email.as_str().to_owned(), errors, sent: false };
        return render_with(StatusCode::TOO_MANY_REQUESTS, &page);
    }
    let mut tx = state.pool.begin().await?;
    let request = AccountRequest::PasswordReset { email: email.as_str().to_owned() };
    state.account_requests.queue(&mut tx, &request).await?;
    tx.commit().await?;
    render(&ForgotPage { ctx, email: email.as_str().to_owned(), errors, sent: true })
}

#[derive(Template)]
#[template(path = "auth/reset.html")]
pub struct ResetPage {
    pub ctx: PageContext,
    pub token: String,
    pub valid: bool,
    pub errors: FormErrors,
}

pub async fn reset_form(
    State(state): State<AppState>,
    ctx: PageContext,
    Path(token): Path<LinkToken>,
) -> AppResult<Response> {
    let mut conn = state.pool.acquire().await?;
    let valid = links::find_valid(&mut conn, &token, false).await?.is_some();
    let status = if valid { StatusCode::OK } else { StatusCode::GONE };
    render_with(status, &ResetPage { ctx, token: token.0, valid, errors: FormErrors::default() })
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
}

pub async fn reset(
    State(state): State<AppState>,
    ctx: PageContext,
    session: tower_sessions::Session,
    Path(token): Path<LinkToken>,
    Form(form): Form<ResetForm>,
) -> AppResult<Response> {
    let password = match NewPassword::parse(&form.password, &form.password_confirmation) {
        Ok(password) => password,
        Err((field, message)) => {
            let mut errors = FormErrors::default();
            errors.add(field, message);
            let page = ResetPage { ctx, token: token.0, valid: true, errors };
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    // Hash before taking the row lock: hashing is the slow part.
    let hash = state.passwords.hash(password.as_str()).await?;
    let mut tx = state.pool.begin().await?;
    if links::reset_password(&mut tx, &token, &hash).await?.is_none() {
        let page = ResetPage { ctx, token: token.0, valid: false, errors: FormErrors::default() };
        return render_with(StatusCode::GONE, &page);
    }
    flash::done(tx, &session, "Your password has been changed. Sign in with your new password.", "/login")
        .await
}
