//! `/parent/account` (details, `Download my data`, `Close my account`) and the owner's
//! `/admin/erasure-requests`.

use askama::Template;
use axum::{
    Form,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use time::OffsetDateTime;
use tower_sessions::Session;

use super::{
    actions,
    domain::{CarryOutForm, CloseForm, DeclineForm, ErasureStatus},
    erasure::{self, FamilySummary, Refused},
    export, store,
};
use crate::{
    AppState,
    auth::{Admin, Parent},
    error::{AppError, AppResult},
    families,
    ids::ErasureRequestId,
    web::{
        FormErrors, PageContext, Path,
        flash::{self, FlashKind},
        fmt,
        form::{QueryFields, render, render_with},
    },
};

// The parent's account ------------------------------------------------------------------

/// A request as the parent or the owner sees it.
pub struct RequestView {
    pub id: ErasureRequestId,
    pub status: ErasureStatus,
    pub name: String,
    pub email: String,
    pub reason: String,
    pub decision_reason: String,
    pub requested: String,
    pub decided: String,
    pub decided_by: String,
}

impl RequestView {
    fn new(row: store::RequestRow, tz: &time_tz::Tz) -> Self {
        Self {
            id: row.id,
            status: row.status,
            name: row.name,
            email: row.email,
            reason: row.reason,
            decision_reason: row.decision_reason,
            requested: fmt::day_time(row.created_at, tz),
            decided: row.decided_at.map(|at| fmt::day_time(at, tz)).unwrap_or_default(),
            decided_by: row.decided_by_name.unwrap_or_default(),
        }
    }

    pub fn is_pending(&self) -> bool {
        self.status == ErasureStatus::Pending
    }

    pub fn is_declined(&self) -> bool {
        self.status == ErasureStatus::Declined
    }
}

#[derive(Template)]
#[template(path = "data_rights/account.html")]
pub struct AccountPage {
    pub ctx: PageContext,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub children: i64,
    pub files: Vec<&'static str>,
    pub pending: Option<RequestView>,
    pub last_decided: Option<RequestView>,
    pub form: CloseForm,
    pub errors: FormErrors,
}

async fn account_page(
    state: &AppState,
    ctx: PageContext,
    parent_id: i64,
    form: CloseForm,
    errors: FormErrors,
) -> AppResult<AccountPage> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let profile = families::store::profile(&mut conn, parent_id).await?.ok_or(AppError::NotFound)?;
    let children = sqlx::query_scalar!(
        r#"select count(*) as "children!" from children where parent_id = $1 and archived_at is null"#,
        parent_id
    )
    .fetch_one(&mut *conn)
    .await?;
    let pending = store::pending_for(&mut conn, parent_id).await?.map(|r| RequestView::new(r, tz));
    let last_decided =
        store::latest_decided_for(&mut conn, parent_id).await?.map(|r| RequestView::new(r, tz));
    Ok(AccountPage {
        ctx,
        name: profile.name,
        email: profile.email,
        phone: profile.phone.unwrap_or_default(),
        children,
        files: export::dataset_names().collect(),
        pending,
        last_decided,
        form,
        errors,
    })
}

pub async fn account(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
) -> AppResult<Response> {
    render(&account_page(&state, ctx, parent.id.0, CloseForm::default(), FormErrors::default()).await?)
}

