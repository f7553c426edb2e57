//! The crate-wide error for handlers. Validation failures are not errors: handlers
//! re-render their form with a 422 (see `web::form`).

use askama::Template;
use axum::{
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Not signed in: send them to the login page.
    #[error("sign-in required")]
    SignInRequired,
    /// Signed in, but this is another role's page.
    #[error("forbidden")]
    Forbidden,
    /// Missing or stale CSRF token.
    #[error("invalid CSRF token")]
    Csrf,
    /// Missing, or not the user's: the two look the same from outside.
    #[error("not found")]
    NotFound,
    /// An admin without two-factor sign-in while the owner requires it.
    #[error("two-factor set-up required")]
    TwoFactorSetupRequired,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl From<sqlx::Error> for AppError {
    /// Every database error is a 500, `RowNotFound` included: a page whose row may be
    /// missing asks with `fetch_optional` and answers `NotFound` itself, so a query that
    /// finds nothing where a row must exist shows up as the bug it is.
    fn from(err: sqlx::Error) -> Self {
        AppError::Internal(anyhow::Error::new(err).context("database error"))
    }
}

impl From<askama::Error> for AppError {
    fn from(err: askama::Error) -> Self {
        AppError::Internal(anyhow::Error::new(err).context("Failed to render a template"))
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(err: tower_sessions::session::Error) -> Self {
        AppError::Internal(anyhow::Error::new(err).context("session store error"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub status: u16,
    pub title: &'static str,
    pub message: &'static str,
}

impl ErrorPage {
    pub fn for_status(status: StatusCode) -> Self {
        let (title, message) = match status.as_u16() {
            403 => (
                "Not allowed",
                "This page belongs to another part of Portico, or the form had expired. \
                 Go back, reload the page and try again.",
            ),
            404 => ("Page not found", "There is nothing here, or it is not yours to see."),
            429 => ("Too many attempts", "Please wait a few minutes and try again."),
            503 => (
                "Back in a moment",
                "Portico cannot reach its database just now. Nothing was changed; please try again in a minute.",
            ),
            _ => ("Something went wrong", "We could not finish that. Nothing was changed; please try again."),
        };
        Self { status: status.as_u16(), title, message }
    }

    pub fn into_response_with(self, status: StatusCode) -> Response {
        match self.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, self.title).into_response(),
        }
    }
}

pub fn error_response(status: StatusCode) -> Response {
    let mut response = ErrorPage::for_status(status).into_response_with(status);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("10"));
    }
    response
}

/// Whether `err` says the database is out of reach or too slow (a 503: try again),
/// rather than that a query is wrong (a 500: a bug).
pub fn database_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        // query_canceled (the statement timeout), connection exceptions, shutdowns.
        sqlx::Error::Database(db) => {
            db.code().is_some_and(|code| code == "57014" || code.starts_with("08") || code.starts_with("57P"))
        }
        _ => false,
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::SignInRequired => Redirect::to("/login").into_response(),
            AppError::TwoFactorSetupRequired => Redirect::to("/account/two-factor").into_response(),
            AppError::Forbidden | AppError::Csrf => error_response(StatusCode::FORBIDDEN),
            AppError::NotFound => error_response(StatusCode::NOT_FOUND),
            AppError::Internal(err)
                if err.chain().any(|e| e.downcast_ref::<sqlx::Error>().is_some_and(database_unavailable)) =>
            {
                tracing::warn!(error = %format!("{err:#}"), "the database is unavailable");
                error_response(StatusCode::SERVICE_UNAVAILABLE)
            }
            AppError::Internal(err) => {
                tracing::error!(error = ?err, "request failed");
                error_response(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}
