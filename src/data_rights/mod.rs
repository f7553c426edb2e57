//! Data rights (UK GDPR): a parent downloads everything Portico holds about their family
//! and may ask for the account to be closed; the owner carries out (or declines) the
//! erasure, which anonymises the family while the accounts and safeguarding records stay.

pub mod actions;
pub mod domain;
pub mod erasure;
pub mod export;
mod pages;
pub mod store;

use axum::{
    Router,
    routing::{get, post},
};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/parent/account", get(pages::account))
        .route("/parent/account/export", post(pages::export))
        .route("/parent/account/close", post(pages::request_closure))
        .route("/parent/account/close/withdraw", post(pages::withdraw_closure))
        .route("/admin/erasure-requests", get(pages::requests))
        .route("/admin/erasure-requests/{id}", get(pages::request))
        .route("/admin/erasure-requests/{id}/carry-out", post(pages::carry_out))
        .route("/admin/erasure-requests/{id}/decline", post(pages::decline))
}
