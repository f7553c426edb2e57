//! The SQL of a trainer's weekly availability, dated exceptions and time-off requests.
//! Every query is scoped to the trainer: another trainer's row is not found.

use sqlx::PgConnection;
use time::{Date, OffsetDateTime, Time};

use super::domain::{Exception, Slot, TimeOffKind, TimeOffRequest, TimeOffStatus};
use crate::ids::{AvailabilityExceptionId, AvailabilityId, TimeOffRequestId, TrainerId};

pub struct SlotRow {
    pub id: AvailabilityId,
    pub weekday: i16,
    pub starts: Time,
    pub ends: Time,
}

pub async fn slots(conn: &mut PgConnection, trainer: TrainerId) -> sqlx::Result<Vec<SlotRow>> {
    sqlx::query_as!(
        SlotRow,
        r#"select id as "id: AvailabilityId", weekday, starts, ends from trainer_availability
           where trainer_id = $1 order by weekday, starts"#,
        trainer.0,
    )
    .fetch_all(conn)
    .await
}

pub async fn insert_slot(
    conn: &mut PgConnection,
    trainer: TrainerId,
    slot: &Slot,
) -> sqlx::Result<AvailabilityId> {
    sqlx::query_scalar!(
        r#"insert into trainer_availability (trainer_id, weekday, starts, ends) values ($1, $2, $3, $4)
           returning id as "id: AvailabilityId""#,
        trainer.0,
        slot.weekday,
        slot.starts,
        slot.ends,
    )
    .fetch_one(conn)
    .await
}

/// False when the slot is not the trainer's.
pub async fn delete_slot(
    conn: &mut PgConnection,
    trainer: TrainerId,
    id: AvailabilityId,
) -> sqlx::Result<bool> {
    let done =
        sqlx::query!("delete from trainer_availability where id = $1 and trainer_id = $2", id.0, trainer.0)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

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
    sqlx::query_as!(
        ExceptionRow,
        r#"select id as "id: AvailabilityExceptionId", on_date, starts, ends, available, note
           from trainer_availability_exceptions
           where trainer_id = $1 and on_date >= current_date order by on_date, starts"#,
        trainer.0,
    )
    .fetch_all(conn)
    .await
}

pub async fn insert_exception(
    conn: &mut PgConnection,
    trainer: TrainerId,
    e: &Exception,
) -> sqlx::Result<AvailabilityExceptionId> {
    sqlx::query_scalar!(
        r#"insert into trainer_availability_exceptions (trainer_id, on_date, starts, ends, available, note)
           values ($1, $2, $3, $4, $5, $6) returning id as "id: AvailabilityExceptionId""#,
        trainer.0,
        e.date,
        e.times.map(|t| t.0),
        e.times.map(|t| t.1),
        e.available,
        e.note,
    )
    .fetch_one(conn)
    .await
}

/// False when the exception is not the trainer's.
pub async fn delete_exception(
    conn: &mut PgConnection,
    trainer: TrainerId,
    id: AvailabilityExceptionId,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "delete from trainer_availability_exceptions where id = $1 and trainer_id = $2",
        id.0,
        trainer.0,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

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
    // A request's range is never empty (time_off_requests_not_empty), so it has both ends.
    sqlx::query_as!(
        TimeOffRow,
        r#"select id as "id: TimeOffRequestId", kind as "kind: TimeOffKind", lower(during) as "starts_at!",
                  upper(during) as "ends_at!", reason, status as "status: TimeOffStatus", decision_note
           from time_off_requests where trainer_id = $1 and upper(during) > now() - interval '60 days'
           order by lower(during) desc"#,
        trainer.0,
    )
    .fetch_all(conn)
    .await
}

pub async fn insert_time_off(
    conn: &mut PgConnection,
    trainer: TrainerId,
    r: &TimeOffRequest,
) -> sqlx::Result<TimeOffRequestId> {
    sqlx::query_scalar!(
        r#"insert into time_off_requests (trainer_id, kind, during, reason) values ($1, $2, tstzrange($3, $4), $5)
           returning id as "id: TimeOffRequestId""#,
        trainer.0,
        r.kind.as_str(),
        r.from,
        r.to,
        r.reason,
    )
    .fetch_one(conn)
    .await
}

/// Withdraws the trainer's pending request; false when there is none such.
pub async fn withdraw_time_off(
    conn: &mut PgConnection,
    trainer: TrainerId,
    id: TimeOffRequestId,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update time_off_requests set status = $3 where id = $1 and trainer_id = $2 and status = $4",
        id.0,
        trainer.0,
        TimeOffStatus::Withdrawn.as_str(),
        TimeOffStatus::Pending.as_str(),
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
