//! Places held while a parent pays. For an activity that asks for payment when booking
//! (and with card payment set up), a new booking waits in `awaiting_payment`, holding
//! its places, for as long as its Stripe Checkout Session is open. Paid, it goes on to
//! the office or is confirmed; if the session expires unpaid (Stripe's webhook, or the
//! every-minute sweep asking Stripe itself when no webhook came) the booking lapses
//! and its places go back, to the waitlist first. Money that reaches a booking which no
//! longer stands is refunded, so a late payment never takes a place someone else has.

use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};

use super::{
    cancellation::{Cause, QueuedRefund, queue_card_refund, refund_cancelled, settle},
    store,
};
use crate::{
    AppState,
    bookings::{self, Transition, domain::BookingStatus, store::SessionInfo},
    error::AppResult,
    notifications::Email,
    web::fmt,
};

/// How long places wait for a card payment: Stripe's shortest Checkout Session (30
/// minutes from its creation), with a minute to spare for the clocks.
const HOLD: Duration = Duration::minutes(31);

/// Why a booking lapsed, for its history and the parent's email.
const NOT_PAID: &str = "The card payment was not completed in time.";

/// When a hold starting now ends.
pub fn deadline() -> OffsetDateTime {
    OffsetDateTime::now_utc() + HOLD
}

/// Whether a booking of these sessions must be paid by card before it goes ahead.
pub fn pay_first(state: &AppState, sessions: &[SessionInfo]) -> bool {
    state.stripe.is_some() && sessions.iter().any(|s| s.pay_at_booking)
}

/// Sets when the booking's hold ends: its newest Checkout Session's expiry.
pub async fn set_deadline(
    conn: &mut PgConnection,
    booking_id: i64,
    until: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query("update bookings set payment_due_by = $2 where id = $1")
        .bind(booking_id)
        .bind(until)
        .execute(conn)
        .await?;
    Ok(())
}

/// After a payment is taken: an awaiting booking paid in full goes on (to the office,
/// or confirmed); card money the booking cannot take is queued to go back: all of it
/// if the booking no longer stands, the excess if it was paid twice. Returns the card
/// refunds to send once the caller's transaction has committed.
pub async fn after_payment(
    state: &AppState,
    conn: &mut PgConnection,
    payment: &store::Payment,
) -> AppResult<Vec<i64>> {
    let id = payment.booking_id;
    let Some(balance) = store::lock_balance(conn, crate::ids::BookingId(id)).await? else {
        return Ok(Vec::new());
    };
    let status = BookingStatus::parse(&balance.status);
    let card = matches!(payment.method, super::domain::Method::Card);
    let net = i64::from(payment.amount_pence) - i64::from(payment.refunded_pence);
    let mut refunds = Vec::new();
    if !status.is_some_and(BookingStatus::holds_places) {
        if card && net > 0 {
            let reason = format!(
                "Your payment for booking #{id} arrived after its places had been released, so we are \
                 refunding it in full."
            );
            refunds.push(refund_payment(state, conn, &balance, payment.id, net, &reason).await?);
        }
        return Ok(refunds);
    }
    let owed = i64::from(balance.total_pence) - balance.discount_pence - balance.paid_pence;
    if owed < 0 && card {
        let reason = format!("Booking #{id} was paid twice, so we are refunding what was paid over.");
        refunds.push(refund_payment(state, conn, &balance, payment.id, (-owed).min(net), &reason).await?);
    }
    if status == Some(BookingStatus::AwaitingPayment) && owed <= 0 {
        let approval = bookings::store::requires_approval(conn, crate::ids::BookingId(id)).await?;
        let to = if approval { BookingStatus::Pending } else { BookingStatus::Approved };
        bookings::transition(state, conn, crate::ids::BookingId(id), to, None, "Paid").await?;
    }
    Ok(refunds)
}

/// Queues a card refund of `amount` from one payment and tells the parent why.
async fn refund_payment(
    state: &AppState,
    conn: &mut PgConnection,
    balance: &store::Balance,
    payment_id: i64,
    amount: i64,
    reason: &str,
) -> AppResult<i64> {
    let pence = i32::try_from(amount).map_err(|_| anyhow::anyhow!("refund out of range"))?;
    let refund = QueuedRefund {
        payment_id,
        booking_id: balance.booking_id,
        amount_pence: pence,
        reason,
        actor_id: None,
        cause: Cause::Cancellation,
    };
    let queued = queue_card_refund(conn, &refund).await?;
    let email = Email {
        to: balance.parent_email.clone(),
        subject: format!("Refund for booking #{}", balance.booking_id),
        body: format!(
            "Hello {},\n\n{reason}\n\nWe are refunding you {}; card refunds reach your account within a few \
             days.\n\nYour payments: {}/parent/payments\n",
            balance.parent_name,
            fmt::pounds(amount),
            state.config.base_url,
        ),
    };
    state.outbox.queue(conn, &email).await?;
    Ok(queued)
}

