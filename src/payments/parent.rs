//! A family's payments: their history and a printable receipt for each.

use askama::Template;
use axum::{
    extract::{Path, State},
    response::Response,
};

use super::{domain, store};
use crate::{
    AppState,
    auth::Parent,
    bookings::parse_id,
    error::{AppError, AppResult},
    web::{PageContext, fmt, form::render},
};

pub struct PaymentLine {
    pub id: i64,
    pub booking_id: i64,
    pub date: String,
    pub activity: String,
    pub method: String,
    pub status: String,
    pub status_key: String,
    pub amount: String,
    pub refunded: Option<String>,
}

fn line(p: store::Payment, tz: &time_tz::Tz) -> PaymentLine {
    PaymentLine {
        id: p.id,
        booking_id: p.booking_id,
        date: fmt::day_time(p.paid_at.unwrap_or(p.created_at), tz),
        activity: p.activity,
        method: domain::method_label(&p.method).to_owned(),
        status: domain::status_label(&p.status).to_owned(),
        status_key: p.status,
        amount: fmt::pounds(i64::from(p.amount_pence)),
        refunded: (p.refunded_pence > 0).then(|| fmt::pounds(i64::from(p.refunded_pence))),
    }
}

#[derive(Template)]
#[template(path = "payments/parent_index.html")]
pub struct IndexPage {
    pub ctx: PageContext,
    pub payments: Vec<PaymentLine>,
}

pub async fn index(State(state): State<AppState>, Parent(parent): Parent, ctx: PageContext) -> AppResult<Response> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let payments = store::of_parent(&mut conn, parent.id).await?.into_iter().map(|p| line(p, tz)).collect();
    render(&IndexPage { ctx, payments })
}

pub struct ItemLine {
    pub when: String,
    pub child: String,
    pub activity: String,
    pub price: String,
}

pub struct RefundLine {
    pub date: String,
    pub amount: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "payments/receipt.html")]
pub struct ReceiptPage {
    pub ctx: PageContext,
    pub payment: PaymentLine,
    pub parent: String,
    pub parent_email: String,
    pub reference: String,
    pub items: Vec<ItemLine>,
    pub refunds: Vec<RefundLine>,
    pub net: String,
}

pub async fn receipt(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let payment = store::for_parent(&mut conn, parse_id(&id)?, parent.id).await?.ok_or(AppError::NotFound)?;
    let items = crate::bookings::store::participants(&mut conn, payment.booking_id)
        .await?
        .into_iter()
        .filter(|p| p.holds_place)
        .map(|p| ItemLine {
            when: fmt::day_time(p.starts_at, tz),
            child: p.child_name,
            activity: p.activity,
            price: fmt::pounds(i64::from(p.price_pence)),
        })
        .collect();
    let refunds = store::refunds_of_payment(&mut conn, payment.id)
        .await?
        .into_iter()
        .map(|r| RefundLine {
            date: fmt::day_time(r.created_at, tz),
            amount: fmt::pounds(i64::from(r.amount_pence)),
            reason: r.reason,
        })
        .collect();
    let net = fmt::pounds(i64::from(payment.amount_pence) - i64::from(payment.refunded_pence));
    render(&ReceiptPage {
        ctx,
        parent: payment.parent_name.clone(),
        parent_email: payment.parent_email.clone(),
        reference: payment.reference.clone(),
        payment: line(payment, tz),
        items,
        refunds,
        net,
    })
}
