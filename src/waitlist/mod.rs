//! Waitlists: join a full session, get offered a freed place by email and on the
//! dashboard, claim it before the offer expires or it passes to the next child.

mod offers;
mod pages;
pub mod store;

use axum::{
    Router,
    routing::{get, post},
};

use crate::AppState;
pub use offers::{offer_free_places, sweep};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/parent/waitlist", get(pages::index))
        .route("/parent/sessions/{id}/waitlist", post(pages::join))
        .route("/parent/waitlist/{id}/claim", post(pages::claim))
        .route("/parent/waitlist/{id}/withdraw", post(pages::withdraw))
}
