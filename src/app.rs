//! The application: the router with every area merged, and serving.

use std::{future::Future, net::SocketAddr, time::Duration};

use anyhow::Context;
use axum::{
    Router,
    extract::{MatchedPath, Request},
    http::StatusCode,
    middleware,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use axum_login::AuthManagerLayerBuilder;
use tokio::net::TcpListener;
use tower_http::{
    catch_panic::CatchPanicLayer, compression::CompressionLayer, timeout::TimeoutLayer, trace::TraceLayer,
};
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};
use tower_sessions_sqlx_store::PostgresStore;

pub use crate::state::Workers;
use crate::{AppState, auth, auth::Backend, dashboards, error::error_response, health, notifications};

/// Every route, with the layers applied once.
pub fn router(state: AppState) -> Router {
    let cookie_name = if state.config.is_https() { "__Host-portico" } else { "portico_session" };
    let store = auth::session_store::HashedIds::new(
        PostgresStore::new(state.pool.clone()),
        state.pool.clone(),
        state.signed_in.clone(),
    );
    let sessions = SessionManagerLayer::new(store)
        .with_name(cookie_name)
        .with_secure(state.config.is_https())
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(auth::IDLE_SESSION_LIFETIME));
    let auth_layer = AuthManagerLayerBuilder::new(
        Backend::new(state.pool.clone(), state.passwords.clone(), state.signed_in.clone()),
        sessions,
    )
    .build();

    Router::new()
        .route("/", get(home))
        .merge(auth::router())
        .merge(dashboards::router())
        .merge(crate::bookings::router())
        .merge(crate::waitlist::router())
        .merge(crate::calendar::router())
        .merge(crate::shifts::router())
        .merge(crate::availability::router())
        .merge(crate::attendance::router())
        .merge(crate::safeguarding::router())
        .merge(crate::catalogue::router())
        .merge(crate::courses::router())
        .merge(crate::inquiries::router())
        .merge(crate::sessions::router())
        .merge(crate::trainers::router())
        .merge(crate::clients::router())
        .merge(crate::audit_log::router())
        .merge(crate::timesheets::router())
        .merge(crate::payments::router())
        .merge(crate::children::router())
        .merge(crate::learners::router())
        .merge(crate::certificates::router())
        .merge(crate::families::router())
        .merge(crate::data_rights::router())
        .merge(notifications::router())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), crate::web::nul::refuse_nul))
        .layer(middleware::from_fn_with_state(state.clone(), auth::csrf::protect))
        .layer(auth_layer)
        .layer(middleware::from_fn_with_state(state.clone(), crate::web::outage::answer_503))
        .merge(health::router())
        .merge(crate::web::assets::router())
        // Last resort: a panic in any handler or middleware below answers the error
        // page instead of dropping the connection; the layers above still add the
        // security headers and trace the 500.
        .layer(CatchPanicLayer::custom(panicked))
        .layer(middleware::from_fn_with_state(state.clone(), crate::web::headers::security_headers))
        .layer(CompressionLayer::new())
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(30)))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request panicked");
    crate::error::error_response(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Spans name the route pattern, never the raw path: paths can hold secret tokens.
fn request_span(request: &Request) -> tracing::Span {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!("request", method = %request.method(), route)
}

async fn home(auth: auth::AuthSession) -> Response {
    match auth.user {
        Some(user) => Redirect::to(user.role.portal()).into_response(),
        None => Redirect::to("/login").into_response(),
    }
}

async fn not_found() -> Response {
    error_response(StatusCode::NOT_FOUND)
}

/// A bound listener and the app to serve on it; port 0 picks a free port (tests).
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    pub async fn build(state: AppState) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(state.config.bind)
            .await
            .with_context(|| format!("Failed to bind {}", state.config.bind))?;
        Ok(Self { listener, router: router(state) })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await
            .context("server error")?;
        Ok(())
    }
}
