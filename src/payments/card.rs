//! Paying by card: `Pay now` opens a Stripe Checkout Session; Stripe's webhook and the
//! success page both confirm it, and whichever is first fulfils it, exactly once. The
//! pages are in `card_pages`.

use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::PgConnection;
use time::OffsetDateTime;
use tower_sessions::Session;

use super::{
    checkout::{self, NewCheckout},
    holds::{BookingMove, Settled},
    store,
};
use crate::{
    AppState,
    db::OnConstraint,
    error::{AppError, AppResult},
    ids::BookingId,
    web::flash::{self, FlashKind},
};

/// Why a card payment was not started, in words for the parent.
#[derive(Debug, PartialEq, Eq)]
pub enum NotStarted {
    NothingDue,
    Unavailable,
    /// An earlier session could not be closed: it may be being paid right now.
    InProgress,
    Failed,
}

impl NotStarted {
    pub fn message(&self) -> &'static str {
        match self {
            Self::NothingDue => "Nothing is due on this booking.",
            Self::Unavailable => "Card payment is not available; please pay the office.",
            Self::InProgress => {
                "A card payment for this booking is still being confirmed. Please wait a minute and look again."
            }
            Self::Failed => {
                "We could not start the card payment just now. Please try again, or pay the office."
            }
        }
    }
}

/// Opens a Checkout Session for what the booking still owes, within the caller's
/// transaction (the booking locked by `store::lock_balance`), and returns Stripe's URL.
/// An open session for the same amount is reused; one for another amount (a discount
/// since) is closed first, so the booking cannot be paid twice. `expires_at` ends a
/// hold: it becomes the booking's `payment_due_by`.
pub async fn start_checkout(
    state: &AppState,
    conn: &mut PgConnection,
    balance: &store::Balance,
    by: i64,
    expires_at: Option<OffsetDateTime>,
) -> AppResult<Result<String, NotStarted>> {
    let due = balance.due_pence();
    if due == 0 {
        return Ok(Err(NotStarted::NothingDue));
    }
    let Some(stripe) = state.stripe.as_ref() else { return Ok(Err(NotStarted::Unavailable)) };
    let id = balance.booking_id;
    for open in store::open_checkouts(conn, id).await? {
        if let (true, Some(url)) = (open.reusable && i64::from(open.amount_pence) == due, &open.url) {
            return Ok(Ok(url.clone()));
        }
        if !close(stripe, conn, &open.session_id).await? {
            return Ok(Err(NotStarted::InProgress));
        }
    }
    let amount = i32::try_from(due).map_err(|_| anyhow::anyhow!("amount due out of range"))?;
    let base = &state.config.base_url;
    let description = format!("Booking #{id}: {}", balance.activity);
    let success_url = format!("{base}/parent/payments/success?session_id={{CHECKOUT_SESSION_ID}}");
    let created = stripe
        .create_checkout(&NewCheckout {
            booking_id: id,
            amount_pence: due,
            currency: &balance.currency,
            description: &description,
            customer_email: &balance.parent_email,
            success_url: &success_url,
            cancel_url: &format!("{base}/parent/bookings/{id}"),
            expires_at: expires_at.map(OffsetDateTime::unix_timestamp),
        })
        .await;
    let (session_id, url) = match created {
        Ok(checkout::CheckoutSession { id, url: Some(url), .. }) => (id, url),
        Ok(_) => return Ok(Err(NotStarted::Failed)),
        Err(err) => {
            tracing::error!(error = ?err, "Stripe Checkout Session not created");
            return Ok(Err(NotStarted::Failed));
        }
    };
    let new = store::NewCardPayment {
        booking_id: id,
        amount_pence: amount,
        currency: &balance.currency,
        session_id: &session_id,
        url: &url,
        recorded_by: by,
    };
    store::insert_card(conn, &new).await?;
    if let Some(until) = expires_at {
        super::holds::set_deadline(conn, id, until).await?;
    }
    Ok(Ok(url))
}

