//! The connection pool, migrations, and the private cluster used when no
//! `DATABASE_URL` is given.

pub mod backup;
pub mod cluster;
pub mod json;

use std::time::Duration;

use anyhow::Context;
use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};

pub use cluster::LocalCluster;

/// Every connection runs with PostgreSQL's JIT compiler off: our queries are short
/// reads and writes through indexes, and on the large dataset JIT-compiling a filtered
/// payments report took 2.5–3 s where running it without took 0.1 s.
fn options(url: &str) -> anyhow::Result<PgConnectOptions> {
    let options: PgConnectOptions = url.parse().context("DATABASE_URL is not a PostgreSQL URL")?;
    Ok(options.options([("jit", "off")]))
}

/// A connection idle for longer than this is pinged before it is handed out; one used
/// since is trusted, so a busy pool does not add a round trip to every acquire.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(10);

/// sqlx's own `test_before_acquire` pings on every acquire: a second round trip for each
/// of a page's acquires (the session's read and the page's own), as many as the queries
/// of a small page. Only connections that sat idle (which a restart or a network blip may
/// have broken) are pinged; a broken one is closed and another taken, as before.
fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new().max_connections(20).test_before_acquire(false).before_acquire(|conn, meta| {
        Box::pin(async move {
            if meta.idle_for >= PING_WHEN_IDLE_FOR {
                sqlx::Connection::ping(conn).await?;
            }
            Ok(true)
        })
    })
}

/// The pool the server answers pages with: a request waits at most `acquire` for a
/// connection and `statement` for any one statement, so that with the database away or
/// stuck it answers 503 within seconds instead of hanging (see `web::outage`).
pub async fn connect_app(url: &str, acquire: Duration, statement: Duration) -> anyhow::Result<PgPool> {
    let statement = format!("{}", statement.as_millis());
    pool_options()
        .acquire_timeout(acquire)
        .connect_with(options(url)?.options([("statement_timeout", statement.as_str())]))
        .await
        .context("Failed to connect to PostgreSQL")
}

pub async fn connect(url: &str) -> anyhow::Result<PgPool> {
    pool_options()
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options(url)?)
        .await
        .context("Failed to connect to PostgreSQL")
}

/// A pool that connects on first use: `/readyz` must answer 503, not hang the start,
/// when the database is away.
pub fn connect_lazy(url: &str) -> anyhow::Result<PgPool> {
    Ok(pool_options().acquire_timeout(Duration::from_secs(2)).connect_lazy_with(options(url)?))
}

/// A transaction without the server pool's statement timeout, for a streamed export
/// that may read for minutes (a big provider's every booking to a slow client).
pub async fn long_read(pool: &PgPool) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
    let mut tx = pool.begin().await?;
    sqlx::query!("set local statement_timeout = 0").execute(&mut *tx).await?;
    Ok(tx)
}

/// Our migrations, then the job queue's (in its own schema, with its own history
/// table) and the session store's.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await.context("Failed to connect to PostgreSQL")?;
    // A migration may build an index on a big table: the server pool's statement
    // timeout is not for it. `reset` gives the connection its own timeout back.
    sqlx::query!("set statement_timeout = 0").execute(&mut *conn).await?;
    sqlx::migrate!("./migrations").run(&mut *conn).await.context("Failed to apply migrations")?;
    underway::run_migrations(&mut *conn).await.context("Failed to apply the job queue's migrations")?;
    sqlx::query!("reset statement_timeout").execute(&mut *conn).await?;
    drop(conn);
    tower_sessions_sqlx_store::PostgresStore::new(pool.clone())
        .migrate()
        .await
        .context("Failed to create the session table")?;
    Ok(())
}

/// The name of the database constraint `err` violated, if that is what it is.
pub fn violated_constraint(err: &sqlx::Error) -> Option<&str> {
    err.as_database_error().and_then(|e| e.constraint())
}

/// Turns violations of named constraints into the caller's refusal — the one way a
/// rule the database keeps (capacity, one place per child, no overlapping shifts)
/// becomes a message for a person:
///
/// ```ignore
/// store::insert(&mut tx, &booking).await.on_constraint(|name| match name {
///     "sessions_capacity_not_exceeded" => Some(Refused::Full),
///     "bookings_one_per_child_per_session" => Some(Refused::AlreadyBooked),
///     _ => None,
/// })?
/// ```
///
/// The outer `Result` carries any other database error (a bug or an outage, a 500);
/// the inner one is the refusal, for the page to show beside its field.
pub trait OnConstraint<T> {
    fn on_constraint<E>(self, refusal: impl FnOnce(&str) -> Option<E>) -> Result<Result<T, E>, sqlx::Error>;
}

impl<T> OnConstraint<T> for Result<T, sqlx::Error> {
    fn on_constraint<E>(self, refusal: impl FnOnce(&str) -> Option<E>) -> Result<Result<T, E>, sqlx::Error> {
        match self {
            Ok(value) => Ok(Ok(value)),
            Err(err) => match violated_constraint(&err).and_then(refusal) {
                Some(refused) => Ok(Err(refused)),
                None => Err(err),
            },
        }
    }
}
