//! Bookings: parents find sessions and book their children; admins approve, reject,
//! ask for changes and cancel. Every change is one transaction with its history row
//! and its email.

pub mod actions;
mod admin;
pub mod domain;
mod emails;
pub mod holds;
mod office;
mod parent;
pub mod reminders;
pub mod rules;
pub mod store;
mod views;

use axum::{
    Router,
    routing::{get, post},
};

use crate::AppState;
pub use actions::{Transition, book, transition};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/parent/sessions", get(parent::browse))
        .route("/parent/sessions/{id}", get(parent::session))
        .route("/parent/series/{id}", get(parent::series))
        .route("/parent/bookings", get(parent::index).post(parent::create))
        .route("/parent/bookings/new", get(parent::review))
        .route("/parent/bookings/{id}", get(parent::show))
        .route("/parent/bookings/{id}/cancel", post(parent::cancel))
        .route("/parent/bookings/{id}/resubmit", post(parent::resubmit))
        .route("/parent/bookings/{id}/submit", post(parent::submit))
        .route("/admin/bookings", get(admin::index))
        .route("/admin/bookings.csv", get(admin::export))
        .route("/admin/bookings/new", get(office::new).post(office::create))
        .route("/admin/bookings/approve", post(admin::approve_many))
        .route("/admin/bookings/{id}", get(admin::show))
        .route("/admin/bookings/{id}/approve", post(admin::approve))
        .route("/admin/bookings/{id}/reject", post(admin::reject))
        .route("/admin/bookings/{id}/request-changes", post(admin::request_changes))
        .route("/admin/bookings/{id}/cancel", post(admin::cancel))
        .route("/admin/bookings/{id}/move", post(office::move_place))
}
