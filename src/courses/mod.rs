//! The public course catalogue (`/courses`): what anyone may book, without signing in.

pub mod domain;
mod pages;
pub mod store;

use axum::{Router, routing::get};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/courses", get(pages::index))
        .route("/courses/{id}", get(pages::show))
        .route("/courses/{id}/book", get(pages::book))
}
