//! Finance's side: timesheets by week, one timesheet with its entries, the decisions
//! (approve, return with a comment), and the payroll CSV. Owners may do all of it;
//! coordinators and the safeguarding lead get 403.

use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use futures_util::TryStreamExt;
use serde_json::json;
use time::{Date, Duration, OffsetDateTime};
use tower_sessions::Session;

use super::{
    domain::{self, TimesheetStatus},
    entry_day, source_label, store, week_label, week_of,
};
use crate::{
    AppState, audit,
    auth::{Admin, AdminRole},
    bookings::parse_id,
    error::{AppError, AppResult},
    notifications::Email,
    web::{
        FormErrors, PageContext, csv,
        flash::{self, FlashKind},
        fmt,
        form::{Fields, QueryFields, render, render_with},
        page::{Cursor, Order, PageRequest, Pager},
    },
};

/// Timesheets and payroll are finance's (and owners').
const FINANCE: &[AdminRole] = &[AdminRole::Finance];

const STATUSES: [TimesheetStatus; 3] =
    [TimesheetStatus::Submitted, TimesheetStatus::Approved, TimesheetStatus::Returned];

pub struct StatusChoice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

pub struct SheetLine {
    pub id: i64,
    pub trainer: String,
    pub hours: String,
    pub pay: String,
    pub status: &'static str,
    pub status_key: &'static str,
    pub submitted: String,
}

pub struct WeekGroup {
    pub label: String,
    pub lines: Vec<SheetLine>,
}

#[derive(Template)]
#[template(path = "timesheets/admin_index.html")]
pub struct IndexPage {
    pub ctx: PageContext,
    pub statuses: Vec<StatusChoice>,
    pub weeks: Vec<WeekGroup>,
    /// How many timesheets the list has over every page.
    pub total: i64,
    pub pager: Pager,
    /// The payroll export's dates, as typed, and what is wrong with them.
    pub from: String,
    pub to: String,
    pub errors: FormErrors,
}

/// The list's status: submitted unless the query asks for another, or for any.
fn status_from(query: &Fields) -> Option<TimesheetStatus> {
    match query.all("status").next() {
        None => Some(TimesheetStatus::Submitted),
        Some(value) => TimesheetStatus::parse(value.trim()),
    }
}

async fn index_page(state: &AppState, ctx: PageContext, query: &Fields) -> AppResult<IndexPage> {
    let tz = state.config.timezone;
    let status = status_from(query);
    let mut conn = state.pool.acquire().await?;
    let search = store::Search { status, ..store::Search::default() };
    let page = PageRequest::from_query(query, Order::Descending);
    let sheets = store::search(&mut conn, &search, &page).await?;
    let total = store::count(&mut conn, &search).await?;
    let mut page = page.finish(sheets, |t| Cursor::new(t.week_start, t.id), "/admin/timesheets", query);
    // Pages break by week and id; within a page, a week's timesheets read by name.
    page.rows.sort_by(|a, b| b.week_start.cmp(&a.week_start).then_with(|| a.trainer.cmp(&b.trainer)));
    let mut weeks: Vec<WeekGroup> = Vec::new();
    for sheet in page.rows {
        let label = week_label(sheet.week_start);
        let line = SheetLine {
            id: sheet.id,
            hours: domain::hours_minutes(sheet.minutes),
            pay: fmt::pounds(sheet.pay_pence()),
            status: sheet.status().label(),
            status_key: sheet.status().as_str(),
            submitted: sheet.submitted_at.map(|t| fmt::day_time(t, tz)).unwrap_or_default(),
            trainer: sheet.trainer,
        };
        match weeks.last_mut() {
            Some(group) if group.label == label => group.lines.push(line),
            _ => weeks.push(WeekGroup { label, lines: vec![line] }),
        }
    }
    // By default the export covers the last four weeks.
    let this_week = week_of(OffsetDateTime::now_utc(), tz);
    let typed = |name: &str| query.all(name).next().map(|v| v.trim().to_owned());
    Ok(IndexPage {
        ctx,
        statuses: STATUSES
            .iter()
            .map(|s| StatusChoice { value: s.as_str(), label: s.label(), selected: Some(*s) == status })
            .collect(),
        weeks,
        total,
        pager: page.pager,
        from: typed("from").unwrap_or_else(|| (this_week - Duration::weeks(4)).to_string()),
        to: typed("to").unwrap_or_else(|| this_week.to_string()),
        errors: FormErrors::default(),
    })
}

pub async fn index(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    render(&index_page(&state, ctx, &query).await?)
}

pub struct EntryLine {
    pub day: String,
    pub from: String,
    pub to: String,
    pub hours: String,
    pub source: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "timesheets/admin_show.html")]
