//! Paying by card, the pages: `Pay now`, the page Stripe sends the parent back to,
//! and Stripe's webhook. What they do is in `card`.

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use time::OffsetDateTime;
use tower_sessions::Session;

use super::{
    card::{self, NotStarted},
    checkout,
    domain::PaymentStatus,
    store,
};
use crate::{
    AppState,
    auth::Parent,
    bookings,
    error::{AppError, AppResult},
    ids::{BookingId, PaymentId},
    web::{
        Path,
        flash::{self, FlashKind},
        form::QueryFields,
    },
};

/// `Pay now`: a Checkout Session for the amount due, then off to Stripe.
pub async fn pay(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path(id): Path<BookingId>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let started = card::pay_booking(&state, &mut tx, id, parent.id.0).await?;
    tx.commit().await?;
    match started {
        Ok(url) => Ok(Redirect::to(&url).into_response()),
        Err(not_started) => {
            let kind = if not_started == NotStarted::NothingDue { FlashKind::Info } else { FlashKind::Error };
            flash::push(&session, kind, not_started.message()).await?;
            Ok(Redirect::to(&format!("/parent/bookings/{id}")).into_response())
        }
    }
}

/// Where Stripe sends the parent back: confirm with Stripe (the webhook may not have
/// arrived yet), then show the receipt.
pub async fn success(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    let session_id = query.get("session_id").ok_or(AppError::NotFound)?;
    let mut conn = state.pool.acquire().await?;
    let payment =
        store::by_checkout_for_parent(&mut conn, session_id, parent.id.0).await?.ok_or(AppError::NotFound)?;
    drop(conn);
    if payment.status == PaymentStatus::Pending
        && let Some(stripe) = state.stripe.as_ref()
    {
        match stripe.checkout_session(session_id).await {
            Ok(checkout) if checkout.payment_status.as_deref() == Some("paid") => {
                let mut tx = state.pool.begin().await?;
                let settled =
                    card::fulfil(&state, &mut tx, session_id, checkout.payment_intent.as_deref()).await?;
                let refunds = bookings::holds::carry_out(&state, &mut tx, settled).await?;
                tx.commit().await?;
                super::cancellation::settle(&state, &refunds).await;
            }
            Ok(_) => {}
            // The webhook will confirm it; the parent is told it is on its way.
            Err(err) => tracing::warn!(error = ?err, "Stripe Checkout Session not read"),
        }
    }
    let id = PaymentId(payment.id);
    let mut conn = state.pool.acquire().await?;
    let paid = store::by_id(&mut conn, id).await?.is_some_and(|p| p.status.is_taken());
    let (kind, message) = if paid {
        (FlashKind::Success, "Thank you: your payment has been received.")
    } else {
        (FlashKind::Info, "Thank you: we are confirming your payment; this receipt will update shortly.")
    };
    flash::push(&session, kind, message).await?;
    Ok(Redirect::to(&format!("/parent/payments/{id}")).into_response())
}

/// `POST /webhooks/stripe`: verified against the raw body before anything is read;
/// each event is handled once, in one transaction with its record.
pub async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = state.config.stripe_webhook_secret.as_deref() else {
        return (StatusCode::BAD_REQUEST, "webhooks are not configured").into_response();
    };
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    if !checkout::signature_is_valid(signature, &body, secret, now) {
        return (StatusCode::BAD_REQUEST, "invalid signature").into_response();
    }
    let Ok(event) = serde_json::from_slice::<card::Event>(&body) else {
        return (StatusCode::BAD_REQUEST, "not an event").into_response();
    };
    match apply(&state, &event).await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        // Stripe retries anything but 2xx, and the event is not yet recorded.
        Err(err) => err.into_response(),
    }
}

/// One transaction: the event recorded, payments' part, then the booking moves it
/// causes; card refunds go to Stripe after commit.
async fn apply(state: &AppState, event: &card::Event) -> AppResult<()> {
    let mut tx = state.pool.begin().await?;
    let settled = card::handle(state, &mut tx, event).await?;
    let refunds = bookings::holds::carry_out(state, &mut tx, settled).await?;
    tx.commit().await?;
    super::cancellation::settle(state, &refunds).await;
    Ok(())
}
