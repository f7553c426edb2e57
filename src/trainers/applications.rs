//! Trainer applications: anyone may apply at `/apply`; the office approves (the account
//! and profile are created, and the applicant emailed, in one transaction) or rejects
//! with a reason.

use askama::Template;
use axum::{
    Form,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;

use super::{
    actions::{self, ApplicationRefused},
    domain::{ApplicationStatus, PersonForm, RejectForm},
    store,
};
use crate::{
    AppState,
    auth::{Admin, client_ip::ClientIp, throttle},
    catalogue::EDITORS,
    error::AppResult,
    ids::{ApplicationId, UserId},
    web::{
        FormErrors, PageContext, Path,
        flash::{self, FlashKind},
        fmt,
        form::{render, render_with},
    },
};

const APPLICATIONS: &str = "/admin/trainers/applications";

#[derive(Template)]
#[template(path = "trainers/apply.html")]
pub struct ApplyPage {
    pub ctx: PageContext,
    pub form: PersonForm,
    pub errors: FormErrors,
    pub sent: bool,
}

pub async fn apply_form(
    ctx: PageContext,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> AppResult<Response> {
    let sent = query.as_deref() == Some("sent");
    render(&ApplyPage { ctx, form: PersonForm::default(), errors: FormErrors::default(), sent })
}

pub async fn apply(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ctx: PageContext,
    Form(form): Form<PersonForm>,
) -> AppResult<Response> {
    let person = match form.parse(true) {
        Ok(p) => p,
        Err(errors) => {
            return render_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ApplyPage { ctx, form, errors, sent: false },
            );
        }
    };
    if !throttle::allow_public_form(&state.pool, "trainer-application", ip).await? {
        let mut errors = FormErrors::default();
        errors.add("email", throttle::PUBLIC_FORM_BUSY);
        return render_with(StatusCode::TOO_MANY_REQUESTS, &ApplyPage { ctx, form, errors, sent: false });
    }
    let mut tx = state.pool.begin().await?;
    actions::apply(&mut tx, &person).await?;
    // The public page says "sent" itself: there is no session to carry a flash.
    tx.commit().await?;
    Ok(Redirect::to("/apply?sent").into_response())
}

pub struct ApplicationLine {
    pub row: store::ApplicationRow,
    pub received: String,
}

#[derive(Template)]
#[template(path = "trainers/applications.html")]
pub struct ApplicationsPage {
    pub ctx: PageContext,
    pub applications: Vec<ApplicationLine>,
    /// The application whose rejection came back, and the reason typed.
    pub failed: Option<ApplicationId>,
    pub reason: String,
    pub errors: FormErrors,
}

impl ApplicationsPage {
    pub fn is_failed(&self, id: &ApplicationId) -> bool {
        self.failed == Some(*id)
    }
}

async fn page(state: &AppState, ctx: PageContext) -> AppResult<ApplicationsPage> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let applications = store::applications(&mut conn)
        .await?
        .into_iter()
        .map(|row| ApplicationLine { received: fmt::day_time(row.created_at, tz), row })
        .collect();
    Ok(ApplicationsPage {
        ctx,
        applications,
        failed: None,
        reason: String::new(),
        errors: FormErrors::default(),
    })
}

pub async fn index(State(state): State<AppState>, admin: Admin, ctx: PageContext) -> AppResult<Response> {
    admin.require(EDITORS)?;
    render(&page(&state, ctx).await?)
}

/// Back to the list with why nothing changed.
async fn refused(session: &Session, refused: ApplicationRefused) -> AppResult<Response> {
    flash::push(session, FlashKind::Error, refused.message()).await?;
    Ok(Redirect::to(APPLICATIONS).into_response())
}

pub async fn approve(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(id): Path<ApplicationId>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let mut tx = state.pool.begin().await?;
    match actions::approve_application(&mut tx, &state, UserId(admin.0.id), id).await? {
        Ok((name, user_id)) => {
            let message = format!("{name} is approved: their account is open and they have been emailed.");
            flash::done(tx, &session, message, &format!("/admin/trainers/{user_id}")).await
        }
        Err(why) => refused(&session, why).await,
    }
}

pub async fn reject(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<ApplicationId>,
    Form(form): Form<RejectForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let reason = match form.parse() {
        Ok(reason) => reason,
        Err(message) => {
            let mut page = page(&state, ctx).await?;
            page.failed = Some(id);
            page.reason = form.reason;
            page.errors.add("reason", message);
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let mut tx = state.pool.begin().await?;
    match actions::reject_application(&mut tx, &state, UserId(admin.0.id), id, &reason).await? {
        Ok(name) => {
            let message = format!("{name}'s application is rejected; they have been emailed.");
            flash::done(tx, &session, message, APPLICATIONS).await
        }
        Err(why) => refused(&session, why).await,
    }
}
