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
use time::OffsetDateTime;
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
    ids::ApplicationId,
    web::{
        FormErrors, PageContext, Path,
        flash::{self, FlashKind},
        fmt,
        form::{Fields, QueryFields, render, render_with},
        page::{Cursor, Order, PageRequest, Pager},
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
    /// Waiting for a decision, oldest first.
    pub pending: Vec<ApplicationLine>,
    pub pending_pager: Pager,
    /// Decided in the last 60 days, oldest first.
    pub decided: Vec<ApplicationLine>,
    pub decided_pager: Pager,
    /// The list's query string (`?…` or empty): a rejection posts it back, so a
    /// refused one comes back on the pages it was sent from.
    pub here: String,
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

/// The two lists page on their own: `after`/`before` for the pending ones,
/// `decided_after`/`decided_before` for the decided ones.
async fn page(state: &AppState, ctx: PageContext, query: &Fields) -> AppResult<ApplicationsPage> {
    let tz = state.config.timezone;
    let line =
        |row: store::ApplicationRow| ApplicationLine { received: fmt::day_time(row.created_at, tz), row };
    let at = |r: &store::ApplicationRow| Cursor::new(r.created_at, r.id.0);
    let mut conn = state.pool.acquire().await?;
    let pending: PageRequest<OffsetDateTime> = PageRequest::from_query(query, Order::Ascending);
    let rows = store::pending_applications(&mut conn, &pending).await?;
    let pending = pending.finish(rows, at, APPLICATIONS, query).map(line);
    let decided: PageRequest<OffsetDateTime> =
        PageRequest::named(query, Order::Ascending, "decided_after", "decided_before");
    let rows = store::decided_applications(&mut conn, &decided).await?;
    let decided = decided.finish(rows, at, APPLICATIONS, query).map(line);
    let here = query_string(query);
    Ok(ApplicationsPage {
        ctx,
        pending: pending.rows,
        pending_pager: pending.pager,
        decided: decided.rows,
        decided_pager: decided.pager,
        here,
        failed: None,
        reason: String::new(),
        errors: FormErrors::default(),
    })
}

/// `?…` with the fields as they came, or nothing.
fn query_string(query: &Fields) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    out.extend_pairs(query.pairs());
    let pairs = out.finish();
    if pairs.is_empty() { pairs } else { format!("?{pairs}") }
}

pub async fn index(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    render(&page(&state, ctx, &query).await?)
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
    match actions::approve_application(&mut tx, &state, admin.0.id, id).await? {
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
    QueryFields(query): QueryFields,
    Form(form): Form<RejectForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let reason = match form.parse() {
        Ok(reason) => reason,
        Err(message) => {
            let mut page = page(&state, ctx, &query).await?;
            page.failed = Some(id);
            page.reason = form.reason;
            page.errors.add("reason", message);
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let mut tx = state.pool.begin().await?;
    match actions::reject_application(&mut tx, &state, admin.0.id, id, &reason).await? {
        Ok(name) => {
            let message = format!("{name}'s application is rejected; they have been emailed.");
            flash::done(tx, &session, message, APPLICATIONS).await
        }
        Err(why) => refused(&session, why).await,
    }
}
