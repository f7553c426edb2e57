//! The secret address of a user's calendar feed, made on first use: the core the
//! shift and booking pages link to, apart from the feed's handlers.

use base64::Engine;
use sqlx::PgConnection;

/// The user's feed URL, creating the token on first use.
pub async fn feed_url(conn: &mut PgConnection, base_url: &str, user_id: i64) -> sqlx::Result<String> {
    let existing: Option<String> = sqlx::query_scalar("select token from calendar_feeds where user_id = $1")
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
    let token = match existing {
        Some(token) => token,
        None => {
            sqlx::query_scalar(
                "insert into calendar_feeds (user_id, token) values ($1, $2)
                 on conflict (user_id) do update set user_id = excluded.user_id returning token",
            )
            .bind(user_id)
            .bind(new_token())
            .fetch_one(&mut *conn)
            .await?
        }
    };
    Ok(format!("{base_url}/calendar/{token}.ics"))
}

pub(super) fn new_token() -> String {
    let bytes: [u8; 24] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
