//! A minimal SMTP server that accepts every message and records it, so tests see
//! exactly what Portico's real SMTP transport delivered. It can also refuse the next
//! few messages (a mail server having trouble), or take its time over each one.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
    sync::Mutex,
};

#[derive(Clone)]
pub struct SmtpSink {
    port: u16,
    messages: Arc<Mutex<Vec<String>>>,
    behaviour: Arc<Behaviour>,
}

#[derive(Default)]
struct Behaviour {
    /// How many of the next messages to refuse with a temporary error.
    refuse: AtomicUsize,
    /// Messages refused so far.
    refused: AtomicUsize,
    /// Milliseconds to wait before accepting a message's body.
    delay_ms: AtomicU64,
    /// Messages whose body has started to arrive.
    started: AtomicUsize,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP sink");
        let port = listener.local_addr().expect("address").port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let behaviour = Arc::new(Behaviour::default());
        let (store, how) = (messages.clone(), behaviour.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, store.clone(), how.clone()));
            }
        });
        Self { port, messages, behaviour }
    }

    /// Refuses the next `count` messages with "451 try again later" (`usize::MAX`: all,
    /// until told otherwise with 0).
    pub fn refuse_next(&self, count: usize) {
        self.behaviour.refuse.store(count, Ordering::SeqCst);
    }

    /// How many messages it has refused.
    pub fn refused(&self) -> usize {
        self.behaviour.refused.load(Ordering::SeqCst)
    }

    /// Waits `delay` after each message's body before accepting it.
    pub fn delay_each(&self, delay: Duration) {
        self.behaviour.delay_ms.store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// How many messages' bodies have started to arrive (accepted or not yet).
    pub fn started(&self) -> usize {
        self.behaviour.started.load(Ordering::SeqCst)
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub async fn messages(&self) -> Vec<String> {
        self.messages.lock().await.clone()
    }

    /// Waits up to ten seconds for at least `count` messages, then returns all of them.
    pub async fn wait_for(&self, count: usize) -> Vec<String> {
        for _ in 0..200 {
            if self.messages.lock().await.len() >= count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.messages().await
    }
}

async fn serve(
    stream: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<String>>>,
    how: Arc<Behaviour>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink ESMTP\r\n").await?;
    while let Some(line) = lines.next_line().await? {
        let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => write.write_all(b"250-sink\r\n250 8BITMIME\r\n").await?,
            "MAIL" => {
                let refuse = how.refuse.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| match n {
                    0 => None,
                    usize::MAX => Some(usize::MAX),
                    n => Some(n - 1),
                });
                if refuse.is_ok() {
                    how.refused.fetch_add(1, Ordering::SeqCst);
                    write.write_all(b"451 4.3.0 mailbox busy, try again later\r\n").await?;
                } else {
                    write.write_all(b"250 ok\r\n").await?;
                }
            }
            "DATA" => {
                how.started.fetch_add(1, Ordering::SeqCst);
                write.write_all(b"354 go ahead\r\n").await?;
                let mut message = String::new();
                while let Some(line) = lines.next_line().await? {
                    if line == "." {
                        break;
                    }
                    message.push_str(&line);
                    message.push('\n');
                }
                let delay = how.delay_ms.load(Ordering::SeqCst);
                if delay > 0 {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                }
                store.lock().await.push(message);
                write.write_all(b"250 queued\r\n").await?;
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                break;
            }
            _ => write.write_all(b"250 ok\r\n").await?,
        }
    }
    Ok(())
}

/// A mail server that accepts connections and never says a word: every try times out.
pub async fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind silent SMTP server");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    format!("smtp://127.0.0.1:{port}")
}
