//! A family's payments: their history and a printable receipt for each.

use askama::Template;
use axum::{extract::State, response::Response};

use super::{PaymentLine, store};
use crate::{
    AppState,
    auth::Parent,
    error::{AppError, AppResult},
    ids::PaymentId,
    web::{
        PageContext, Path, fmt,
        form::{QueryFields, render},
        page::{Cursor, Order, PageRequest, Pager},
    },
};
use time::OffsetDateTime;

#[derive(Template)]
#[template(path = "payments/parent_index.html")]
pub struct IndexPage {
    pub ctx: PageContext,
    pub payments: Vec<PaymentLine>,
    pub pager: Pager,
}

/// The family's payments, newest first, a page at a time.
pub async fn index(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let page: PageRequest<OffsetDateTime> = PageRequest::from_query(&query, Order::Descending);
    let mut conn = state.pool.acquire().await?;
    let rows = store::of_parent(&mut conn, parent.id.0, &page).await?;
    let payments = page.finish(rows, |p| Cursor::new(p.created_at, p.id), "/parent/payments", &query);
    render(&IndexPage {
        ctx,
        payments: payments.rows.into_iter().map(|p| PaymentLine::new(p, tz)).collect(),
        pager: payments.pager,
    })
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
    Path(id): Path<PaymentId>,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let payment = store::for_parent(&mut conn, id, parent.id).await?.ok_or(AppError::NotFound)?;
    let items = crate::bookings::store::participants(&mut conn, crate::ids::BookingId(payment.booking_id))
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
        .filter(|r| r.failed_at.is_none())
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
        payment: PaymentLine::new(payment, tz),
        items,
        refunds,
        net,
    })
}
