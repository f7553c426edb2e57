//! The connection pool, migrations, and the private cluster used when no
//! `DATABASE_URL` is given.

pub mod cluster;

use std::time::Duration;

use anyhow::Context;
use sqlx::{PgPool, postgres::PgPoolOptions};

pub use cluster::LocalCluster;

pub async fn connect(url: &str) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(20)
        .acquire_timeout(Duration::from_secs(5))
        .connect(url)
        .await
        .context("Failed to connect to PostgreSQL")
}

/// A pool that connects on first use: `/readyz` must answer 503, not hang the start,
/// when the database is away.
pub fn connect_lazy(url: &str) -> anyhow::Result<PgPool> {
    Ok(PgPoolOptions::new().max_connections(20).acquire_timeout(Duration::from_secs(2)).connect_lazy(url)?)
}

/// Our migrations, then the job queue's (in its own schema, with its own history
/// table) and the session store's.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::migrate!("./migrations").run(pool).await.context("Failed to apply migrations")?;
    underway::run_migrations(pool).await.context("Failed to apply the job queue's migrations")?;
    tower_sessions_sqlx_store::PostgresStore::new(pool.clone())
        .migrate()
        .await
        .context("Failed to create the session table")?;
    Ok(())
}
