//! Courses: the public catalogue (`/courses`: what anyone may book, without signing in)
//! and, on the day, each learner's result (`results`).

pub mod domain;
mod pages;
pub mod results;
pub mod store;

use axum::{Router, routing::get};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/courses", get(pages::index))
        .route("/courses/{id}", get(pages::show))
        .route("/courses/{id}/book", get(pages::book))
        .route(
            "/trainer/sessions/{id}/results",
            get(results::pages::results).post(results::pages::save_results),
        )
}
