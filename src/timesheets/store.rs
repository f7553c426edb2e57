//! The SQL of time entries and timesheets. Approved weeks are locked by the database
//! (the trigger `time_entries_locked_when_approved` in 0007_trainer_portal.sql); this
//! module names that refusal. A submitted week whose time changes goes back to the
//! trainer, also by the database (the trigger `time_entries_return_submitted_week` in
//! 0016_timesheet_changed_after_submit.sql).

use crate::{
    ids::{TimeEntryId, TimesheetId, TrainerId, UserId},
    web::page::{PageRequest, paged},
};
use futures_util::stream::BoxStream;
use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use super::domain::{ChangeAfterSubmit, EntryInput, EntrySource, TimesheetStatus};

/// The trigger that refuses any change to an entry in an approved week.
pub const LOCKED_CONSTRAINT: &str = "time_entries_locked_when_approved";

/// An entry as the view `time_entry_lines` (0033_staff_dashboards.sql) shows it. A
/// view's columns carry no NOT NULL, so the queries mark the ones that cannot be null.
#[derive(Clone, Debug)]
pub struct Entry {
    pub id: TimeEntryId,
    pub trainer_id: TrainerId,
    pub week_start: Date,
    pub started_at: OffsetDateTime,
    pub ended_at: OffsetDateTime,
    pub source: EntrySource,
    /// Why it was added or adjusted (or the note a hand entry came with).
    pub reason: String,
    /// The activity of the shift it came from.
    pub activity: Option<String>,
}

/// The trainer's entry `id`; another trainer's is None, exactly like a missing one.
pub async fn entry(
    conn: &mut PgConnection,
    trainer_id: TrainerId,
    id: TimeEntryId,
) -> sqlx::Result<Option<Entry>> {
    sqlx::query_as!(
        Entry,
        r#"select id as "id!: TimeEntryId", trainer_id as "trainer_id!: TrainerId", week_start as "week_start!",
                  started_at as "started_at!", ended_at as "ended_at!", source as "source!: EntrySource",
                  reason as "reason!", activity
           from time_entry_lines where id = $1 and trainer_id = $2"#,
        id.0,
        trainer_id.0,
    )
    .fetch_optional(conn)
    .await
}

/// The trainer's entries in weeks from `from_week` on, in time order.
pub async fn entries_since(
    conn: &mut PgConnection,
    trainer_id: TrainerId,
    from_week: Date,
) -> sqlx::Result<Vec<Entry>> {
    sqlx::query_as!(
        Entry,
        r#"select id as "id!: TimeEntryId", trainer_id as "trainer_id!: TrainerId", week_start as "week_start!",
                  started_at as "started_at!", ended_at as "ended_at!", source as "source!: EntrySource",
                  reason as "reason!", activity
           from time_entry_lines where trainer_id = $1 and week_start >= $2 order by started_at, id"#,
        trainer_id.0,
        from_week,
    )
    .fetch_all(conn)
    .await
}

/// One trainer's entries in one week, in time order.
pub async fn entries_of_week(
    conn: &mut PgConnection,
    trainer_id: TrainerId,
    week: Date,
) -> sqlx::Result<Vec<Entry>> {
    sqlx::query_as!(
        Entry,
        r#"select id as "id!: TimeEntryId", trainer_id as "trainer_id!: TrainerId", week_start as "week_start!",
                  started_at as "started_at!", ended_at as "ended_at!", source as "source!: EntrySource",
                  reason as "reason!", activity
           from time_entry_lines where trainer_id = $1 and week_start = $2 order by started_at, id"#,
        trainer_id.0,
        week,
    )
    .fetch_all(conn)
    .await
}

pub async fn count_entries(conn: &mut PgConnection, trainer_id: TrainerId, week: Date) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from time_entries where trainer_id = $1 and week_start = $2"#,
        trainer_id.0,
        week,
    )
    .fetch_one(conn)
    .await
}

