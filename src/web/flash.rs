//! One-shot messages shown on the next page ("Password changed").

use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::error::AppResult;

const KEY: &str = "flash";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum FlashKind {
    Success,
    Info,
    Error,
}

impl Flash {
    pub fn css_class(&self) -> &'static str {
        match self.kind {
            FlashKind::Success => "flash flash-success",
            FlashKind::Info => "flash flash-info",
            FlashKind::Error => "flash flash-error",
        }
    }
}

pub async fn push(
    session: &Session,
    kind: FlashKind,
    message: impl Into<String>,
) -> Result<(), tower_sessions::session::Error> {
    session.insert(KEY, Flash { kind, message: message.into() }).await
}

/// Ends a form's work the post/redirect/get way: commits `tx` (the change with its
/// history or audit row), then sends the user to `to` with `message` shown there.
pub async fn done(
    tx: sqlx::Transaction<'_, sqlx::Postgres>,
    session: &Session,
    message: impl Into<String>,
    to: &str,
) -> AppResult<Response> {
    tx.commit().await?;
    push(session, FlashKind::Success, message).await?;
    Ok(Redirect::to(to).into_response())
}

pub async fn take(session: &Session) -> Result<Option<Flash>, tower_sessions::session::Error> {
    // `remove` marks the session changed even when there is nothing to remove, which
    // would write the session row back on every page view.
    if session.get_value(KEY).await?.is_none() {
        return Ok(None);
    }
    session.remove(KEY).await
}
