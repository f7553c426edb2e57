//! A private PostgreSQL cluster under `<data dir>/postgres`, driven with the machine's
//! own `initdb`, `pg_ctl` and `createdb`.
//!
//! We drive the binaries directly rather than through `postgresql_embedded`: that
//! crate cannot drop root (initdb and postgres refuse to run as root) and always
//! compiles a download client we must never use.

use std::{
    fs,
    net::TcpListener,
    os::unix::{fs::PermissionsExt, process::CommandExt},
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context, bail};
use base64::Engine;

const SUPERUSER: &str = "portico";
const DATABASE: &str = "portico";

#[derive(Debug)]
pub struct LocalCluster {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    port: u16,
    password: String,
    run_as: Option<(u32, u32)>,
    /// False when another process had already started this cluster: leave it running.
    owned: bool,
}

impl LocalCluster {
    /// Creates the cluster on first use, then starts it (or joins it if it is running).
    pub fn start(root: &Path) -> anyhow::Result<Self> {
        Self::start_with(root, &[])
    }

    /// Like `start`, with extra server settings (`name=value`), e.g. a throwaway
    /// test cluster that need not survive a power cut.
    pub fn start_with(root: &Path, settings: &[&str]) -> anyhow::Result<Self> {
        let bin_dir = find_bin_dir()?;
        fs::create_dir_all(root)
            .with_context(|| format!("Failed to create data directory {}", root.display()))?;
        let root = root.canonicalize().context("Failed to resolve the data directory")?;
        let data_dir = root.join("postgres");
        let password_file = root.join("postgres.password");
        let run_as = service_user()?;

        if !data_dir.join("PG_VERSION").exists() {
            let password = random_password();
            init(&bin_dir, &data_dir, &password, run_as)?;
            write_private(&password_file, &password)?;
        }
        let password = fs::read_to_string(&password_file)
            .with_context(|| format!("Failed to read {}", password_file.display()))?
            .trim()
            .to_string();

        let mut cluster = Self { bin_dir, data_dir, port: 0, password, run_as, owned: true };
        if let Some(port) = cluster.running_port() {
            tracing::info!(port, "joining the private PostgreSQL cluster that is already running");
            cluster.port = port;
            cluster.owned = false;
            return Ok(cluster);
        }
        cluster.port = free_port()?;
        cluster
            .pg_ctl(&[
                "start",
                "-w",
                "-t",
                "60",
                "-l",
                &cluster.data_dir.join("server.log").to_string_lossy(),
                "-o",
                &format!(
                    "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories=''{}",
                    cluster.port,
                    settings.iter().map(|s| format!(" -c {s}")).collect::<String>()
                ),
            ])
            .context("Failed to start PostgreSQL (see postgres/server.log in the data directory)")?;
        tracing::info!(port = cluster.port, dir = %cluster.data_dir.display(), "private PostgreSQL started");
        Ok(cluster)
    }

    pub fn url(&self) -> String {
        self.url_for(DATABASE)
    }

    /// Creates the application database on first start, with the server's own
    /// `createdb` (a database's name cannot be a query parameter, so no SQL builds it).
    pub async fn ensure_database(&self) -> anyhow::Result<()> {
        let maintenance = self.url_for("postgres");
        if database_exists(&maintenance, DATABASE).await? {
            return Ok(());
        }
        let mut createdb = tokio::process::Command::new(self.bin_dir.join("createdb"));
        createdb
            .args(["--host=127.0.0.1", &format!("--port={}", self.port), "--no-password"])
            .args(["--username", SUPERUSER, DATABASE])
            .env("PGPASSWORD", &self.password)
            .stdin(Stdio::null());
        let output = createdb.output().await.context("Failed to run createdb")?;
        // Another process starting at the same moment may have created it first.
        if !output.status.success() && !database_exists(&maintenance, DATABASE).await? {
            bail!("createdb failed: {}", String::from_utf8_lossy(&output.stderr).trim());
        }
        Ok(())
    }

    pub fn url_for(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}", self.password, self.port)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Stops the cluster if this process started it; waits for it to be down.
    pub fn stop(&self) -> anyhow::Result<()> {
        if !self.owned {
            return Ok(());
        }
        self.pg_ctl(&["stop", "-m", "fast", "-w", "-t", "60"]).context("Failed to stop PostgreSQL")?;
        tracing::info!("private PostgreSQL stopped");
        Ok(())
    }

