//! What a trainer does with a shift, one use case per action: each takes the
//! transaction and typed inputs, owns the rules, SQL, audit rows and emails, and
//! returns the outcome for the page to tell.

use serde::Deserialize;
use sqlx::PgConnection;

use super::store::{self, CheckIn, Take};
use crate::{
    AppState, audit,
    db::OnConstraint,
    error::{AppError, AppResult},
    ids::ShiftId,
    notifications::Email,
};

/// A check-in more than this late is flagged to the coordinators.
pub const LATE_AFTER_MINUTES: i32 = 10;

/// `Accept shift`: an open shift (first trainer wins) or one offered to this trainer.
pub async fn accept(conn: &mut PgConnection, trainer_id: i64, shift: ShiftId, tz: &str) -> AppResult<Take> {
    let outcome = store::take(&mut *conn, trainer_id, shift, tz).await?;
    if outcome == Take::Taken {
        audit::record(conn).by(trainer_id).action("shift.accepted").entity("shift", shift).await?;
    }
    Ok(outcome)
}

/// The decline form: an optional reason, kept to 500 characters.
#[derive(Debug, Default, Deserialize)]
pub struct DeclineForm {
    #[serde(default)]
    pub reason: String,
}

impl DeclineForm {
    pub fn reason(&self) -> String {
        self.reason.trim().chars().take(500).collect()
    }
}

/// `Decline shift`: the offer goes back to being an open shift. Anything but an offer
/// to this trainer is not found.
pub async fn decline(
    conn: &mut PgConnection,
    trainer_id: i64,
    shift: ShiftId,
    reason: &str,
) -> AppResult<()> {
    if !store::decline(&mut *conn, trainer_id, shift, reason).await? {
        return Err(AppError::NotFound);
    }
    audit::record(conn)
        .by(trainer_id)
        .action("shift.declined")
        .entity("shift", shift)
        .after(serde_json::json!({ "reason": reason }))
        .await?;
    Ok(())
}

/// The check-in form: the phone's location, if it gave one.
#[derive(Debug, Default, Deserialize)]
pub struct CheckInForm {
    #[serde(default)]
    pub latitude: String,
    #[serde(default)]
    pub longitude: String,
}

impl CheckInForm {
    /// A location on Earth, or none (a missing or junk one is simply not recorded).
    pub fn location(&self) -> Option<(f64, f64)> {
        let lat: f64 = self.latitude.trim().parse().ok()?;
        let lng: f64 = self.longitude.trim().parse().ok()?;
        ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lng)).then_some((lat, lng))
    }
}

/// Checks in; a late one is audited as such and emailed to the coordinators.
/// Anything but this trainer's accepted shift is not found.
pub async fn check_in(
    state: &AppState,
    conn: &mut PgConnection,
    trainer: &crate::auth::User,
    shift: ShiftId,
    location: Option<(f64, f64)>,
) -> AppResult<CheckIn> {
    let outcome = store::check_in(&mut *conn, trainer.id.0, shift, location).await?;
    match outcome {
        CheckIn::NotAllowed => return Err(AppError::NotFound),
        CheckIn::OutsideWindow => {}
        CheckIn::Done { late_minutes } => {
            let late = late_minutes > LATE_AFTER_MINUTES;
            audit::record(&mut *conn)
                .by(trainer.id)
                .action(if late { "shift.checked_in_late" } else { "shift.checked_in" })
                .entity("shift", shift)
                .after(serde_json::json!({ "late_minutes": late_minutes }))
                .await?;
            if late {
                flag_late(state, conn, &trainer.name, shift, late_minutes).await?;
            }
        }
    }
    Ok(outcome)
}

/// Emails the coordinators about a late check-in.
async fn flag_late(
    state: &AppState,
    conn: &mut PgConnection,
    trainer: &str,
    shift: ShiftId,
    minutes: i32,
) -> AppResult<()> {
    let coordinators = sqlx::query_scalar!(
        "select email from users where role = 'admin' and admin_role in ('coordinator', 'owner') and is_active",
    )
    .fetch_all(&mut *conn)
    .await?;
    for to in coordinators {
        let email = Email {
            to,
            subject: format!("Late check-in: {trainer}"),
            body: format!("{trainer} checked in {minutes} minutes late for shift #{shift}.\n"),
        };
        state.outbox.queue(conn, &email).await?;
    }
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
pub enum CheckedOut {
    /// The time is on the timesheet.
    Done {
        /// The week was submitted already, so it went back to the trainer.
        week_returned: bool,
        /// Every child marked and every trainer out: the session is completed.
        completed: bool,
    },
    /// The week's timesheet is approved and locked; nothing was saved.
    WeekLocked,
}

/// Checks out of a checked-in shift and puts the worked time on the week's timesheet.
/// Anything but this trainer's checked-in shift is not found. On `WeekLocked` the
/// transaction is spoiled: the caller drops it.
pub async fn check_out(
    conn: &mut PgConnection,
    trainer_id: i64,
    shift: ShiftId,
    tz: &time_tz::Tz,
) -> AppResult<CheckedOut> {
    let Some((session_id, started, ended)) = store::check_out(&mut *conn, trainer_id, shift).await? else {
        return Err(AppError::NotFound);
    };
    let week = crate::timesheets::week_of(started, tz);
    let entry = sqlx::query!(
        "insert into time_entries (trainer_id, shift_id, started_at, ended_at, source, week_start)
         values ($1, $2, $3, $4, 'shift', $5)",
        trainer_id,
        shift.0,
        started,
        ended,
        week,
    )
    .execute(&mut *conn)
    .await
    .on_constraint(|name| (name == "time_entries_locked_when_approved").then_some(CheckedOut::WeekLocked))?;
    if let Err(locked) = entry {
        return Ok(locked);
    }
    audit::record(&mut *conn).by(trainer_id).action("shift.checked_out").entity("shift", shift).await?;
    let completed = crate::attendance::store::complete_if_done(&mut *conn, session_id).await?;
    let week_returned = sqlx::query_scalar!(
        r#"select exists (select 1 from timesheets
                         where trainer_id = $1 and week_start = $2 and changed_after_submit is not null)
                as "returned!""#,
        trainer_id,
        week,
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(CheckedOut::Done { week_returned, completed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_counts_only_when_both_parts_are_on_earth() {
        let form = |lat: &str, lng: &str| CheckInForm { latitude: lat.into(), longitude: lng.into() };
        assert_eq!(form("51.5", "-0.12").location(), Some((51.5, -0.12)));
        assert_eq!(form("91", "0").location(), None);
        assert_eq!(form("51.5", "").location(), None);
        assert_eq!(form("north", "west").location(), None);
    }

    #[test]
    fn a_decline_reason_is_trimmed_and_bounded() {
        let form = DeclineForm { reason: format!("  {}  ", "x".repeat(600)) };
        assert_eq!(form.reason().chars().count(), 500);
    }
}
