//! The SQL of time entries and timesheets. Approved weeks are locked by the database
//! (the trigger `time_entries_locked_when_approved` in 0007_trainer_portal.sql); this
//! module names that refusal. A submitted week whose time changes goes back to the
//! trainer, also by the database (the trigger `time_entries_return_submitted_week` in
//! 0016_timesheet_changed_after_submit.sql).

use crate::{
    ids::{TimeEntryId, TimesheetId, TrainerId, UserId},
    web::page::{FETCH, PageRequest},
};
use sqlx::{FromRow, PgConnection};
use sqlx::{Postgres, postgres::PgArguments, query::QueryAs};
use time::{Date, OffsetDateTime};

use super::domain::{ChangeAfterSubmit, EntryInput, EntrySource, TimesheetStatus};

/// The trigger that refuses any change to an entry in an approved week.
pub const LOCKED_CONSTRAINT: &str = "time_entries_locked_when_approved";

#[derive(Clone, Debug, FromRow)]
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

/// The select of [`Entry`], for `concat!` into whole query literals.
macro_rules! entry_select {
    () => {
        "select e.id, e.trainer_id, e.week_start, e.started_at, e.ended_at, e.source,
           case when e.reason <> '' then e.reason else e.note end as reason,
           a.name as activity
    from time_entries e
    left join shifts sh on sh.id = e.shift_id
    left join sessions s on s.id = sh.session_id
    left join activities a on a.id = s.activity_id "
    };
}

/// The trainer's entry `id`; another trainer's is None, exactly like a missing one.
pub async fn entry(
    conn: &mut PgConnection,
    trainer_id: TrainerId,
    id: TimeEntryId,
) -> sqlx::Result<Option<Entry>> {
    sqlx::query_as(concat!(entry_select!(), "where e.id = $1 and e.trainer_id = $2"))
        .bind(id)
        .bind(trainer_id)
        .fetch_optional(conn)
        .await
}

/// The trainer's entries in weeks from `from_week` on, in time order.
pub async fn entries_since(
    conn: &mut PgConnection,
    trainer_id: TrainerId,
    from_week: Date,
) -> sqlx::Result<Vec<Entry>> {
    sqlx::query_as(concat!(
        entry_select!(),
        "where e.trainer_id = $1 and e.week_start >= $2 order by e.started_at, e.id"
    ))
    .bind(trainer_id)
    .bind(from_week)
    .fetch_all(conn)
    .await
}

/// One trainer's entries in one week, in time order.
pub async fn entries_of_week(
    conn: &mut PgConnection,
    trainer_id: TrainerId,
    week: Date,
) -> sqlx::Result<Vec<Entry>> {
    sqlx::query_as(concat!(
        entry_select!(),
        "where e.trainer_id = $1 and e.week_start = $2 order by e.started_at, e.id"
    ))
    .bind(trainer_id)
    .bind(week)
    .fetch_all(conn)
    .await
}

pub async fn count_entries(conn: &mut PgConnection, trainer_id: TrainerId, week: Date) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from time_entries where trainer_id = $1 and week_start = $2")
        .bind(trainer_id)
        .bind(week)
        .fetch_one(conn)
        .await
}

pub async fn hourly_rate(conn: &mut PgConnection, trainer_id: TrainerId) -> sqlx::Result<i64> {
    let rate: Option<i32> =
        sqlx::query_scalar("select hourly_rate_pence from trainer_profiles where user_id = $1")
            .bind(trainer_id)
            .fetch_optional(conn)
            .await?;
    Ok(rate.map_or(0, i64::from))
}

