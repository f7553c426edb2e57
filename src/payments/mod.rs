//! Payments: finance records cash and bank transfers against bookings, parents see
//! their receipts and history, and finance sees what came in, what went back and what
//! is still owed. Money is integer pence; the database refuses an over-refund.

mod actions;
mod admin;
pub mod cancellation;
mod card;
mod card_pages;
pub mod checkout;
mod discount_pages;
pub mod discounts;
pub mod domain;
pub mod holds;
mod package_pages;
pub mod package_sales;
pub mod packages;
mod parent;
mod refunds;
pub mod store;

use axum::{
    Router,
    routing::{get, post},
};

use crate::{AppState, money::Money, notifications::Email, web::fmt};
pub use card::{NotStarted, pay_for_held_places, start_checkout};
pub use checkout::Stripe;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/parent/payments", get(parent::index))
        .route("/parent/payments/success", get(card_pages::success))
        .route("/parent/payments/{id}", get(parent::receipt))
        .route("/parent/bookings/{id}/pay", post(card_pages::pay))
        .route("/parent/bookings/{id}/discount", post(discount_pages::apply))
        .route("/parent/packages", get(package_pages::index))
        .route("/parent/packages/success", get(package_pages::success))
        .route("/parent/packages/{id}/buy", post(package_pages::buy))
        .route("/admin/package-sales", get(package_pages::sales))
        .route("/admin/package-sales/{id}/paid", post(package_pages::record_paid))
        .route("/admin/discounts", get(discount_pages::index).post(discount_pages::create))
        .route("/webhooks/stripe", post(card_pages::webhook))
        .route("/admin/payments", get(admin::index).post(admin::create))
        .route("/admin/payments.csv", get(admin::export))
        .route("/admin/payments/new", get(admin::new))
        .route("/admin/payments/{id}", get(refunds::show))
        .route("/admin/payments/packages/{id}", get(package_sales::purchase))
        .route("/admin/payments/packages/{id}/refund", post(package_sales::refund))
        .route("/admin/payments/{id}/refund", post(refunds::refund))
        .route("/admin/card-refunds/{id}/retry", post(admin::retry_refund))
}

/// A payment as its family sees it (history, receipt, the booking page).
pub struct PaymentLine {
    pub id: i64,
    pub booking_id: i64,
    pub date: String,
    pub activity: String,
    pub method: &'static str,
    pub status: &'static str,
    /// The stored status, for the badge's style.
    pub status_key: &'static str,
    pub amount: String,
    pub refunded: Option<String>,
}

impl PaymentLine {
    pub fn new(p: store::Payment, tz: &time_tz::Tz) -> Self {
        Self {
            id: p.id,
            booking_id: p.booking_id,
            date: fmt::day_time(p.paid_at.unwrap_or(p.created_at), tz),
            activity: p.activity,
            method: p.method.label(),
            status: p.status.label(),
            status_key: p.status.as_str(),
            amount: Money::from_pence(p.amount_pence).to_string(),
            refunded: (p.refunded_pence > 0).then(|| fmt::pounds(i64::from(p.refunded_pence))),
        }
    }
}

/// The receipt a parent is emailed when money is taken.
pub fn receipt_email(payment: &store::Payment, base_url: &str) -> Email {
    Email {
        to: payment.parent_email.clone(),
        subject: format!("Receipt for booking #{}", payment.booking_id),
        body: format!(
            "Hello {},\n\nThank you: we have received {} ({}) for booking #{}.\n\nYour receipt: {base_url}/parent/payments/{}\n",
            payment.parent_name,
            Money::from_pence(payment.amount_pence),
            payment.method.label(),
            payment.booking_id,
            payment.id,
        ),
    }
}
