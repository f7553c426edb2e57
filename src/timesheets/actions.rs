//! What trainers and finance do to time and timesheets, each in the caller's
//! transaction with its audit row (and email): adding and adjusting time, submitting a
//! week, and finance's decision. A refusal is a value the page shows; an `Err` is a
//! fault.

use serde_json::json;
use sqlx::PgConnection;
use time::Date;

use super::{
    domain::{self, Decision, EntryInput, TimesheetStatus},
    store, week_label,
};
use crate::{
    AppState, audit,
    db::OnConstraint,
    error::{AppError, AppResult},
    ids::{TimeEntryId, TimesheetId, TrainerId, UserId},
    notifications::Email,
    web::fmt,
};

/// A week whose time can no longer change: waiting for approval, or approved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeekClosed {
    pub week: Date,
    pub status: TimesheetStatus,
}

impl WeekClosed {
    pub fn message(self) -> String {
        match self.status {
            TimesheetStatus::Approved => {
                format!("The week of {} is approved: its time can no longer change.", week_label(self.week))
            }
            TimesheetStatus::Submitted | TimesheetStatus::Returned => format!(
                "The week of {} is waiting for approval: add time only if it is returned.",
                week_label(self.week)
            ),
        }
    }
}

/// The week's status, locked, when its entries cannot change.
async fn closed_week(
    conn: &mut PgConnection,
    trainer: TrainerId,
    week: Date,
) -> AppResult<Option<WeekClosed>> {
    let status = store::lock_week_status(conn, trainer, week).await?;
    Ok(status
        .filter(|s| !TimesheetStatus::entries_editable(Some(*s)))
        .map(|status| WeekClosed { week, status }))
}

fn entry_summary(entry: &EntryInput) -> serde_json::Value {
    json!({
        "started_at": entry.started_at.unix_timestamp(),
        "ended_at": entry.ended_at.unix_timestamp(),
        "week_start": entry.week_start.to_string(),
        "reason": entry.reason.as_str(),
    })
}

/// A trainer adds time by hand to a week still open to them.
pub async fn add_entry(
    conn: &mut PgConnection,
    trainer: TrainerId,
    entry: &EntryInput,
) -> AppResult<Result<TimeEntryId, WeekClosed>> {
    store::lock_trainer(conn, trainer).await?;
    if let Some(closed) = closed_week(conn, trainer, entry.week_start).await? {
        return Ok(Err(closed));
    }
    let approved = WeekClosed { week: entry.week_start, status: TimesheetStatus::Approved };
    let id = match store::insert_entry(conn, trainer, entry)
        .await
        .on_constraint(|name| (name == store::LOCKED_CONSTRAINT).then_some(approved))?
    {
        Ok(id) => id,
        Err(closed) => return Ok(Err(closed)),
    };
    audit::record(conn)
        .by(trainer)
        .action("time_entry.created")
        .entity("time_entry", id)
        .after(entry_summary(entry))
        .await?;
    Ok(Ok(id))
}

/// The trainer's entry, locked with their time, and whether its week is still open to
/// change; another trainer's entry is not found.
pub async fn open_entry(
    conn: &mut PgConnection,
    trainer: TrainerId,
    id: TimeEntryId,
) -> AppResult<(store::Entry, Option<WeekClosed>)> {
    store::lock_trainer(conn, trainer).await?;
    let entry = store::entry(conn, trainer, id).await?.ok_or(AppError::NotFound)?;
    let closed = closed_week(conn, trainer, entry.week_start).await?;
    Ok((entry, closed))
}

/// Why an adjustment was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdjustRefused {
    /// The entry's own week closed (approved while the trainer typed).
    Locked(TimesheetStatus),
    /// The time was moved into a week that is closed.
    MovedIntoClosed(WeekClosed),
}

/// New times for an entry opened with [`open_entry`] (its week open), with the reason.
pub async fn adjust_entry(
    conn: &mut PgConnection,
    trainer: TrainerId,
    entry: &store::Entry,
    changed: &EntryInput,
) -> AppResult<Result<(), AdjustRefused>> {
    // Moving time into another week needs that week open too.
    if changed.week_start != entry.week_start
        && let Some(closed) = closed_week(conn, trainer, changed.week_start).await?
    {
        return Ok(Err(AdjustRefused::MovedIntoClosed(closed)));
    }
    let locked = AdjustRefused::Locked(TimesheetStatus::Approved);
    if let Err(refused) = store::update_entry(conn, entry.id, changed)
        .await
        .on_constraint(|name| (name == store::LOCKED_CONSTRAINT).then_some(locked))?
    {
        return Ok(Err(refused));
    }
    let before = json!({
        "started_at": entry.started_at.unix_timestamp(),
        "ended_at": entry.ended_at.unix_timestamp(),
        "week_start": entry.week_start.to_string(),
        "reason": entry.reason,
    });
    audit::record(conn)
        .by(trainer)
        .action("time_entry.adjusted")
        .entity("time_entry", entry.id)
        .before(before)
        .after(entry_summary(changed))
        .await?;
    Ok(Ok(()))
}

/// Why a week was not submitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubmitRefused {
    NoTime,
    /// Waiting for a decision or approved already.
    Already(Option<TimesheetStatus>),
}

