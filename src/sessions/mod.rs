//! The admin calendar: sessions and series, their edits and cancellation, and
//! staffing them with trainers.

pub mod actions;
mod cancellation;
pub mod domain;
mod pages;
pub mod staffing;
pub mod store;

use axum::{
    Router,
    routing::{get, post},
};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/sessions", get(pages::calendar))
        .route("/admin/sessions/new", get(pages::new_session_form).post(pages::create_session))
        .route("/admin/series/new", get(pages::new_series_form).post(pages::create_series))
        .route("/admin/sessions/{id}", get(pages::show))
        .route("/admin/sessions/{id}/edit", get(pages::edit_form).post(pages::update))
        .route("/admin/sessions/{id}/cancel", post(pages::cancel))
        .route(
            "/admin/sessions/{id}/cancel-series",
            get(pages::cancel_series_form).post(pages::cancel_series),
        )
        .route("/admin/sessions/{id}/shifts", post(pages::staff))
        .route("/admin/shifts/{id}/cancel", post(pages::cancel_shift))
}