pub struct ShowPage {
    pub ctx: PageContext,
    pub id: i64,
    pub trainer: String,
    pub email: String,
    pub week: String,
    pub status: &'static str,
    pub status_key: &'static str,
    pub entries: Vec<EntryLine>,
    pub hours: String,
    pub rate: String,
    pub pay: String,
    pub submitted: String,
    /// "Approved by Fran Finance, Mon 30 Nov, 09:12".
    pub decided: String,
    pub comment: String,
    /// Set when the week went back to the trainer because its time changed after
    /// it was submitted.
    pub change: String,
    pub can_decide: bool,
    /// When the timesheet was submitted, as the approve form sends it back: approval
    /// is refused if the trainer has resubmitted since the page was shown.
    pub submitted_version: String,
    /// Why the last decision was refused.
    pub problem: String,
    /// What was typed in the return form, and what is wrong with it.
    pub typed_comment: String,
    pub errors: FormErrors,
}

async fn show_page(state: &AppState, ctx: PageContext, id: i64) -> AppResult<ShowPage> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let sheet = store::timesheet(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let entries = store::entries_of_week(&mut conn, sheet.trainer_id, sheet.week_start).await?;
    let status = sheet.status();
    let change = sheet.change();
    let decided = match (status, &sheet.decided_at) {
        (TimesheetStatus::Submitted, _) | (_, None) => String::new(),
        (status, Some(at)) if change.is_some() => {
            format!("{} automatically, {}", status.label(), fmt::day_time(*at, tz))
        }
        (status, Some(at)) => format!(
            "{} by {}, {}",
            status.label(),
            sheet.decided_by.as_deref().unwrap_or("someone no longer here"),
            fmt::day_time(*at, tz)
        ),
    };
    Ok(ShowPage {
        ctx,
        id,
        email: sheet.email.clone(),
        week: week_label(sheet.week_start),
        status: status.label(),
        status_key: status.as_str(),
        entries: entries
            .iter()
            .map(|e| EntryLine {
                day: entry_day(e.started_at, tz),
                from: fmt::time_of_day(e.started_at, tz),
                to: fmt::time_of_day(e.ended_at, tz),
                hours: domain::hours_minutes(domain::minutes_between(e.started_at, e.ended_at)),
                source: source_label(e),
                reason: e.reason.clone(),
            })
            .collect(),
        hours: domain::hours_minutes(sheet.minutes),
        rate: fmt::pounds(i64::from(sheet.rate_pence)),
        pay: fmt::pounds(sheet.pay_pence()),
        submitted: sheet.submitted_at.map(|t| fmt::day_time(t, tz)).unwrap_or_default(),
        decided,
        comment: sheet.comment.clone(),
        change: change
            .map(|(how, started_at, source)| how.finance_message(&entry_day(started_at, tz), source))
            .unwrap_or_default(),
        can_decide: status.can_decide(),
        submitted_version: sheet.submitted_at.map(submitted_version).unwrap_or_default(),
        problem: String::new(),
        typed_comment: String::new(),
        errors: FormErrors::default(),
        trainer: sheet.trainer,
    })
}

/// A submission's instant as the approve form carries it; a resubmission makes a new one.
fn submitted_version(at: OffsetDateTime) -> String {
    at.unix_timestamp_nanos().to_string()
}

pub async fn show(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    Path(id): Path<String>,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    render(&show_page(&state, ctx, parse_id(&id)?).await?)
}