impl SubmitRefused {
    pub fn message(self, week: Date) -> String {
        match self {
            Self::NoTime => format!("There is no time to submit for the week of {}.", week_label(week)),
            Self::Already(status) => format!(
                "Nothing changed: the week of {} is already {}.",
                week_label(week),
                TimesheetStatus::label_of(status).to_lowercase()
            ),
        }
    }
}

/// The trainer submits a week with time in it, or resubmits it after a return.
pub async fn submit_week(
    conn: &mut PgConnection,
    trainer: TrainerId,
    week: Date,
) -> AppResult<Result<TimesheetId, SubmitRefused>> {
    store::lock_trainer(conn, trainer).await?;
    if store::count_entries(conn, trainer, week).await? == 0 {
        return Ok(Err(SubmitRefused::NoTime));
    }
    let status = store::lock_week_status(conn, trainer, week).await?;
    let submitted = match TimesheetStatus::can_submit(status) {
        true => store::submit(conn, trainer, week).await?,
        false => None,
    };
    let Some(id) = submitted else {
        return Ok(Err(SubmitRefused::Already(status)));
    };
    let sheet = store::timesheet(conn, id).await?.ok_or(AppError::NotFound)?;
    audit::record(conn)
        .by(trainer)
        .action("timesheet.submitted")
        .entity("timesheet", id)
        .before(status.map(|s| json!({ "status": s.as_str() })))
        .after(json!({ "status": TimesheetStatus::Submitted.as_str(), "week_start": week.to_string(),
                       "minutes": sheet.minutes }))
        .await?;
    Ok(Ok(id))
}

/// A submission's instant as the approve form carries it; a resubmission makes a new one.
pub fn submitted_version(at: time::OffsetDateTime) -> String {
    at.unix_timestamp_nanos().to_string()
}

/// Why finance's decision changed nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecisionRefused {
    /// Not waiting for a decision: approved or returned already.
    NotWaiting(TimesheetStatus),
    /// Resubmitted since the page that approved it was shown.
    ResubmittedSince,
}

impl DecisionRefused {
    pub fn message(self) -> String {
        match self {
            Self::NotWaiting(TimesheetStatus::Submitted) => {
                "Nothing changed: the timesheet is no longer waiting for a decision.".to_owned()
            }
            Self::NotWaiting(now) => format!("Nothing changed: the timesheet is now “{}”.", now.label()),
            Self::ResubmittedSince => {
                "Nothing changed: the timesheet was submitted again since this page was \
                                       shown. Check the new total, then approve it."
                    .to_owned()
            }
        }
    }
}

/// Finance approves or returns a submitted timesheet: its status, the audit row and the
/// trainer's email. Finance approves only the total it saw, as the trainer submitted it.
pub async fn decide(
    conn: &mut PgConnection,
    state: &AppState,
    by: UserId,
    id: TimesheetId,
    decision: &Decision,
) -> AppResult<Result<store::Timesheet, DecisionRefused>> {
    let (from, submitted_at) = store::lock_status(conn, id).await?.ok_or(AppError::NotFound)?;
    let to = decision.to();
    if !from.can_decide() {
        return Ok(Err(DecisionRefused::NotWaiting(from)));
    }
    if let Decision::Approve { seen } = decision
        && submitted_at.map(submitted_version).as_ref() != Some(seen)
    {
        return Ok(Err(DecisionRefused::ResubmittedSince));
    }
    if !store::decide(conn, id, to, by, decision.comment()).await? {
        return Ok(Err(DecisionRefused::NotWaiting(TimesheetStatus::Submitted)));
    }
    let sheet = store::timesheet(conn, id).await?.ok_or(AppError::NotFound)?;
    audit::record(conn)
        .by(by)
        .action(format!("timesheet.{}", to.as_str()))
        .entity("timesheet", id)
        .before(json!({ "status": from.as_str() }))
        .after(json!({
            "status": to.as_str(),
            "comment": decision.comment(),
            "minutes": sheet.minutes,
            "rate_pence": sheet.rate_pence,
            "pay_pence": sheet.pay_pence(),
        }))
        .await?;
    state.outbox.queue(conn, &decision_email(&sheet, decision, &state.config.base_url)).await?;
    Ok(Ok(sheet))
}

/// The email a trainer gets when finance decides on their week.
fn decision_email(sheet: &store::Timesheet, decision: &Decision, base_url: &str) -> Email {
    let week = week_label(sheet.week_start);
    let link = format!("{base_url}/trainer/timesheets");
    // Short lines: a long one would be wrapped by the mail encoding mid-comment.
    let (subject, lead) = match decision {
        Decision::Return { comment } => (
            format!("Timesheet returned: week of {week}"),
            format!(
                "Your timesheet for the week of {week} has been returned.\n\nComment: {comment}\n\n\
                 Please adjust your time and submit it again."
            ),
        ),
        Decision::Approve { .. } => (
            format!("Timesheet approved: week of {week}"),
            format!(
                "Your timesheet for the week of {week} has been approved.\n\nHours: {}\nPay: {}",
                domain::hours_minutes(sheet.minutes),
                fmt::pounds(sheet.pay_pence())
            ),
        ),
    };
    Email {
        to: sheet.email.clone(),
        subject,
        body: format!("Hello {},\n\n{lead}\n\nYour timesheets:\n{link}\n", sheet.trainer),
    }
}
