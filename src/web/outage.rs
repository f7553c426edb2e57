//! A 500 while the database is away becomes the friendly 503 page. Most such errors
//! already answer 503 (`AppError` knows a connection error when it sees one), but the
//! session and sign-in layers answer a bare 500 when they cannot load a session: for
//! any 500, one quick ping tells an outage (503, try again) from a bug (500).

use std::time::Duration;

use axum::{
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::Response,
};

use crate::{AppState, error::error_response};

const PING_TIMEOUT: Duration = Duration::from_secs(1);

pub async fn answer_503(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let ping = sqlx::query_scalar!("select 1 as one").fetch_one(&state.pool);
    match tokio::time::timeout(PING_TIMEOUT, ping).await {
        Ok(Ok(_)) => response,
        _ => {
            tracing::warn!("a request failed while the database is unreachable");
            error_response(StatusCode::SERVICE_UNAVAILABLE)
        }
    }
}
