//! iCalendar feeds: `/calendar/{token}.ics` lists a family's booked sessions or a
//! trainer's shifts. The unguessable token is the credential (calendar apps cannot
//! sign in); its owner can reset it, which kills the old link.
//!
//! A booking the office has not confirmed is `TENTATIVE`; a place or shift that went
//! is kept as `CANCELLED` for 30 days, long enough for calendar apps that
//! only update events (rather than drop missing ones) to take it off.

mod pages;

use axum::{
    Router,
    routing::{get, post},
};
use base64::Engine;
use sqlx::PgConnection;

use crate::{AppState, error::AppResult};

pub fn router() -> Router<AppState> {
    Router::new().route("/calendar/{file}", get(pages::feed)).route("/calendar/reset", post(pages::reset))
}

/// The user's feed URL, creating the token on first use.
pub async fn feed_url(conn: &mut PgConnection, base_url: &str, user_id: i64) -> sqlx::Result<String> {
    let existing = sqlx::query_scalar!("select token from calendar_feeds where user_id = $1", user_id)
        .fetch_optional(&mut *conn)
        .await?;
    feed_url_from(conn, base_url, user_id, existing).await
}

/// As `feed_url`, with the token the page already read with its own rows (`None`: the
/// user has no feed yet, and gets one now).
pub async fn feed_url_from(
    conn: &mut PgConnection,
    base_url: &str,
    user_id: i64,
    existing: Option<String>,
) -> sqlx::Result<String> {
    let token = match existing {
        Some(token) => token,
        None => {
            sqlx::query_scalar!(
                "insert into calendar_feeds (user_id, token) values ($1, $2)
                 on conflict (user_id) do update set user_id = excluded.user_id returning token",
                user_id,
                new_token(),
            )
            .fetch_one(&mut *conn)
            .await?
        }
    };
    Ok(format!("{base_url}/calendar/{token}.ics"))
}

/// A new secret link for the user's feed, audited; the old one stops working at once.
pub async fn reset(conn: &mut PgConnection, user_id: i64) -> AppResult<()> {
    sqlx::query!(
        "insert into calendar_feeds (user_id, token) values ($1, $2)
         on conflict (user_id) do update set token = excluded.token, created_at = now()",
        user_id,
        new_token(),
    )
    .execute(&mut *conn)
    .await?;
    crate::audit::record(conn).by(user_id).action("calendar_feed.reset").entity("user", user_id).await?;
    Ok(())
}

/// The last segment of a feed's URL, `{token}.ics`: a path that is not one is "not found".
#[derive(Debug, PartialEq, Eq)]
pub struct FeedFile(String);

impl FeedFile {
    pub fn parse(file: &str) -> Option<Self> {
        let token = file.strip_suffix(".ics")?;
        let url_safe = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        (!token.is_empty() && token.chars().all(url_safe)).then(|| Self(token.to_owned()))
    }

    pub fn token(&self) -> &str {
        &self.0
    }
}

impl<'de> serde::Deserialize<'de> for FeedFile {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let file = String::deserialize(deserializer)?;
        Self::parse(&file).ok_or_else(|| serde::de::Error::custom("not a calendar feed"))
    }
}

fn new_token() -> String {
    let bytes: [u8; 24] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::FeedFile;

    #[test]
    fn a_feed_file_is_a_url_safe_token_and_ics() {
        assert_eq!(FeedFile::parse("abc_D-9.ics").map(|f| f.token().to_owned()), Some("abc_D-9".into()));
        assert_eq!(FeedFile::parse("abc"), None);
        assert_eq!(FeedFile::parse(".ics"), None);
        assert_eq!(FeedFile::parse("a b.ics"), None);
        assert!(FeedFile::parse(&format!("{}.ics", super::new_token())).is_some());
    }
}
