//! Finance refunds a payment, fully or in part, with a reason: card payments through
//! Stripe, cash and bank transfers recorded. Never more than was paid: checked here for
//! a clear message and kept by the database whatever arrives at once.

use askama::Template;
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;

use super::{
    PaymentLine,
    actions::{self, RefundForm, refundable_pence},
    domain::Method,
    store,
};
use crate::{
    AppState,
    auth::{Admin, AdminRole},
    error::{AppError, AppResult},
    ids::PaymentId,
    web::{
        FormErrors, PageContext, Path,
        flash::{self, FlashKind},
        fmt,
        form::{render, render_with},
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

async fn show_page(state: &AppState, ctx: PageContext, id: PaymentId) -> AppResult<ShowPage> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let payment = store::by_id(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let refunds = store::refunds_of_payment(&mut conn, id.0)
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
        is_card: payment.method == Method::Card,
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
    Path(id): Path<PaymentId>,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    render(&show_page(&state, ctx, id).await?)
}

/// The page again, as typed, with `errors` and a 422; nothing was written.
async fn refused(
    state: &AppState,
    ctx: PageContext,
    id: PaymentId,
    typed: &RefundForm,
    errors: FormErrors,
) -> AppResult<Response> {
    let mut page = show_page(state, ctx, id).await?;
    page.amount = typed.amount.clone();
    page.reason = typed.reason();
    page.errors = errors;
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// `Refund`: see [`actions::refund_payment`].
pub async fn refund(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<PaymentId>,
    axum::Form(typed): axum::Form<RefundForm>,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    let back = format!("/admin/payments/{id}");
    let request = match typed.parse() {
        Ok(request) => request,
        Err(errors) => return refused(&state, ctx, id, &typed, errors).await,
    };
    let mut tx = state.pool.begin().await?;
    match actions::refund_payment(&state, &mut tx, admin.0.id.0, id, &request).await? {
        Ok(amount) => flash::done(tx, &session, format!("Refunded {amount} of payment #{id}."), &back).await,
        Err(refusal) => {
            tx.rollback().await?;
            match refusal.field() {
                Some(field) => {
                    let mut errors = FormErrors::default();
                    errors.add(field, refusal.message());
                    refused(&state, ctx, id, &typed, errors).await
                }
                None => {
                    flash::push(&session, FlashKind::Error, refusal.message()).await?;
                    Ok(Redirect::to(&back).into_response())
                }
            }
        }
    }
}
