//! Finance's side: timesheets by week, one timesheet with its entries, the decisions
//! (approve, return with a comment), and the payroll CSV. Owners may do all of it;
//! coordinators and the safeguarding lead get 403.

use askama::Template;
use axum::{Form, extract::State, http::StatusCode, response::Response};
use futures_util::TryStreamExt;
use time::{Date, Duration, OffsetDateTime};
use tower_sessions::Session;

use super::{
    actions::{self, submitted_version},
    domain::{self, ApproveForm, Decision, ReturnForm, TimesheetStatus},
    entry_day, source_label, store, week_label, week_of,
};
use crate::{
    AppState,
    auth::{Admin, AdminRole},
    error::{AppError, AppResult},
    ids::TimesheetId,
    web::{
        Choice, FormErrors, PageContext, Path, csv, date, flash, fmt,
        form::{Fields, QueryFields, render, render_with},
        page::{Cursor, Order, PageRequest, Pager},
    },
};

/// Timesheets and payroll are finance's (and owners').
const FINANCE: &[AdminRole] = &[AdminRole::Finance];

const STATUSES: [TimesheetStatus; 3] =
    [TimesheetStatus::Submitted, TimesheetStatus::Approved, TimesheetStatus::Returned];

pub struct SheetLine {
    pub id: TimesheetId,
    pub trainer: String,
    pub hours: String,
    pub pay: String,
    pub status: TimesheetStatus,
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
    pub statuses: Vec<Choice>,
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
    let mut page = page.finish(sheets, |t| Cursor::new(t.week_start, t.id.0), "/admin/timesheets", query);
    // Pages break by week and id; within a page, a week's timesheets read by name.
    page.rows.sort_by(|a, b| b.week_start.cmp(&a.week_start).then_with(|| a.trainer.cmp(&b.trainer)));
    let mut weeks: Vec<WeekGroup> = Vec::new();
    for sheet in page.rows {
        let label = week_label(sheet.week_start);
        let line = SheetLine {
            id: sheet.id,
            hours: domain::hours_minutes(sheet.minutes),
            pay: fmt::pounds(sheet.pay_pence()),
            status: sheet.status,
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
        statuses: STATUSES.iter().map(|s| Choice::new(s.as_str(), s.label(), Some(*s) == status)).collect(),
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
    pub id: TimesheetId,
    pub trainer: String,
    pub email: String,
    pub week: String,
    pub status: TimesheetStatus,
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

async fn show_page(state: &AppState, ctx: PageContext, id: TimesheetId) -> AppResult<ShowPage> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let sheet = store::timesheet(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let entries = store::entries_of_week(&mut conn, sheet.trainer_id, sheet.week_start).await?;
    let status = sheet.status;
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
        status,
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

pub async fn show(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    Path(id): Path<TimesheetId>,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    render(&show_page(&state, ctx, id).await?)
}

/// Applies one decision in one transaction and redirects back. A timesheet no longer
/// waiting for a decision, or (to approve) resubmitted since finance's page showed it,
/// is a 409 with the page and why.
async fn decide(
    state: &AppState,
    admin: &Admin,
    ctx: PageContext,
    session: &Session,
    id: TimesheetId,
    decision: Decision,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    match actions::decide(&mut tx, state, admin.0.id, id, &decision).await? {
        Ok(sheet) => {
            let message = match decision {
                Decision::Return { .. } => {
                    format!("Timesheet returned; {} has been emailed the comment.", sheet.trainer)
                }
                Decision::Approve { .. } => {
                    format!("Timesheet approved; {} has been emailed.", sheet.trainer)
                }
            };
            flash::done(tx, session, message, &format!("/admin/timesheets/{id}")).await
        }
        Err(refused) => {
            drop(tx);
            let mut page = show_page(state, ctx, id).await?;
            page.problem = refused.message();
            render_with(StatusCode::CONFLICT, &page)
        }
    }
}

pub async fn approve(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<TimesheetId>,
    Form(form): Form<ApproveForm>,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    decide(&state, &admin, ctx, &session, id, form.parse()).await
}

pub async fn return_timesheet(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<TimesheetId>,
    Form(form): Form<ReturnForm>,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    match form.parse() {
        Ok(decision) => decide(&state, &admin, ctx, &session, id, decision).await,
        Err(message) => {
            let mut page = show_page(&state, ctx, id).await?;
            page.typed_comment = form.comment;
            page.errors.add("comment", message);
            render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

/// The payroll range: both dates required, in order.
fn export_range(query: &Fields) -> Result<(Date, Date), FormErrors> {
    let mut errors = FormErrors::default();
    let mut date = |name: &'static str, missing: &'static str| match query.get(name) {
        None => {
            errors.add(name, missing);
            None
        }
        Some(raw) => date::parse(raw).or_else(|| {
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
    let search = store::Search { status: Some(TimesheetStatus::Approved), from: Some(from), to: Some(to) };
    let pool = state.pool.clone();
    let header = ["Trainer", "Email", "Week starting", "Hours", "Rate (£ an hour)", "Pay (£)"];
    Ok(csv::stream(&format!("payroll-{from}-to-{to}.csv"), &header, move |mut sink| async move {
        let mut conn = crate::db::long_read(&pool).await?;
        let mut rows = store::export(&mut conn, &search);
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
