//! The parent's waitlist pages: join a full session, see the queue, claim or withdraw.

use askama::Template;
use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
};
use time::OffsetDateTime;
use tower_sessions::Session;

use super::{
    offers,
    store::{self, WaitlistStatus},
};
use crate::{
    AppState,
    auth::Parent,
    bookings::{self, actions::ClaimRefused, domain::BookingStatus},
    error::{AppError, AppResult},
    ids::{ChildId, SessionId, WaitlistEntryId},
    payments,
    web::{
        PageContext, Path,
        flash::{self, FlashKind},
        fmt,
        form::{Form, QueryFields, render},
        page::{Cursor, Order, PageRequest, Pager},
    },
};

/// The children ticked to wait for a place (`child` repeats).
#[derive(serde::Deserialize)]
pub struct JoinForm {
    #[serde(default, rename = "child", deserialize_with = "crate::web::form::ids")]
    children: Vec<ChildId>,
}

pub async fn join(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path(session_id): Path<SessionId>,
    Form(JoinForm { children }): Form<JoinForm>,
) -> AppResult<Response> {
    let back = format!("/parent/sessions/{session_id}");
    if children.is_empty() {
        flash::push(&session, FlashKind::Error, "Choose which child to put on the waitlist.").await?;
        return Ok(Redirect::to(&back).into_response());
    }
    let mut tx = state.pool.begin().await?;
    let added = offers::join(&mut tx, session_id, parent.id.0, &children).await?.ok_or(AppError::NotFound)?;
    let message = if added == 0 {
        "Already on the waitlist."
    } else {
        "On the waitlist. We will email you if a place comes up."
    };
    flash::done(tx, &session, message, "/parent/waitlist").await
}

pub struct EntryLine {
    pub id: WaitlistEntryId,
    pub child: String,
    pub activity: String,
    pub when: String,
    pub offered_until: Option<String>,
    pub position: i64,
}

#[derive(Template)]
#[template(path = "waitlist/index.html")]
pub struct IndexPage {
    pub ctx: PageContext,
    /// Places offered (every one, on every page), then one page of the children waiting.
    pub entries: Vec<EntryLine>,
    pub pager: Pager,
}

fn entry_line(e: store::Entry, tz: &time_tz::Tz) -> EntryLine {
    EntryLine {
        id: e.id,
        child: e.child_name,
        activity: e.activity,
        when: fmt::day_time(e.starts_at, tz),
        offered_until: match e.status {
            WaitlistStatus::Offered => e.offer_expires_at.map(|t| fmt::day_time(t, tz)),
            WaitlistStatus::Waiting
            | WaitlistStatus::Claimed
            | WaitlistStatus::Expired
            | WaitlistStatus::Withdrawn => None,
        },
        position: e.position,
    }
}

/// `GET /parent/waitlist`: places offered first (they are urgent and few), then the
/// children waiting, fifty a page, soonest session first.
pub async fn index(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let page: PageRequest<OffsetDateTime> = PageRequest::from_query(&query, Order::Ascending);
    let mut conn = state.pool.acquire().await?;
    let offers = store::offers_for_parent(&mut conn, parent.id.0).await?;
    let waiting = store::waiting_for_parent(&mut conn, parent.id.0, &page).await?;
    let waiting = page.finish(waiting, |e| Cursor::new(e.starts_at, e.id.0), "/parent/waitlist", &query);
    let entries = offers.into_iter().chain(waiting.rows).map(|e| entry_line(e, tz)).collect();
    render(&IndexPage { ctx, entries, pager: waiting.pager })
}

pub async fn claim(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path(entry_id): Path<WaitlistEntryId>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let booked = match bookings::actions::claim_waitlist_offer(&state, &mut tx, &parent, entry_id).await? {
        Ok(booked) => booked,
        Err(refused) => {
            tx.rollback().await?;
            let message = match refused {
                ClaimRefused::OfferEnded => "That offer has ended: the place has gone to the next child.",
                ClaimRefused::Booking(_) => "That child is already booked on this session.",
            };
            flash::push(&session, FlashKind::Error, message).await?;
            return Ok(Redirect::to("/parent/waitlist").into_response());
        }
    };
    tx.commit().await?;
    if booked.status == BookingStatus::AwaitingPayment {
        return payments::pay_for_held_places(&state, &session, booked.id, &parent).await;
    }
    flash::push(&session, FlashKind::Success, "Place claimed. We have emailed you.").await?;
    Ok(Redirect::to(&format!("/parent/bookings/{}", booked.id)).into_response())
}

pub async fn withdraw(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path(entry_id): Path<WaitlistEntryId>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    if !offers::withdraw(&state, &mut tx, entry_id, parent.id.0).await? {
        return Err(AppError::NotFound);
    }
    flash::done(tx, &session, "Taken off the waitlist.", "/parent/waitlist").await
}
