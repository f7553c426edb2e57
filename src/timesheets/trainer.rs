//! The trainer's side: each week's time and pay, adding and adjusting time with a
//! reason, and submitting the week. Another trainer's entry, or an id that is not a
//! number, is a 404.

use std::collections::BTreeSet;

use askama::Template;
use axum::{
    Form,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde_json::json;
use time::{Date, Duration, OffsetDateTime, Weekday};
use time_tz::OffsetDateTimeExt;
use tower_sessions::Session;

use super::{
    domain::{self, EntryForm, EntryInput, TimesheetStatus, WEEKS_SHOWN},
    entry_day, source_label, store, week_label, week_of,
};
use crate::{
    AppState, audit,
    auth::Trainer,
    bookings::parse_id,
    error::{AppError, AppResult},
    web::{
        FormErrors, PageContext,
        flash::{self, FlashKind},
        fmt,
        form::{QueryFields, render, render_with},
    },
};

const TIMESHEETS: &str = "/trainer/timesheets";

// The weeks ------------------------------------------------------------------------------

pub struct EntryLine {
    pub id: i64,
    pub day: String,
    pub from: String,
    pub to: String,
    pub hours: String,
    pub source: String,
    pub reason: String,
}

pub struct WeekCard {
    /// The Monday as `YYYY-MM-DD`, for the submit form and the anchor.
    pub week: String,
    pub label: String,
    pub is_current: bool,
    pub status: &'static str,
    pub status_key: &'static str,
    /// Why the week is returned (finance's comment, or the change after submitting),
    /// shown while it is.
    pub comment: String,
    pub decided_by: String,
    pub entries: Vec<EntryLine>,
    pub hours: String,
    pub pay: String,
    pub editable: bool,
    pub can_submit: bool,
}

#[derive(Template)]
#[template(path = "timesheets/trainer_index.html")]
pub struct IndexPage {
    pub ctx: PageContext,
    pub rate: String,
    pub weeks: Vec<WeekCard>,
}

fn entry_line(entry: &store::Entry, tz: &time_tz::Tz) -> EntryLine {
    EntryLine {
        id: entry.id,
        day: entry_day(entry.started_at, tz),
        from: fmt::time_of_day(entry.started_at, tz),
        to: fmt::time_of_day(entry.ended_at, tz),
        hours: domain::hours_minutes(domain::minutes_between(entry.started_at, entry.ended_at)),
        source: source_label(entry),
        reason: entry.reason.clone(),
    }
}

/// Why a returned week came back: its time changed after it was submitted, or
/// finance's comment.
fn returned_because(sheet: &store::Timesheet, tz: &time_tz::Tz) -> String {
    match sheet.change() {
        Some((how, started_at, source)) => how.trainer_message(&entry_day(started_at, tz), source),
        None => sheet.comment.clone(),
    }
}

/// The first week a trainer sees and may record time in.
fn earliest_week(this_week: Date) -> Date {
    this_week - Duration::weeks(WEEKS_SHOWN - 1)
}

pub async fn index(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let this_week = week_of(OffsetDateTime::now_utc(), tz);
    let earliest = earliest_week(this_week);
    let mut conn = state.pool.acquire().await?;
    let entries = store::entries_since(&mut conn, trainer.id, earliest).await?;
    let sheets = store::timesheets_of(&mut conn, trainer.id, earliest).await?;
    let rate = store::hourly_rate(&mut conn, trainer.id).await?;

    // This week always; earlier weeks when they have time or a timesheet.
    let mut weeks: BTreeSet<Date> = entries.iter().map(|e| e.week_start).collect();
    weeks.extend(sheets.iter().map(|t| t.week_start));
    weeks.insert(this_week);
    let weeks = weeks
        .into_iter()
        .rev()
        .map(|week| {
            let in_week: Vec<&store::Entry> = entries.iter().filter(|e| e.week_start == week).collect();
            let sheet = sheets.iter().find(|t| t.week_start == week);
            let status = sheet.map(store::Timesheet::status);
            let minutes: i64 =
                in_week.iter().map(|e| domain::minutes_between(e.started_at, e.ended_at)).sum();
            let returned = status == Some(TimesheetStatus::Returned);
            WeekCard {
                week: week.to_string(),
                label: week_label(week),
                is_current: week == this_week,
                status: TimesheetStatus::label_of(status),
                status_key: status.map_or("not_submitted", TimesheetStatus::as_str),
                comment: sheet.filter(|_| returned).map(|t| returned_because(t, tz)).unwrap_or_default(),
                decided_by: sheet.and_then(|t| t.decided_by.clone()).unwrap_or_default(),
                entries: in_week.iter().map(|e| entry_line(e, tz)).collect(),
                hours: domain::hours_minutes(minutes),
                // Approved weeks pay at the rate they were approved at.
                pay: fmt::pounds(domain::pay_pence(
                    minutes,
                    sheet
                        .filter(|_| status == Some(TimesheetStatus::Approved))
                        .map_or(rate, |t| i64::from(t.rate_pence)),
                )),
                editable: TimesheetStatus::entries_editable(status),
                can_submit: !in_week.is_empty() && TimesheetStatus::can_submit(status),
            }
        })
        .collect();
    render(&IndexPage { ctx, rate: fmt::pounds(rate), weeks })
}

// Adding and adjusting time ----------------------------------------------------------------

#[derive(Template)]
#[template(path = "timesheets/trainer_entry.html")]
pub struct EntryPage {
    pub ctx: PageContext,
    /// The entry being adjusted; None when adding time.
    pub entry_id: Option<i64>,
    pub heading: String,
    /// What the entry is now, when adjusting: "Mon 23 Nov, 09:00–12:30 · Shift".
    pub current: String,
    pub form: EntryForm,
    pub errors: FormErrors,
    /// Set when the entry's week can no longer change: the page then has no form.
    pub locked: Option<&'static str>,
    pub today: String,
}

impl EntryPage {
    fn new(ctx: PageContext, state: &AppState, entry: Option<&store::Entry>, form: EntryForm) -> Self {
        let tz = state.config.timezone;
        let now = OffsetDateTime::now_utc();
        Self {
            ctx,
            entry_id: entry.map(|e| e.id),
            heading: if entry.is_some() { "Adjust time" } else { "Add time" }.to_owned(),
            current: entry
                .map(|e| {
                    let line = entry_line(e, tz);
                    format!("{}, {}–{} · {}", line.day, line.from, line.to, line.source)
                })
                .unwrap_or_default(),
            form,
            errors: FormErrors::default(),
            locked: None,
            today: now.to_timezone(tz).date().to_string(),
        }
    }

    pub fn action(&self) -> String {
        self.entry_id.map_or_else(
            || format!("{TIMESHEETS}/entries/new"),
            |id| format!("{TIMESHEETS}/entries/{id}/edit"),
        )
    }

    fn with_errors(mut self, errors: FormErrors) -> Self {
        self.errors = errors;
        self
    }
}

/// The form filled in with the entry as it stands; the reason starts empty, because
/// a change needs a reason of its own.
fn form_for(entry: &store::Entry, tz: &time_tz::Tz) -> EntryForm {
    EntryForm {
        date: entry.started_at.to_timezone(tz).date().to_string(),
        start: fmt::time_of_day(entry.started_at, tz),
        end: fmt::time_of_day(entry.ended_at, tz),
        reason: String::new(),
    }
}

fn week_closed_message(week: Date, status: TimesheetStatus) -> String {
    match status {
        TimesheetStatus::Approved => {
            format!("The week of {} is approved: its time can no longer change.", week_label(week))
        }
        _ => format!(
            "The week of {} is waiting for approval: add time only if it is returned.",
            week_label(week)
        ),
    }
}

fn entry_summary(entry: &EntryInput) -> serde_json::Value {
    json!({
        "started_at": entry.started_at.unix_timestamp(),
        "ended_at": entry.ended_at.unix_timestamp(),
        "week_start": entry.week_start.to_string(),
        "reason": entry.reason.as_str(),
    })
}

pub async fn new_form(
    State(state): State<AppState>,
    _: Trainer,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    // "Add time" from a week may suggest its date.
    let date = query.get("date").and_then(domain::parse_date).map(|d| d.to_string()).unwrap_or_default();
    render(&EntryPage::new(ctx, &state, None, EntryForm { date, ..EntryForm::default() }))
}

pub async fn create(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    session: Session,
    Form(form): Form<EntryForm>,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let entry = match form.parse(tz, OffsetDateTime::now_utc()) {
        Ok(entry) => entry,
        Err(errors) => {
            let page = EntryPage::new(ctx, &state, None, form).with_errors(errors);
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let mut tx = state.pool.begin().await?;
    store::lock_trainer(&mut tx, trainer.id).await?;
    let status = store::lock_week_status(&mut tx, trainer.id, entry.week_start).await?;
    let closed = status.filter(|s| !TimesheetStatus::entries_editable(Some(*s)));
    let inserted = match closed {
        Some(status) => Err(status),
        None => match store::insert_entry(&mut tx, trainer.id, &entry).await {
            Ok(id) => Ok(id),
            Err(err) if store::is_locked(&err) => Err(TimesheetStatus::Approved),
            Err(err) => return Err(err.into()),
        },
    };
    let id = match inserted {
        Ok(id) => id,
        Err(status) => {
            tx.rollback().await?;
            let mut errors = FormErrors::default();
            errors.add("date", week_closed_message(entry.week_start, status));
            let page = EntryPage::new(ctx, &state, None, form).with_errors(errors);
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    audit::record(&mut tx)
        .by(trainer.id)
        .action("time_entry.created")
        .entity("time_entry", id)
        .after(entry_summary(&entry))
        .await?;
    let message = format!("Time added to the week of {}.", week_label(entry.week_start));
    flash::done(tx, &session, message, &format!("{TIMESHEETS}#week-{}", entry.week_start)).await
}

pub async fn edit_form(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let entry = store::entry(&mut conn, trainer.id, parse_id(&id)?).await?.ok_or(AppError::NotFound)?;
    let status = store::week_status(&mut conn, trainer.id, entry.week_start).await?;
    let mut page = EntryPage::new(ctx, &state, Some(&entry), form_for(&entry, tz));
    if let Some(status) = status.filter(|s| !TimesheetStatus::entries_editable(Some(*s))) {
        page.locked = Some(status.locked_message());
    }
    render(&page)
}

pub async fn update(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<EntryForm>,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let id = parse_id(&id)?;
    let mut tx = state.pool.begin().await?;
    store::lock_trainer(&mut tx, trainer.id).await?;
    let entry = store::entry(&mut tx, trainer.id, id).await?.ok_or(AppError::NotFound)?;
    let locked_page = |ctx, status: TimesheetStatus| {
        let mut page = EntryPage::new(ctx, &state, Some(&entry), form_for(&entry, tz));
        page.locked = Some(status.locked_message());
        page
    };
    if let Some(status) = store::lock_week_status(&mut tx, trainer.id, entry.week_start).await?
        && !TimesheetStatus::entries_editable(Some(status))
    {
        tx.rollback().await?;
        return render_with(StatusCode::CONFLICT, &locked_page(ctx, status));
    }
    let changed = match form.parse(tz, OffsetDateTime::now_utc()) {
        Ok(changed) => changed,
        Err(errors) => {
            tx.rollback().await?;
            let page = EntryPage::new(ctx, &state, Some(&entry), form).with_errors(errors);
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    // Moving time into another week needs that week open too.
    if changed.week_start != entry.week_start
        && let Some(status) = store::lock_week_status(&mut tx, trainer.id, changed.week_start).await?
        && !TimesheetStatus::entries_editable(Some(status))
    {
        tx.rollback().await?;
        let mut errors = FormErrors::default();
        errors.add("date", week_closed_message(changed.week_start, status));
        let page = EntryPage::new(ctx, &state, Some(&entry), form).with_errors(errors);
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    if let Err(err) = store::update_entry(&mut tx, id, &changed).await {
        if store::is_locked(&err) {
            tx.rollback().await?;
            return render_with(StatusCode::CONFLICT, &locked_page(ctx, TimesheetStatus::Approved));
        }
        return Err(err.into());
    }
    let before = json!({
        "started_at": entry.started_at.unix_timestamp(),
        "ended_at": entry.ended_at.unix_timestamp(),
        "week_start": entry.week_start.to_string(),
        "reason": entry.reason,
    });
    audit::record(&mut tx)
        .by(trainer.id)
        .action("time_entry.adjusted")
        .entity("time_entry", id)
        .before(before)
        .after(entry_summary(&changed))
        .await?;
    flash::done(
        tx,
        &session,
        "Time adjusted; your approver will see the reason.",
        &format!("{TIMESHEETS}#week-{}", changed.week_start),
    )
    .await
}

// Submitting a week ------------------------------------------------------------------------

pub async fn submit(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    session: Session,
    Path(week): Path<String>,
) -> AppResult<Response> {
    let week =
        domain::parse_date(&week).filter(|d| d.weekday() == Weekday::Monday).ok_or(AppError::NotFound)?;
    let back = Redirect::to(&format!("{TIMESHEETS}#week-{week}")).into_response();
    let mut tx = state.pool.begin().await?;
    store::lock_trainer(&mut tx, trainer.id).await?;
    if store::count_entries(&mut tx, trainer.id, week).await? == 0 {
        let message = format!("There is no time to submit for the week of {}.", week_label(week));
        flash::push(&session, FlashKind::Error, message).await?;
        return Ok(back);
    }
    let status = store::lock_week_status(&mut tx, trainer.id, week).await?;
    let submitted = if TimesheetStatus::can_submit(status) {
        store::submit(&mut tx, trainer.id, week).await?
    } else {
        None
    };
    let Some(id) = submitted else {
        let now = TimesheetStatus::label_of(status).to_lowercase();
        let message = format!("Nothing changed: the week of {} is already {now}.", week_label(week));
        flash::push(&session, FlashKind::Info, message).await?;
        return Ok(back);
    };
    let sheet = store::timesheet(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    audit::record(&mut tx)
        .by(trainer.id)
        .action("timesheet.submitted")
        .entity("timesheet", id)
        .before(status.map(|s| json!({ "status": s.as_str() })))
        .after(json!({ "status": "submitted", "week_start": week.to_string(), "minutes": sheet.minutes }))
        .await?;
    tx.commit().await?;
    let message = format!("Timesheet for the week of {} submitted for approval.", week_label(week));
    flash::push(&session, FlashKind::Success, message).await?;
    Ok(back)
}
