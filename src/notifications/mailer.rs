//! Sends through SMTP when `SMTP_URL` is set; otherwise only records the message,
//! which is then readable at `/admin/outbox` (the demo runs without a mail server).

use std::time::Duration;

use anyhow::Context;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
};

#[derive(Clone)]
pub enum Mailer {
    Smtp { transport: AsyncSmtpTransport<Tokio1Executor>, from: Mailbox, timeout: Duration },
    RecordOnly,
}

impl Mailer {
    /// `timeout`: how long the server may take to answer any one command (connecting
    /// included) before the try counts as failed.
    pub fn from_config(smtp_url: Option<&str>, from: &str, timeout: Duration) -> anyhow::Result<Self> {
        let Some(url) = smtp_url else { return Ok(Mailer::RecordOnly) };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .context("SMTP_URL is not a valid smtp:// or smtps:// URL")?
            .timeout(Some(timeout))
            .build();
        let from = from.parse().context("MAIL_FROM is not a valid address")?;
        Ok(Mailer::Smtp { transport, from, timeout })
    }

    /// Delivers one message; returns how it went out.
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> anyhow::Result<&'static str> {
        match self {
            Mailer::RecordOnly => Ok("record"),
            Mailer::Smtp { transport, from, timeout } => {
                let to: Mailbox = to.parse().context("invalid recipient address")?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(subject)
                    .header(ContentType::TEXT_PLAIN)
                    .body(body.to_owned())
                    .context("Failed to build the message")?;
                // The transport's timeout covers each command; this bounds the whole try.
                tokio::time::timeout(*timeout * 3, transport.send(message))
                    .await
                    .context("the mail server did not answer in time")?
                    .context("SMTP delivery failed")?;
                Ok("smtp")
            }
        }
    }
}
