//! `/admin/time-off`: trainers' requests, approved (their clashing shifts become open
//! shifts first, as the database requires, and the coordinators are told) or declined.

use askama::Template;
use axum::{
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
};
use serde_json::json;
use tower_sessions::Session;

use super::store;
use crate::{
    AppState, audit,
    auth::Admin,
    bookings::parse_id,
    catalogue::EDITORS,
    error::{AppError, AppResult},
    notifications::Email,
    web::{
        PageContext,
        flash::{self, FlashKind},
        fmt,
        form::{Fields, render},
    },
};

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

async fn already_decided(session: &Session) -> AppResult<Response> {
    flash::push(session, FlashKind::Error, "Nothing changed: that request has already been decided.").await?;
    Ok(Redirect::to("/admin/time-off").into_response())
}

pub async fn approve(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let tz = state.config.timezone;
    let id = parse_id(&id)?;
    let note = form.get("note").unwrap_or_default().chars().take(500).collect::<String>();
    let mut tx = state.pool.begin().await?;
    let Some(request) = store::lock_pending_time_off(&mut tx, id).await? else {
        drop(tx);
        return exists_or_404(&state, &session, id).await;
    };
    // Shifts first: the time_off_clear_of_shifts trigger refuses approval while any clash.
    let opened = store::open_clashing_shifts(&mut tx, id).await?;
    store::decide_time_off(&mut tx, id, "approved", admin.0.id, &note).await?;
    audit::record(&mut tx).by(admin.0.id).action("time_off.approved").entity("time_off_request", id).before(json!({ "status": "pending" })).after(json!({ "status": "approved", "shifts_opened": opened.iter().map(|o| o.shift_id).collect::<Vec<_>>() }))
        .await?;
    if !opened.is_empty() {
        let list: Vec<String> = opened
            .iter()
            .map(|o| format!("- {} on {}", o.activity, fmt::day_time(o.starts_at, tz)))
            .collect();
        for to in store::coordinator_emails(&mut tx).await? {
            let email = Email {
                to,
                subject: format!("Open shifts: {} has time off", request.trainer),
                body: format!(
                    "{}'s time off ({}) is approved. These shifts are open again and need someone:\n\n{}\n\n\
                     See them at {}/admin/sessions\n",
                    request.trainer,
                    request.kind,
                    list.join("\n"),
                    state.config.base_url
                ),
            };
            state.outbox.queue(&mut tx, &email).await?;
        }
    }
    let when = time_off_when(&request, tz);
    let mut body =
        format!("Hello {},\n\nYour time off ({}{when}) is approved.\n", request.trainer, request.kind);
    if !note.is_empty() {
        body.push_str(&format!("\nFrom the office: {note}\n"));
    }
    if !opened.is_empty() {
        body.push_str(&format!(
            "\n{} shift(s) of yours in that time are no longer yours; the office will cover them.\n",
            opened.len()
        ));
    }
    let to = store::user_email(&mut tx, request.trainer_id).await?;
    state.outbox.queue(&mut tx, &Email { to, subject: "Time off approved".into(), body }).await?;
    tx.commit().await?;
    let message = format!(
        "{}'s time off is approved; {} shift(s) are open again and the coordinators have been told.",
        request.trainer,
        opened.len()
    );
    flash::push(&session, FlashKind::Success, message).await?;
    Ok(Redirect::to("/admin/time-off").into_response())
}

pub async fn decline(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let id = parse_id(&id)?;
    let note = form.get("note").unwrap_or_default().chars().take(500).collect::<String>();
    let mut tx = state.pool.begin().await?;
    let Some(request) = store::lock_pending_time_off(&mut tx, id).await? else {
        drop(tx);
        return exists_or_404(&state, &session, id).await;
    };
    store::decide_time_off(&mut tx, id, "declined", admin.0.id, &note).await?;
    audit::record(&mut tx)
        .by(admin.0.id)
        .action("time_off.declined")
        .entity("time_off_request", id)
        .before(json!({ "status": "pending" }))
        .after(json!({ "status": "declined", "note": note }))
        .await?;
    let when = time_off_when(&request, state.config.timezone);
    let mut body =
        format!("Hello {},\n\nYour time off ({}{when}) is declined.\n", request.trainer, request.kind);
    if !note.is_empty() {
        body.push_str(&format!("\nFrom the office: {note}\n"));
    }
    body.push_str("\nYour shifts in that time stay yours. Speak to the office if you need to.\n");
    let to = store::user_email(&mut tx, request.trainer_id).await?;
    state.outbox.queue(&mut tx, &Email { to, subject: "Time off declined".into(), body }).await?;
    flash::done(tx, &session, format!("{}'s time off is declined.", request.trainer), "/admin/time-off").await
}

/// ", 1 Dec 09:00 to 5 Dec 17:00": the span of a request, for its emails.
fn time_off_when(request: &store::TimeOffRow, tz: &time_tz::Tz) -> String {
    match (request.starts, request.ends) {
        (Some(from), Some(to)) => format!(", {} to {}", fmt::day_time(from, tz), fmt::day_time(to, tz)),
        _ => String::new(),
    }
}

async fn exists_or_404(state: &AppState, session: &Session, id: i64) -> AppResult<Response> {
    let exists: bool = sqlx::query_scalar("select exists (select 1 from time_off_requests where id = $1)")
        .bind(id)
        .fetch_one(&state.pool)
        .await?;
    if exists { already_decided(session).await } else { Err(AppError::NotFound) }
}
