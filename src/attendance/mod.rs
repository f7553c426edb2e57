//! On the day: the register (marks, sign-out to a collector), team notes, incident
//! reports and safeguarding concerns, for the trainers working the session.

pub mod actions;
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
        .route("/trainer/sessions/{id}/register", get(pages::register).post(pages::save_register))
        .route("/trainer/sessions/{id}/notes", post(pages::add_note))
        .route("/trainer/sessions/{id}/incidents", post(pages::report_incident))
        .route("/trainer/sessions/{id}/concerns", post(pages::raise_concern))
}