pub async fn hourly_rate(conn: &mut PgConnection, trainer_id: TrainerId) -> sqlx::Result<i64> {
    let rate = sqlx::query_scalar!(
        "select hourly_rate_pence from trainer_profiles where user_id = $1",
        trainer_id.0
    )
    .fetch_optional(conn)
    .await?;
    Ok(rate.map_or(0, i64::from))
}

/// Serialises a trainer's own changes to their time (adding, adjusting, submitting),
/// so that an entry cannot change while its week is being submitted. `no key update`
/// leaves other tables' foreign keys to the profile unblocked.
pub async fn lock_trainer(conn: &mut PgConnection, trainer_id: TrainerId) -> sqlx::Result<()> {
    sqlx::query!("select 1 as one from trainer_profiles where user_id = $1 for no key update", trainer_id.0)
        .fetch_optional(conn)
        .await?;
    Ok(())
}

/// A week's timesheet status; None when it was never submitted.
pub async fn week_status(
    conn: &mut PgConnection,
    trainer_id: TrainerId,
    week: Date,
) -> sqlx::Result<Option<TimesheetStatus>> {
    sqlx::query_scalar!(
        r#"select status as "status: TimesheetStatus" from timesheets where trainer_id = $1 and week_start = $2"#,
        trainer_id.0,
        week,
    )
    .fetch_optional(conn)
    .await
}

/// A week's timesheet status, locked until the transaction ends so that finance cannot
/// approve it while the trainer's change is being written.
pub async fn lock_week_status(
    conn: &mut PgConnection,
    trainer_id: TrainerId,
    week: Date,
) -> sqlx::Result<Option<TimesheetStatus>> {
    sqlx::query_scalar!(
        r#"select status as "status: TimesheetStatus" from timesheets
           where trainer_id = $1 and week_start = $2 for update"#,
        trainer_id.0,
        week,
    )
    .fetch_optional(conn)
    .await
}

pub async fn insert_entry(
    conn: &mut PgConnection,
    trainer_id: TrainerId,
    entry: &EntryInput,
) -> sqlx::Result<TimeEntryId> {
    sqlx::query_scalar!(
        r#"insert into time_entries (trainer_id, started_at, ended_at, source, reason, week_start)
           values ($1, $2, $3, $6, $4, $5) returning id as "id: TimeEntryId""#,
        trainer_id.0,
        entry.started_at,
        entry.ended_at,
        entry.reason.as_str(),
        entry.week_start,
        EntrySource::Manual as _,
    )
    .fetch_one(conn)
    .await
}

