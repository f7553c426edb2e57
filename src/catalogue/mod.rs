//! The catalogue: what the provider delivers (activities, with their price, limits,
//! staff ratio and required qualifications), where (venues), and the packages sold.

pub mod actions;
pub mod domain;
mod packages;
mod pages;
pub mod store;

use axum::{
    Router,
    routing::{get, post},
};

use crate::{AppState, auth::AdminRole};

/// Who may see and change the catalogue, the calendar and staffing (owners always may).
pub const EDITORS: &[AdminRole] = &[AdminRole::Coordinator];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/activities", get(pages::activities))
        .route("/admin/activities/new", get(pages::new_activity_form).post(pages::create_activity))
        .route("/admin/activities/{id}/edit", get(pages::edit_activity_form).post(pages::update_activity))
        .route("/admin/activities/{id}/deactivate", post(pages::deactivate_activity))
        .route("/admin/activities/{id}/reactivate", post(pages::reactivate_activity))
        .route("/admin/venues", get(pages::venues))
        .route("/admin/venues/new", get(pages::new_venue_form).post(pages::create_venue))
        .route("/admin/venues/{id}/edit", get(pages::edit_venue_form).post(pages::update_venue))
        .route("/admin/venues/{id}/deactivate", post(pages::deactivate_venue))
        .route("/admin/venues/{id}/reactivate", post(pages::reactivate_venue))
        .route("/admin/packages", get(packages::index))
        .route("/admin/packages/new", get(packages::new_form).post(packages::create))
        .route("/admin/packages/{id}/edit", get(packages::edit_form).post(packages::update))
        .route("/admin/packages/{id}/deactivate", post(packages::deactivate))
        .route("/admin/packages/{id}/reactivate", post(packages::reactivate))
}
