//! The subcommands: wiring config, database, worker and server together.

use std::path::PathBuf;

use anyhow::{Context, bail};
use sqlx::PgPool;

use crate::{
    AppState, Application, Config, audit,
    auth::{
        domain::{EmailAddress, NewPassword},
        password::Passwords,
    },
    db::{self, LocalCluster},
    demo,
};

/// The database to use: `DATABASE_URL`, or the private cluster (started here and
/// returned so the caller can stop it).
async fn database(config: &Config, use_: Use) -> anyhow::Result<(PgPool, Option<LocalCluster>)> {
    let (url, cluster) = database_url(config).await?;
    match (pool(config, &url, use_).await, cluster) {
        (Ok(pool), cluster) => Ok((pool, cluster)),
        (Err(err), Some(cluster)) => {
            let _ = cluster.stop();
            Err(err)
        }
        (Err(err), None) => Err(err),
    }
}

/// `DATABASE_URL`, or the private cluster's database (created empty if missing).
async fn database_url(config: &Config) -> anyhow::Result<(String, Option<LocalCluster>)> {
    if let Some(url) = &config.database_url {
        return Ok((url.clone(), None));
    }
    let root = config.data_dir.clone();
    let cluster = tokio::task::spawn_blocking(move || LocalCluster::start(&root)).await??;
    if let Err(err) = cluster.ensure_database().await {
        let _ = cluster.stop();
        return Err(err);
    }
    Ok((cluster.url(), Some(cluster)))
}

/// `portico backup FILE`: a consistent dump of the database, while the app may run.
pub async fn backup(config: Config, file: PathBuf) -> anyhow::Result<()> {
    let (url, cluster) = database_url(&config).await?;
    let target = file.clone();
    let result = tokio::task::spawn_blocking(move || db::backup::backup(&url, &target)).await?;
    stop(cluster).await?;
    result?;
    println!("Backed up to {}.", file.display());
    Ok(())
}

/// `portico restore FILE`: loads a backup into an empty database.
pub async fn restore(config: Config, file: PathBuf) -> anyhow::Result<()> {
    let (url, cluster) = database_url(&config).await?;
    let result = async {
        let pool = db::connect(&url).await?;
        let tables = sqlx::query_scalar!(
            r#"select count(*) as "n!" from pg_tables where schemaname not in ('pg_catalog', 'information_schema')"#
        )
        .fetch_one(&pool)
        .await;
        pool.close().await;
        if tables? > 0 {
            bail!("restore loads a backup into an empty database, and this one has tables: create a new database and point DATABASE_URL at it");
        }
        let source = file.clone();
        tokio::task::spawn_blocking(move || db::backup::restore(&url, &source)).await?
    }
    .await;
    stop(cluster).await?;
    result?;
    println!("Restored {}.", file.display());
    Ok(())
}

async fn stop(cluster: Option<LocalCluster>) -> anyhow::Result<()> {
    if let Some(cluster) = cluster {
        tokio::task::spawn_blocking(move || cluster.stop()).await??;
    }
    Ok(())
}

/// What a command wants the database for.
#[derive(Clone, Copy)]
enum Use {
    /// Serving pages: short timeouts, so an outage answers 503 rather than hanging.
    Serve,
    /// Migrating, seeding, maintenance: no timeouts.
    Maintain,
}

async fn pool(config: &Config, url: &str, use_: Use) -> anyhow::Result<PgPool> {
    match use_ {
        Use::Serve => db::connect_app(url, config.db_acquire_timeout, config.db_statement_timeout).await,
        Use::Maintain => db::connect(url).await,
    }
}

pub async fn serve(config: Config) -> anyhow::Result<()> {
    with_database(&config.clone(), Use::Serve, |pool| serve_with(config, pool)).await
}

async fn serve_with(config: Config, pool: PgPool) -> anyhow::Result<()> {
    db::migrate(&pool).await?;
    let state = AppState::new(config, pool.clone()).await?;
    if state.config.demo {
        let hash = state.passwords.hash(demo::DEMO_PASSWORD).await?;
        if demo::seed_if_empty(&pool, state.config.timezone, &hash).await? {
            tracing::info!("loaded the demo data");
        }
    }
    let workers = state.start_workers();
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let housekeeping = crate::jobs::spawn(state.clone(), stopping.clone());
    let app = Application::build(state.clone()).await?;
    print_banner(&state.config, app.port());
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let serving = app.run_until(stopped(stopping.clone()));
    let background = async {
        stopped(stopping.clone()).await;
        tracing::info!("stopping the background workers");
        let _ = housekeeping.await;
        workers.shutdown().await;
    };
    let both = async { tokio::join!(serving, background).0 };
    let grace = state.config.shutdown_grace;
    tokio::select! {
        served = both => served?,
        () = async { stopped(stopping.clone()).await; tokio::time::sleep(grace).await } => {
            tracing::warn!("still busy {grace:?} after the signal: stopping anyway");
        }
    }
    Ok(())
}

