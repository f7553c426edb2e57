//! The `portico` binary as a child process, for what only a real process shows: signals,
//! exit codes, several servers on one database.

use std::{
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running `portico serve`; killed when dropped if still running.
pub struct Portico {
    pub child: Child,
    pub address: String,
}

impl Portico {
    /// Starts `portico serve` with `env` (plus a free `BIND`) and waits until `/healthz` answers.
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_portico"));
        command
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("PORTICO_DEMO", "false")
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "error".into()))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("start the portico binary");
        let mut portico = Self { child, address: format!("http://127.0.0.1:{port}") };
        portico.wait_healthy().await;
        portico
    }

    async fn wait_healthy(&mut self) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if let Ok(response) = client.get(format!("{}/healthz", self.address)).send().await {
                assert_eq!(response.status(), 200);
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("portico exited early with {status}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("portico did not answer /healthz within a minute");
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// Waits for the process to exit, at most `limit`; how long it took and how it ended.
    pub async fn wait_exit(&mut self, limit: Duration) -> (Duration, ExitStatus) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (started.elapsed(), status);
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                panic!("portico did not stop within {limit:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Portico {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
