//! The three portals' home pages, each showing what its user came to see.

mod admin;
mod parent;
mod trainer;

use axum::{Router, routing::get};

use crate::{
    AppState,
    clock::{start_of_day, today as local_today},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/parent", get(parent::show))
        .route("/trainer", get(trainer::show))
        .route("/admin", get(admin::show))
}
