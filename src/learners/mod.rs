//! The adults an account books for: the account holder themself and named delegates
//! (colleagues, employees), with the special requirements staff see on the register.
//! They are rows of `children` with a `kind` (see migration 0038), so booking, capacity
//! and registers treat every participant alike.

pub mod actions;
pub mod domain;
mod pages;
pub mod store;

use axum::{Router, routing::get};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/parent/people", get(pages::index))
        .route("/parent/people/new", get(pages::new_form).post(pages::create))
        .route("/parent/people/{id}/edit", get(pages::edit_form).post(pages::update))
}