/// Serialises a trainer's own changes to their time (adding, adjusting, submitting),
/// so that an entry cannot change while its week is being submitted. `no key update`
/// leaves other tables' foreign keys to the profile unblocked.
pub async fn lock_trainer(conn: &mut PgConnection, trainer_id: TrainerId) -> sqlx::Result<()> {
    sqlx::query("select 1 from trainer_profiles where user_id = $1 for no key update")
        .bind(trainer_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A week's timesheet status; None when it was never submitted.
pub async fn week_status(
    conn: &mut PgConnection,
    trainer_id: TrainerId,
    week: Date,
) -> sqlx::Result<Option<TimesheetStatus>> {
    sqlx::query_scalar("select status from timesheets where trainer_id = $1 and week_start = $2")
        .bind(trainer_id)
        .bind(week)
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
    sqlx::query_scalar("select status from timesheets where trainer_id = $1 and week_start = $2 for update")
        .bind(trainer_id)
        .bind(week)
        .fetch_optional(conn)
        .await
}

pub async fn insert_entry(
    conn: &mut PgConnection,
    trainer_id: TrainerId,
    entry: &EntryInput,
) -> sqlx::Result<TimeEntryId> {
    sqlx::query_scalar(
        "insert into time_entries (trainer_id, started_at, ended_at, source, reason, week_start)
         values ($1, $2, $3, $6, $4, $5) returning id",
    )
    .bind(trainer_id)
    .bind(entry.started_at)
    .bind(entry.ended_at)
    .bind(entry.reason.as_str())
    .bind(entry.week_start)
    .bind(EntrySource::Manual)
    .fetch_one(conn)
    .await
}

/// New times for an entry, with the reason for the change; the source is kept, so a
/// shift's entry shows as adjusted.
pub async fn update_entry(conn: &mut PgConnection, id: TimeEntryId, entry: &EntryInput) -> sqlx::Result<()> {
    sqlx::query(
        "update time_entries set started_at = $2, ended_at = $3, reason = $4, week_start = $5 where id = $1",
    )
    .bind(id)
    .bind(entry.started_at)
    .bind(entry.ended_at)
    .bind(entry.reason.as_str())
    .bind(entry.week_start)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Clone, Debug, FromRow)]
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

/// The select of [`Timesheet`], for `concat!` into whole query literals. Its minutes
/// are the same rule as `domain::minutes_between`.
macro_rules! timesheet_select {
    () => {
        "select t.id, t.trainer_id, u.name as trainer, u.email, t.week_start, t.status, t.submitted_at,
                t.decided_at, d.name as decided_by, t.comment,
                t.changed_after_submit, t.changed_entry_started_at, t.changed_entry_source,
                coalesce(t.hourly_rate_pence, p.hourly_rate_pence) as rate_pence,
                coalesce((select sum(floor(extract(epoch from e.ended_at - e.started_at) / 60))::bigint
                          from time_entries e
                          where e.trainer_id = t.trainer_id and e.week_start = t.week_start), 0)::bigint
                    as minutes
         from timesheets t
         join users u on u.id = t.trainer_id
         join trainer_profiles p on p.user_id = t.trainer_id
         left join users d on d.id = t.decided_by "
    };
}

pub async fn timesheet(conn: &mut PgConnection, id: TimesheetId) -> sqlx::Result<Option<Timesheet>> {
    sqlx::query_as(concat!(timesheet_select!(), "where t.id = $1")).bind(id).fetch_optional(conn).await
}

/// The trainer's timesheets for weeks from `from_week` on.
pub async fn timesheets_of(
    conn: &mut PgConnection,
    trainer_id: TrainerId,
    from_week: Date,
) -> sqlx::Result<Vec<Timesheet>> {
    sqlx::query_as(concat!(
        timesheet_select!(),
        "where t.trainer_id = $1 and t.week_start >= $2 order by t.week_start desc"
    ))
    .bind(trainer_id)
    .bind(from_week)
    .fetch_all(conn)
    .await
}

#[derive(Default)]
pub struct Search {
    pub status: Option<TimesheetStatus>,
    /// Weeks starting on or after this date.
    pub from: Option<Date>,
    /// Weeks starting on or before this date.
    pub to: Option<Date>,
    /// Payroll reads oldest first; the office list newest first.
    pub oldest_first: bool,
}

macro_rules! search_where {
    () => {
        "where ($1::text is null or t.status = $1)
           and ($2::date is null or t.week_start >= $2)
           and ($3::date is null or t.week_start <= $3) "
    };
}

/// One page of the timesheets `search` finds, by week (newest first unless
/// `oldest_first`); the page's own rows sort by name within a week.
pub async fn search(
    conn: &mut PgConnection,
    search: &Search,
    page: &PageRequest<Date>,
) -> sqlx::Result<Vec<Timesheet>> {
    // The page's cursor and order are SQL of their own, added here.
    let sql = format!(
        "{} {} {} limit {FETCH}",
        concat!(timesheet_select!(), search_where!()),
        page.condition("t.week_start", "t.id", 4),
        page.order("t.week_start", "t.id")
    );
    page.bind(bind_search(sqlx::query_as(&sql), search)).fetch_all(conn).await
}

/// How many timesheets [`search`] finds over every page.
pub async fn count(conn: &mut PgConnection, search: &Search) -> sqlx::Result<i64> {
    let sql = concat!("select count(*) from timesheets t ", search_where!());
    let (count,): (i64,) = bind_search(sqlx::query_as(sql), search).fetch_one(conn).await?;
    Ok(count)
}

/// Payroll's query: every timesheet `search` finds, by week then name, streamed.
pub fn export_sql(search: &Search) -> &'static str {
    if search.oldest_first {
        concat!(timesheet_select!(), search_where!(), "order by t.week_start asc, u.name, t.id")
    } else {
        concat!(timesheet_select!(), search_where!(), "order by t.week_start desc, u.name, t.id")
    }
}

/// Binds `search` as `$1`–`$3` of the search's filters.
pub fn bind_search<'q, O>(
    query: QueryAs<'q, Postgres, O, PgArguments>,
    search: &Search,
) -> QueryAs<'q, Postgres, O, PgArguments> {
    query.bind(search.status).bind(search.from).bind(search.to)
}

/// Submits the week, or resubmits it after a return: the timesheet's id, or None when
/// it is already submitted or approved. A resubmission clears why it was returned.
pub async fn submit(
    conn: &mut PgConnection,
    trainer_id: TrainerId,
    week: Date,
) -> sqlx::Result<Option<TimesheetId>> {
    sqlx::query_scalar(
        "insert into timesheets (trainer_id, week_start, status, submitted_at)
         values ($1, $2, 'submitted', now())
         on conflict (trainer_id, week_start) do update
             set status = 'submitted', submitted_at = now(), decided_by = null, decided_at = null,
                 changed_after_submit = null, changed_entry_started_at = null, changed_entry_source = null
             where timesheets.status = 'returned'
         returning id",
    )
    .bind(trainer_id)
    .bind(week)
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
    sqlx::query_as("select status, submitted_at from timesheets where id = $1 for update")
        .bind(id)
        .fetch_optional(conn)
        .await
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
    let decided = sqlx::query(
        "update timesheets t set status = $2, decided_by = $3, decided_at = now(), comment = coalesce($4, t.comment),
                hourly_rate_pence = case when $5 then p.hourly_rate_pence end
         from trainer_profiles p
         where t.id = $1 and p.user_id = t.trainer_id and t.status = 'submitted'",
    )
    .bind(id)
    .bind(to)
    .bind(by)
    .bind(comment)
    .bind(to.is_approved())
    .execute(conn)
    .await?;
    Ok(decided.rows_affected() == 1)
}
