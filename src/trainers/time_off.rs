//! `/admin/time-off`: trainers' requests, approved (their clashing shifts become open
//! shifts first, as the database requires, and the coordinators are told) or declined.

use askama::Template;
use axum::{
    Form,
    extract::State,
    response::{IntoResponse, Redirect, Response},
};
use time::OffsetDateTime;
use tower_sessions::Session;

use super::{
    actions::{self, AlreadyDecided},
    domain::DecisionForm,
    store,
};
use crate::{
    AppState,
    auth::Admin,
    catalogue::EDITORS,
    error::AppResult,
    ids::TimeOffRequestId,
    web::{
        PageContext, Path,
        flash::{self, FlashKind},
        fmt,
        form::{QueryFields, render},
        page::{Cursor, Order, PageRequest, Pager},
    },
};

const TIME_OFF: &str = "/admin/time-off";

pub struct Line {
    pub row: store::TimeOffRow,
    pub when: String,
}

#[derive(Template)]
#[template(path = "trainers/time_off.html")]
pub struct TimeOffPage {
    pub ctx: PageContext,
    /// Waiting for a decision, by when they start.
    pub pending: Vec<Line>,
    pub pending_pager: Pager,
    /// Decided in the last 30 days, by when they start.
    pub decided: Vec<Line>,
    pub decided_pager: Pager,
}

/// The two lists page on their own: `after`/`before` for the waiting requests,
/// `decided_after`/`decided_before` for the decided ones.
pub async fn index(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let tz = state.config.timezone;
    let line = |row: store::TimeOffRow| Line {
        when: format!("{} to {}", fmt::day_time(row.starts, tz), fmt::day_time(row.ends, tz)),
        row,
    };
    let at = |r: &store::TimeOffRow| Cursor::new(r.starts, r.id.0);
    let mut conn = state.pool.acquire().await?;
    let pending: PageRequest<OffsetDateTime> = PageRequest::from_query(&query, Order::Ascending);
    let rows = store::pending_time_off(&mut conn, &pending).await?;
    let pending = pending.finish(rows, at, TIME_OFF, &query).map(line);
    let decided: PageRequest<OffsetDateTime> =
        PageRequest::named(&query, Order::Ascending, "decided_after", "decided_before");
    let rows = store::decided_time_off(&mut conn, &decided).await?;
    let decided = decided.finish(rows, at, TIME_OFF, &query).map(line);
    render(&TimeOffPage {
        ctx,
        pending: pending.rows,
        pending_pager: pending.pager,
        decided: decided.rows,
        decided_pager: decided.pager,
    })
}

async fn already_decided(session: &Session, _: AlreadyDecided) -> AppResult<Response> {
    flash::push(session, FlashKind::Error, "Nothing changed: that request has already been decided.").await?;
    Ok(Redirect::to(TIME_OFF).into_response())
}

pub async fn approve(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(id): Path<TimeOffRequestId>,
    Form(form): Form<DecisionForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let mut tx = state.pool.begin().await?;
    match actions::approve_time_off(&mut tx, &state, admin.0.id, id, &form.parse()).await? {
        Ok((trainer, opened)) => {
            let message = format!(
                "{trainer}'s time off is approved; {opened} shift(s) are open again and the coordinators have been told."
            );
            flash::done(tx, &session, message, TIME_OFF).await
        }
        Err(decided) => already_decided(&session, decided).await,
    }
}

pub async fn decline(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(id): Path<TimeOffRequestId>,
    Form(form): Form<DecisionForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let mut tx = state.pool.begin().await?;
    match actions::decline_time_off(&mut tx, &state, admin.0.id, id, &form.parse()).await? {
        Ok(trainer) => {
            flash::done(tx, &session, format!("{trainer}'s time off is declined."), TIME_OFF).await
        }
        Err(decided) => already_decided(&session, decided).await,
    }
}
