//! Payments: finance records cash and bank transfers against bookings, parents see
//! their receipts and history, and finance sees what came in, what went back and what
//! is still owed. Money is integer pence; the database refuses an over-refund.

mod admin;
pub mod domain;
mod parent;
pub mod store;

use axum::{Router, routing::get};

use crate::{AppState, notifications::Email, web::fmt};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/parent/payments", get(parent::index))
        .route("/parent/payments/{id}", get(parent::receipt))
        .route("/admin/payments", get(admin::index).post(admin::create))
        .route("/admin/payments.csv", get(admin::export))
        .route("/admin/payments/new", get(admin::new))
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