/// Resolves once the stop signal has come: the listener closes (new connections are
/// refused), requests in flight and the job in hand finish, within `SHUTDOWN_GRACE_SECS`.
async fn stopped(mut stopping: tokio::sync::watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

fn print_banner(config: &Config, port: u16) {
    let url = if config.base_url.ends_with(&format!(":{}", config.bind.port())) && port != config.bind.port()
    {
        format!("http://{}:{port}", config.bind.ip())
    } else {
        config.base_url.clone()
    };
    println!("\nPortico is running at {url}");
    if config.demo {
        println!("Demo logins (password: {}):", demo::DEMO_PASSWORD);
        for (email, role) in [
            ("admin@portico.test", "admin, owner"),
            ("coordinator@portico.test", "admin, coordinator"),
            ("finance@portico.test", "admin, finance"),
            ("safeguarding@portico.test", "admin, safeguarding lead"),
            ("trainer@portico.test", "trainer"),
            ("parent@portico.test", "parent"),
            ("learner@portico.test", "adult learner (books for themself)"),
        ] {
            println!("  {email:<28} {role}");
        }
    }
    println!("Press Ctrl-C to stop.\n");
}

/// Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

pub async fn migrate(config: Config) -> anyhow::Result<()> {
    with_database(&config, Use::Maintain, |pool| async move { db::migrate(&pool).await }).await?;
    println!("Migrations applied.");
    Ok(())
}

/// How much demo data `seed-demo` loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoSize {
    /// The small demo: a handful of families, trainers and sessions.
    Small,
    /// The small demo, then a large provider's two years (`demo::large::Sizes::LARGE`).
    Large,
}

pub async fn seed_demo(config: Config, size: DemoSize, divide_by: i64) -> anyhow::Result<()> {
    let tz = config.timezone;
    with_database(&config, Use::Maintain, |pool| async move {
        db::migrate(&pool).await?;
        // Hashed once: argon2 is slow on purpose, and every generated account shares it.
        let hash = Passwords::new().await?.hash(demo::DEMO_PASSWORD).await?;
        let loaded = demo::seed_if_empty(&pool, tz, &hash).await?;
        println!(
            "{}",
            if loaded {
                "Demo data loaded."
            } else {
                "The database already has users; demo data not loaded."
            }
        );
        if size == DemoSize::Large {
            let sizes = demo::large::Sizes::LARGE.divided_by(divide_by);
            let started = std::time::Instant::now();
            let counts = demo::large::load(&pool, tz, &hash, sizes).await?;
            println!(
                "Large demo loaded in {:.1} s. The database now holds:\n{counts}",
                started.elapsed().as_secs_f64()
            );
        }
        Ok(())
    })
    .await
}

pub async fn create_admin(config: Config, email: &str, name: &str) -> anyhow::Result<()> {
    let email = EmailAddress::parse(email).map_err(anyhow::Error::msg)?;
    let password = match std::env::var("PORTICO_ADMIN_PASSWORD") {
        Ok(password) => password,
        Err(_) => {
            let password = rpassword::prompt_password("Password: ").context("Failed to read the password")?;
            let confirmation =
                rpassword::prompt_password("Again: ").context("Failed to read the password")?;
            if password != confirmation {
                bail!("the two passwords do not match");
            }
            password
        }
    };
    let password = NewPassword::parse(&password, &password).map_err(|(_, msg)| anyhow::anyhow!(msg))?;
    let name = name.trim().to_owned();
    with_database(&config, Use::Maintain, |pool| async move {
        db::migrate(&pool).await?;
        let hash = Passwords::new().await?.hash(password.as_str()).await?;
        let mut tx = pool.begin().await?;
        let id = sqlx::query_scalar!(
            "insert into users (email, name, role, admin_role, password_hash)
             values ($1, $2, 'admin', 'owner', $3)
             on conflict (email) do nothing returning id",
            email.as_str(),
            name,
            hash,
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else { bail!("an account with that email already exists") };
        audit::record(&mut tx)
            .action("user.created")
            .entity("user", id)
            .after(serde_json::json!({ "email": email.as_str(), "role": "admin", "admin_role": "owner" }))
            .await?;
        tx.commit().await?;
        println!("Created admin {} (owner).", email.as_str());
        Ok(())
    })
    .await
}

/// Runs `work` against the configured database, stopping the private cluster after.
async fn with_database<T, F, Fut>(config: &Config, use_: Use, work: F) -> anyhow::Result<T>
where
    F: FnOnce(PgPool) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let (pool, cluster) = database(config, use_).await?;
    let result = work(pool.clone()).await;
    pool.close().await;
    stop(cluster).await?;
    result
}
