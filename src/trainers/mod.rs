//! Trainers as the office manages them: profiles, qualifications, deactivation,
//! invitations, applications and time-off decisions.

mod actions;
mod applications;
pub mod domain;
mod pages;
pub mod store;
mod time_off;

use axum::{
    Router,
    routing::{get, post},
};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/apply", get(applications::apply_form).post(applications::apply))
        .route("/admin/trainers", get(pages::index))
        .route("/admin/trainers/invite", get(pages::invite_form).post(pages::invite))
        .route("/admin/trainers/applications", get(applications::index))
        .route("/admin/trainers/applications/{id}/approve", post(applications::approve))
        .route("/admin/trainers/applications/{id}/reject", post(applications::reject))
        .route("/admin/trainers/{id}", get(pages::show).post(pages::update))
        .route("/admin/trainers/{id}/qualifications", post(pages::add_qualification))
        .route(
            "/admin/trainers/{id}/qualifications/{qualification_id}/remove",
            post(pages::remove_qualification),
        )
        .route("/admin/trainers/{id}/contacts", post(pages::add_contact))
        .route("/admin/trainers/{id}/contacts/{contact_id}/remove", post(pages::remove_contact))
        .route("/admin/trainers/{id}/notes", post(pages::add_note))
        .route("/admin/trainers/{id}/deactivate", post(pages::deactivate))
        .route("/admin/trainers/{id}/reactivate", post(pages::reactivate))
        .route("/admin/time-off", get(time_off::index))
        .route("/admin/time-off/{id}/approve", post(time_off::approve))
        .route("/admin/time-off/{id}/decline", post(time_off::decline))
}
