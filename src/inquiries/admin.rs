//! The office's side: `/admin/inquiries` (paged, by status), an inquiry's page with its
//! replies and holds, replying, closing, and holding places — from an inquiry or a
//! session's page — then releasing a hold or booking named people into it.

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
    EDITORS, actions,
    domain::{HoldForm, InquiryStatus, ReplyForm},
    store::{self, Hold, Inquiry, Listed, Reply},
    views::HoldLine,
};
use crate::{
    AppState,
    auth::Admin,
    error::{AppError, AppResult},
    ids::{InquiryId, SessionId},
    web::{
        Choice, FormErrors, PageContext, Path,
        flash::{self, FlashKind},
        fmt,
        form::{QueryFields, render, render_with},
        page::{Cursor, Order, PageRequest, Pager},
    },
};

pub struct Row {
    pub row: Listed,
    pub received: String,
}

#[derive(Template)]
#[template(path = "inquiries/admin_index.html")]
pub struct IndexPage {
    pub ctx: PageContext,
    pub rows: Vec<Row>,
    pub tabs: Vec<Choice>,
    pub pager: Pager,
}

pub async fn index(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let tz = state.config.timezone;
    let status = query.get("status").and_then(InquiryStatus::parse);
    let request = PageRequest::from_query(&query, Order::Descending);
    let mut conn = state.pool.acquire().await?;
    let rows = store::page(&mut conn, &request, status).await?;
    drop(conn);
    let page = request.finish(rows, |r| Cursor::new(r.created_at, r.id.0), "/admin/inquiries", &query);
    let mut tabs = vec![Choice::new("/admin/inquiries", "All", status.is_none())];
    tabs.extend(InquiryStatus::ALL.into_iter().map(|s| {
        Choice::new(format!("/admin/inquiries?status={}", s.as_str()), s.label(), status == Some(s))
    }));
    let page = page.map(|row| Row { received: fmt::day_time(row.created_at, tz), row });
    render(&IndexPage { ctx, rows: page.rows, tabs, pager: page.pager })
}

pub struct ReplyLine {
    pub reply: Reply,
    pub at: String,
}

#[derive(Template)]
#[template(path = "inquiries/admin_show.html")]
pub struct ShowPage {
    pub ctx: PageContext,
    pub inquiry: Inquiry,
    pub received: String,
    pub replies: Vec<ReplyLine>,
    pub holds: Vec<HoldLine>,
    pub sessions: Vec<Choice>,
    pub reply: ReplyForm,
    pub hold: HoldForm,
    pub errors: FormErrors,
}

async fn show_page(
    state: &AppState,
    ctx: PageContext,
    id: InquiryId,
    reply: ReplyForm,
    hold: HoldForm,
    errors: FormErrors,
) -> AppResult<ShowPage> {
    let tz = state.config.timezone;
    let now = OffsetDateTime::now_utc();
    let mut conn = state.pool.acquire().await?;
    let inquiry = store::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let replies = store::replies(&mut conn, id).await?;
    let holds = store::holds_of_inquiry(&mut conn, id).await?;
    let sessions = store::hold_choices(&mut conn, inquiry.activity_id)
        .await?
        .into_iter()
        .map(|s| {
            let label = format!(
                "{} · {} · {} ({} left)",
                fmt::day_time(s.starts_at, tz),
                s.course,
                s.venue,
                s.places_left
            );
            Choice::new(s.id.to_string(), label, hold.session.trim() == s.id.to_string())
        })
        .collect();
    Ok(ShowPage {
        received: fmt::day_time(inquiry.created_at, tz),
        ctx,
        inquiry,
        replies: replies
            .into_iter()
            .map(|r| ReplyLine { at: fmt::day_time(r.created_at, tz), reply: r })
            .collect(),
        holds: holds.into_iter().map(|h| HoldLine::of(h, tz, now)).collect(),
        sessions,
        reply,
        hold: HoldForm { days: if hold.days.is_empty() { "7".into() } else { hold.days }, ..hold },
        errors,
    })
}

pub async fn show(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    Path(id): Path<InquiryId>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let page =
        show_page(&state, ctx, id, ReplyForm::default(), HoldForm::default(), FormErrors::default()).await?;
    render(&page)
}

