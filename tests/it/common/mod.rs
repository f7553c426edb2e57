//! Test harness: a PostgreSQL server for the whole run, a fresh database per test
//! (cloned from a migrated template), the real app on a free port with its email
//! worker, an SMTP sink that records what was sent, and a browser-like client.

pub mod client;
pub mod fixtures;
pub mod outline;
pub mod process;
pub mod proxy;
pub mod smtp;
pub mod stripe;

use std::{
    path::PathBuf,
    process::Command,
    sync::{
        Mutex, OnceLock,
        atomic::{AtomicU32, Ordering},
    },
};

use portico::{AppState, Application, Config, auth::password::Passwords, db};
use sqlx::{Connection, PgConnection, PgPool};

pub use client::TestClient;
pub use smtp::SmtpSink;

pub const PASSWORD: &str = "correct horse battery";

/// How the suite reaches PostgreSQL: a URL to a maintenance database on the server.
struct Server {
    maintenance_url: String,
}

impl Server {
    fn url_for(&self, database: &str) -> String {
        let (base, _) = self.maintenance_url.rsplit_once('/').expect("a database URL has a path");
        format!("{base}/{database}")
    }
}

/// `DATABASE_URL` if set; otherwise a throwaway cluster that a watchdog stops and
/// deletes when this test process exits.
fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            return Server { maintenance_url: url };
        }
        let dir = std::env::temp_dir().join(format!("portico-test-{}", std::process::id()));
        // Durability is pointless for a cluster deleted at exit; autovacuum would only
        // hold the template database open while tests clone it.
        let settings = ["fsync=off", "synchronous_commit=off", "full_page_writes=off", "autovacuum=off"];
        let cluster =
            db::LocalCluster::start_with(&dir, &settings).expect("start a throwaway PostgreSQL cluster");
        spawn_watchdog(&dir, &cluster.data_dir().join("postmaster.pid"));
        Server { maintenance_url: cluster.url_for("postgres") }
    })
}

/// The test harness cannot run code after the last test, so a small shell process
/// waits for this process to exit, then stops the cluster and removes its files.
fn spawn_watchdog(dir: &std::path::Path, pid_file: &std::path::Path) {
    let script = r#"
        pg=$(head -n 1 "$2")
        while kill -0 "$1" 2>/dev/null; do sleep 0.5; done
        kill -INT "$pg" 2>/dev/null
        while kill -0 "$pg" 2>/dev/null; do sleep 0.2; done
        rm -rf "$3"
    "#;
    // Deliberately not waited for: it outlives this process.
    #[allow(clippy::zombie_processes)]
    Command::new("sh")
        .args(["-c", script, "watchdog", &std::process::id().to_string()])
        .arg(pid_file)
        .arg(dir)
        .spawn()
        .expect("spawn the cluster watchdog");
}

/// A migrated database to clone: migrating once is much quicker than per test.
async fn template() -> &'static str {
    static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            let server = server();
            let name = format!("portico_template_{}", std::process::id());
            let mut conn = PgConnection::connect(&server.maintenance_url).await.expect("connect");
            drop_leftovers(&mut conn).await;
            sqlx::query(&format!("create database {name}")).execute(&mut conn).await.unwrap();
            let pool = db::connect(&server.url_for(&name)).await.unwrap();
            db::migrate(&pool).await.expect("migrations apply");
            pool.close().await;
            // Nothing may connect to a template while it is cloned.
            sqlx::query(&format!("alter database {name} with is_template true allow_connections false"))
                .execute(&mut conn)
                .await
                .unwrap();
            name
        })
        .await
}

/// Templates of earlier runs that have exited (a run cannot clean up after its
/// last test), found by the process id in their names.
async fn drop_leftovers(conn: &mut PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("select datname from pg_database where datname like 'portico\\_template\\_%'")
            .fetch_all(&mut *conn)
            .await
            .expect("list databases");
    for name in names {
        let pid = name.trim_start_matches("portico_template_");
        if !std::path::Path::new("/proc").join(pid).exists() {
            let _ =
                sqlx::query(&format!("alter database {name} is_template false")).execute(&mut *conn).await;
            let _ = sqlx::query(&format!("drop database if exists {name} with (force)"))
                .execute(&mut *conn)
                .await;
        }
    }
}

/// A fresh database for one test, dropped when the test ends.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    pub async fn new() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let template = template().await;
        let server = server();
        let name = format!("portico_test_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst));
        run_admin_sql(format!("create database {name} template {template}"))
            .expect("clone the template database");
        TestDatabase { url: server.url_for(&name), name }
    }
}

impl TestDatabase {
    /// A database with nothing in it, not even the migrations (to restore a backup into).
    pub async fn empty() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let server = server();
        let name = format!("portico_empty_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst));
        run_admin_sql(format!("create database {name}")).expect("create an empty database");
        TestDatabase { url: server.url_for(&name), name }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = run_admin_sql(format!("drop database if exists {} with (force)", self.name));
    }
}

/// Runs CREATE/DROP DATABASE one at a time on the maintenance database. It blocks
/// (Drop cannot await), on a thread of its own with a small runtime. Tests use the
/// multi-thread runtime so that the app's tasks keep running meanwhile: DROP DATABASE
/// waits for every backend, including one half way through a connection handshake
/// with a client whose runtime is blocked.
fn run_admin_sql(sql: String) -> anyhow::Result<()> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let url = server().maintenance_url.clone();
    std::thread::spawn(move || {
        let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let mut conn = PgConnection::connect(&url).await?;
            sqlx::query(&sql).execute(&mut conn).await?;
            conn.close().await?;
            Ok::<_, sqlx::Error>(())
        })?;
        Ok(())
    })
    .join()
    .map_err(|_| anyhow::anyhow!("admin SQL thread panicked"))?
}

