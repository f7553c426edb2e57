//! `/admin/time-off`: trainers' requests, approved (their clashing shifts become open
//! shifts first, as the database requires, and the coordinators are told) or declined.

use askama::Template;
use axum::{
    Form,
    extract::State,
    response::{IntoResponse, Redirect, Response},
};
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
    ids::{TimeOffRequestId, UserId},
    web::{
        PageContext, Path,
        flash::{self, FlashKind},
        fmt,
        form::render,
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
    pub requests: Vec<Line>,
}

pub async fn index(State(state): State<AppState>, admin: Admin, ctx: PageContext) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let requests = store::time_off(&mut conn)
        .await?
        .into_iter()
        .map(|row| Line {
            when: match (row.starts, row.ends) {
                (Some(from), Some(to)) => format!("{} to {}", fmt::day_time(from, tz), fmt::day_time(to, tz)),
                _ => String::new(),
            },
            row,
        })
        .collect();
    render(&TimeOffPage { ctx, requests })
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
    match actions::approve_time_off(&mut tx, &state, UserId(admin.0.id), id, &form.parse()).await? {
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
    match actions::decline_time_off(&mut tx, &state, UserId(admin.0.id), id, &form.parse()).await? {
        Ok(trainer) => {
            flash::done(tx, &session, format!("{trainer}'s time off is declined."), TIME_OFF).await
        }
        Err(decided) => already_decided(&session, decided).await,
    }
}
