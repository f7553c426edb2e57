//! Waitlists: join a full session, get offered a freed place by email and on the
//! dashboard, claim it before the offer expires or it passes to the next child.

pub mod store;

use askama::Template;
use axum::{
    Router,
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use sqlx::PgConnection;
use tower_sessions::Session;

use crate::{
    AppState,
    auth::Parent,
    bookings::{self, domain::BookingStatus, store::NewItem},
    error::{AppError, AppResult},
    notifications::Email,
    payments,
    web::{
        PageContext,
        flash::{self, FlashKind},
        fmt,
        form::{Fields, render},
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/parent/waitlist", get(index))
        .route("/parent/sessions/{id}/waitlist", post(join))
        .route("/parent/waitlist/{id}/claim", post(claim))
        .route("/parent/waitlist/{id}/withdraw", post(withdraw))
}

/// Offers the free places of `session_ids` to waiting children and queues their emails,
/// inside the caller's transaction.
pub async fn offer_free_places(
    state: &AppState,
    conn: &mut PgConnection,
    session_ids: &[i64],
) -> AppResult<()> {
    let tz = state.config.timezone;
    for offer in store::offer_free_places(conn, session_ids).await? {
        let email = Email {
            to: offer.parent_email.clone(),
            subject: format!("A place for {} at {}", offer.child_name, offer.activity),
            body: format!(
                "Hello {},\n\nA place has come up for {} at {} on {}. It is held for you until {}.\n\n\
                 Claim it here: {}/parent/waitlist\n\nIf you do not claim it by then, it goes to the next child waiting.\n",
                offer.parent_name,
                offer.child_name,
                offer.activity,
                fmt::day_time(offer.starts_at, tz),
                fmt::day_time(offer.offer_expires_at, tz),
                state.config.base_url,
            ),
        };
        state.outbox.queue(conn, &email).await?;
    }
    Ok(())
}

/// Expires unclaimed offers and passes their places on. One sweep; see `spawn_sweeper`.
pub async fn sweep(state: &AppState) -> AppResult<()> {
    let mut tx = state.pool.begin().await?;
    let sessions = store::expire_offers(&mut tx).await?;
    offer_free_places(state, &mut tx, &sessions).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn join(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> AppResult<Response> {
    let session_id = bookings::parse_id(&id)?;
    let back = format!("/parent/sessions/{session_id}");
    let children = form.ids("child");
    if children.is_empty() {
        flash::push(&session, FlashKind::Error, "Choose which child to put on the waitlist.").await?;
        return Ok(Redirect::to(&back).into_response());
    }
    let mut tx = state.pool.begin().await?;
    bookings::store::session(&mut tx, session_id).await?.ok_or(AppError::NotFound)?;
    let added = store::join(&mut tx, session_id, parent.id, &children).await?;
    tx.commit().await?;
    let message = if added == 0 {
        "Already on the waitlist.".to_owned()
    } else {
        "On the waitlist. We will email you if a place comes up.".to_owned()
    };
    flash::push(&session, FlashKind::Success, message).await?;
    Ok(Redirect::to("/parent/waitlist").into_response())
}

pub struct EntryLine {
    pub id: i64,
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
    pub entries: Vec<EntryLine>,
}

pub async fn index(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let entries = store::for_parent(&mut conn, parent.id)
        .await?
        .into_iter()
        .map(|e| EntryLine {
            id: e.id,
            child: e.child_name,
            activity: e.activity,
            when: fmt::day_time(e.starts_at, tz),
            offered_until: (e.status == "offered")
                .then(|| e.offer_expires_at.map(|t| fmt::day_time(t, tz)))
                .flatten(),
            position: e.position,
        })
        .collect();
    render(&IndexPage { ctx, entries })
}

pub async fn claim(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let entry_id = bookings::parse_id(&id)?;
    let mut tx = state.pool.begin().await?;
    let Some(offer) = store::take_offer(&mut tx, entry_id, parent.id).await? else {
        flash::push(
            &session,
            FlashKind::Error,
            "That offer has ended: the place has gone to the next child.",
        )
        .await?;
        return Ok(Redirect::to("/parent/waitlist").into_response());
    };
    let info = bookings::store::session(&mut tx, offer.session_id).await?.ok_or(AppError::NotFound)?;
    // An activity paid for when booking: the claimed place is held while the parent pays.
    let pay_first = offer.price_pence > 0 && payments::holds::pay_first(&state, std::slice::from_ref(&info));
    let (status, hold) = match (pay_first, info.requires_approval) {
        (true, _) => (BookingStatus::AwaitingPayment, Some(payments::holds::deadline())),
        (false, true) => (BookingStatus::Pending, None),
        (false, false) => (BookingStatus::Approved, None),
    };
    let mut items =
        [NewItem { session_id: offer.session_id, child_id: offer.child_id, price_pence: offer.price_pence }];
    let booking_id = match bookings::store::create(
        &mut tx,
        parent.id,
        parent.id,
        (status, hold),
        &mut items,
        "From the waitlist",
    )
    .await
    {
        Ok(id) => id,
        Err(bookings::store::BookingError::Database(err)) => return Err(err.into()),
        Err(_) => {
            flash::push(&session, FlashKind::Error, "That child is already booked on this session.").await?;
            return Ok(Redirect::to("/parent/waitlist").into_response());
        }
    };
    store::mark_claimed(&mut tx, entry_id, booking_id).await?;
    bookings::notify_created(&state, &mut tx, booking_id, status).await?;
    tx.commit().await?;
    if pay_first {
        return payments::pay_for_held_places(&state, &session, crate::ids::BookingId(booking_id), &parent)
            .await;
    }
    flash::push(&session, FlashKind::Success, "Place claimed. We have emailed you.").await?;
    Ok(Redirect::to(&format!("/parent/bookings/{booking_id}")).into_response())
}

pub async fn withdraw(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let entry_id = bookings::parse_id(&id)?;
    let mut tx = state.pool.begin().await?;
    let Some((session_id, was_offered)) = store::withdraw(&mut tx, entry_id, parent.id).await? else {
        return Err(AppError::NotFound);
    };
    if was_offered {
        offer_free_places(&state, &mut tx, &[session_id]).await?;
    }
    flash::done(tx, &session, "Taken off the waitlist.", "/parent/waitlist").await
}
