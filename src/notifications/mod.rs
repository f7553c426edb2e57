//! Email through an outbox: a message is a row written in the same transaction as
//! the change that causes it, plus a job on the PostgreSQL queue (underway) that a
//! worker picks up. A crash before commit sends nothing; after commit, the worker
//! sends it. The worker locks the row and skips anything already sent, so several
//! app processes never send one message twice.
//!
//! A mail server that refuses, fails or times out (`SMTP_TIMEOUT_MS`) costs a user
//! nothing: their page committed long before. The message stays queued and is tried
//! again with backoff, `MAX_TRIES` times over about a day (the queue's retry policy);
//! each failure is counted on the row with its error, and after the last one the
//! message shows as not sent in `/admin/outbox`, where its `Retry` button queues it again.

pub mod account_requests;
mod mailer;
mod pages;

use anyhow::Context as _;
use axum::{Router, routing::get};
use serde::{Deserialize, Serialize};
use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use underway::{Job, To, job::Context, task, task::RetryPolicy};

use crate::{
    AppState,
    auth::links::{self, LinkPurpose},
};
pub use mailer::Mailer;

/// The words an email's body holds where its sign-in link goes. The worker puts the
/// link there only in what it hands the mail server; the outbox keeps these words.
pub const LINK_WITHHELD: &str = "[link withheld: only the recipient receives it]";

const QUEUE: &str = "outbox-email";

/// How many times a message is tried before it shows as not sent.
pub const MAX_TRIES: i32 = 8;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/outbox", get(pages::index))
        .route("/admin/outbox/{id}", get(pages::show))
        .route("/admin/outbox/{id}/retry", axum::routing::post(pages::retry))
}

/// The waits between tries: `first`, then four times longer each time, at most `longest`.
#[derive(Clone, Copy, Debug)]
pub struct Retries {
    pub first: Duration,
    pub longest: Duration,
}

impl Retries {
    pub fn from_config(config: &crate::Config) -> Self {
        Self { first: config.mail_retry_first, longest: config.mail_retry_max }
    }

    fn policy(self) -> RetryPolicy {
        let millis = |d: Duration| i32::try_from(d.as_millis()).unwrap_or(i32::MAX);
        RetryPolicy::builder()
            // Our count on the row decides when to give up (see `record_failure`); the
            // queue's is a backstop for tries cut short by a stopped process.
            .max_attempts(MAX_TRIES + 2)
            .initial_interval_ms(millis(self.first))
            .max_interval_ms(millis(self.longest))
            .backoff_coefficient(4.0)
            .build()
    }
}

impl Default for Retries {
    fn default() -> Self {
        Self { first: Duration::from_secs(90), longest: Duration::from_secs(8 * 3600) }
    }
}

/// An email to queue.
#[derive(Clone, Debug)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// A link that signs the recipient in, made when the email is sent (see `auth::links`).
#[derive(Clone, Debug)]
pub struct SignInLink {
    pub purpose: LinkPurpose,
    /// The user, or the sign-up request, the link is for.
    pub subject_id: i64,
    /// The public address of the app, e.g. `BASE_URL`.
    pub base_url: String,
}

/// Who besides the owner may read a message in `/admin/outbox`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Confidential {
    /// Safeguarding messages: the lead only, not even the owner.
    SafeguardingLead,
}

impl Confidential {
    /// The stored value (`outbox_emails.confidential_to`).
    pub fn as_str(self) -> &'static str {
        match self {
            Confidential::SafeguardingLead => "safeguarding_lead",
        }
    }
}

/// Where an email stands (`outbox_emails.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Written, waiting for the worker.
    Pending,
    Sent,
    /// Given up: the link no longer applies, or the recipient was erased.
    Failed,
}

impl OutboxStatus {
    /// What the outbox pages show.
    pub fn label(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "Waiting",
            OutboxStatus::Sent => "Sent",
            OutboxStatus::Failed => "Not sent",
        }
    }

    /// The stored value, for the badge's CSS class.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Failed => "failed",
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Deliver {
    outbox_id: i64,
}

/// What the worker holds: the transport, and the pool to count a failure on (the
/// worker's own transaction rolls back when the step fails).
#[derive(Clone)]
struct Sender {
    mailer: Mailer,
    pool: PgPool,
}

#[derive(Clone)]
pub struct Outbox {
    job: Job<Deliver, Sender>,
}

impl Outbox {
    pub async fn new(pool: PgPool, mailer: Mailer, retries: Retries) -> anyhow::Result<Self> {
        let job = Job::builder()
            .state(Sender { mailer, pool: pool.clone() })
            .step(|cx, Deliver { outbox_id }| async move { deliver(cx, outbox_id).await })
            .retry_policy(retries.policy())
            .name(QUEUE)
            .pool(pool)
            .build()
            .await
            .context("Failed to set up the email queue")?;
        Ok(Self { job })
    }

    /// Writes the email to the outbox inside the caller's transaction.
    pub async fn queue(&self, conn: &mut PgConnection, email: &Email) -> anyhow::Result<i64> {
        self.queue_with(conn, email, None, None).await
    }

    /// Like `queue`, for an email whose body holds `LINK_WITHHELD` where `link` goes.
    pub async fn queue_with_link(
        &self,
        conn: &mut PgConnection,
        email: &Email,
        link: &SignInLink,
    ) -> anyhow::Result<i64> {
        debug_assert!(email.body.contains(LINK_WITHHELD), "the body says where the link goes");
        self.queue_with(conn, email, Some(link), None).await
    }

