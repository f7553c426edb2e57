//! Inquiries from the public ("Ask about a course") and provisional holds: the office
//! replies by email, holds places on a course date for a few days (counted against
//! capacity by the database until they lapse), releases them or books people into them.

pub mod actions;
mod admin;
mod convert;
pub mod domain;
mod pages;
pub mod store;
pub mod views;

use axum::{
    Router,
    routing::{get, post},
};

use crate::{AppState, auth::AdminRole};

/// Who answers inquiries and holds places: those who run the calendar (owners always).
pub const EDITORS: &[AdminRole] = crate::catalogue::EDITORS;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/courses/ask", get(pages::ask_form).post(pages::ask))
        .route("/admin/inquiries", get(admin::index))
        .route("/admin/inquiries/{id}", get(admin::show))
        .route("/admin/inquiries/{id}/reply", post(admin::reply))
        .route("/admin/inquiries/{id}/close", post(admin::close))
        .route("/admin/inquiries/{id}/holds", post(admin::hold))
        .route("/admin/sessions/{id}/holds", post(admin::hold_on_session))
        .route("/admin/holds/{id}/release", post(admin::release))
        .route("/admin/holds/{id}/convert", get(convert::form).post(convert::convert))
}
