//! Deletes what has served its purpose, hourly on the job queue (underway's scheduler
//! runs it once per hour across every app process): expired sessions, spent or expired
//! sign-in links, sign-ups never confirmed, and old sign-in and request attempts.

use anyhow::Context as _;
use sqlx::{PgConnection, PgPool};
use underway::{Job, To, ZonedSchedule, job::Context, task};

const QUEUE: &str = "housekeeping";
const HOURLY: &str = "0 0 * * * *";

#[derive(Clone)]
pub struct Housekeeping {
    job: Job<(), ()>,
}

impl Housekeeping {
    pub async fn new(pool: PgPool) -> anyhow::Result<Self> {
        let job = Job::builder()
            .step(|cx: Context<()>, ()| async move {
                let mut tx = cx.tx;
                clean(&mut tx).await?;
                tx.commit().await?;
                To::done()
            })
            .name(QUEUE)
            .pool(pool)
            .build()
            .await
            .context("Failed to set up the housekeeping queue")?;
        let hourly = ZonedSchedule::new(HOURLY, "UTC").context("the housekeeping schedule is valid")?;
        job.schedule(&hourly, &()).await.context("Failed to schedule housekeeping")?;
        Ok(Self { job })
    }

    pub fn start_worker(&self, workers: &mut crate::workers::Workers) {
        workers.start(&self.job);
    }
}

/// What one run deleted, table by table.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Cleaned {
    pub sessions: u64,
    pub links: u64,
    pub signups: u64,
    pub sign_in_attempts: u64,
    pub request_attempts: u64,
}

pub async fn clean(conn: &mut PgConnection) -> task::Result<Cleaned> {
    let sessions = sqlx::query!("delete from tower_sessions.session where expiry_date < now()")
        .execute(&mut *conn)
        .await?;
    let links = sqlx::query!(
        "delete from password_reset_tokens
         where expires_at < now() - interval '1 day' or used_at < now() - interval '1 day'"
    )
    .execute(&mut *conn)
    .await?;
    let signups = sqlx::query!("delete from signup_requests where created_at < now() - interval '2 days'")
        .execute(&mut *conn)
        .await?;
    // Kept as long as an address counts as familiar to an account (see auth::throttle).
    let sign_in_attempts =
        sqlx::query!("delete from sign_in_attempts where created_at < now() - interval '31 days'")
            .execute(&mut *conn)
            .await?;
    let request_attempts =
        sqlx::query!("delete from request_attempts where created_at < now() - interval '1 day'")
            .execute(&mut *conn)
            .await?;
    Ok(Cleaned {
        sessions: sessions.rows_affected(),
        links: links.rows_affected(),
        signups: signups.rows_affected(),
        sign_in_attempts: sign_in_attempts.rows_affected(),
        request_attempts: request_attempts.rows_affected(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_parses() {
        assert!(ZonedSchedule::new(HOURLY, "UTC").is_ok());
    }
}
