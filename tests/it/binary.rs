//! The README's first command: the binary with no DATABASE_URL runs its own cluster.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::common::TempDir;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_without_a_database_url_runs_its_own_cluster_and_stops_it_on_sigterm() {
    let dir = TempDir::new("binary");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_portico"))
        .env_remove("DATABASE_URL")
        .env("PORTICO_DATA_DIR", &dir.0)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("PORTICO_DEMO", "true")
        .env("RUST_LOG", "warn")
        // Away from the checkout: the binary carries its static files.
        .current_dir(&dir.0)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the portico binary");

    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut healthy = false;
    while started.elapsed() < Duration::from_secs(120) {
        if let Ok(response) = client.get(format!("http://127.0.0.1:{port}/healthz")).send().await {
            healthy = response.status() == 200 && response.text().await.unwrap() == "ok";
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("portico exited early with {status}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(healthy, "/healthz answered ok");
    let pid_file = dir.0.join("postgres").join("postmaster.pid");
    assert!(pid_file.exists(), "the private cluster runs under the data dir");
    let login = client.get(format!("http://127.0.0.1:{port}/login")).send().await.unwrap();
    let login = login.text().await.unwrap();
    assert!(login.contains("parent@portico.test"), "demo mode shows the demo logins");
    let href = login.split(r#"<link rel="stylesheet" href=""#).nth(1).unwrap().split('"').next().unwrap();
    let css = client.get(format!("http://127.0.0.1:{port}{href}")).send().await.unwrap();
    assert_eq!(css.status(), 200);
    assert_eq!(css.text().await.unwrap(), include_str!("../../static/app.css"));

    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = wait_with_timeout(&mut child, Duration::from_secs(60));
    assert!(status.success(), "portico exits cleanly on SIGTERM: {status}");
    assert!(!pid_file.exists(), "the cluster was stopped");
    let output = child.wait_with_output().unwrap();
    let banner = String::from_utf8_lossy(&output.stdout);
    assert!(banner.contains("admin@portico.test"), "the demo logins are printed: {banner}");
}

fn wait_with_timeout(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("portico did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
