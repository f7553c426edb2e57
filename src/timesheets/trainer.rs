//! The trainer's side: each week's time and pay, adding and adjusting time with a
//! reason, and submitting the week. Another trainer's entry, or an id that is not a
//! number, is a 404.

use std::collections::BTreeSet;

use askama::Template;
use axum::{
    Form,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use time::{Date, Duration, OffsetDateTime};
use time_tz::OffsetDateTimeExt;
use tower_sessions::Session;

use super::{
    actions::{self, AdjustRefused, SubmitRefused},
    domain::{self, EntryForm, TimesheetStatus, WEEKS_SHOWN, Week},
    entry_day, source_label, store, week_label, week_of,
};
use crate::{
    AppState,
    auth::Trainer,
    error::{AppError, AppResult},
    ids::{TimeEntryId, TrainerId},
    web::{
        FormErrors, PageContext, Path,
        flash::{self, FlashKind},
        fmt,
        form::{QueryFields, render, render_with},
    },
};

const TIMESHEETS: &str = "/trainer/timesheets";

// The weeks ------------------------------------------------------------------------------

pub struct EntryLine {
    pub id: TimeEntryId,
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
    /// The badge's class.
    pub status_key: &'static str,
    pub approved: bool,
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
    let trainer = TrainerId(trainer.id.0);
    let mut conn = state.pool.acquire().await?;
    let entries = store::entries_since(&mut conn, trainer, earliest).await?;
    let sheets = store::timesheets_of(&mut conn, trainer, earliest).await?;
    let rate = store::hourly_rate(&mut conn, trainer).await?;

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
            let status = sheet.map(|t| t.status);
            let minutes: i64 =
                in_week.iter().map(|e| domain::minutes_between(e.started_at, e.ended_at)).sum();
            let returned = status == Some(TimesheetStatus::Returned);
            WeekCard {
                week: week.to_string(),
                label: week_label(week),
                is_current: week == this_week,
                status: TimesheetStatus::label_of(status),
                status_key: status.map_or("not_submitted", TimesheetStatus::as_str),
                approved: status.is_some_and(TimesheetStatus::is_approved),
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
    pub entry_id: Option<TimeEntryId>,
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

pub async fn new_form(
    State(state): State<AppState>,
    _: Trainer,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    // "Add time" from a week may suggest its date.
    let date = query.get("date").and_then(crate::web::date::parse).map(|d| d.to_string()).unwrap_or_default();
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
    if let Err(closed) = actions::add_entry(&mut tx, TrainerId(trainer.id.0), &entry).await? {
        let mut errors = FormErrors::default();
        errors.add("date", closed.message());
        let page = EntryPage::new(ctx, &state, None, form).with_errors(errors);
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let message = format!("Time added to the week of {}.", week_label(entry.week_start));
    flash::done(tx, &session, message, &format!("{TIMESHEETS}#week-{}", entry.week_start)).await
}

pub async fn edit_form(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    Path(id): Path<TimeEntryId>,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let trainer = TrainerId(trainer.id.0);
    let mut conn = state.pool.acquire().await?;
    let entry = store::entry(&mut conn, trainer, id).await?.ok_or(AppError::NotFound)?;
    let status = store::week_status(&mut conn, trainer, entry.week_start).await?;
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
    Path(id): Path<TimeEntryId>,
    Form(form): Form<EntryForm>,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let trainer = TrainerId(trainer.id.0);
    let mut tx = state.pool.begin().await?;
    let (entry, closed) = actions::open_entry(&mut tx, trainer, id).await?;
    let locked_page = |ctx, status: TimesheetStatus| {
        let mut page = EntryPage::new(ctx, &state, Some(&entry), form_for(&entry, tz));
        page.locked = Some(status.locked_message());
        render_with(StatusCode::CONFLICT, &page)
    };
    if let Some(closed) = closed {
        return locked_page(ctx, closed.status);
    }
    let changed = match form.parse(tz, OffsetDateTime::now_utc()) {
        Ok(changed) => changed,
        Err(errors) => {
            let page = EntryPage::new(ctx, &state, Some(&entry), form).with_errors(errors);
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    match actions::adjust_entry(&mut tx, trainer, &entry, &changed).await? {
        Ok(()) => {}
        Err(AdjustRefused::Locked(status)) => return locked_page(ctx, status),
        Err(AdjustRefused::MovedIntoClosed(closed)) => {
            let mut errors = FormErrors::default();
            errors.add("date", closed.message());
            let page = EntryPage::new(ctx, &state, Some(&entry), form).with_errors(errors);
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    }
    let to = format!("{TIMESHEETS}#week-{}", changed.week_start);
    flash::done(tx, &session, "Time adjusted; your approver will see the reason.", &to).await
}

// Submitting a week ------------------------------------------------------------------------

pub async fn submit(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    session: Session,
    Path(week): Path<Week>,
) -> AppResult<Response> {
    let week = week.monday();
    let back = format!("{TIMESHEETS}#week-{week}");
    let mut tx = state.pool.begin().await?;
    match actions::submit_week(&mut tx, TrainerId(trainer.id.0), week).await? {
        Ok(_) => {
            let message = format!("Timesheet for the week of {} submitted for approval.", week_label(week));
            flash::done(tx, &session, message, &back).await
        }
        Err(refused) => {
            let kind = match refused {
                SubmitRefused::NoTime => FlashKind::Error,
                SubmitRefused::Already(_) => FlashKind::Info,
            };
            flash::push(&session, kind, refused.message(week)).await?;
            Ok(Redirect::to(&back).into_response())
        }
    }
}