pub async fn reply(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<InquiryId>,
    Form(form): Form<ReplyForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let body = match form.parse() {
        Ok(body) => body,
        Err(errors) => {
            let page = show_page(&state, ctx, id, form, HoldForm::default(), errors).await?;
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let mut tx = state.pool.begin().await?;
    let to = format!("/admin/inquiries/{id}");
    match actions::reply(&state, &mut tx, &admin.0, id, &body).await? {
        Ok(()) => flash::done(tx, &session, "Reply sent.", &to).await,
        Err(actions::Refused::Missing) => Err(AppError::NotFound),
        Err(actions::Refused::Closed) => {
            tx.rollback().await?;
            let mut errors = FormErrors::default();
            errors.add("body", "This inquiry is closed; it takes no more replies.");
            let page = show_page(&state, ctx, id, form, HoldForm::default(), errors).await?;
            render_with(StatusCode::CONFLICT, &page)
        }
    }
}

pub async fn close(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(id): Path<InquiryId>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let mut tx = state.pool.begin().await?;
    let to = format!("/admin/inquiries/{id}");
    match actions::close(&mut tx, &admin.0, id).await? {
        Ok(()) => flash::done(tx, &session, "Inquiry closed.", &to).await,
        Err(actions::Refused::Missing) => Err(AppError::NotFound),
        Err(actions::Refused::Closed) => {
            flash::push(&session, FlashKind::Info, "The inquiry was already closed.").await?;
            Ok(Redirect::to(&to).into_response())
        }
    }
}

/// What a refused hold says, by the field it is about.
fn hold_refusal(refused: &actions::HoldRefused) -> (&'static str, &'static str) {
    match refused {
        actions::HoldRefused::NotHoldable => ("session", "That date has started or was cancelled."),
        actions::HoldRefused::NotEnoughPlaces => ("places", "Not that many places are left on that date."),
    }
}

pub async fn hold(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<InquiryId>,
    Form(form): Form<HoldForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let again = |errors| show_page(&state, ctx, id, ReplyForm::default(), form.clone(), errors);
    let new = match form.parse(None) {
        Ok(new) => new,
        Err(errors) => return render_with(StatusCode::UNPROCESSABLE_ENTITY, &again(errors).await?),
    };
    let mut tx = state.pool.begin().await?;
    if store::lock_status(&mut tx, id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    match actions::place_hold(&mut tx, &admin.0, Some(id), &new).await? {
        Ok(_) => {
            let message = format!("{} places held for {} days.", new.places, new.lasts.whole_days());
            flash::done(tx, &session, message, &format!("/admin/inquiries/{id}")).await
        }
        Err(refused) => {
            tx.rollback().await?;
            let (field, message) = hold_refusal(&refused);
            let mut errors = FormErrors::default();
            errors.add(field, message);
            render_with(StatusCode::CONFLICT, &again(errors).await?)
        }
    }
}

/// The hold form on a session's own page (`sessions::pages::show` lists its holds).
pub async fn hold_on_session(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(id): Path<SessionId>,
    Form(form): Form<HoldForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let to = format!("/admin/sessions/{id}");
    let new = match form.parse(Some(id)) {
        Ok(new) => new,
        Err(errors) => {
            let first = ["places", "days", "held_for"].into_iter().find_map(|f| errors.get(f)).unwrap_or("");
            flash::push(&session, FlashKind::Error, format!("No places held: {first}")).await?;
            return Ok(Redirect::to(&to).into_response());
        }
    };
    let mut tx = state.pool.begin().await?;
    match actions::place_hold(&mut tx, &admin.0, None, &new).await? {
        Ok(_) => flash::done(tx, &session, format!("{} places held.", new.places), &to).await,
        Err(actions::HoldRefused::NotHoldable) if store::session_holdable(&mut tx, id).await?.is_none() => {
            Err(AppError::NotFound)
        }
        Err(refused) => {
            tx.rollback().await?;
            flash::push(&session, FlashKind::Error, format!("No places held: {}", hold_refusal(&refused).1))
                .await?;
            Ok(Redirect::to(&to).into_response())
        }
    }
}

/// Where to go back to after a hold changes: its inquiry, or its session.
fn back_to(hold: &Hold) -> String {
    match hold.inquiry_id {
        Some(inquiry) => format!("/admin/inquiries/{inquiry}"),
        None => format!("/admin/sessions/{}", hold.session_id),
    }
}

pub async fn release(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(id): Path<crate::ids::HoldId>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let mut tx = state.pool.begin().await?;
    match actions::release(&mut tx, &admin.0, id).await? {
        Some(hold) => {
            flash::done(tx, &session, "Hold released; the places are free again.", &back_to(&hold)).await
        }
        None => match store::lock_hold(&mut tx, id).await? {
            Some(hold) => {
                flash::push(&session, FlashKind::Info, "That hold had already ended.").await?;
                Ok(Redirect::to(&back_to(&hold)).into_response())
            }
            None => Err(AppError::NotFound),
        },
    }
}
