//! Sign-up, the parent's profile, and the office opening an account for a family.

use askama::Template;
use axum::{
    Form,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use axum_login::AuthnBackend;
use base64::Engine;
use tower_sessions::Session;

use super::{
    actions::{self, Refused, Welcome},
    domain::{NewFamilyForm, ProfileForm, SignupForm},
    store,
};
use crate::{
    AppState,
    auth::{
        self, Admin, AdminRole, AuthSession, Parent,
        client_ip::ClientIp,
        csrf,
        links::{self, LinkToken},
        throttle,
    },
    children::{self, ChecklistEntry, domain::ChecklistForm},
    error::{AppError, AppResult},
    ids::ChecklistItemId,
    web::{
        FormErrors, PageContext, Path,
        flash::{self, FlashKind},
        form::{QueryFields, render, render_with},
        next::local_path,
    },
};

// Sign-up -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "families/signup.html")]
pub struct SignupPage {
    pub ctx: PageContext,
    pub form: SignupForm,
    pub errors: FormErrors,
}

/// Where a new account goes once confirmed, kept in the visitor's session meanwhile
/// (the emailed link is opened in the same browser as a rule).
const NEXT_KEY: &str = "signup.next";

pub async fn signup_form(ctx: PageContext, QueryFields(query): QueryFields) -> AppResult<Response> {
    if let Some(user) = &ctx.user {
        return Ok(Redirect::to(user.role.portal()).into_response());
    }
    let next = query.get("next").and_then(local_path).unwrap_or_default().to_owned();
    render(&SignupPage {
        ctx,
        form: SignupForm { next, ..SignupForm::default() },
        errors: FormErrors::default(),
    })
}

/// Answers alike for a new and a taken address, doing the same work for both: the
/// address is proved by the emailed link before any account exists, and the owner of
/// a taken one is told by email instead (see `notifications::account_requests`).
pub async fn signup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    ctx: PageContext,
    Form(form): Form<SignupForm>,
) -> AppResult<Response> {
    let signup = match form.parse() {
        Ok(signup) => signup,
        Err(errors) => return signup_again(ctx, form, errors),
    };
    if !throttle::allow_public_form(&state.pool, "sign-up", ip).await? {
        let mut errors = FormErrors::default();
        errors.add("email", throttle::PUBLIC_FORM_BUSY);
        let mut form = form;
        form.password.clear();
        form.password_confirmation.clear();
        return render_with(StatusCode::TOO_MANY_REQUESTS, &SignupPage { ctx, form, errors });
    }
    // Hash before the transaction: hashing is the slow part.
    let hash = state.passwords.hash(signup.password.as_str()).await?;
    let mut tx = state.pool.begin().await?;
    actions::request_signup(&mut tx, &state.account_requests, &signup.parent, &hash).await?;
    tx.commit().await?;
    if let Some(next) = local_path(&form.next) {
        session
            .insert(NEXT_KEY, next)
            .await
            .map_err(|e| anyhow::anyhow!("Failed to keep where to go next: {e}"))?;
    }
    render(&SignupSentPage { ctx, email: signup.parent.email.as_str().to_owned() })
}

#[derive(Template)]
#[template(path = "families/signup_sent.html")]
pub struct SignupSentPage {
    pub ctx: PageContext,
    pub email: String,
}

#[derive(Template)]
#[template(path = "families/signup_confirm.html")]
pub struct SignupConfirmPage {
    pub ctx: PageContext,
    pub token: String,
    pub valid: bool,
    pub name: String,
}

/// The emailed link shows a button rather than acting at once: mail scanners open links.
pub async fn signup_confirm_form(
    State(state): State<AppState>,
    ctx: PageContext,
    Path(token): Path<LinkToken>,
) -> AppResult<Response> {
    let mut conn = state.pool.acquire().await?;
    let signup = links::find_signup(&mut conn, &token, false).await?;
    let status = if signup.is_some() { StatusCode::OK } else { StatusCode::GONE };
    let name = signup.map(|s| s.name).unwrap_or_default();
    render_with(status, &SignupConfirmPage { ctx, valid: !name.is_empty(), token: token.0, name })
}

/// Opens the account the link was sent for and signs its owner in.
pub async fn signup_confirm(
    State(state): State<AppState>,
    mut auth: AuthSession,
    ctx: PageContext,
    Path(token): Path<LinkToken>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let Some(user_id) = actions::confirm_signup(&mut tx, &token).await? else {
        let page = SignupConfirmPage { ctx, token: String::new(), valid: false, name: String::new() };
        return render_with(StatusCode::GONE, &page);
    };
    tx.commit().await?;

    let user = auth
        .backend
        .get_user(&crate::ids::UserId(user_id))
        .await
        .map_err(|err| anyhow::anyhow!("Failed to load the new parent: {err:?}"))?
        .ok_or_else(|| anyhow::anyhow!("the new parent {user_id} is missing"))?;
    auth.login(&user).await?;
    auth::mark_signed_in(&auth.session).await?;
    csrf::rotate(&auth.session).await?;
    tracing::info!(user.id = user.id.0, "signed up");
    let welcome = format!("Welcome to Portico, {}. Add your children to start booking.", user.first_name());
    flash::push(&auth.session, FlashKind::Success, welcome).await?;
    let next: Option<String> = auth.session.remove(NEXT_KEY).await.ok().flatten();
    let to = next.as_deref().and_then(local_path).unwrap_or(user.role.portal());
    Ok(Redirect::to(to).into_response())
}

