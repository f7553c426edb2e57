//! Paying by card: `Pay now` opens a Stripe Checkout Session; Stripe's webhook and the
//! success page both confirm it, and whichever is first fulfils it, exactly once.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use sqlx::PgConnection;
use time::OffsetDateTime;
use tower_sessions::Session;

use super::{
    checkout::{self, NewCheckout},
    store,
};
use crate::{
    AppState,
    auth::Parent,
    bookings::parse_id,
    error::{AppError, AppResult},
    web::{
        flash::{self, FlashKind},
        form::QueryFields,
    },
};

/// `Pay now`: a Checkout Session for the amount due, then off to Stripe.
pub async fn pay(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let back = format!("/parent/bookings/{id}");
    let mut tx = state.pool.begin().await?;
    let balance = store::lock_balance(&mut tx, id)
        .await?
        .filter(|b| b.parent_id == parent.id)
        .ok_or(AppError::NotFound)?;
    let Some(stripe) = state.stripe.as_ref() else {
        flash::push(&session, FlashKind::Error, "Card payment is not available; please pay the office.")
            .await?;
        return Ok(Redirect::to(&back).into_response());
    };
    let due = balance.due_pence();
    if due == 0 {
        flash::push(&session, FlashKind::Info, "Nothing is due on this booking.").await?;
        return Ok(Redirect::to(&back).into_response());
    }
    if let Some(url) = store::open_checkout_url(&mut tx, id, due).await? {
        return Ok(Redirect::to(&url).into_response());
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
            cancel_url: &format!("{base}{back}"),
        })
        .await;
    let (session_id, url) = match created {
        Ok(checkout::CheckoutSession { id, url: Some(url), .. }) => (id, url),
        Ok(_) | Err(_) => {
            if let Err(err) = created {
                tracing::error!(error = ?err, "Stripe Checkout Session not created");
            }
            let message =
                "We could not start the card payment just now. Please try again, or pay the office.";
            flash::push(&session, FlashKind::Error, message).await?;
            return Ok(Redirect::to(&back).into_response());
        }
    };
    store::insert_card(
        &mut tx,
        &store::NewCardPayment {
            booking_id: id,
            amount_pence: amount,
            currency: &balance.currency,
            session_id: &session_id,
            url: &url,
            recorded_by: parent.id,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&url).into_response())
}

/// Marks the session's payment taken and emails the receipt, if no one did already.
async fn fulfil(
    state: &AppState,
    conn: &mut PgConnection,
    session_id: &str,
    payment_intent: Option<&str>,
) -> AppResult<()> {
    if let Some(id) = store::fulfil_checkout(conn, session_id, payment_intent).await?
        && let Some(payment) = store::by_id(conn, id).await?
    {
        state.outbox.queue(conn, &super::receipt_email(&payment, &state.config.base_url)).await?;
    }
    Ok(())
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
        store::by_checkout_for_parent(&mut conn, session_id, parent.id).await?.ok_or(AppError::NotFound)?;
    drop(conn);
    if payment.status == "pending"
        && let Some(stripe) = state.stripe.as_ref()
    {
        match stripe.checkout_session(session_id).await {
            Ok(checkout) if checkout.payment_status.as_deref() == Some("paid") => {
                let mut tx = state.pool.begin().await?;
                fulfil(&state, &mut tx, session_id, checkout.payment_intent.as_deref()).await?;
                tx.commit().await?;
            }
            Ok(_) => {}
            // The webhook will confirm it; the parent is told it is on its way.
            Err(err) => tracing::warn!(error = ?err, "Stripe Checkout Session not read"),
        }
    }
    let mut conn = state.pool.acquire().await?;
    let paid = store::by_id(&mut conn, payment.id)
        .await?
        .is_some_and(|p| matches!(p.status.as_str(), "succeeded" | "partially_refunded" | "refunded"));
    let (kind, message) = if paid {
        (FlashKind::Success, "Thank you: your payment has been received.")
    } else {
        (FlashKind::Info, "Thank you: we are confirming your payment; this receipt will update shortly.")
    };
    flash::push(&session, kind, message).await?;
    Ok(Redirect::to(&format!("/parent/payments/{}", payment.id)).into_response())
}

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: serde_json::Value,
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
    let Ok(event) = serde_json::from_slice::<Event>(&body) else {
        return (StatusCode::BAD_REQUEST, "not an event").into_response();
    };
    match handle(&state, &event).await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        // Stripe retries anything but 2xx, and the event is not yet recorded.
        Err(err) => err.into_response(),
    }
}

async fn handle(state: &AppState, event: &Event) -> AppResult<()> {
    let mut tx = state.pool.begin().await?;
    if !store::record_event(&mut tx, &event.id, &event.kind).await? {
        return Ok(());
    }
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
                fulfil(state, &mut tx, session_id, intent).await?;
                super::packages::fulfil_checkout(state, &mut tx, session_id, intent).await?;
            }
        }
        ("checkout.session.expired" | "checkout.session.async_payment_failed", Some(session_id)) => {
            // Places are held by the booking itself, not by the payment: nothing to release.
            store::fail_checkout(&mut tx, session_id).await?;
            super::packages::fail_checkout(&mut tx, session_id).await?;
        }
        ("refund.created" | "refund.updated", Some(refund_id)) => {
            let intent = object.get("payment_intent").and_then(|v| v.as_str());
            reconcile_refund(&mut tx, intent, refund_id, object).await?;
        }
        ("charge.refunded", Some(_)) => {
            let intent = object.get("payment_intent").and_then(|v| v.as_str());
            let listed =
                object.pointer("/refunds/data").and_then(|v| v.as_array()).cloned().unwrap_or_default();
            for refund in &listed {
                if let Some(refund_id) = refund.get("id").and_then(|v| v.as_str()) {
                    reconcile_refund(&mut tx, intent, refund_id, refund).await?;
                }
            }
        }
        _ => {}
    }
    tx.commit().await?;
    Ok(())
}

/// Records a refund Stripe reports, once by its id, whichever event brings it first.
async fn reconcile_refund(
    conn: &mut PgConnection,
    payment_intent: Option<&str>,
    refund_id: &str,
    refund: &serde_json::Value,
) -> AppResult<()> {
    let counts = matches!(refund.get("status").and_then(|v| v.as_str()), Some("succeeded" | "pending"));
    let amount = refund.get("amount").and_then(|v| v.as_i64()).and_then(|a| i32::try_from(a).ok());
    let (Some(intent), Some(amount), true) = (payment_intent, amount, counts) else { return Ok(()) };
    // A savepoint: a refund our books cannot take (more than was paid) is logged for a
    // person to look at, and the rest of the event still commits.
    let mut savepoint = sqlx::Connection::begin(&mut *conn).await?;
    match store::reconcile_stripe_refund(&mut savepoint, intent, refund_id, amount).await {
        Ok(_) => savepoint.commit().await?,
        Err(sqlx::Error::Database(e)) if e.constraint().is_some() => {
            savepoint.rollback().await?;
            tracing::error!(refund_id, constraint = ?e.constraint(), "Stripe refund does not fit the payment");
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}
