//! A TCP proxy between the app and PostgreSQL that a test can cut, as a network
//! failure or a database restart would: cutting drops every open connection and turns
//! new ones away; restoring lets them through again.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};

use tokio::{
    net::{TcpListener, TcpStream},
    task::AbortHandle,
};

pub struct TcpProxy {
    port: u16,
    cut: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<AbortHandle>>>,
}

impl TcpProxy {
    /// A proxy to the server `database_url` names.
    pub async fn start(database_url: &str) -> Self {
        let upstream = host_port(database_url).to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let links = Arc::new(Mutex::new(Vec::new()));
        let (is_cut, open) = (cut.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if is_cut.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                open.lock().unwrap().push(link.abort_handle());
            }
        });
        Self { port, cut, links }
    }

    /// `database_url` with its host and port replaced by the proxy's.
    pub fn url_for(&self, database_url: &str) -> String {
        database_url.replacen(host_port(database_url), &format!("127.0.0.1:{}", self.port), 1)
    }

    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// The `host:port` of a `postgres://user[:password]@host:port/database` URL.
fn host_port(url: &str) -> &str {
    let after_at = url.rsplit_once('@').map_or(url, |(_, rest)| rest);
    after_at.split('/').next().expect("a host")
}
