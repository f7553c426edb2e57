//! Courses for adults on the day: the trainer records each learner's result on the
//! session's results form (attended, passed, failed, referred, with a note); a pass on a
//! course that gives a certificate issues it in the same transaction.

pub mod domain;
mod pages;
pub mod results;

use axum::{Router, routing::get};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/trainer/sessions/{id}/results", get(pages::results).post(pages::save_results))
}
