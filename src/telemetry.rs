//! Structured logs. Request spans record the matched route, never the raw URI, so
//! tokens in paths (password reset, calendar feeds) never reach the logs.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn,underway=warn"));
    // `try_init` because tests may call this more than once.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).try_init();
}
