//! What a trainer does to their availability and time off, each in the caller's
//! transaction with its audit row. Another trainer's row is not found.

use sqlx::PgConnection;

use super::{
    domain::{Exception, Slot, TimeOffRequest},
    store,
};
use crate::{
    audit,
    error::{AppError, AppResult},
    ids::{AvailabilityExceptionId, AvailabilityId, TimeOffRequestId, TrainerId},
};

pub async fn add_slot(conn: &mut PgConnection, trainer: TrainerId, slot: &Slot) -> AppResult<AvailabilityId> {
    let id = store::insert_slot(conn, trainer, slot).await?;
    audit::record(conn)
        .by(trainer)
        .action("availability.slot_added")
        .entity("trainer_availability", id)
        .await?;
    Ok(id)
}

pub async fn remove_slot(conn: &mut PgConnection, trainer: TrainerId, id: AvailabilityId) -> AppResult<()> {
    if !store::delete_slot(conn, trainer, id).await? {
        return Err(AppError::NotFound);
    }
    audit::record(conn)
        .by(trainer)
        .action("availability.slot_removed")
        .entity("trainer_availability", id)
        .await?;
    Ok(())
}

pub async fn add_exception(
    conn: &mut PgConnection,
    trainer: TrainerId,
    exception: &Exception,
) -> AppResult<AvailabilityExceptionId> {
    let id = store::insert_exception(conn, trainer, exception).await?;
    audit::record(conn)
        .by(trainer)
        .action("availability.exception_added")
        .entity("trainer_availability_exception", id)
        .await?;
    Ok(id)
}

pub async fn remove_exception(
    conn: &mut PgConnection,
    trainer: TrainerId,
    id: AvailabilityExceptionId,
) -> AppResult<()> {
    if !store::delete_exception(conn, trainer, id).await? {
        return Err(AppError::NotFound);
    }
    audit::record(conn)
        .by(trainer)
        .action("availability.exception_removed")
        .entity("trainer_availability_exceptions", id)
        .await?;
    Ok(())
}

pub async fn request_time_off(
    conn: &mut PgConnection,
    trainer: TrainerId,
    request: &TimeOffRequest,
) -> AppResult<TimeOffRequestId> {
    let id = store::insert_time_off(conn, trainer, request).await?;
    audit::record(conn).by(trainer).action("time_off.requested").entity("time_off_request", id).await?;
    Ok(id)
}

/// Only a pending request can be withdrawn; any other is not found.
pub async fn withdraw_time_off(
    conn: &mut PgConnection,
    trainer: TrainerId,
    id: TimeOffRequestId,
) -> AppResult<()> {
    if !store::withdraw_time_off(conn, trainer, id).await? {
        return Err(AppError::NotFound);
    }
    audit::record(conn).by(trainer).action("time_off.withdrawn").entity("time_off_request", id).await?;
    Ok(())
}
