//! Places held while a parent pays. For an activity that asks for payment when booking
//! (and with card payment set up), a new booking waits in `awaiting_payment`, holding
//! its places, for as long as its Stripe Checkout Session is open. Paid, it goes on to
//! the office or is confirmed; if the session expires unpaid (Stripe's webhook, or the
//! every-minute sweep asking Stripe itself when no webhook came) the booking lapses
//! and its places go back, to the waitlist first. Money that reaches a booking which no
//! longer stands is refunded, so a late payment never takes a place someone else has.
//!
//! Payments sits below bookings: it never moves a booking itself. What a payment or an
//! ended hold means for the booking comes back as [`Settled`], and the caller above
//! hands it to `bookings::holds::carry_out` in the same transaction.

use sqlx::{PgConnection, PgPool};
use time::{Duration, OffsetDateTime};

use super::{
    cancellation::{Cause, QueuedRefund, queue_card_refund, refund_cancelled},
    checkout::CheckoutSession,
    store,
};
use crate::{AppState, error::AppResult, ids::BookingId, notifications::Email, web::fmt};

/// How long places wait for a card payment: Stripe's shortest Checkout Session (30
/// minutes from its creation), with a minute to spare for the clocks.
const HOLD: Duration = Duration::minutes(31);

/// Why a booking lapsed, for its history and the parent's email.
pub const NOT_PAID: &str = "The card payment was not completed in time.";

/// When a hold starting now ends.
pub fn deadline() -> OffsetDateTime {
    OffsetDateTime::now_utc() + HOLD
}

/// A move of a booking that money caused, for bookings to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookingMove {
    /// The booking was awaiting payment and is now paid in full: it goes on.
    Paid(BookingId),
    /// A Checkout Session of the booking ended unpaid: if it still awaits payment and
    /// no other session is open, it lapses.
    HoldEnded(BookingId),
}

/// What taking money (or a hold ending) left to do once payments' part is written:
/// booking moves to make in the same transaction, in order, and card refunds to send
/// after it commits.
#[derive(Debug, Default)]
#[must_use = "the booking moves must be carried out (bookings::holds::carry_out)"]
pub struct Settled {
    pub card_refunds: Vec<i64>,
    pub moves: Vec<BookingMove>,
}

impl Settled {
    pub fn and(mut self, more: Settled) -> Settled {
        self.card_refunds.extend(more.card_refunds);
        self.moves.extend(more.moves);
        self
    }
}

/// Sets when the booking's hold ends: its newest Checkout Session's expiry.
pub async fn set_deadline(
    conn: &mut PgConnection,
    booking_id: i64,
    until: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query!("update bookings set payment_due_by = $2 where id = $1", booking_id, until)
        .execute(conn)
        .await?;
    Ok(())
}

/// After a payment is taken: an awaiting booking paid in full is to go on (to the
/// office, or confirmed); card money the booking cannot take is queued to go back: all
/// of it if the booking no longer stands, the excess if it was paid twice.
pub async fn after_payment(
    state: &AppState,
    conn: &mut PgConnection,
    payment: &store::Payment,
) -> AppResult<Settled> {
    let id = payment.booking_id;
    let Some(balance) = store::lock_balance(conn, BookingId(id)).await? else {
        return Ok(Settled::default());
    };
    let card = matches!(payment.method, super::domain::Method::Card);
    let net = i64::from(payment.amount_pence) - i64::from(payment.refunded_pence);
    let mut done = Settled::default();
    if !balance.holds_places {
        if card && net > 0 {
            let reason = format!(
                "Your payment for booking #{id} arrived after its places had been released, so we are \
                 refunding it in full."
            );
            done.card_refunds.push(refund_payment(state, conn, &balance, payment.id, net, &reason).await?);
        }
        return Ok(done);
    }
    let owed = i64::from(balance.total_pence) - balance.discount_pence - balance.paid_pence;
    if owed < 0 && card {
        let reason = format!("Booking #{id} was paid twice, so we are refunding what was paid over.");
        let over = (-owed).min(net);
        done.card_refunds.push(refund_payment(state, conn, &balance, payment.id, over, &reason).await?);
    }
    if balance.awaits_payment() && owed <= 0 {
        done.moves.push(BookingMove::Paid(BookingId(id)));
    }
    Ok(done)
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

/// Whether a Checkout Session of the booking is still open, so its payment may come.
pub async fn checkout_open(conn: &mut PgConnection, BookingId(booking_id): BookingId) -> sqlx::Result<bool> {
    Ok(!store::open_checkouts(conn, booking_id).await?.is_empty())
}

/// Payments' part of a booking lapsing (bookings has just moved it to `lapsed`): the
/// use of its discount code comes back, and anything paid towards it (with the credits
/// its places used) is refunded. Returns card refunds to send after commit.
pub async fn release_lapsed(state: &AppState, conn: &mut PgConnection, id: BookingId) -> AppResult<Vec<i64>> {
    store::release_discount(conn, id.0).await?;
    Ok(refund_cancelled(state, conn, id, None, NOT_PAID, None).await?.card_refunds)
}

/// The holds whose time is up, oldest first, a hundred at a time (the sweep's work).
pub async fn overdue(pool: &PgPool) -> sqlx::Result<Vec<BookingId>> {
    sqlx::query_scalar!(
        r#"select id as "id: BookingId" from bookings
            where status = 'awaiting_payment' and payment_due_by < now()
            order by payment_due_by limit 100"#
    )
    .fetch_all(pool)
    .await
}

/// What Stripe says of a booking's open Checkout Sessions, asked outside any
/// transaction; each still open is closed first, so it cannot be paid after its places
/// go.
pub struct HoldEnding {
    open: Vec<store::OpenCheckout>,
    outcomes: Vec<(String, CheckoutSession)>,
}

/// Asks Stripe what became of each open session of the booking (closing any still
/// open). An answer that does not come is an error: the hold waits for the next sweep.
pub async fn ask_stripe(state: &AppState, BookingId(booking_id): BookingId) -> AppResult<HoldEnding> {
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
            outcomes.push((checkout.session_id.clone(), session));
        }
    }
    Ok(HoldEnding { open, outcomes })
}

/// Records what Stripe said of an ended hold in the caller's transaction: sessions paid
/// are fulfilled, expired ones fail; then the hold has ended, for bookings to lapse the
/// booking if nothing was paid.
pub async fn record_ending(
    state: &AppState,
    conn: &mut PgConnection,
    booking_id: BookingId,
    ending: HoldEnding,
) -> AppResult<Settled> {
    let mut done = Settled::default();
    if state.stripe.is_none() {
        // Card payment was switched off: these sessions can no longer be confirmed here.
        for checkout in &ending.open {
            store::fail_checkout(conn, &checkout.session_id).await?;
        }
    }
    for (session_id, session) in &ending.outcomes {
        if session.payment_status.as_deref() == Some("paid") {
            let intent = session.payment_intent.as_deref();
            done = done.and(super::card::fulfil(state, conn, session_id, intent).await?);
        } else if session.status.as_deref() == Some("expired") {
            store::fail_checkout(conn, session_id).await?;
        }
    }
    done.moves.push(BookingMove::HoldEnded(booking_id));
    Ok(done)
}

/// After a booking stops holding places (cancelled, rejected): closes its open
/// Checkout Sessions so they cannot be paid. Best effort; a payment that still
/// arrives is refunded by [`after_payment`].
pub async fn close_checkouts(state: &AppState, BookingId(booking_id): BookingId) {
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
