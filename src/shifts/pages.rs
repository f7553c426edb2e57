//! The trainer's shift pages.

use askama::Template;
use axum::{
    Form,
    extract::State,
    response::{IntoResponse, Redirect, Response},
};
use sqlx::types::Json;
use time::{Date, Duration, OffsetDateTime};
use time_tz::{OffsetDateTimeExt, TimeZone};
use tower_sessions::Session;

use super::{
    actions::{self, CheckedOut, LATE_AFTER_MINUTES},
    domain::ShiftStatus,
    store::{self, CheckIn, Shift, Take},
};
use crate::{
    AppState,
    auth::Trainer,
    clock::start_of_day,
    error::{AppError, AppResult},
    ids::{SessionId, ShiftId},
    web::{
        PageContext, Path,
        flash::{self, FlashKind},
        fmt,
        form::{QueryFields, render},
    },
};

pub struct ShiftLine {
    pub id: ShiftId,
    pub session_id: SessionId,
    pub day: String,
    pub from: String,
    pub to: String,
    pub activity: String,
    pub venue: String,
    pub role: &'static str,
    pub status: &'static str,
    pub status_key: &'static str,
    pub state: ShiftStatus,
    pub booked: i32,
    pub capacity: i32,
}

impl ShiftLine {
    /// Held and not yet checked in: check-in opens an hour before the start.
    pub fn is_accepted(&self) -> bool {
        self.state == ShiftStatus::Accepted
    }

    /// Offered to this trainer, to accept or decline.
    pub fn is_offered(&self) -> bool {
        self.state == ShiftStatus::Offered
    }
}

pub fn line(s: &Shift, tz: &time_tz::Tz) -> ShiftLine {
    ShiftLine {
        id: s.id,
        session_id: s.session_id,
        day: fmt::long_date(s.starts_at, tz),
        from: fmt::time_of_day(s.starts_at, tz),
        to: fmt::time_of_day(s.ends_at, tz),
        activity: s.activity.clone(),
        venue: s.venue.clone(),
        role: s.role.label(),
        status: if s.session_cancelled { "session cancelled" } else { s.status.label() },
        status_key: s.status.key(),
        state: s.status,
        booked: s.places_taken,
        capacity: s.capacity,
    }
}

pub struct Day {
    pub label: String,
    pub is_today: bool,
    pub shifts: Vec<ShiftLine>,
}

#[derive(Template)]
#[template(path = "shifts/index.html")]
pub struct IndexPage {
    pub ctx: PageContext,
    pub month_view: bool,
    pub title: String,
    pub previous: String,
    pub next: String,
    pub days: Vec<Day>,
    pub total: usize,
    pub calendar_url: String,
}

fn parse_date(raw: Option<&str>) -> Option<Date> {
    raw.and_then(crate::web::date::parse)
}

/// `/trainer/shifts`: a week (default) or a month of shifts, day by day.
pub async fn index(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let today = OffsetDateTime::now_utc().to_timezone(tz).date();
    let anchor = parse_date(query.get("date")).unwrap_or(today);
    let month_view = query.get("view") == Some("month");
    let (first, last_exclusive, previous, next, title) = if month_view {
        let first = anchor.replace_day(1).map_err(|e| anyhow::anyhow!(e))?;
        let next = (first + Duration::days(32)).replace_day(1).map_err(|e| anyhow::anyhow!(e))?;
        let previous = (first - Duration::days(1)).replace_day(1).map_err(|e| anyhow::anyhow!(e))?;
        let title = format!("{} {}", first.month(), first.year());
        (first, next, previous, next, title)
    } else {
        let monday = crate::timesheets::week_of(start_of_day(anchor, tz), tz);
        let title = format!("Week of {}", fmt::long_date(start_of_day(monday, tz), tz));
        (monday, monday + Duration::days(7), monday - Duration::days(7), monday + Duration::days(7), title)
    };
    let mut conn = state.pool.acquire().await?;
    let store::Window { shifts: Json(shifts), feed_token } = store::for_trainer(
        &mut conn,
        trainer.id.0,
        start_of_day(first, tz),
        start_of_day(last_exclusive, tz),
    )
    .await?;
    let total = shifts.len();
    let mut days: Vec<Day> = Vec::new();
    for s in &shifts {
        let date = s.starts_at.to_timezone(tz).date();
        let label = fmt::long_date(s.starts_at, tz);
        match days.last_mut() {
            Some(day) if day.label == label => day.shifts.push(line(s, tz)),
            _ => days.push(Day { label, is_today: date == today, shifts: vec![line(s, tz)] }),
        }
    }
    let view = if month_view { "&view=month" } else { "" };
    let calendar_url =
        crate::calendar::feed_url_from(&mut conn, &state.config.base_url, trainer.id.0, feed_token).await?;
    render(&IndexPage {
        ctx,
        month_view,
        title,
        previous: format!("/trainer/shifts?date={previous}{view}"),
        next: format!("/trainer/shifts?date={next}{view}"),
        days,
        total,
        calendar_url,
    })
}

