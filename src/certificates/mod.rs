//! Certificates: issued by a pass on a course that gives one (see `courses`), kept as a
//! snapshot with a random number; a PDF for the learner's account and the office, a
//! public check by number, revoking with a reason, the office's list and CSV, and
//! expiry reminders 90 and 30 days before.

pub mod actions;
pub mod domain;
mod pages;
pub mod pdf;
pub mod reminders;
pub mod store;

use axum::{
    Router,
    routing::{get, post},
};

use crate::{AppState, auth::AdminRole};

/// Who in the office sees and revokes certificates (the owner always may).
pub const OFFICE: &[AdminRole] = &[AdminRole::Coordinator];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/parent/certificates", get(pages::mine))
        .route("/parent/certificates/{id}/pdf", get(pages::my_pdf))
        .route("/certificates/verify", get(pages::verify_form).post(pages::verify))
        .route("/admin/certificates", get(pages::admin_index))
        .route("/admin/certificates.csv", get(pages::export))
        .route("/admin/certificates/{id}", get(pages::admin_show))
        .route("/admin/certificates/{id}/pdf", get(pages::admin_pdf))
        .route("/admin/certificates/{id}/revoke", post(pages::revoke))
}