/// Lets an awaiting booking's places go when its payment can no longer come: no
/// Checkout Session of it is still open. Credits its places used and the use of its
/// discount code come back, and anything paid towards it is refunded. Returns card
/// refunds to send after commit.
pub async fn lapse_if_unpaid(
    state: &AppState,
    conn: &mut PgConnection,
    booking_id: i64,
) -> AppResult<Vec<i64>> {
    if bookings::store::lock_status(conn, crate::ids::BookingId(booking_id)).await?
        != Some(BookingStatus::AwaitingPayment)
        || !store::open_checkouts(conn, booking_id).await?.is_empty()
    {
        return Ok(Vec::new());
    }
    match bookings::transition(
        state,
        conn,
        crate::ids::BookingId(booking_id),
        BookingStatus::Lapsed,
        None,
        NOT_PAID,
    )
    .await?
    {
        Transition::Done => {
            store::release_discount(conn, booking_id).await?;
            Ok(refund_cancelled(state, conn, crate::ids::BookingId(booking_id), None, NOT_PAID, None)
                .await?
                .card_refunds)
        }
        Transition::NotAllowed(_) | Transition::Missing => Ok(Vec::new()),
    }
}

/// Every minute: ends the holds whose time is up, in case Stripe's webhook did not
/// come (or is not set up).
pub async fn sweep(state: &AppState) -> AppResult<()> {
    let overdue: Vec<i64> = sqlx::query_scalar(
        "select id from bookings where status = 'awaiting_payment' and payment_due_by < now()
          order by payment_due_by limit 100",
    )
    .fetch_all(&state.pool)
    .await?;
    for id in overdue {
        if let Err(err) = end_hold(state, id).await {
            tracing::warn!(error = ?err, booking_id = id, "Could not end a payment hold; trying again next minute");
        }
    }
    Ok(())
}

/// Asks Stripe what became of each open session of the booking (closing any still
/// open, so it cannot be paid after its places go), records that, and lapses the
/// booking if nothing was paid. Stripe is asked outside any transaction; an answer
/// that does not come leaves the hold for the next sweep.
async fn end_hold(state: &AppState, booking_id: i64) -> AppResult<()> {
    let mut conn = state.pool.acquire().await?;
    let open = store::open_checkouts(&mut conn, booking_id).await?;
    drop(conn);
    let mut outcomes = Vec::new();
    if let Some(stripe) = state.stripe.as_ref() {
        for checkout in &open {
            let mut session = stripe.checkout_session(&checkout.session_id).await?;
            if session.status.as_deref() == Some("open") {
                session = stripe.expire_checkout(&checkout.session_id).await?;
            }
            outcomes.push((checkout.session_id.as_str(), session));
        }
    }
    let mut tx = state.pool.begin().await?;
    let mut refunds = Vec::new();
    if state.stripe.is_none() {
        // Card payment was switched off: these sessions can no longer be confirmed here.
        for checkout in &open {
            store::fail_checkout(&mut tx, &checkout.session_id).await?;
        }
    }
    for (session_id, session) in outcomes {
        if session.payment_status.as_deref() == Some("paid") {
            let intent = session.payment_intent.as_deref();
            refunds.extend(super::card::fulfil(state, &mut tx, session_id, intent).await?);
        } else if session.status.as_deref() == Some("expired") {
            store::fail_checkout(&mut tx, session_id).await?;
        }
    }
    refunds.extend(lapse_if_unpaid(state, &mut tx, booking_id).await?);
    tx.commit().await?;
    settle(state, &refunds).await;
    Ok(())
}

/// After a booking stops holding places (cancelled, rejected): closes its open
/// Checkout Sessions so they cannot be paid. Best effort; a payment that still
/// arrives is refunded by [`after_payment`].
pub async fn close_checkouts(state: &AppState, crate::ids::BookingId(booking_id): crate::ids::BookingId) {
    if let Err(err) = try_close_checkouts(state, booking_id).await {
        tracing::warn!(error = ?err, booking_id, "Checkout Session of a cancelled booking not closed");
    }
}

async fn try_close_checkouts(state: &AppState, booking_id: i64) -> AppResult<()> {
    let Some(stripe) = state.stripe.as_ref() else { return Ok(()) };
    let mut conn = state.pool.acquire().await?;
    for checkout in store::open_checkouts(&mut conn, booking_id).await? {
        let session = stripe.expire_checkout(&checkout.session_id).await?;
        if session.status.as_deref() == Some("expired") {
            store::fail_checkout(&mut conn, &checkout.session_id).await?;
        }
    }
    Ok(())
}