#[derive(Template)]
#[template(path = "shifts/show.html")]
pub struct ShowPage {
    pub ctx: PageContext,
    pub shift: ShiftLine,
    pub address: String,
    pub map_url: String,
    pub team: Vec<store::Teammate>,
    pub checked_in: Option<String>,
    pub checked_out: Option<String>,
    pub late_minutes: Option<i32>,
    pub can_check_in: bool,
    pub can_check_out: bool,
    pub works_session: bool,
}

/// A map search for the venue: no API key, and it works on any phone.
fn map_url(address: &str, postcode: &str) -> String {
    let query: String =
        form_urlencoded::byte_serialize(format!("{address} {postcode}").trim().as_bytes()).collect();
    format!("https://www.openstreetmap.org/search?query={query}")
}

pub async fn show(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    Path(id): Path<ShiftId>,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let s = store::own(&mut conn, trainer.id.0, id).await?.ok_or(AppError::NotFound)?;
    let team = store::team(&mut conn, s.session_id, s.id).await?;
    let now = OffsetDateTime::now_utc();
    let in_window = now >= s.starts_at - Duration::hours(1) && now <= s.ends_at;
    render(&ShowPage {
        ctx,
        address: format!("{} {}", s.address, s.postcode).trim().to_owned(),
        map_url: map_url(&s.address, &s.postcode),
        team,
        checked_in: s.checked_in_at.map(|t| fmt::time_of_day(t, tz)),
        checked_out: s.checked_out_at.map(|t| fmt::time_of_day(t, tz)),
        late_minutes: s.late_minutes.filter(|m| *m > LATE_AFTER_MINUTES),
        can_check_in: s.status == ShiftStatus::Accepted && in_window,
        can_check_out: s.status == ShiftStatus::CheckedIn,
        works_session: s.status.is_held(),
        shift: line(&s, tz),
    })
}

#[derive(Template)]
#[template(path = "shifts/open.html")]
pub struct OpenPage {
    pub ctx: PageContext,
    pub shifts: Vec<ShiftLine>,
}

pub async fn open_shifts(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let shifts = store::open_for(&mut conn, trainer.id.0, state.config.timezone.name())
        .await?
        .iter()
        .map(|s| line(s, tz))
        .collect();
    render(&OpenPage { ctx, shifts })
}

/// `Accept shift`: an open shift (first trainer wins) or one offered to this trainer.
pub async fn accept(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    session: Session,
    Path(id): Path<ShiftId>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let refusal = match actions::accept(&mut tx, trainer.id.0, id, state.config.timezone.name()).await? {
        Take::Taken => {
            let message = "Shift accepted. It is in your calendar.";
            return flash::done(tx, &session, message, &format!("/trainer/shifts/{id}")).await;
        }
        Take::Gone => "Sorry, that shift has gone: another trainer took it first.",
        Take::Overlaps => "You already have a shift at that time, so you cannot take this one.",
        Take::OnTimeOff => "That shift falls in your approved time off.",
    };
    flash::push(&session, FlashKind::Error, refusal).await?;
    Ok(Redirect::to("/trainer/open-shifts").into_response())
}

/// `Decline shift`: an offer goes back to being an open shift.
pub async fn decline(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    session: Session,
    Path(id): Path<ShiftId>,
    Form(form): Form<actions::DeclineForm>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    actions::decline(&mut tx, trainer.id.0, id, &form.reason()).await?;
    tx.commit().await?;
    flash::push(&session, FlashKind::Info, "Shift declined; the office will find someone else.").await?;
    Ok(Redirect::to("/trainer").into_response())
}

pub async fn check_in(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    session: Session,
    Path(id): Path<ShiftId>,
    Form(form): Form<actions::CheckInForm>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let back = format!("/trainer/shifts/{id}");
    match actions::check_in(&state, &mut tx, &trainer, id, form.location()).await? {
        CheckIn::Done { late_minutes } if late_minutes > actions::LATE_AFTER_MINUTES => {
            let message = format!("Checked in, {late_minutes} minutes late. The coordinator has been told.");
            flash::done(tx, &session, message, &back).await
        }
        CheckIn::Done { .. } => flash::done(tx, &session, "Checked in.", &back).await,
        CheckIn::OutsideWindow | CheckIn::NotAllowed => {
            flash::push(&session, FlashKind::Error, "Check-in opens an hour before the start.").await?;
            Ok(Redirect::to(&back).into_response())
        }
    }
}

pub async fn check_out(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    session: Session,
    Path(id): Path<ShiftId>,
) -> AppResult<Response> {
    let back = format!("/trainer/shifts/{id}");
    let mut tx = state.pool.begin().await?;
    match actions::check_out(&mut tx, trainer.id.0, id, state.config.timezone).await? {
        CheckedOut::WeekLocked => {
            drop(tx);
            let message = "That week's timesheet is already approved; ask the office.";
            flash::push(&session, FlashKind::Error, message).await?;
            Ok(Redirect::to(&back).into_response())
        }
        CheckedOut::Done { week_returned, completed } => {
            let mut message = "Checked out; your time is on your timesheet.".to_owned();
            if week_returned {
                message.push_str(
                    " You had already submitted that week, so it is back with you: submit it again.",
                );
            }
            if completed {
                message.push_str(" Session completed.");
            }
            flash::done(tx, &session, message, &back).await
        }
    }
}
