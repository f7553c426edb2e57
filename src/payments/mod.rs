//! Payments: finance records cash and bank transfers against bookings, parents see
//! their receipts and history, and finance sees what came in, what went back and what
//! is still owed. Money is integer pence; the database refuses an over-refund.

mod admin;
pub mod cancellation;
mod card;
pub mod checkout;
pub mod discounts;
pub mod domain;
pub mod holds;
pub mod package_sales;
pub mod packages;
mod parent;
mod refunds;
pub mod store;

use axum::{
    Router,
    routing::{get, post},
};

use crate::{AppState, notifications::Email, web::fmt};
pub use card::{NotStarted, pay_for_held_places, start_checkout};
pub use checkout::Stripe;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/parent/payments", get(parent::index))
        .route("/parent/payments/success", get(card::success))
        .route("/parent/payments/{id}", get(parent::receipt))
        .route("/parent/bookings/{id}/pay", post(card::pay))
        .route("/parent/bookings/{id}/discount", post(discounts::apply))
        .route("/parent/packages", get(packages::index))
        .route("/parent/packages/success", get(packages::success))
        .route("/parent/packages/{id}/buy", post(packages::buy))
        .route("/admin/package-sales", get(packages::sales))
        .route("/admin/package-sales/{id}/paid", post(packages::record_paid))
        .route("/admin/discounts", get(discounts::index).post(discounts::create))
        .route("/webhooks/stripe", post(card::webhook))
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
    pub method: String,
    pub status: String,
    pub status_key: String,
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
            method: domain::method_label(&p.method).to_owned(),
            status: domain::status_label(&p.status).to_owned(),
            status_key: p.status,
            amount: fmt::pounds(i64::from(p.amount_pence)),
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
            fmt::pounds(i64::from(payment.amount_pence)),
            domain::method_label(&payment.method),
            payment.booking_id,
            payment.id,
        ),
    }
}
