//! Children: a family adds them, keeps their medical details, emergency contacts and
//! the people allowed to collect them up to date, and works through their checklist.

pub mod actions;
pub mod domain;
mod pages;
pub mod store;

use axum::{
    Router,
    routing::{get, post},
};

use crate::{AppState, ids::ChecklistItemId, web::fmt};
use store::ChecklistRow;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/parent/children", get(pages::index))
        .route("/parent/children/new", get(pages::new_form).post(pages::create))
        .route("/parent/children/{id}", get(pages::show))
        .route("/parent/children/{id}/edit", get(pages::edit_form).post(pages::update))
        .route("/parent/children/{id}/archive", post(pages::archive))
        .route("/parent/children/{id}/contacts", post(pages::add_contact))
        .route("/parent/children/{id}/contacts/{contact_id}/remove", post(pages::remove_contact))
        .route("/parent/children/{id}/collectors", post(pages::add_collector))
        .route("/parent/children/{id}/collectors/{collector_id}/remove", post(pages::remove_collector))
        .route("/parent/children/{id}/checklist/{item_id}", post(pages::set_checklist_item))
}

/// A checklist item as a page shows it (a child's on their page, a parent's on the profile).
pub struct ChecklistEntry {
    pub item_id: ChecklistItemId,
    pub code: String,
    pub name: String,
    pub description: String,
    pub required: bool,
    /// "Monday 23 November" when done.
    pub done_on: Option<String>,
}

impl ChecklistEntry {
    pub fn from_rows(rows: Vec<ChecklistRow>, state: &AppState) -> Vec<Self> {
        rows.into_iter()
            .map(|row| ChecklistEntry {
                item_id: row.item_id,
                code: row.code,
                name: row.name,
                description: row.description,
                required: row.required,
                done_on: row.completed_at.map(|at| fmt::long_date(at, state.config.timezone)),
            })
            .collect()
    }
}
