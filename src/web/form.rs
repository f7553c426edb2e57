//! Field-level error messages for a form that comes back with a 422, and the `Form`
//! extractor for forms with repeated names.

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

/// A form body decoded into `T`, repeated names included: `child=1&child=2` fills a
/// `Vec` (`serde_html_form`; axum's `Form` cannot). Input that does not decode into `T`
/// is a 422, as with axum's `Form`.
pub struct Form<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for Form<T> {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = <axum::body::Bytes as axum::extract::FromRequest<S>>::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        serde_html_form::from_bytes(&bytes).map(Form).map_err(|err| {
            (StatusCode::UNPROCESSABLE_ENTITY, format!("Failed to deserialize form body: {err}"))
                .into_response()
        })
    }
}

/// For `#[serde(deserialize_with = …)]`: a repeated field's values that parse (ids,
/// usually), sorted, each once; others are ignored, as a tampered checkbox would be.
pub fn ids<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr + Ord,
{
    let raw: Vec<String> = serde::Deserialize::deserialize(deserializer)?;
    let mut ids: Vec<T> = raw.iter().filter_map(|v| v.trim().parse().ok()).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// For `#[serde(deserialize_with = …)]`: a ticked checkbox (any value but blank).
pub fn ticked<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    let raw: Option<String> = serde::Deserialize::deserialize(deserializer)?;
    Ok(raw.is_some_and(|v| !v.trim().is_empty()))
}

/// A query string's fields with repeated names kept, in order: the filters a list
/// reads, and what its pager's links carry on (forms are read with `Form`).
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