/// A running app with its own database, email worker and SMTP sink.
pub struct TestApp {
    pub address: String,
    pub pool: PgPool,
    pub smtp: SmtpSink,
    pub passwords: Passwords,
    pub config: Config,
    /// The running app's state, for driving its background jobs by hand.
    pub state: AppState,
    _workers: portico::app::Workers,
    /// Shared by every app spawned on it (`spawn_app_on`); dropped with the last.
    pub db: std::sync::Arc<TestDatabase>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Like `spawn_app`, with extra settings (e.g. `("BASE_URL", "https://…")`).
pub async fn spawn_app_with(settings: &[(&str, &str)]) -> TestApp {
    spawn_app_on(std::sync::Arc::new(TestDatabase::new().await), settings).await
}

/// An app on `db`, which another app may be running on too (as a second process would).
pub async fn spawn_app_on(db: std::sync::Arc<TestDatabase>, settings: &[(&str, &str)]) -> TestApp {
    // Quiet by default; RUST_LOG=debug cargo test shows the app's logs.
    if std::env::var_os("RUST_LOG").is_some() {
        portico::telemetry::init();
    }
    let smtp = SmtpSink::start().await;
    let mut pairs: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), db.url.clone()),
        ("BIND".into(), "127.0.0.1:0".into()),
        ("PORTICO_DEMO".into(), "false".into()),
        ("SMTP_URL".into(), smtp.url()),
        ("MAIL_FROM".into(), "Portico <no-reply@portico.test>".into()),
    ];
    for (key, value) in settings {
        pairs.retain(|(k, _)| k != key);
        pairs.push((key.to_string(), value.to_string()));
    }
    let config = Config::from_lookup(|key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
        .expect("valid test config");
    let pool = db::connect(&db.url).await.expect("connect to the test database");
    // A test that gives its own DATABASE_URL (through a proxy it can cut) gets the
    // server's pool with its timeouts; the others share the plain one with the test.
    let app_pool = match settings.iter().find(|(k, _)| *k == "DATABASE_URL") {
        Some((_, url)) => db::connect_app(url, config.db_acquire_timeout, config.db_statement_timeout)
            .await
            .expect("connect through the given URL"),
        None => pool.clone(),
    };
    let state = AppState::new(config.clone(), app_pool).await.expect("build the app state");
    let workers = state.start_workers();
    let passwords = state.passwords.clone();
    let app = Application::build(state.clone()).await.expect("bind");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp { address, pool, smtp, passwords, config, state, _workers: workers, db }
}

impl TestApp {
    pub fn client(&self) -> TestClient {
        TestClient::new(&self.address)
    }

    /// Creates an active user with `PASSWORD`; `role` is parent, trainer or admin
    /// (admins need `admin_role`). Returns the user's id.
    pub async fn create_user(&self, email: &str, role: &str, admin_role: Option<&str>) -> i64 {
        let hash = self.password_hash().await;
        let id: i64 = sqlx::query_scalar(
            "insert into users (email, name, role, admin_role, password_hash)
             values ($1, $2, $3, $4, $5) returning id",
        )
        .bind(email)
        .bind(format!("Test {role}"))
        .bind(role)
        .bind(admin_role)
        .bind(hash)
        .fetch_one(&self.pool)
        .await
        .expect("insert user");
        if role == "trainer" {
            sqlx::query("insert into trainer_profiles (user_id) values ($1)")
                .bind(id)
                .execute(&self.pool)
                .await
                .expect("insert trainer profile");
        }
        id
    }

    /// One hash of `PASSWORD` per app: hashing is deliberately slow.
    async fn password_hash(&self) -> String {
        static HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
        HASH.get_or_init(|| async { self.passwords.hash(PASSWORD).await.expect("hash") }).await.clone()
    }

    /// A signed-in client for a new user of `role`.
    pub async fn signed_in(&self, email: &str, role: &str, admin_role: Option<&str>) -> TestClient {
        self.create_user(email, role, admin_role).await;
        let client = self.client();
        let response = client.login(email, PASSWORD).await;
        assert_eq!(response.status(), 303, "sign-in as {email} should succeed");
        client
    }

    /// Waits until the email workers have finished with every queued request and email:
    /// a sign-in link in a delivered email works once its sending has committed.
    pub async fn wait_for_emails_sent(&self) {
        for _ in 0..200 {
            let waiting: i64 = sqlx::query_scalar(
                "select (select count(*) from outbox_emails where status = 'pending')
                      + (select count(*) from underway.task
                         where task_queue_name = 'account-requests' and state in ('pending', 'in_progress'))",
            )
            .fetch_one(&self.pool)
            .await
            .expect("count waiting emails");
            if waiting == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    pub async fn seed_demo(&self) {
        let hash = self.passwords.hash(portico::demo::DEMO_PASSWORD).await.expect("hash");
        let loaded = portico::demo::seed_if_empty(&self.pool, self.config.timezone, &hash)
            .await
            .expect("demo data loads");
        assert!(loaded);
    }
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "portico-{label}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