/// New times for an entry, with the reason for the change; the source is kept, so a
/// shift's entry shows as adjusted.
pub async fn update_entry(conn: &mut PgConnection, id: TimeEntryId, entry: &EntryInput) -> sqlx::Result<()> {
    sqlx::query!(
        "update time_entries set started_at = $2, ended_at = $3, reason = $4, week_start = $5 where id = $1",
        id.0,
        entry.started_at,
        entry.ended_at,
        entry.reason.as_str(),
        entry.week_start,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A timesheet as the view `timesheet_lines` (0033_staff_dashboards.sql) shows it, with
/// its trainer, who decided it, the rate it pays at and its whole minutes (the same
/// rule as `domain::minutes_between`).
#[derive(Clone, Debug)]
pub struct Timesheet {
    pub id: TimesheetId,
    pub trainer_id: TrainerId,
    pub trainer: String,
    pub email: String,
    pub week_start: Date,
    pub status: TimesheetStatus,
    pub submitted_at: Option<OffsetDateTime>,
    pub decided_at: Option<OffsetDateTime>,
    pub decided_by: Option<String>,
    pub comment: String,
    pub rate_pence: i32,
    /// Whole minutes of the week's entries.
    pub minutes: i64,
    /// Set while the week is returned because its time changed after it was submitted.
    pub changed_after_submit: Option<ChangeAfterSubmit>,
    pub changed_entry_started_at: Option<OffsetDateTime>,
    pub changed_entry_source: Option<EntrySource>,
}

impl Timesheet {
    pub fn pay_pence(&self) -> i64 {
        super::domain::pay_pence(self.minutes, i64::from(self.rate_pence))
    }

    /// What changed after the week was submitted, when that is why it was returned:
    /// how, when the entry started, and where it came from.
    pub fn change(&self) -> Option<(ChangeAfterSubmit, OffsetDateTime, EntrySource)> {
        Some((self.changed_after_submit?, self.changed_entry_started_at?, self.changed_entry_source?))
    }
}

pub async fn timesheet(conn: &mut PgConnection, id: TimesheetId) -> sqlx::Result<Option<Timesheet>> {
    sqlx::query_as!(
        Timesheet,
        r#"select id as "id!: TimesheetId", trainer_id as "trainer_id!: TrainerId", trainer as "trainer!",
                  email as "email!", week_start as "week_start!", status as "status!: TimesheetStatus",
                  submitted_at, decided_at, decided_by, comment as "comment!", rate_pence as "rate_pence!",
                  minutes as "minutes!", changed_after_submit as "changed_after_submit: ChangeAfterSubmit",
                  changed_entry_started_at, changed_entry_source as "changed_entry_source: EntrySource"
           from timesheet_lines where id = $1"#,
        id.0,
    )
    .fetch_optional(conn)
    .await
}

/// The trainer's timesheets for weeks from `from_week` on.
pub async fn timesheets_of(
    conn: &mut PgConnection,
    trainer_id: TrainerId,
    from_week: Date,
) -> sqlx::Result<Vec<Timesheet>> {
    sqlx::query_as!(
        Timesheet,
        r#"select id as "id!: TimesheetId", trainer_id as "trainer_id!: TrainerId", trainer as "trainer!",
                  email as "email!", week_start as "week_start!", status as "status!: TimesheetStatus",
                  submitted_at, decided_at, decided_by, comment as "comment!", rate_pence as "rate_pence!",
                  minutes as "minutes!", changed_after_submit as "changed_after_submit: ChangeAfterSubmit",
                  changed_entry_started_at, changed_entry_source as "changed_entry_source: EntrySource"
           from timesheet_lines where trainer_id = $1 and week_start >= $2 order by week_start desc"#,
        trainer_id.0,
        from_week,
    )
    .fetch_all(conn)
    .await
}

/// The filters of the office's list and of payroll.
#[derive(Default)]
pub struct Search {
    pub status: Option<TimesheetStatus>,
    /// Weeks starting on or after this date.
    pub from: Option<Date>,
    /// Weeks starting on or before this date.
    pub to: Option<Date>,
}

/// One page of the timesheets `search` finds, by week (newest first); the page's own
/// rows sort by name within a week.
pub async fn search(
    conn: &mut PgConnection,
    search: &Search,
    page: &PageRequest<Date>,
) -> sqlx::Result<Vec<Timesheet>> {
    paged!(
        conn,
        page,
        Timesheet,
        r#"select id as "id!: TimesheetId", trainer_id as "trainer_id!: TrainerId", trainer as "trainer!",
                  email as "email!", week_start as "week_start!", status as "status!: TimesheetStatus",
                  submitted_at, decided_at, decided_by, comment as "comment!", rate_pence as "rate_pence!",
                  minutes as "minutes!", changed_after_submit as "changed_after_submit: ChangeAfterSubmit",
                  changed_entry_started_at, changed_entry_source as "changed_entry_source: EntrySource"
           from timesheet_lines
           where ($3::text is null or status = $3)
             and ($4::date is null or week_start >= $4)
             and ($5::date is null or week_start <= $5)"#,
        "week_start",
        "id",
        search.status.map(TimesheetStatus::as_str),
        search.from,
        search.to,
    )
}

/// How many timesheets [`search`] finds over every page.
pub async fn count(conn: &mut PgConnection, search: &Search) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from timesheets
           where ($1::text is null or status = $1)
             and ($2::date is null or week_start >= $2)
             and ($3::date is null or week_start <= $3)"#,
        search.status.map(TimesheetStatus::as_str),
        search.from,
        search.to,
    )
    .fetch_one(conn)
    .await
}

