//! CSRF protection for every state-changing request.
//!
//! A synchronizer token lives in the session and in a hidden `csrf_token` field of
//! every form; the middleware compares them before any handler runs, so a handler
//! cannot forget. Cross-site requests that browsers label as such are refused too.

use axum::{
    body::{Body, to_bytes},
    extract::{Request, State},
    http::{Method, StatusCode, header},
    middleware::Next,
    response::Response,
};
use base64::Engine;
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use crate::{AppState, error::error_response};

const SESSION_KEY: &str = "csrf.token";
pub const FIELD: &str = "csrf_token";
/// Forms are small; anything larger is refused before it is read.
const MAX_FORM_BYTES: usize = 256 * 1024;

/// The session's token, creating one (and so the session) on first use.
pub async fn token(session: &Session) -> Result<String, tower_sessions::session::Error> {
    if let Some(token) = session.get::<String>(SESSION_KEY).await? {
        return Ok(token);
    }
    rotate(session).await
}

/// A fresh token, e.g. at sign-in, so a token seen before sign-in is useless after.
pub async fn rotate(session: &Session) -> Result<String, tower_sessions::session::Error> {
    let bytes: [u8; 32] = rand::random();
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    session.insert(SESSION_KEY, &token).await?;
    Ok(token)
}

pub async fn protect(State(_): State<AppState>, session: Session, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    // Stripe signs its webhooks; there is no browser and no session.
    if safe || request.uri().path().starts_with("/webhooks/") {
        return next.run(request).await;
    }
    if request.headers().get("sec-fetch-site").is_some_and(|v| v.as_bytes() == b"cross-site") {
        return refuse("cross-site request");
    }
    let expected = match session.get::<String>(SESSION_KEY).await {
        Ok(Some(token)) => token,
        Ok(None) => return refuse("no token in session"),
        Err(err) => {
            tracing::error!(error = ?err, "session store error during CSRF check");
            return error_response(StatusCode::INTERNAL_SERVER_ERROR);
        }
    };
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return refuse("not a form submission");
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
        return error_response(StatusCode::PAYLOAD_TOO_LARGE);
    };
    let submitted =
        form_urlencoded::parse(&bytes).find(|(name, _)| name == FIELD).map(|(_, value)| value.into_owned());
    let valid = submitted.is_some_and(|s| bool::from(s.as_bytes().ct_eq(expected.as_bytes())));
    if !valid {
        return refuse("token missing or stale");
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

fn refuse(reason: &'static str) -> Response {
    tracing::warn!(reason, "CSRF check refused a request");
    error_response(StatusCode::FORBIDDEN)
}
