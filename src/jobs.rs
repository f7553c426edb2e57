//! Housekeeping that runs every minute in every app process: expiring waitlist offers,
//! releasing places whose card payment did not come, marking provisional holds lapsed, folding finance's running owed
//! total, and sending tomorrow's reminders to families and trainers. Each step is safe
//! to run concurrently (row locks, SKIP LOCKED, unique rows), so no process needs to be
//! the leader.

use std::time::Duration;

use crate::AppState;

pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every_minute = tokio::time::interval(Duration::from_secs(60));
        loop {
            every_minute.tick().await;
            if let Err(err) = crate::waitlist::sweep(&state).await {
                tracing::warn!(error = ?err, "waitlist sweep failed");
            }
            if let Err(err) = crate::bookings::holds::sweep(&state).await {
                tracing::warn!(error = ?err, "ending payment holds failed");
            }
            if let Err(err) = crate::inquiries::actions::lapse_expired(&state).await {
                tracing::warn!(error = ?err, "marking lapsed holds failed");
            }
            if let Err(err) = crate::payments::store::fold_owed_changes(&state.pool).await {
                tracing::warn!(error = ?err, "folding the owed total failed");
            }
            if let Err(err) = crate::bookings::reminders::send_due(&state).await {
                tracing::warn!(error = ?err, "sending reminders failed");
            }
            if let Err(err) =
                crate::shifts::reminders::send_due(&state, time::OffsetDateTime::now_utc()).await
            {
                tracing::warn!(error = ?err, "sending shift reminders failed");
            }
        }
    })
}