/// The email a trainer gets when finance decides on their week.
fn decision_email(sheet: &store::Timesheet, to: TimesheetStatus, comment: &str, base_url: &str) -> Email {
    let week = week_label(sheet.week_start);
    let link = format!("{base_url}/trainer/timesheets");
    // Short lines: a long one would be wrapped by the mail encoding mid-comment.
    let (subject, lead) = match to {
        TimesheetStatus::Returned => (
            format!("Timesheet returned: week of {week}"),
            format!(
                "Your timesheet for the week of {week} has been returned.\n\nComment: {comment}\n\n\
                 Please adjust your time and submit it again."
            ),
        ),
        _ => (
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

/// Applies one decision in one transaction (status, audit row, email) and redirects
/// back, or re-renders with the comment's error. A timesheet no longer waiting for a
/// decision, or (to approve) resubmitted since finance's page showed it, is a 409:
/// finance approves only the total it saw, as the trainer submitted it.
async fn decide(
    state: AppState,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    id: String,
    form: Fields,
    to: TimesheetStatus,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    let id = parse_id(&id)?;
    let comment = if to == TimesheetStatus::Returned {
        let typed = form.all("comment").next().unwrap_or_default().to_owned();
        match domain::parse_comment(&typed) {
            Ok(comment) => Some(comment),
            Err(message) => {
                let mut page = show_page(&state, ctx, id).await?;
                page.typed_comment = typed;
                page.errors.add("comment", message);
                return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
            }
        }
    } else {
        None
    };
    let back = Redirect::to(&format!("/admin/timesheets/{id}")).into_response();
    let mut tx = state.pool.begin().await?;
    let (from, submitted_at) = store::lock_status(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let seen = form.all("submitted_at").next().unwrap_or_default().trim();
    let problem = if !from.can_decide() {
        Some(format!("Nothing changed: the timesheet is now “{}”.", from.label()))
    } else if to == TimesheetStatus::Approved && submitted_at.map(submitted_version).as_deref() != Some(seen)
    {
        Some(
            "Nothing changed: the timesheet was submitted again since this page was shown. \
              Check the new total, then approve it."
                .to_owned(),
        )
    } else if !store::decide(&mut tx, id, to, admin.0.id, comment.as_deref()).await? {
        Some("Nothing changed: the timesheet is no longer waiting for a decision.".to_owned())
    } else {
        None
    };
    if let Some(problem) = problem {
        tx.rollback().await?;
        let mut page = show_page(&state, ctx, id).await?;
        page.problem = problem;
        return render_with(StatusCode::CONFLICT, &page);
    }
    let sheet = store::timesheet(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    audit::record(&mut tx)
        .by(admin.0.id)
        .action(format!("timesheet.{}", to.as_str()))
        .entity("timesheet", id)
        .before(json!({ "status": from.as_str() }))
        .after(json!({
            "status": to.as_str(),
            "comment": comment,
            "minutes": sheet.minutes,
            "rate_pence": sheet.rate_pence,
            "pay_pence": sheet.pay_pence(),
        }))
        .await?;
    let email = decision_email(&sheet, to, comment.as_deref().unwrap_or_default(), &state.config.base_url);
    state.outbox.queue(&mut tx, &email).await?;
    tx.commit().await?;
    let done = match to {
        TimesheetStatus::Returned => {
            format!("Timesheet returned; {} has been emailed the comment.", sheet.trainer)
        }
        _ => format!("Timesheet approved; {} has been emailed.", sheet.trainer),
    };
    flash::push(&session, FlashKind::Success, done).await?;
    Ok(back)
}

pub async fn approve(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> AppResult<Response> {
    decide(state, admin, ctx, session, id, form, TimesheetStatus::Approved).await
}

pub async fn return_timesheet(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> AppResult<Response> {
    decide(state, admin, ctx, session, id, form, TimesheetStatus::Returned).await
}

/// The payroll range: both dates required, in order.
fn export_range(query: &Fields) -> Result<(Date, Date), FormErrors> {
    let mut errors = FormErrors::default();
    let mut date = |name: &'static str, missing: &'static str| match query.get(name) {
        None => {
            errors.add(name, missing);
            None
        }
        Some(raw) => domain::parse_date(raw).or_else(|| {
            errors.add(name, "Enter a real date, like 2026-11-23.");
            None
        }),
    };
    let from = date("from", "Enter the first date.");
    let to = date("to", "Enter the last date.");
    match (from, to) {
        (Some(from), Some(to)) if to < from => {
            errors.add("to", "The last date must be on or after the first.");
            Err(errors)
        }
        (Some(from), Some(to)) => Ok((from, to)),
        _ => Err(errors),
    }
}

/// `Export CSV`: one row per approved timesheet whose week starts in the range, with
/// hours, rate and pay as plain decimals.
pub async fn export(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    let (from, to) = match export_range(&query) {
        Ok(range) => range,
        Err(errors) => {
            let mut page = index_page(&state, ctx, &query).await?;
            page.errors = errors;
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let search = store::Search {
        status: Some(TimesheetStatus::Approved),
        from: Some(from),
        to: Some(to),
        oldest_first: true,
    };
    let pool = state.pool.clone();
    let header = ["Trainer", "Email", "Week starting", "Hours", "Rate (£ an hour)", "Pay (£)"];
    Ok(csv::stream(&format!("payroll-{from}-to-{to}.csv"), &header, move |mut sink| async move {
        let mut conn = pool.acquire().await?;
        let sql = store::export_sql(&search);
        let mut rows =
            store::bind_search(sqlx::query_as::<_, store::Timesheet>(&sql), &search).fetch(&mut *conn);
        while let Some(t) = rows.try_next().await? {
            sink.record([
                csv::cell(&t.trainer),
                csv::cell(&t.email),
                t.week_start.to_string(),
                domain::decimal_hours(t.minutes),
                csv::decimal_pounds(i64::from(t.rate_pence)),
                csv::decimal_pounds(t.pay_pence()),
            ])
            .await?;
        }
        Ok(sink)
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_shows_submitted_timesheets_unless_asked_otherwise() {
        assert_eq!(status_from(&Fields::parse(b"")), Some(TimesheetStatus::Submitted));
        assert_eq!(status_from(&Fields::parse(b"status=approved")), Some(TimesheetStatus::Approved));
        assert_eq!(status_from(&Fields::parse(b"status=")), None, "any status");
    }

    #[test]
    fn the_payroll_range_needs_two_dates_in_order() {
        let range = export_range(&Fields::parse(b"from=2026-11-02&to=2026-11-30")).unwrap();
        assert_eq!(range.0.to_string(), "2026-11-02");
        let errors = export_range(&Fields::parse(b"from=2026-11-30&to=2026-11-02")).unwrap_err();
        assert!(errors.get("to").is_some());
        let errors = export_range(&Fields::parse(b"from=&to=soon")).unwrap_err();
        assert_eq!(errors.get("from"), Some("Enter the first date."));
        assert_eq!(errors.get("to"), Some("Enter a real date, like 2026-11-23."));
    }
}