/// Payroll's rows: every timesheet `search` finds, oldest week first, then by name,
/// streamed as the database yields them.
pub fn export<'c>(conn: &'c mut PgConnection, search: &Search) -> BoxStream<'c, sqlx::Result<Timesheet>> {
    sqlx::query_as!(
        Timesheet,
        r#"select id as "id!: TimesheetId", trainer_id as "trainer_id!: TrainerId", trainer as "trainer!",
                  email as "email!", week_start as "week_start!", status as "status!: TimesheetStatus",
                  submitted_at, decided_at, decided_by, comment as "comment!", rate_pence as "rate_pence!",
                  minutes as "minutes!", changed_after_submit as "changed_after_submit: ChangeAfterSubmit",
                  changed_entry_started_at, changed_entry_source as "changed_entry_source: EntrySource"
           from timesheet_lines
           where ($1::text is null or status = $1)
             and ($2::date is null or week_start >= $2)
             and ($3::date is null or week_start <= $3)
           order by week_start asc, trainer, id"#,
        search.status.map(TimesheetStatus::as_str),
        search.from,
        search.to,
    )
    .fetch(conn)
}

/// Submits the week, or resubmits it after a return: the timesheet's id, or None when
/// it is already submitted or approved. A resubmission clears why it was returned.
pub async fn submit(
    conn: &mut PgConnection,
    trainer_id: TrainerId,
    week: Date,
) -> sqlx::Result<Option<TimesheetId>> {
    sqlx::query_scalar!(
        r#"insert into timesheets (trainer_id, week_start, status, submitted_at)
           values ($1, $2, 'submitted', now())
           on conflict (trainer_id, week_start) do update
               set status = 'submitted', submitted_at = now(), decided_by = null, decided_at = null,
                   changed_after_submit = null, changed_entry_started_at = null, changed_entry_source = null
               where timesheets.status = 'returned'
           returning id as "id: TimesheetId""#,
        trainer_id.0,
        week,
    )
    .fetch_optional(conn)
    .await
}

/// Timesheet `id`'s status and when it was (last) submitted, locked until the
/// transaction ends: a change to the week's time waits for the decision, or the
/// decision for the change (which returns the week).
pub async fn lock_status(
    conn: &mut PgConnection,
    id: TimesheetId,
) -> sqlx::Result<Option<(TimesheetStatus, Option<OffsetDateTime>)>> {
    let row = sqlx::query!(
        r#"select status as "status: TimesheetStatus", submitted_at from timesheets where id = $1 for update"#,
        id.0,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.status, r.submitted_at)))
}

/// Records finance's decision on a submitted timesheet; a return keeps its comment
/// for the trainer. False, changing nothing, when the timesheet is not submitted.
pub async fn decide(
    conn: &mut PgConnection,
    id: TimesheetId,
    to: TimesheetStatus,
    by: UserId,
    comment: Option<&str>,
) -> sqlx::Result<bool> {
    // Approval fixes the rate the week is paid at.
    let decided = sqlx::query!(
        "update timesheets t set status = $2, decided_by = $3, decided_at = now(), comment = coalesce($4, t.comment),
                hourly_rate_pence = case when $5 then p.hourly_rate_pence end
         from trainer_profiles p
         where t.id = $1 and p.user_id = t.trainer_id and t.status = 'submitted'",
        id.0,
        to.as_str(),
        by.0,
        comment,
        to.is_approved(),
    )
    .execute(conn)
    .await?;
    Ok(decided.rows_affected() == 1)
}