    /// The port of a postmaster already serving this data directory, if any.
    fn running_port(&self) -> Option<u16> {
        let status = self.command("pg_ctl").args(["status", "-D"]).arg(&self.data_dir).output().ok()?;
        if !status.status.success() {
            return None;
        }
        // postmaster.pid: line 4 is the port.
        let pid_file = fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        pid_file.lines().nth(3)?.trim().parse().ok()
    }

    fn pg_ctl(&self, args: &[&str]) -> anyhow::Result<()> {
        let output = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data_dir)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .context("Failed to run pg_ctl")?;
        if !output.status.success() {
            bail!("pg_ctl {}: {}", args[0], String::from_utf8_lossy(&output.stderr).trim());
        }
        Ok(())
    }

    fn command(&self, program: &str) -> Command {
        command(&self.bin_dir, program, self.run_as)
    }
}

fn init(bin_dir: &Path, data_dir: &Path, password: &str, run_as: Option<(u32, u32)>) -> anyhow::Result<()> {
    fs::create_dir_all(data_dir)?;
    fs::set_permissions(data_dir, fs::Permissions::from_mode(0o700))?;
    // initdb reads the password from a file; keep it inside the new cluster's directory
    // (owned by the service user) only for the moment it takes.
    let pwfile = data_dir.with_extension("initpw");
    write_private(&pwfile, password)?;
    if let Some((uid, gid)) = run_as {
        std::os::unix::fs::chown(data_dir, Some(uid), Some(gid))?;
        std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid))?;
    }
    let output = command(bin_dir, "initdb", run_as)
        .arg("-D")
        .arg(data_dir)
        .args(["-U", SUPERUSER, "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8"])
        .arg(format!("--pwfile={}", pwfile.display()))
        .stdin(Stdio::null())
        .output()
        .context("Failed to run initdb")?;
    let _ = fs::remove_file(&pwfile);
    if !output.status.success() {
        bail!("initdb failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

async fn database_exists(maintenance_url: &str, name: &str) -> anyhow::Result<bool> {
    use sqlx::Connection;
    let mut conn =
        sqlx::PgConnection::connect(maintenance_url).await.context("Failed to connect to PostgreSQL")?;
    let exists = sqlx::query_scalar!(
        r#"select exists(select 1 from pg_database where datname = $1) as "exists!""#,
        name
    )
    .fetch_one(&mut conn)
    .await?;
    Ok(exists)
}

fn command(bin_dir: &Path, program: &str, run_as: Option<(u32, u32)>) -> Command {
    let mut cmd = Command::new(bin_dir.join(program));
    if let Some((uid, gid)) = run_as {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

/// Where `initdb`, `pg_ctl` and `createdb` live: `pg_config --bindir`, then `PATH`, then the
/// newest `/usr/lib/postgresql/*/bin`.
pub fn find_bin_dir() -> anyhow::Result<PathBuf> {
    let has_tools = |dir: &Path| ["initdb", "pg_ctl", "createdb"].iter().all(|tool| dir.join(tool).is_file());
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_tools(&dir) {
            return Ok(dir);
        }
    }
    if let Some(path) = std::env::var_os("PATH")
        && let Some(dir) = std::env::split_paths(&path).find(|d| has_tools(d))
    {
        return Ok(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, dir)| has_tools(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir).context(
        "PostgreSQL's binaries were not found: install them (apt-get install postgresql) \
         or set DATABASE_URL to an existing server",
    )
}

/// initdb and postgres refuse to run as root: as root, run them as the `postgres`
/// system user that Debian's packages create.
fn service_user() -> anyhow::Result<Option<(u32, u32)>> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f[0] == "postgres")
        .and_then(|f| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
        .map(Some)
        .context(
            "running as root needs a `postgres` system user for the private cluster: \
             useradd -r postgres, or set DATABASE_URL",
        )
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("Failed to find a free port")?;
    Ok(listener.local_addr()?.port())
}

fn random_password() -> String {
    let bytes: [u8; 24] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    fs::write(path, contents).with_context(|| format!("Failed to write {}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    Ok(())
}
