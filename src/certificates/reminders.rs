//! Expiry reminders, 90 and 30 days before a certificate expires, each once, with a
//! one-click link to book the course again. A daily job on the job queue (underway's
//! scheduler runs it once across every app process); rows are claimed under lock and
//! marked in the transaction that writes the email, so a rerun sends nothing twice.

use anyhow::Context as _;
use sqlx::{PgConnection, PgPool};
use time::Date;
use underway::{Job, To, ZonedSchedule, job::Context};

use super::store;
use crate::{AppState, notifications::Email, notifications::Outbox};

const QUEUE: &str = "certificate-reminders";
/// Every morning at 07:00 UTC.
const DAILY: &str = "0 0 7 * * *";

#[derive(Clone)]
struct Setup {
    outbox: Outbox,
    base_url: String,
    tz: &'static time_tz::Tz,
}

#[derive(Clone)]
pub struct Reminders {
    job: Job<(), Setup>,
}

impl Reminders {
    pub async fn new(
        pool: PgPool,
        outbox: Outbox,
        base_url: String,
        tz: &'static time_tz::Tz,
    ) -> anyhow::Result<Self> {
        let job = Job::builder()
            .state(Setup { outbox, base_url, tz })
            .step(|cx: Context<Setup>, ()| async move {
                let mut tx = cx.tx;
                let today = crate::clock::today(cx.state.tz);
                send_due_in(&mut tx, &cx.state.outbox, &cx.state.base_url, today)
                    .await
                    .map_err(|e| underway::task::Error::Retryable(e.to_string()))?;
                tx.commit().await?;
                To::done()
            })
            .name(QUEUE)
            .pool(pool)
            .build()
            .await
            .context("Failed to set up the certificate reminders queue")?;
        let daily = ZonedSchedule::new(DAILY, "UTC").context("the reminders schedule is valid")?;
        job.schedule(&daily, &()).await.context("Failed to schedule certificate reminders")?;
        Ok(Self { job })
    }

    pub fn start_worker(&self, workers: &mut crate::workers::Workers) {
        workers.start(&self.job);
    }
}

/// Sends the reminders due `today`; returns how many. (Tests and the job call this.)
pub async fn send_due(state: &AppState, today: Date) -> anyhow::Result<usize> {
    let mut tx = state.pool.begin().await?;
    let sent = send_due_in(&mut tx, &state.outbox, &state.config.base_url, today).await?;
    tx.commit().await?;
    Ok(sent)
}

async fn send_due_in(
    conn: &mut PgConnection,
    outbox: &Outbox,
    base_url: &str,
    today: Date,
) -> anyhow::Result<usize> {
    let mut sent = 0;
    // 30 first: a certificate first seen inside 30 days gets that one only.
    for days in [30, 90] {
        // Each batch is marked before the next is read, so the next finds the rest.
        loop {
            let batch = store::due_reminders(conn, today, days).await?;
            let full = batch.len() as i64 == store::REMINDER_BATCH;
            for due in batch {
                if let Some(to) = &due.email {
                    outbox.queue(conn, &email(&due, to, days, base_url)).await?;
                    sent += 1;
                }
                store::mark_reminded(conn, due.id, days).await?;
            }
            if !full {
                break;
            }
        }
    }
    Ok(sent)
}

fn email(due: &store::Due, to: &str, days: i32, base_url: &str) -> Email {
    Email {
        to: to.to_owned(),
        subject: format!("Your {} certificate expires on {}", due.course_name, due.expires_on),
        body: format!(
            "Hello {},\n\nYour {} certificate expires on {} (in {days} days or less). \
             To stay certified, book a refresher before then:\n\n{base_url}/parent/sessions?activity={}\n\n\
             If you have already booked, there is nothing more to do.\n",
            due.learner_name, due.course_name, due.expires_on, due.activity_id
        ),
    }
}