/// Closes an open Checkout Session at Stripe and fails its payment; false if Stripe
/// would not close it and it is not already expired (it may be being paid).
async fn close(stripe: &checkout::Stripe, conn: &mut PgConnection, session_id: &str) -> AppResult<bool> {
    let closed = match stripe.expire_checkout(session_id).await {
        Ok(session) => session,
        Err(err) => match stripe.checkout_session(session_id).await {
            Ok(session) => session,
            Err(_) => {
                tracing::warn!(error = ?err, "Stripe Checkout Session not closed");
                return Ok(false);
            }
        },
    };
    if closed.status.as_deref() != Some("expired") {
        return Ok(false);
    }
    store::fail_checkout(conn, session_id).await?;
    Ok(true)
}

/// `Pay now` on `parent_id`'s booking, in the caller's transaction (commit it either
/// way): Stripe's address for what is due, or why not. Places held for this payment
/// get the hold's clock started again, as Stripe's shortest session is the hold itself.
pub async fn pay_booking(
    state: &AppState,
    conn: &mut PgConnection,
    booking_id: BookingId,
    parent_id: i64,
) -> AppResult<Result<String, NotStarted>> {
    let balance = store::lock_balance(conn, booking_id)
        .await?
        .filter(|b| b.parent_id == parent_id)
        .ok_or(AppError::NotFound)?;
    let hold = balance.awaits_payment().then(super::holds::deadline);
    start_checkout(state, conn, &balance, parent_id, hold).await
}

/// Sends the parent to Stripe for places just held. If Stripe cannot be reached the
/// places stay held until the hold ends, and the booking page offers `Pay now` again.
pub async fn pay_for_held_places(
    state: &AppState,
    session: &Session,
    booking_id: BookingId,
    parent: &crate::auth::User,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let balance = store::lock_balance(&mut tx, booking_id).await?.ok_or(AppError::NotFound)?;
    let started =
        start_checkout(state, &mut tx, &balance, parent.id.0, Some(super::holds::deadline())).await?;
    tx.commit().await?;
    match started {
        Ok(url) => Ok(Redirect::to(&url).into_response()),
        Err(not_started) => {
            let message = format!("{} Your places are held for 30 minutes meanwhile.", not_started.message());
            flash::push(session, FlashKind::Error, message).await?;
            Ok(Redirect::to(&format!("/parent/bookings/{booking_id}")).into_response())
        }
    }
}

/// Marks the session's payment taken and emails the receipt, if no one did already,
/// then says what it means for the booking (or gives back money it can no longer
/// take): see [`holds::after_payment`](super::holds::after_payment).
pub(super) async fn fulfil(
    state: &AppState,
    conn: &mut PgConnection,
    session_id: &str,
    payment_intent: Option<&str>,
) -> AppResult<Settled> {
    let Some(id) = store::fulfil_checkout(conn, session_id, payment_intent).await? else {
        return Ok(Settled::default());
    };
    let Some(payment) = store::by_id(conn, crate::ids::PaymentId(id)).await? else {
        return Ok(Settled::default());
    };
    state.outbox.queue(conn, &super::receipt_email(&payment, &state.config.base_url)).await?;
    super::holds::after_payment(state, conn, &payment).await
}

/// A Stripe event, as much of it as Portico reads.
#[derive(Deserialize)]
pub(super) struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: serde_json::Value,
}

/// Applies a verified event once, in the caller's transaction with its record; the
/// booking moves it causes are returned for the caller to carry out before commit.
pub(super) async fn handle(state: &AppState, tx: &mut PgConnection, event: &Event) -> AppResult<Settled> {
    if !store::record_event(&mut *tx, &event.id, &event.kind).await? {
        return Ok(Settled::default());
    }
    let mut settled = Settled::default();
    let object = &event.data.object;
    let object_id = object.get("id").and_then(|v| v.as_str());
    match (event.kind.as_str(), object_id) {
        ("checkout.session.completed" | "checkout.session.async_payment_succeeded", Some(session_id)) => {
            // A completed session may still be waiting for a bank (async methods).
            let paid = matches!(
                object.get("payment_status").and_then(|v| v.as_str()),
                Some("paid" | "no_payment_required")
            );
            if paid {
                let intent = object.get("payment_intent").and_then(|v| v.as_str());
                settled = fulfil(state, &mut *tx, session_id, intent).await?;
                super::packages::fulfil_checkout(state, &mut *tx, session_id, intent).await?;
            }
        }
        ("checkout.session.expired" | "checkout.session.async_payment_failed", Some(session_id)) => {
            store::fail_checkout(&mut *tx, session_id).await?;
            super::packages::fail_checkout(&mut *tx, session_id).await?;
            // Places held for this payment go back, unless another session is open for it.
            if let Some(booking_id) = store::booking_of_checkout(&mut *tx, session_id).await? {
                settled.moves.push(BookingMove::HoldEnded(BookingId(booking_id)));
            }
        }
        ("refund.created" | "refund.updated" | "refund.failed", Some(refund_id)) => {
            let intent = object.get("payment_intent").and_then(|v| v.as_str());
            reconcile_refund(&mut *tx, intent, refund_id, object).await?;
        }
        ("charge.refunded", Some(_)) => {
            let intent = object.get("payment_intent").and_then(|v| v.as_str());
            let listed =
                object.pointer("/refunds/data").and_then(|v| v.as_array()).cloned().unwrap_or_default();
            for refund in &listed {
                if let Some(refund_id) = refund.get("id").and_then(|v| v.as_str()) {
                    reconcile_refund(&mut *tx, intent, refund_id, refund).await?;
                }
            }
        }
        _ => {}
    }
    Ok(settled)
}