/// The ZIP of everything about the signed-in family (never anyone else's: the only
/// input is the session's user).
pub async fn export(State(state): State<AppState>, Parent(parent): Parent) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let zip = actions::export(&mut tx, parent.id.0).await?;
    tx.commit().await?;
    let today = OffsetDateTime::now_utc().date();
    let disposition = format!("attachment; filename=\"portico-my-data-{today}.zip\"");
    Ok((
        [(header::CONTENT_TYPE, "application/zip".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        zip,
    )
        .into_response())
}

pub async fn request_closure(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    session: Session,
    Form(form): Form<CloseForm>,
) -> AppResult<Response> {
    let closure = match form.parse() {
        Ok(closure) => closure,
        Err(errors) => {
            let page = account_page(&state, ctx, parent.id.0, form, errors).await?;
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let mut tx = state.pool.begin().await?;
    if actions::request_closure(&mut tx, parent.id.0, &closure).await?.is_err() {
        flash::push(&session, FlashKind::Info, "Your request to close your account is already waiting.")
            .await?;
        return Ok(Redirect::to("/parent/account").into_response());
    }
    flash::done(
        tx,
        &session,
        "We have your request to close your account. The office will erase your details and email you.",
        "/parent/account",
    )
    .await
}

pub async fn withdraw_closure(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    if actions::withdraw_closure(&mut tx, parent.id.0).await?.is_err() {
        flash::push(&session, FlashKind::Info, "No request to close your account is waiting.").await?;
        return Ok(Redirect::to("/parent/account").into_response());
    }
    flash::done(tx, &session, "Your request is withdrawn: your account stays open.", "/parent/account").await
}

// The owner's erasure requests ----------------------------------------------------------

#[derive(Template)]
#[template(path = "data_rights/requests.html")]
pub struct RequestsPage {
    pub ctx: PageContext,
    pub all: bool,
    pub requests: Vec<RequestView>,
    /// Query strings for the older and newer pages, when there are any.
    pub next: Option<String>,
    pub previous: Option<String>,
}

pub async fn requests(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(&[])?;
    let all = query.get("status") == Some("all");
    let filter = if all { store::Filter::All } else { store::Filter::Pending };
    let (before, after) = (query.id("before").map(ErasureRequestId), query.id("after").map(ErasureRequestId));
    let mut conn = state.pool.acquire().await?;
    let mut rows = store::page(&mut conn, filter, before, after.filter(|_| before.is_none())).await?;
    let more = rows.len() as i64 > store::PAGE_SIZE;
    rows.truncate(store::PAGE_SIZE as usize);
    let backwards = after.is_some() && before.is_none();
    if backwards {
        rows.reverse();
    }
    let status = if all { "status=all&" } else { "" };
    let (first, last) = (rows.first().map(|r| r.id), rows.last().map(|r| r.id));
    // Paging backwards, "more" means newer ones; forwards, older ones.
    let next = last.filter(|_| if backwards { true } else { more }).map(|id| format!("?{status}before={id}"));
    let previous = first
        .filter(|_| if backwards { more } else { before.is_some() })
        .map(|id| format!("?{status}after={id}"));
    let tz = state.config.timezone;
    let requests = rows.into_iter().map(|r| RequestView::new(r, tz)).collect();
    render(&RequestsPage { ctx, all, requests, next, previous })
}

#[derive(Template)]
#[template(path = "data_rights/request.html")]
pub struct RequestPage {
    pub ctx: PageContext,
    pub request: RequestView,
    pub summary: FamilySummary,
    pub decline_reason: String,
    pub errors: FormErrors,
}

async fn request_page(
    state: &AppState,
    ctx: PageContext,
    id: ErasureRequestId,
    decline_reason: String,
    errors: FormErrors,
) -> AppResult<RequestPage> {
    let mut conn = state.pool.acquire().await?;
    let row = store::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let summary = erasure::family_summary(&mut conn, row.user_id).await?;
    let request = RequestView::new(row, state.config.timezone);
    Ok(RequestPage { ctx, request, summary, decline_reason, errors })
}

pub async fn request(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    Path(id): Path<ErasureRequestId>,
) -> AppResult<Response> {
    admin.require(&[])?;
    render(&request_page(&state, ctx, id, String::new(), FormErrors::default()).await?)
}

const ALREADY_DECIDED: &str = "This request has already been decided.";

fn request_url(id: ErasureRequestId) -> String {
    format!("/admin/erasure-requests/{id}")
}

pub async fn carry_out(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<ErasureRequestId>,
    Form(form): Form<CarryOutForm>,
) -> AppResult<Response> {
    admin.require(&[])?;
    if let Err(errors) = form.parse() {
        let page = request_page(&state, ctx, id, String::new(), errors).await?;
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let mut tx = state.pool.begin().await?;
    match erasure::carry_out(&state, &mut tx, id, admin.0.id.0).await? {
        Ok(erased) => {
            let message = format!(
                "Account #{} is erased ({} children anonymised). We have emailed the parent.",
                erased.user_id, erased.children
            );
            flash::done(tx, &session, message, &request_url(id)).await
        }
        Err(Refused::NotPending) => {
            store::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
            drop(tx);
            flash::push(&session, FlashKind::Error, ALREADY_DECIDED).await?;
            Ok(Redirect::to(&request_url(id)).into_response())
        }
        Err(Refused::FutureBookings(count)) => {
            drop(tx);
            let mut errors = FormErrors::default();
            errors.add(
                "confirm",
                format!(
                    "This family has {count} booking{} still to come. Cancel {} first from Bookings \
                     (refunds and credits are settled there), then carry out the request.",
                    if count == 1 { "" } else { "s" },
                    if count == 1 { "it" } else { "them" },
                ),
            );
            let page = request_page(&state, ctx, id, String::new(), errors).await?;
            render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

pub async fn decline(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<ErasureRequestId>,
    Form(form): Form<DeclineForm>,
) -> AppResult<Response> {
    admin.require(&[])?;
    let reason = match form.parse() {
        Ok(reason) => reason,
        Err(errors) => {
            let page = request_page(&state, ctx, id, form.reason, errors).await?;
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let mut tx = state.pool.begin().await?;
    let declined =
        actions::decline(&mut tx, &state.outbox, &state.config.base_url, admin.0.id.0, id, &reason).await?;
    if declined.is_err() {
        drop(tx);
        flash::push(&session, FlashKind::Error, ALREADY_DECIDED).await?;
        return Ok(Redirect::to(&request_url(id)).into_response());
    }
    flash::done(tx, &session, "The request is declined; we have emailed the parent.", &request_url(id)).await
}
