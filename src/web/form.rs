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

/// Form or query fields with repeated names kept (`child=1&child=2`), which serde's
/// urlencoded format cannot decode into a list.
#[derive(Debug, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(input: &[u8]) -> Self {
        Fields(form_urlencoded::parse(input).into_owned().collect())
    }

    /// The first value of `name`, trimmed; empty counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, v)| k == name && !v.trim().is_empty()).map(|(_, v)| v.trim())
    }

    /// Every field as it came, in order (the pager's links keep them).
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of `name` that is a whole number; others are ignored.
    pub fn ids(&self, name: &str) -> Vec<i64> {
        let mut ids: Vec<i64> = self.all(name).filter_map(|v| v.trim().parse().ok()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    pub fn id(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(|v| v.parse().ok())
    }
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for Fields {
    type Rejection = crate::error::AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| crate::error::AppError::Internal(anyhow::anyhow!("could not read the form")))?;
        Ok(Fields::parse(&bytes))
    }
}

/// The query string's fields (filters, the booking review's choices).
pub struct QueryFields(pub Fields);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for QueryFields {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(QueryFields(Fields::parse(parts.uri.query().unwrap_or_default().as_bytes())))
    }
}
