//! Families' accounts: signing up, the parent's profile and checklist, and the office
//! opening an account on a family's behalf.

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
        .route("/signup", get(pages::signup_form).post(pages::signup))
        .route("/signup/confirm/{token}", get(pages::signup_confirm_form).post(pages::signup_confirm))
        .route("/parent/profile", get(pages::profile_form).post(pages::profile))
        .route("/parent/profile/checklist/{item_id}", post(pages::set_checklist_item))
        .route("/admin/families/new", get(pages::new_family_form).post(pages::new_family))
}
