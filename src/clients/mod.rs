//! Clients (parents) with an assigned trainer, the personal-training case: assign,
//! transfer with a reason and the history kept, and on request move the client's
//! future shifts to the new trainer where they are qualified for the activity on the
//! day and the database finds them free.

pub mod actions;
mod pages;
pub mod store;

use axum::{
    Router,
    routing::{get, post},
};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/clients", get(pages::index))
        .route("/admin/clients/{id}", get(pages::show))
        .route("/admin/clients/{id}/assign", post(pages::assign))
}
