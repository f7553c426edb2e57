//! Probes: `/healthz` while the process runs, `/readyz` while the database answers.

use std::time::Duration;

use axum::{Router, extract::State, http::StatusCode, routing::get};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    let ping = sqlx::query_scalar!("select 1 as one").fetch_one(&state.pool);
    match tokio::time::timeout(Duration::from_secs(3), ping).await {
        Ok(Ok(_)) => (StatusCode::OK, "ready"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}
