//! Cancelling a session: its bookings (or their places on it) with the families
//! emailed and paid places refunded, its shifts with the trainers emailed, and the
//! audit rows — one use case, called once per session by the session and series pages.

use serde_json::json;
use sqlx::PgConnection;

use super::store::{self, SessionRow};
use crate::{
    AppState, audit,
    auth::User,
    bookings::{Transition, domain::BookingStatus},
    error::AppResult,
    ids::{BookingId, SessionId},
    notifications::Email,
    payments::cancellation::refund_cancelled,
    web::fmt,
};

/// Cancels one scheduled session, locked by the caller. Paid places are refunded
/// (offline now; card refunds are queued into `card_refunds` for the caller to send
/// once committed). Returns how many bookings were cancelled or lost a place.
pub async fn cancel_session(
    state: &AppState,
    tx: &mut PgConnection,
    admin: &User,
    s: &SessionRow,
    reason: &str,
    card_refunds: &mut Vec<i64>,
) -> AppResult<usize> {
    let id = s.id;
    // Cancelled first, so the places released below are not offered to the waitlist.
    store::set_cancelled(&mut *tx, id).await?;
    store::close_waitlist(&mut *tx, id).await?;
    let when = fmt::day_time(s.starts_at, state.config.timezone);
    let why = format!("The {} session on {when} is cancelled: {reason}", s.activity);
    let mut cancelled = 0;
    for booking in store::bookings_on(&mut *tx, id).await? {
        let booking_id = BookingId(booking.booking_id);
        if booking.only_this_session {
            if cancel_booking(state, tx, admin, booking_id, &why, card_refunds).await? {
                cancelled += 1;
            }
        } else {
            // A booking for several sessions keeps the others; only this place goes,
            // with its paid share refunded (worked out while the place still counts).
            let refund =
                refund_cancelled(state, &mut *tx, booking_id, Some(&[id.into()]), &why, Some(admin.id.0))
                    .await?;
            card_refunds.extend(refund.card_refunds);
            store::release_places(&mut *tx, booking.booking_id, id).await?;
            audit::record(&mut *tx)
                .by(admin.id)
                .action("booking.place_released")
                .entity("booking", booking_id)
                .after(json!({ "session_id": id, "reason": why }))
                .await?;
            let email = Email {
                to: booking.parent_email.clone(),
                subject: format!("{} on {when} is cancelled", s.activity),
                body: format!(
                    "Hello {},\n\n{why}\n\nYour other sessions in this booking are unchanged. \
                     See your booking at {}/parent/bookings/{}\n",
                    booking.parent_name, state.config.base_url, booking.booking_id
                ),
            };
            state.outbox.queue(&mut *tx, &email).await?;
            cancelled += 1;
        }
    }
    cancel_shifts(state, tx, id, &s.activity, &when, &why).await?;
    audit::record(&mut *tx)
        .by(admin.id)
        .action("session.cancelled")
        .entity("session", id)
        .before(json!({ "status": s.status.key() }))
        .after(json!({ "status": "cancelled", "reason": reason, "bookings_cancelled": cancelled }))
        .await?;
    Ok(cancelled)
}

/// A booking for this session alone is cancelled whole and refunded; false if it had
/// already moved on (someone else acted first).
async fn cancel_booking(
    state: &AppState,
    tx: &mut PgConnection,
    admin: &User,
    booking_id: BookingId,
    why: &str,
    card_refunds: &mut Vec<i64>,
) -> AppResult<bool> {
    match crate::bookings::transition(state, &mut *tx, booking_id, BookingStatus::Cancelled, Some(admin), why)
        .await?
    {
        Transition::Done => {
            let refund = refund_cancelled(state, &mut *tx, booking_id, None, why, Some(admin.id.0)).await?;
            card_refunds.extend(refund.card_refunds);
            Ok(true)
        }
        Transition::NotAllowed(_) | Transition::Missing => Ok(false),
    }
}

/// The session's shifts are cancelled and their trainers emailed.
async fn cancel_shifts(
    state: &AppState,
    tx: &mut PgConnection,
    id: SessionId,
    activity: &str,
    when: &str,
    why: &str,
) -> AppResult<()> {
    for shift in store::cancel_shifts(&mut *tx, id).await? {
        if let (Some(to), Some(name)) = (shift.trainer_email, shift.trainer_name) {
            let email = Email {
                to,
                subject: format!("Shift cancelled: {activity} on {when}"),
                body: format!("Hello {name},\n\n{why}\n\nYour shift on it is cancelled.\n"),
            };
            state.outbox.queue(&mut *tx, &email).await?;
        }
    }
    Ok(())
}
