//! `portico backup FILE` and `portico restore FILE`, with the machine's own PostgreSQL
//! tools: `pg_dump` in its custom format (one snapshot, so the copy is consistent while
//! the app keeps running; compressed; restorable table by table), and `pg_restore` into
//! an empty database in one transaction (all or nothing). The password never appears on
//! a command line: it goes to the tools in `PGPASSWORD`.

use std::{
    path::Path,
    process::{Command, Stdio},
};

use anyhow::{Context, bail};

use super::cluster::find_bin_dir;

/// Writes a dump of the database at `url` to `file`.
pub fn backup(url: &str, file: &Path) -> anyhow::Result<()> {
    let (url, password) = without_password(url);
    let mut command = Command::new(find_bin_dir()?.join("pg_dump"));
    command.args(["--format=custom", "--no-owner", "--no-privileges", "--file"]).arg(file).arg(&url);
    run(command, password, "pg_dump")
}

/// Loads `file` into the (empty) database at `url`.
pub fn restore(url: &str, file: &Path) -> anyhow::Result<()> {
    if !file.is_file() {
        bail!("{} is not a backup file", file.display());
    }
    let (url, password) = without_password(url);
    let mut command = Command::new(find_bin_dir()?.join("pg_restore"));
    command
        .args(["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--dbname"])
        .arg(&url)
        .arg(file);
    run(command, password, "pg_restore")
}

fn run(mut command: Command, password: Option<String>, tool: &str) -> anyhow::Result<()> {
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    let output = command.stdin(Stdio::null()).output().with_context(|| format!("Failed to run {tool}"))?;
    if !output.status.success() {
        bail!("{tool} failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

/// `postgres://user:secret@host/db` → (`postgres://user@host/db`, `secret`).
fn without_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else { return (url.to_owned(), None) };
    let Some((userinfo, host)) = rest.split_once('@') else { return (url.to_owned(), None) };
    match userinfo.split_once(':') {
        Some((user, password)) => (format!("{scheme}://{user}@{host}"), Some(password.to_owned())),
        None => (url.to_owned(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url() {
        assert_eq!(
            without_password("postgres://portico:s3cret@db:5432/portico"),
            ("postgres://portico@db:5432/portico".to_owned(), Some("s3cret".to_owned()))
        );
        assert_eq!(
            without_password("postgres://postgres@127.0.0.1/x"),
            ("postgres://postgres@127.0.0.1/x".into(), None)
        );
    }
}
