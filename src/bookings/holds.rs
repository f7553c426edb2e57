//! The booking moves that money causes, for places held while a parent pays by card
//! (see `payments::holds`): paid in full, a booking awaiting payment goes on to the
//! office or is confirmed; its hold ended unpaid, it lapses and payments gives back
//! what it took. Payments says what happened (`Settled`); these make the moves in the
//! caller's transaction, so payments never reaches up into bookings.

use sqlx::PgConnection;

use super::{Transition, domain::BookingStatus, store, store::SessionInfo};
use crate::{
    AppState,
    error::AppResult,
    ids::BookingId,
    payments::{
        cancellation::settle,
        holds::{self, BookingMove, Settled},
    },
};

/// Whether a booking of these sessions must be paid by card before it goes ahead.
pub fn pay_first(state: &AppState, sessions: &[SessionInfo]) -> bool {
    state.stripe.is_some() && sessions.iter().any(|s| s.pay_at_booking)
}

/// Makes the booking moves a payment (or an ended hold) caused, in order, in the
/// caller's transaction. Returns every card refund to send once it has committed.
pub async fn carry_out(state: &AppState, conn: &mut PgConnection, settled: Settled) -> AppResult<Vec<i64>> {
    let mut refunds = settled.card_refunds;
    for change in settled.moves {
        match change {
            BookingMove::Paid(id) => go_on(state, conn, id).await?,
            BookingMove::HoldEnded(id) => refunds.extend(lapse_if_unpaid(state, conn, id).await?),
        }
    }
    Ok(refunds)
}

/// A booking paid in full while its places were held goes to the office, or is
/// confirmed when its activities need no approval.
async fn go_on(state: &AppState, conn: &mut PgConnection, id: BookingId) -> AppResult<()> {
    let to = if store::requires_approval(conn, id).await? {
        BookingStatus::Pending
    } else {
        BookingStatus::Approved
    };
    super::transition(state, conn, id, to, None, "Paid").await?;
    Ok(())
}

/// Lets an awaiting booking's places go when its payment can no longer come: no
/// Checkout Session of it is still open. Credits its places used and the use of its
/// discount code come back, and anything paid towards it is refunded. Returns card
/// refunds to send after commit.
async fn lapse_if_unpaid(state: &AppState, conn: &mut PgConnection, id: BookingId) -> AppResult<Vec<i64>> {
    if store::lock_status(conn, id).await? != Some(BookingStatus::AwaitingPayment)
        || holds::checkout_open(conn, id).await?
    {
        return Ok(Vec::new());
    }
    match super::transition(state, conn, id, BookingStatus::Lapsed, None, holds::NOT_PAID).await? {
        Transition::Done => holds::release_lapsed(state, conn, id).await,
        Transition::NotAllowed(_) | Transition::Missing => Ok(Vec::new()),
    }
}

/// Every minute: ends the holds whose time is up, in case Stripe's webhook did not
/// come (or is not set up).
pub async fn sweep(state: &AppState) -> AppResult<()> {
    for id in holds::overdue(&state.pool).await? {
        if let Err(err) = end_hold(state, id).await {
            tracing::warn!(error = ?err, booking_id = id.0, "Could not end a payment hold; trying again next minute");
        }
    }
    Ok(())
}

/// Asks Stripe what became of the booking's open sessions (outside any transaction),
/// then in one transaction records it and lapses the booking if nothing was paid.
async fn end_hold(state: &AppState, id: BookingId) -> AppResult<()> {
    let ending = holds::ask_stripe(state, id).await?;
    let mut tx = state.pool.begin().await?;
    let settled = holds::record_ending(state, &mut tx, id, ending).await?;
    let refunds = carry_out(state, &mut tx, settled).await?;
    tx.commit().await?;
    settle(state, &refunds).await;
    Ok(())
}
