//! The SQL of a trainer's weekly availability, dated exceptions and time-off requests.
//! Every query is scoped to the trainer: another trainer's row is not found.

use sqlx::{FromRow, PgConnection};
use time::{Date, OffsetDateTime, Time};

use super::domain::{Exception, Slot, TimeOffKind, TimeOffRequest, TimeOffStatus};
use crate::ids::{AvailabilityExceptionId, AvailabilityId, TimeOffRequestId, TrainerId};

#[derive(FromRow)]
pub struct SlotRow {
    pub id: AvailabilityId,
    pub weekday: i16,
    pub starts: Time,
    pub ends: Time,
}

pub async fn slots(conn: &mut PgConnection, trainer: TrainerId) -> sqlx::Result<Vec<SlotRow>> {
    sqlx::query_as(
        "select id, weekday, starts, ends from trainer_availability where trainer_id = $1 order by weekday, starts",
    )
    .bind(trainer)
    .fetch_all(conn)
    .await
}

pub async fn insert_slot(
    conn: &mut PgConnection,
    trainer: TrainerId,
    slot: &Slot,
) -> sqlx::Result<AvailabilityId> {
    sqlx::query_scalar(
        "insert into trainer_availability (trainer_id, weekday, starts, ends) values ($1, $2, $3, $4) returning id",
    )
    .bind(trainer)
    .bind(slot.weekday)
    .bind(slot.starts)
    .bind(slot.ends)
    .fetch_one(conn)
    .await
}

/// False when the slot is not the trainer's.
pub async fn delete_slot(
    conn: &mut PgConnection,
    trainer: TrainerId,
    id: AvailabilityId,
) -> sqlx::Result<bool> {
    let done = sqlx::query("delete from trainer_availability where id = $1 and trainer_id = $2")
        .bind(id)
        .bind(trainer)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(FromRow)]
pub struct ExceptionRow {
    pub id: AvailabilityExceptionId,
    pub on_date: Date,
    pub starts: Option<Time>,
    pub ends: Option<Time>,
    pub available: bool,
    pub note: String,
}

/// The trainer's exceptions from today on.
pub async fn exceptions(conn: &mut PgConnection, trainer: TrainerId) -> sqlx::Result<Vec<ExceptionRow>> {
    sqlx::query_as(
        "select id, on_date, starts, ends, available, note from trainer_availability_exceptions
         where trainer_id = $1 and on_date >= current_date order by on_date, starts",
    )
    .bind(trainer)
    .fetch_all(conn)
    .await
}

pub async fn insert_exception(
    conn: &mut PgConnection,
    trainer: TrainerId,
    e: &Exception,
) -> sqlx::Result<AvailabilityExceptionId> {
    sqlx::query_scalar(
        "insert into trainer_availability_exceptions (trainer_id, on_date, starts, ends, available, note)
         values ($1, $2, $3, $4, $5, $6) returning id",
    )
    .bind(trainer)
    .bind(e.date)
    .bind(e.times.map(|t| t.0))
    .bind(e.times.map(|t| t.1))
    .bind(e.available)
    .bind(&e.note)
    .fetch_one(conn)
    .await
}

/// False when the exception is not the trainer's.
pub async fn delete_exception(
    conn: &mut PgConnection,
    trainer: TrainerId,
    id: AvailabilityExceptionId,
) -> sqlx::Result<bool> {
    let done = sqlx::query("delete from trainer_availability_exceptions where id = $1 and trainer_id = $2")
        .bind(id)
        .bind(trainer)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(FromRow)]
pub struct TimeOffRow {
    pub id: TimeOffRequestId,
    pub kind: TimeOffKind,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub reason: String,
    pub status: TimeOffStatus,
    pub decision_note: String,
}

/// The trainer's requests that ended in the last 60 days or are to come.
pub async fn time_off_of(conn: &mut PgConnection, trainer: TrainerId) -> sqlx::Result<Vec<TimeOffRow>> {
    sqlx::query_as(
        "select id, kind, lower(during) as starts_at, upper(during) as ends_at, reason, status, decision_note
         from time_off_requests where trainer_id = $1 and upper(during) > now() - interval '60 days'
         order by lower(during) desc",
    )
    .bind(trainer)
    .fetch_all(conn)
    .await
}

pub async fn insert_time_off(
    conn: &mut PgConnection,
    trainer: TrainerId,
    r: &TimeOffRequest,
) -> sqlx::Result<TimeOffRequestId> {
    sqlx::query_scalar(
        "insert into time_off_requests (trainer_id, kind, during, reason) values ($1, $2, tstzrange($3, $4), $5)
         returning id",
    )
    .bind(trainer)
    .bind(r.kind)
    .bind(r.from)
    .bind(r.to)
    .bind(&r.reason)
    .fetch_one(conn)
    .await
}

/// Withdraws the trainer's pending request; false when there is none such.
pub async fn withdraw_time_off(
    conn: &mut PgConnection,
    trainer: TrainerId,
    id: TimeOffRequestId,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update time_off_requests set status = $3 where id = $1 and trainer_id = $2 and status = $4",
    )
    .bind(id)
    .bind(trainer)
    .bind(TimeOffStatus::Withdrawn)
    .bind(TimeOffStatus::Pending)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
