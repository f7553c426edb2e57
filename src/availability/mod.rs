//! A trainer's availability: the weekly pattern (several slots a day), dated
//! exceptions, and time-off requests that an admin approves.

mod actions;
pub mod domain;
mod pages;
pub mod store;

use axum::{
    Router,
    routing::{get, post},
};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/trainer/availability", get(pages::show))
        .route("/trainer/availability/slots", post(pages::add_slot))
        .route("/trainer/availability/slots/{id}/remove", post(pages::remove_slot))
        .route("/trainer/availability/exceptions", post(pages::add_exception))
        .route("/trainer/availability/exceptions/{id}/remove", post(pages::remove_exception))
        .route("/trainer/time-off", post(pages::request_time_off))
        .route("/trainer/time-off/{id}/withdraw", post(pages::withdraw_time_off))
}
