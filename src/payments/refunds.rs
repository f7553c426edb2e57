//! Finance refunds a payment, fully or in part, with a reason: card payments through
//! Stripe, cash and bank transfers recorded. Never more than was paid: checked here for
//! a clear message and kept by the database whatever arrives at once.

use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;

use super::{PaymentLine, domain::Pence, store};
use crate::{
    AppState, audit,
    auth::{Admin, AdminRole},
    bookings::parse_id,
    error::{AppError, AppResult},
    web::{
        FormErrors, PageContext,
        flash::{self, FlashKind},
        fmt,
        form::{Fields, render, render_with},
    },
};

const FINANCE: &[AdminRole] = &[AdminRole::Finance];

pub struct RefundLine {
    pub date: String,
    pub amount: String,
    pub reason: String,
    pub by: String,
    /// Why Stripe could not make it, if it failed.
    pub failed: Option<String>,
}

#[derive(Template)]
#[template(path = "payments/admin_show.html")]
pub struct ShowPage {
    pub ctx: PageContext,
    pub payment: PaymentLine,
    pub parent: String,
    pub reference: String,
    pub recorded_by: String,
    pub refunds: Vec<RefundLine>,
    pub refundable: String,
    pub can_refund: bool,
    pub is_card: bool,
    pub amount: String,
    pub reason: String,
    pub errors: FormErrors,
}

fn refundable_pence(p: &store::Payment) -> i64 {
    let taken = matches!(p.status.as_str(), "succeeded" | "partially_refunded");
    if taken { i64::from(p.amount_pence) - i64::from(p.refunded_pence) } else { 0 }
}

async fn show_page(state: &AppState, ctx: PageContext, id: i64) -> AppResult<ShowPage> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let payment = store::by_id(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let refunds = store::refunds_of_payment(&mut conn, id)
        .await?
        .into_iter()
        .map(|r| RefundLine {
            date: fmt::day_time(r.created_at, tz),
            amount: fmt::pounds(i64::from(r.amount_pence)),
            reason: r.reason,
            by: r.recorded_by_name.unwrap_or_else(|| "Stripe".into()),
            failed: r.failed_at.map(|_| r.failure_reason.unwrap_or_default()),
        })
        .collect();
    let refundable = refundable_pence(&payment);
    Ok(ShowPage {
        ctx,
        parent: payment.parent_name.clone(),
        reference: payment.reference.clone(),
        recorded_by: payment.recorded_by_name.clone().unwrap_or_default(),
        refunds,
        refundable: fmt::pounds(refundable),
        can_refund: refundable > 0,
        is_card: payment.method == "card",
        amount: if refundable > 0 { crate::web::csv::decimal_pounds(refundable) } else { String::new() },
        reason: String::new(),
        errors: FormErrors::default(),
        payment: PaymentLine::new(payment, tz),
    })
}

pub async fn show(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    Path(id): Path<String>,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    render(&show_page(&state, ctx, parse_id(&id)?).await?)
}

/// `Refund`: checks the amount against what is left with the payment locked, refunds
/// through Stripe for a card, and records it with its audit row.
pub async fn refund(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    let id = parse_id(&id)?;
    let typed_amount = form.get("amount").unwrap_or_default().to_owned();
    let reason: String = form.get("reason").unwrap_or_default().chars().take(500).collect();
    let mut errors = FormErrors::default();
    let mut tx = state.pool.begin().await?;
    let payment = store::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let refundable = refundable_pence(&payment);
    let amount = Pence::parse_pounds(&typed_amount).map_err(|m| errors.add("amount", m)).ok();
    if let Some(a) = amount
        && i64::from(a.get()) > refundable
    {
        let message = if refundable == 0 {
            "Nothing is left to refund on this payment.".to_owned()
        } else {
            format!("At most {} can be refunded.", fmt::pounds(refundable))
        };
        errors.add("amount", message);
    }
    if reason.trim().is_empty() {
        errors.add("reason", "Give a reason for the refund.");
    }
    let (Some(amount), true) = (amount, errors.is_empty()) else {
        tx.rollback().await?;
        let mut page = show_page(&state, ctx, id).await?;
        page.amount = typed_amount;
        page.reason = reason;
        page.errors = errors;
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let stripe_refund = if payment.method == "card" {
        let (Some(stripe), Some(intent)) = (state.stripe.as_ref(), store::payment_intent(&mut tx, id).await?)
        else {
            tx.rollback().await?;
            let message = "This card payment cannot be refunded here: Stripe is not set up for it.";
            flash::push(&session, FlashKind::Error, message).await?;
            return Ok(Redirect::to(&format!("/admin/payments/{id}")).into_response());
        };
        match stripe.refund(&intent, i64::from(amount.get()), id).await {
            Ok(refund) => Some(refund.id),
            Err(err) => {
                tracing::error!(error = ?err, "Stripe refund failed");
                tx.rollback().await?;
                let message = "Stripe did not accept the refund; nothing was refunded. Please try again.";
                flash::push(&session, FlashKind::Error, message).await?;
                return Ok(Redirect::to(&format!("/admin/payments/{id}")).into_response());
            }
        }
    } else {
        None
    };
    let new = store::NewRefund {
        payment_id: id,
        amount_pence: amount.get(),
        reason: reason.trim(),
        stripe_refund_id: stripe_refund.as_deref(),
        recorded_by: Some(admin.0.id),
    };
    let refund_id = match store::insert_refund(&mut tx, &new).await {
        Ok(refund_id) => refund_id,
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("payments_refunds_within_amount") => {
            tx.rollback().await?;
            let mut page = show_page(&state, ctx, id).await?;
            page.amount = typed_amount;
            page.reason = reason;
            page.errors.add("amount", "That is more than is left to refund on this payment.");
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(&mut tx)
        .by(admin.0.id)
        .action("payment.refunded")
        .entity("payment", id)
        .before(serde_json::json!({ "refunded_pence": payment.refunded_pence }))
        .after(serde_json::json!({
            "refund_id": refund_id,
            "amount_pence": amount.get(),
            "reason": reason.trim(),
            "stripe_refund_id": stripe_refund,
        }))
        .await?;
    let message = format!("Refunded {} of payment #{id}.", fmt::pounds(i64::from(amount.get())));
    flash::done(tx, &session, message, &format!("/admin/payments/{id}")).await
}
