//! Field-level error messages for a form that comes back with a 422.

use askama::Template;
use axum::{
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};

use crate::error::AppResult;

#[derive(Default, Debug)]
pub struct FormErrors(Vec<(&'static str, String)>);

impl FormErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        if self.get(field).is_none() {
            self.0.push((field, message.into()));
        }
    }

    /// The message for `field`, if it is wrong.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Renders a page with `status` (422 for a form with errors).
pub fn render_with(status: StatusCode, page: &impl Template) -> AppResult<Response> {
    Ok((status, Html(page.render()?)).into_response())
}

pub fn render(page: &impl Template) -> AppResult<Response> {
    render_with(StatusCode::OK, page)
}
