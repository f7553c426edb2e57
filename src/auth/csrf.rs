//! CSRF protection for every state-changing request.
//!
//! A synchronizer token lives in the session and in a hidden `csrf_token` field of
//! every form; the middleware compares them before any handler runs, so a handler
//! cannot forget. Requests from another origin are refused too: those browsers label
//! cross-site (`Sec-Fetch-Site`), and those whose `Origin` (or, without one, `Referer`)
//! names another site, as older browsers send.
//!
//! A visitor who is not signed in gets no session at all (no row per anonymous view):
//! their forms' token is a random value in a cookie of its own, repeated in the form
//! (a double-submit token), which the `Origin` check above backs up. Signing in makes a
//! session with a token of its own, so a token seen before sign-in is useless after.

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

/// A fresh token, e.g. at sign-in, so a token seen before sign-in is useless after.
pub async fn rotate(session: &Session) -> Result<String, tower_sessions::session::Error> {
    let token = new_token();
    session.insert(SESSION_KEY, &token).await?;
    Ok(token)
}

/// The session's token if it has one, else the anonymous visitor's (no session made);
/// a new session token only where neither exists.
pub async fn token_for_page(
    session: &Session,
    anonymous: Option<&AnonymousToken>,
) -> Result<String, tower_sessions::session::Error> {
    if let Some(token) = session.get::<String>(SESSION_KEY).await? {
        return Ok(token);
    }
    match anonymous {
        Some(AnonymousToken(token)) => Ok(token.clone()),
        None => rotate(session).await,
    }
}

fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn anonymous_cookie_name(state: &AppState) -> &'static str {
    if state.config.is_https() { "__Host-portico_csrf" } else { "portico_csrf" }
}

fn cookie_value(headers: &header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, value)| *key == name && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

/// The anonymous visitor's token, for `PageContext` to put in forms.
#[derive(Clone)]
pub struct AnonymousToken(pub String);

pub async fn protect(
    State(state): State<AppState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    // Stripe signs its webhooks; there is no browser and no session.
    if request.uri().path().starts_with("/webhooks/") {
        return next.run(request).await;
    }
    let in_session = match session.get::<String>(SESSION_KEY).await {
        Ok(token) => token,
        Err(err) => {
            tracing::error!(error = ?err, "session store error during CSRF check");
            return error_response(StatusCode::INTERNAL_SERVER_ERROR);
        }
    };
    let cookie_name = anonymous_cookie_name(&state);
    let in_cookie = cookie_value(request.headers(), cookie_name);
    if safe {
        if in_session.is_some() {
            return next.run(request).await;
        }
        let (token, new) = match in_cookie {
            Some(token) => (token, false),
            None => (new_token(), true),
        };
        request.extensions_mut().insert(AnonymousToken(token.clone()));
        let mut response = next.run(request).await;
        if new {
            let secure = if state.config.is_https() { "; Secure" } else { "" };
            let cookie = format!("{cookie_name}={token}; Path=/; HttpOnly; SameSite=Strict{secure}");
            if let Ok(value) = header::HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
        return response;
    }
    // Read the body first, so a refusal is an answer rather than a dropped connection.
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
        return error_response(StatusCode::PAYLOAD_TOO_LARGE);
    };
    let headers = &parts.headers;
    if headers.get("sec-fetch-site").is_some_and(|v| v.as_bytes() == b"cross-site") {
        return refuse("cross-site request");
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let claimed = match headers.get(header::ORIGIN) {
        Some(origin) => Some(origin),
        None => headers.get(header::REFERER),
    };
    if let Some(claimed) = claimed
        && !is_same_origin(claimed.to_str().unwrap_or(""), host, &state.config.base_url)
    {
        return refuse("another origin");
    }
    let anonymous = in_session.is_none();
    let Some(expected) = in_session.or(in_cookie) else { return refuse("no token") };
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return refuse("not a form submission");
    }
    let submitted =
        form_urlencoded::parse(&bytes).find(|(name, _)| name == FIELD).map(|(_, value)| value.into_owned());
    let valid = submitted.is_some_and(|s| bool::from(s.as_bytes().ct_eq(expected.as_bytes())));
    if !valid {
        return refuse("token missing or stale");
    }
    if anonymous {
        // A form that comes back with an error needs the same token, still no session.
        parts.extensions.insert(AnonymousToken(expected));
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// Whether `url` (an `Origin`, or a `Referer`) is this site: the host the request was
/// sent to, or the configured public address. `null` and anything unparsable are not.
fn is_same_origin(url: &str, host: Option<&str>, base_url: &str) -> bool {
    let Some(claimed) = authority(url) else { return false };
    host.is_some_and(|host| host.eq_ignore_ascii_case(claimed))
        || authority(base_url).is_some_and(|base| base.eq_ignore_ascii_case(claimed))
}

/// The `host[:port]` of an absolute http(s) URL.
fn authority(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty() && !authority.contains('@')).then_some(authority)
}

fn refuse(reason: &'static str) -> Response {
    tracing::warn!(reason, "CSRF check refused a request");
    error_response(StatusCode::FORBIDDEN)
}

#[cfg(test)]
mod tests {
    use super::is_same_origin;

    #[test]
    fn only_this_sites_origin_is_the_same_origin() {
        let base = "https://club.example.com";
        assert!(is_same_origin("http://127.0.0.1:3000", Some("127.0.0.1:3000"), base));
        assert!(is_same_origin("https://club.example.com", Some("10.0.0.5:3000"), base), "behind a proxy");
        assert!(is_same_origin("https://club.example.com/parent/bookings?x=1", None, base), "a referer");
        assert!(!is_same_origin("https://evil.example", Some("club.example.com"), base));
        assert!(!is_same_origin("https://club.example.com.evil.example", Some("club.example.com"), base));
        assert!(!is_same_origin("https://club.example.com@evil.example", Some("club.example.com"), base));
        assert!(!is_same_origin("null", Some("club.example.com"), base));
        assert!(!is_same_origin("", Some("club.example.com"), base));
    }
}
