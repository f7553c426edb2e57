//! NUL characters (`%00`) in requests, refused or removed in one place.
//!
//! PostgreSQL cannot store U+0000 in text, so a NUL reaching a query fails the request
//! with a 500. Rather than every free-text field checking for it, this middleware
//! (inside the CSRF check) looks at every request once: a form with a NUL in any field
//! is answered 422 with the fields it was in, their text kept minus the NUL, ready to
//! send again; nothing reaches a handler, so nothing is half-written. In an address a
//! NUL is dropped from the query (filters then work on what is left), and a path with
//! one names nothing, so it is 404.

use askama::Template;
use axum::{
    body::{Body, to_bytes},
    extract::{FromRequestParts, Request, State},
    http::{Method, StatusCode, Uri, header},
    middleware::Next,
    response::Response,
};

use crate::{
    AppState,
    error::{AppError, error_response},
    web::{FormErrors, PageContext, form::render_with},
};

/// The same bound the CSRF check reads forms with.
const MAX_FORM_BYTES: usize = 256 * 1024;

pub const MESSAGE: &str = "This contained a NUL character (an invisible control character), which Portico \
                           cannot store. It has been taken out: check the text and send it again.";

pub struct Field {
    pub name: String,
    pub label: String,
    pub value: String,
    /// A password is never written back into a page: it is asked for again.
    pub secret: bool,
    pub had_nul: bool,
}

#[derive(Template)]
#[template(path = "web/nul_refused.html")]
pub struct RefusedPage {
    pub ctx: PageContext,
    pub action: String,
    /// The fields that held a NUL, shown to be checked, and passwords to type again.
    pub fields: Vec<Field>,
    /// Every other field, sent again as it was.
    pub kept: Vec<(String, String)>,
    pub errors: FormErrors,
}

pub async fn refuse_nul(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    if has_encoded_nul(parts.uri.path()) {
        return error_response(StatusCode::NOT_FOUND);
    }
    if let Some(query) = parts.uri.query().filter(|q| has_encoded_nul(q)) {
        let cleaned = without_nul(query);
        let rebuilt = format!("{}?{cleaned}", parts.uri.path());
        match rebuilt.parse::<Uri>() {
            Ok(uri) => parts.uri = uri,
            Err(_) => return error_response(StatusCode::BAD_REQUEST),
        }
    }
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if parts.method != Method::POST || !is_form {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
        return error_response(StatusCode::PAYLOAD_TOO_LARGE);
    };
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
    if !pairs.iter().any(|(k, v)| k.contains('\0') || v.contains('\0')) {
        return next.run(Request::from_parts(parts, Body::from(bytes))).await;
    }
    match refused(&state, &mut parts, pairs).await {
        Ok(response) => response,
        Err(err) => axum::response::IntoResponse::into_response(err),
    }
}

async fn refused(
    state: &AppState,
    parts: &mut axum::http::request::Parts,
    pairs: Vec<(String, String)>,
) -> Result<Response, AppError> {
    let ctx = PageContext::from_request_parts(parts, state).await?;
    let action = parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_owned(), |p| p.to_string());
    let mut fields = Vec::new();
    let mut kept = Vec::new();
    let mut errors = FormErrors::default();
    for (name, value) in pairs {
        let (name, had_nul) = (name.replace('\0', ""), name.contains('\0') || value.contains('\0'));
        let value = value.replace('\0', "");
        if name == crate::auth::csrf::FIELD {
            continue;
        }
        let secret = name.contains("password");
        if (had_nul || secret) && !fields.iter().any(|f: &Field| f.name == name) {
            if had_nul {
                errors.add("nul", MESSAGE);
            }
            let value = if secret { String::new() } else { value };
            fields.push(Field { label: label_of(&name), name, value, secret, had_nul });
        } else if !secret {
            kept.push((name, value));
        }
    }
    tracing::info!(fields = fields.len(), "refused a form with a NUL character");
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &RefusedPage { ctx, action, fields, kept, errors })
}

/// `medical_notes` reads as "Medical notes".
fn label_of(name: &str) -> String {
    let words = name.replace(['_', '-'], " ");
    let mut chars = words.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "A field".into(),
    }
}

fn has_encoded_nul(raw: &str) -> bool {
    raw.as_bytes().windows(3).any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
}

/// The query again, every name and value without its NULs.
fn without_nul(query: &str) -> String {
    let pairs =
        form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.replace('\0', ""), v.replace('\0', "")));
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_is_found_encoded_and_dropped_from_a_query() {
        assert!(has_encoded_nul("q=a%00b"));
        assert!(!has_encoded_nul("q=100%25&to=2026-01-01"));
        assert_eq!(without_nul("q=a%00b&from=2026-01-01"), "q=ab&from=2026-01-01");
    }

    #[test]
    fn field_names_read_as_labels() {
        assert_eq!(label_of("medical_notes"), "Medical notes");
        assert_eq!(label_of(""), "A field");
    }
}
