//! The benchmark's baseline: the TechEmpower "Fortunes" page (one query of a small
//! table, a row added at request time, sorted, rendered as an escaped HTML table) on the
//! app's stack — axum, a sqlx pool with the app's settings, askama — so `bench/run` can
//! say what share of this page's speed each Portico page reaches on the same machine.
//!
//! `DATABASE_URL` (required) and `BIND` (default 127.0.0.1:3901). The table lives in
//! its own schema, `bench`, created and filled at start when missing, so it never
//! touches the app's tables.

use std::time::Duration;

use anyhow::Context;
use askama::Template;
use axum::{
    Router,
    extract::State,
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::get,
};
use sqlx::{PgPool, postgres::PgPoolOptions};

#[derive(sqlx::FromRow)]
struct Fortune {
    id: i32,
    message: String,
}

#[derive(Template)]
#[template(path = "fortunes.html")]
struct FortunesPage {
    fortunes: Vec<Fortune>,
}

/// TechEmpower's twelve fortunes, markup and non-ASCII included, so escaping is paid for.
const FORTUNES: [&str; 12] = [
    "fortune: No such file or directory",
    "A computer scientist is someone who fixes things that aren't broken.",
    "After enough decimal places, nobody gives a damn.",
    "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1",
    "A computer program does what you tell it to do, not what you want it to do.",
    "Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen",
    "Any program that runs right is obsolete.",
    "A list is only as strong as its weakest link. — Donald Knuth",
    "Feature: A bug with seniority.",
    "Computers make very fast, very accurate mistakes.",
    "<script>alert(\"This should not be displayed in a browser alert box.\");</script>",
    "フレームワークのベンチマーク",
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL").context("DATABASE_URL is not set")?;
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:3901".to_owned());
    // The app's pool settings (src/db/mod.rs), so the comparison is like for like.
    // Like the app's, it pings a connection before handing it out only when it sat idle.
    let pool = PgPoolOptions::new()
        .max_connections(20)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= Duration::from_secs(10) {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .acquire_timeout(Duration::from_secs(5))
        .connect(&url)
        .await
        .context("Failed to connect to PostgreSQL")?;
    prepare(&pool).await?;
    let app = Router::new().route("/fortunes", get(fortunes)).with_state(pool);
    let listener =
        tokio::net::TcpListener::bind(&bind).await.with_context(|| format!("Failed to bind {bind}"))?;
    println!("fortunes on http://{bind}/fortunes");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("Failed to serve")
}

async fn prepare(pool: &PgPool) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("create schema if not exists bench").execute(&mut *tx).await?;
    sqlx::query("create table if not exists bench.fortune (id integer primary key, message text not null)")
        .execute(&mut *tx)
        .await?;
    for (id, message) in (1..).zip(FORTUNES) {
        sqlx::query("insert into bench.fortune (id, message) values ($1, $2) on conflict (id) do nothing")
            .bind(id)
            .bind(message)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await.context("Failed to create the fortune table")
}

async fn fortunes(State(pool): State<PgPool>) -> Response {
    let rows = sqlx::query_as::<_, Fortune>("select id, message from bench.fortune").fetch_all(&pool).await;
    let mut fortunes = match rows {
        Ok(rows) => rows,
        Err(err) => {
            eprintln!("query failed: {err}");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    fortunes.push(Fortune { id: 0, message: "Additional fortune added at request time.".to_owned() });
    fortunes.sort_by(|a, b| a.message.cmp(&b.message));
    match (FortunesPage { fortunes }).render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => {
            eprintln!("render failed: {err}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
