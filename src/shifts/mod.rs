//! A trainer's shifts: the calendar, shift detail, open shifts to pick up, offers to
//! accept or decline, and checking in and out on the day.

pub mod actions;
pub mod domain;
mod pages;
pub mod reminders;
pub mod store;

use axum::{
    Router,
    routing::{get, post},
};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/trainer/shifts", get(pages::index))
        .route("/trainer/shifts/{id}", get(pages::show))
        .route("/trainer/shifts/{id}/accept", post(pages::accept))
        .route("/trainer/shifts/{id}/decline", post(pages::decline))
        .route("/trainer/shifts/{id}/check-in", post(pages::check_in))
        .route("/trainer/shifts/{id}/check-out", post(pages::check_out))
        .route("/trainer/open-shifts", get(pages::open_shifts))
}
