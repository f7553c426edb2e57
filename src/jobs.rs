//! Housekeeping every minute: expiring waitlist offers, releasing places whose card
//! payment did not come, marking provisional holds lapsed, retrying card refunds Stripe
//! refused, folding finance's running owed total and the bookings counted per status, and sending tomorrow's reminders to
//! families and trainers. Every app process ticks, but only one runs each minute's
//! sweeps: the one that claims the minute's row in `sweep_ticks` (a primary key, so the
//! claim is the database's, not a race's). Each step is also safe to run concurrently
//! (row locks, SKIP LOCKED, unique rows), should two minutes overlap.

use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

use crate::AppState;

/// Ticks every minute until `stopping` turns true; a sweep under way finishes first.
pub fn spawn(state: AppState, mut stopping: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every_minute = tokio::time::interval(Duration::from_secs(60));
        every_minute.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every_minute.tick() => {}
                _ = stopping.wait_for(|stop| *stop) => break,
            }
            tick(&state, OffsetDateTime::now_utc()).await;
        }
    })
}

/// Runs the sweeps of the minute `now` falls in, unless another process has claimed
/// that minute; returns whether this call ran them.
pub async fn tick(state: &AppState, now: OffsetDateTime) -> bool {
    match claim(state, now).await {
        Ok(true) => {}
        Ok(false) => return false,
        Err(err) => {
            tracing::warn!(error = ?err, "could not claim this minute's sweeps; trying next minute");
            return false;
        }
    }
    if let Err(err) = crate::waitlist::sweep(state).await {
        tracing::warn!(error = ?err, "waitlist sweep failed");
    }
    if let Err(err) = crate::bookings::holds::sweep(state).await {
        tracing::warn!(error = ?err, "ending payment holds failed");
    }
    if let Err(err) = crate::inquiries::actions::lapse_expired(state).await {
        tracing::warn!(error = ?err, "marking lapsed holds failed");
    }
    if let Err(err) = crate::payments::cancellation::retry_due(state).await {
        tracing::warn!(error = ?err, "retrying card refunds failed");
    }
    if let Err(err) = crate::payments::store::fold_owed_changes(&state.pool).await {
        tracing::warn!(error = ?err, "folding the owed total failed");
    }
    if let Err(err) = crate::bookings::store::fold_status_counts(&state.pool).await {
        tracing::warn!(error = ?err, "folding the booking counts failed");
    }
    if let Err(err) = crate::bookings::reminders::send_due(state).await {
        tracing::warn!(error = ?err, "sending reminders failed");
    }
    if let Err(err) = crate::shifts::reminders::send_due(state, now).await {
        tracing::warn!(error = ?err, "sending shift reminders failed");
    }
    true
}

async fn claim(state: &AppState, now: OffsetDateTime) -> sqlx::Result<bool> {
    let mut tx = state.pool.begin().await?;
    let claimed = sqlx::query_scalar!(
        "insert into sweep_ticks (minute) values (date_trunc('minute', $1::timestamptz))
         on conflict (minute) do nothing returning minute",
        now,
    )
    .fetch_optional(&mut *tx)
    .await?
    .is_some();
    if claimed {
        sqlx::query!("delete from sweep_ticks where minute < $1::timestamptz - interval '1 day'", now)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(claimed)
}
