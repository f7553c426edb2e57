//! Email through an outbox: a message is a row written in the same transaction as
//! the change that causes it, plus a job on the PostgreSQL queue (underway) that a
//! worker picks up. A crash before commit sends nothing; after commit, the worker
//! sends it. The worker locks the row and skips anything already sent, so several
//! app processes never send one message twice.

mod mailer;
mod pages;

use anyhow::Context as _;
use axum::{Router, routing::get};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use underway::{Job, To, job::Context, task};

use crate::AppState;
pub use mailer::Mailer;

const QUEUE: &str = "outbox-email";

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/outbox", get(pages::index)).route("/admin/outbox/{id}", get(pages::show))
}

/// An email to queue.
#[derive(Clone, Debug)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[derive(Serialize, Deserialize)]
struct Deliver {
    outbox_id: i64,
}

#[derive(Clone)]
pub struct Outbox {
    job: Job<Deliver, Mailer>,
}

impl Outbox {
    pub async fn new(pool: PgPool, mailer: Mailer) -> anyhow::Result<Self> {
        let job = Job::builder()
            .state(mailer)
            .step(|cx, Deliver { outbox_id }| async move { deliver(cx, outbox_id).await })
            .name(QUEUE)
            .pool(pool)
            .build()
            .await
            .context("Failed to set up the email queue")?;
        Ok(Self { job })
    }

    /// Writes the email to the outbox inside the caller's transaction.
    pub async fn queue(&self, conn: &mut PgConnection, email: &Email) -> anyhow::Result<i64> {
        let outbox_id: i64 = sqlx::query_scalar(
            "insert into outbox_emails (to_address, subject, body_text) values ($1, $2, $3) returning id",
        )
        .bind(&email.to)
        .bind(&email.subject)
        .bind(&email.body)
        .fetch_one(&mut *conn)
        .await
        .context("Failed to write an email to the outbox")?;
        self.job
            .enqueue_using(&mut *conn, &Deliver { outbox_id })
            .await
            .context("Failed to enqueue an email")?;
        Ok(outbox_id)
    }

    /// Starts a worker; several may run, in one process or many.
    pub fn start_worker(&self) -> underway::job::JobHandle {
        self.job.start()
    }
}

async fn deliver(cx: Context<Mailer>, outbox_id: i64) -> task::Result<To<()>> {
    let Context { state: mailer, mut tx, .. } = cx;
    let row: Option<(String, String, String, String)> = sqlx::query_as(
        "select to_address, subject, body_text, status from outbox_emails where id = $1 for update",
    )
    .bind(outbox_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((to, subject, body, status)) = row else { return To::done() };
    if status != "pending" {
        return To::done();
    }
    match mailer.send(&to, &subject, &body).await {
        Ok(via) => {
            sqlx::query(
                "update outbox_emails set status = 'sent', delivered_via = $2, sent_at = now(),
                        attempts = attempts + 1, last_error = null
                 where id = $1",
            )
            .bind(outbox_id)
            .bind(via)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            To::done()
        }
        Err(err) => {
            tracing::warn!(outbox_id, error = %err, "email delivery failed; will retry");
            // Recorded outside the worker's transaction, which rolls back on retry.
            Err(task::Error::Retryable(format!("{err:#}")))
        }
    }
}