/// The form again with a 422; passwords are never sent back.
fn signup_again(ctx: PageContext, mut form: SignupForm, errors: FormErrors) -> AppResult<Response> {
    form.password.clear();
    form.password_confirmation.clear();
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &SignupPage { ctx, form, errors })
}

// The parent's profile ------------------------------------------------------------------

#[derive(Template)]
#[template(path = "families/profile.html")]
pub struct ProfilePage {
    pub ctx: PageContext,
    pub email: String,
    pub form: ProfileForm,
    pub errors: FormErrors,
    pub checklist: Vec<ChecklistEntry>,
}

async fn profile_page(
    state: &AppState,
    ctx: PageContext,
    parent_id: i64,
    form: Option<ProfileForm>,
) -> AppResult<ProfilePage> {
    let mut conn = state.pool.acquire().await?;
    let row = store::profile(&mut conn, parent_id).await?.ok_or(AppError::NotFound)?;
    let checklist =
        ChecklistEntry::from_rows(children::store::parent_checklist(&mut conn, parent_id).await?, state);
    let form = form.unwrap_or_else(|| ProfileForm { name: row.name, phone: row.phone.unwrap_or_default() });
    Ok(ProfilePage { ctx, email: row.email, form, errors: FormErrors::default(), checklist })
}

pub async fn profile_form(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
) -> AppResult<Response> {
    render(&profile_page(&state, ctx, parent.id.0, None).await?)
}

pub async fn profile(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    session: Session,
    Form(form): Form<ProfileForm>,
) -> AppResult<Response> {
    let profile = match form.parse() {
        Ok(profile) => profile,
        Err(errors) => {
            let page = ProfilePage { errors, ..profile_page(&state, ctx, parent.id.0, Some(form)).await? };
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let mut tx = state.pool.begin().await?;
    actions::update_profile(&mut tx, parent.id.0, &profile).await?;
    flash::done(tx, &session, "Your details are saved.", "/parent/profile").await
}

pub async fn set_checklist_item(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path(item_id): Path<ChecklistItemId>,
    Form(form): Form<ChecklistForm>,
) -> AppResult<Response> {
    let done = form.parse();
    let mut tx = state.pool.begin().await?;
    let item = children::actions::set_parent_checklist_item(&mut tx, parent.id.0, item_id, done).await?;
    let message =
        if done { format!("“{item}” is done.") } else { format!("“{item}” is marked as not done.") };
    flash::done(tx, &session, message, "/parent/profile").await
}

// The office opens an account for a family --------------------------------------------

#[derive(Template)]
#[template(path = "families/new.html")]
pub struct NewFamilyPage {
    pub ctx: PageContext,
    pub form: NewFamilyForm,
    pub errors: FormErrors,
}

pub async fn new_family_form(admin: Admin, ctx: PageContext) -> AppResult<Response> {
    admin.require(&[AdminRole::Coordinator])?;
    render(&NewFamilyPage { ctx, form: NewFamilyForm::default(), errors: FormErrors::default() })
}

/// Creates the parent with a password nobody knows and emails them a link to choose
/// their own, in one transaction: no account without its email, nor the reverse.
pub async fn new_family(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Form(form): Form<NewFamilyForm>,
) -> AppResult<Response> {
    admin.require(&[AdminRole::Coordinator])?;
    let parent = match form.parse() {
        Ok(parent) => parent,
        Err(errors) => {
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &NewFamilyPage { ctx, form, errors });
        }
    };
    let secret: [u8; 32] = rand::random();
    let hash = state.passwords.hash(&base64::engine::general_purpose::STANDARD.encode(secret)).await?;
    let mut tx = state.pool.begin().await?;
    let welcome = Welcome { outbox: &state.outbox, base_url: &state.config.base_url };
    if let Err(Refused::EmailTaken) =
        actions::open_family(&mut tx, welcome, admin.0.id.0, &parent, &hash).await?
    {
        let mut errors = FormErrors::default();
        errors.add("email", "An account already uses this email.");
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &NewFamilyPage { ctx, form, errors });
    }
    let message = format!(
        "{}'s account is open. We have emailed {} a link to choose a password.",
        parent.name.as_str(),
        parent.email.as_str()
    );
    flash::done(tx, &session, message, "/admin/families/new").await
}
