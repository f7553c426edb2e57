//! One-shot messages shown on the next page ("Password changed").

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

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

pub async fn take(session: &Session) -> Result<Option<Flash>, tower_sessions::session::Error> {
    session.remove(KEY).await
}