    /// Like `queue`, for an email only `reader` (not the owner) may see in the outbox.
    pub async fn queue_confidential(
        &self,
        conn: &mut PgConnection,
        email: &Email,
        reader: Confidential,
    ) -> anyhow::Result<i64> {
        self.queue_with(conn, email, None, Some(reader)).await
    }

    async fn queue_with(
        &self,
        conn: &mut PgConnection,
        email: &Email,
        link: Option<&SignInLink>,
        reader: Option<Confidential>,
    ) -> anyhow::Result<i64> {
        let outbox_id = sqlx::query_scalar!(
            "insert into outbox_emails
                 (to_address, subject, body_text, link_purpose, link_subject_id, link_url_prefix, confidential_to)
             values ($1, $2, $3, $4, $5, $6, $7) returning id",
            email.to,
            email.subject,
            email.body,
            link.map(|l| l.purpose) as _,
            link.map(|l| l.subject_id),
            link.map(|l| format!("{}{}", l.base_url, l.purpose.path())),
            reader as _,
        )
        .fetch_one(&mut *conn)
        .await
        .context("Failed to write an email to the outbox")?;
        self.job
            .enqueue_using(&mut *conn, &Deliver { outbox_id })
            .await
            .context("Failed to enqueue an email")?;
        Ok(outbox_id)
    }

    /// Queues a message that was given up on again, with a fresh count of tries, in the
    /// caller's transaction; `false` when it is not (or no longer) one that failed.
    pub async fn retry(&self, conn: &mut PgConnection, outbox_id: i64) -> anyhow::Result<bool> {
        let again = sqlx::query!(
            "update outbox_emails set status = 'pending', attempts = 0, last_error = null
             where id = $1 and status = 'failed' returning id",
            outbox_id,
        )
        .fetch_optional(&mut *conn)
        .await?;
        if again.is_none() {
            return Ok(false);
        }
        self.job
            .enqueue_using(&mut *conn, &Deliver { outbox_id })
            .await
            .context("Failed to enqueue an email")?;
        Ok(true)
    }

    /// Starts a worker; several may run, in one process or many.
    pub fn start_worker(&self, workers: &mut crate::workers::Workers) {
        workers.start(&self.job);
    }
}

struct Pending {
    to_address: String,
    subject: String,
    body_text: String,
    status: OutboxStatus,
    link_purpose: Option<LinkPurpose>,
    link_subject_id: Option<i64>,
    link_url_prefix: Option<String>,
}

async fn deliver(cx: Context<Sender>, outbox_id: i64) -> task::Result<To<()>> {
    let Context { state: Sender { mailer, pool }, mut tx, .. } = cx;
    let row = sqlx::query_as!(
        Pending,
        r#"select to_address, subject, body_text, status as "status: OutboxStatus",
                  link_purpose as "link_purpose: LinkPurpose", link_subject_id, link_url_prefix
           from outbox_emails where id = $1 for update"#,
        outbox_id,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(Pending {
        to_address: to,
        subject,
        body_text: mut body,
        status,
        link_purpose,
        link_subject_id,
        link_url_prefix,
    }) = row
    else {
        return To::done();
    };
    match status {
        OutboxStatus::Pending => {}
        OutboxStatus::Sent | OutboxStatus::Failed => return To::done(),
    }
    // The link is made in this transaction: a failed send rolls it back with the rest.
    if let (Some(purpose), Some(subject_id), Some(prefix)) = (link_purpose, link_subject_id, link_url_prefix)
    {
        let Some(token) = links::mint(&mut tx, purpose, subject_id).await? else {
            sqlx::query!(
                "update outbox_emails set status = 'failed', last_error = 'the link no longer applies'
                 where id = $1",
                outbox_id,
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return To::done();
        };
        body = body.replace(LINK_WITHHELD, &format!("{prefix}{token}"));
    }
    match mailer.send(&to, &subject, &body).await {
        Ok(via) => {
            sqlx::query!(
                "update outbox_emails set status = 'sent', delivered_via = $2, sent_at = now(),
                        attempts = attempts + 1, last_error = null
                 where id = $1",
                outbox_id,
                via,
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            To::done()
        }
        Err(err) => {
            // Rolled back first: it holds the row's lock, and a link it made is void.
            tx.rollback().await?;
            record_failure(&pool, outbox_id, &format!("{err:#}")).await
        }
    }
}

/// Counts a failed try on the row, outside the worker's transaction (which rolls back),
/// and asks the queue to try again later, or, after `MAX_TRIES`, gives up.
async fn record_failure(pool: &PgPool, outbox_id: i64, error: &str) -> task::Result<To<()>> {
    let status = sqlx::query_scalar!(
        r#"update outbox_emails
           set attempts = attempts + 1, last_error = $2,
               status = case when attempts + 1 >= $3 then 'failed' else status end
           where id = $1 and status = 'pending'
           returning status as "status: OutboxStatus""#,
        outbox_id,
        error,
        MAX_TRIES,
    )
    .fetch_optional(pool)
    .await?;
    if status == Some(OutboxStatus::Failed) {
        tracing::warn!(outbox_id, error, "email delivery failed {MAX_TRIES} times; giving up");
        return Err(task::Error::Fatal(error.to_owned()));
    }
    tracing::warn!(outbox_id, error, "email delivery failed; will retry");
    Err(task::Error::Retryable(error.to_owned()))
}