/// Brings our books in line with a refund Stripe reports: recorded once by its id,
/// whichever event brings it first; one Stripe reports failed or cancelled stops counting.
async fn reconcile_refund(
    conn: &mut PgConnection,
    payment_intent: Option<&str>,
    refund_id: &str,
    refund: &serde_json::Value,
) -> AppResult<()> {
    let amount = refund.get("amount").and_then(|v| v.as_i64()).and_then(|a| i32::try_from(a).ok());
    let (Some(intent), Some(amount)) = (payment_intent, amount) else { return Ok(()) };
    match refund.get("status").and_then(|v| v.as_str()) {
        Some("succeeded" | "pending") => record_refund(conn, intent, refund_id, amount).await,
        Some(status @ ("failed" | "canceled")) => {
            let reason = refund.get("failure_reason").and_then(|v| v.as_str()).unwrap_or(status);
            fail_refund(conn, intent, refund_id, amount, reason).await
        }
        _ => Ok(()),
    }
}

/// A refund that went through (or is on its way): recorded once.
async fn record_refund(conn: &mut PgConnection, intent: &str, refund_id: &str, amount: i32) -> AppResult<()> {
    // A savepoint: a refund our books cannot take (more than was paid) is logged for a
    // person to look at, and the rest of the event still commits.
    let mut savepoint = sqlx::Connection::begin(&mut *conn).await?;
    let recorded = store::reconcile_stripe_refund(&mut savepoint, intent, refund_id, amount)
        .await
        .on_constraint(|name| Some(name.to_owned()))?;
    match recorded {
        Ok(_) => savepoint.commit().await?,
        Err(constraint) => {
            savepoint.rollback().await?;
            tracing::error!(refund_id, constraint, "Stripe refund does not fit the payment");
        }
    }
    // Or a package purchase's: the intents differ, so at most one of the two matches.
    super::package_sales::reconcile_stripe_refund(&mut *conn, intent, refund_id, amount).await?;
    Ok(())
}

/// A refund Stripe could not make: the money counts as paid again, a cancellation
/// refund it was goes back on finance's list to retry, and the audit log says why.
async fn fail_refund(
    conn: &mut PgConnection,
    intent: &str,
    refund_id: &str,
    amount: i32,
    reason: &str,
) -> AppResult<()> {
    // A package purchase's, or a booking payment's: the intents differ.
    if super::package_sales::fail_stripe_refund(conn, intent, refund_id, amount, reason).await? {
        let detail =
            serde_json::json!({ "stripe_refund_id": refund_id, "amount_pence": amount, "reason": reason });
        crate::audit::record(conn)
            .action("package_purchase.refund_failed")
            .about("package_purchase")
            .after(detail)
            .await?;
    }
    let Some(id) = store::fail_stripe_refund(conn, intent, refund_id, amount, reason).await? else {
        return Ok(());
    };
    super::cancellation::reopen_failed(conn, id, reason).await?;
    let detail =
        serde_json::json!({ "stripe_refund_id": refund_id, "amount_pence": amount, "reason": reason });
    crate::audit::record(conn).action("payment.refund_failed").entity("refund", id).after(detail).await?;
    Ok(())
}
