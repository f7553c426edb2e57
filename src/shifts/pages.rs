//! The trainer's shift pages.

use askama::Template;
use axum::{
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
};
use time::{Date, Duration, OffsetDateTime};
use time_tz::{OffsetDateTimeExt, TimeZone};
use tower_sessions::Session;

use super::store::{self, CheckIn, Shift, Take};
use crate::{
    AppState, audit,
    auth::Trainer,
    bookings::parse_id,
    clock::start_of_day,
    error::{AppError, AppResult},
    notifications::Email,
    web::{
        PageContext,
        flash::{self, FlashKind},
        fmt,
        form::{Fields, QueryFields, render},
    },
};

/// A check-in more than this late is flagged to the coordinators.
const LATE_AFTER_MINUTES: i32 = 10;

pub struct ShiftLine {
    pub id: i64,
    pub session_id: i64,
    pub day: String,
    pub from: String,
    pub to: String,
    pub activity: String,
    pub venue: String,
    pub role: String,
    pub status: String,
    pub status_key: String,
    pub booked: i32,
    pub capacity: i32,
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
        role: s.role.clone(),
        status: if s.session_status == "cancelled" {
            "session cancelled".into()
        } else {
            s.status.replace('_', " ")
        },
        status_key: s.status.clone(),
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
    let shifts =
        store::for_trainer(&mut conn, trainer.id, start_of_day(first, tz), start_of_day(last_exclusive, tz))
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
    let calendar_url = crate::calendar::feed_url(&mut conn, &state.config.base_url, trainer.id).await?;
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
    Path(id): Path<String>,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let s = store::own(&mut conn, trainer.id, parse_id(&id)?).await?.ok_or(AppError::NotFound)?;
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
        can_check_in: s.status == "accepted" && in_window,
        can_check_out: s.status == "checked_in",
        works_session: matches!(s.status.as_str(), "accepted" | "checked_in" | "checked_out"),
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
    let shifts = store::open_for(&mut conn, trainer.id, state.config.timezone.name())
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
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let mut tx = state.pool.begin().await?;
    let outcome = store::take(&mut tx, trainer.id, id, state.config.timezone.name()).await?;
    let (kind, message, to) = match outcome {
        Take::Taken => {
            audit::record(&mut tx).by(trainer.id).action("shift.accepted").entity("shift", id).await?;
            tx.commit().await?;
            (FlashKind::Success, "Shift accepted. It is in your calendar.", format!("/trainer/shifts/{id}"))
        }
        Take::Gone => (
            FlashKind::Error,
            "Sorry, that shift has gone: another trainer took it first.",
            "/trainer/open-shifts".to_owned(),
        ),
        Take::Overlaps => (
            FlashKind::Error,
            "You already have a shift at that time, so you cannot take this one.",
            "/trainer/open-shifts".to_owned(),
        ),
        Take::OnTimeOff => (
            FlashKind::Error,
            "That shift falls in your approved time off.",
            "/trainer/open-shifts".to_owned(),
        ),
    };
    flash::push(&session, kind, message).await?;
    Ok(Redirect::to(&to).into_response())
}

/// `Decline shift`: an offer goes back to being an open shift.
pub async fn decline(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let reason: String = form.get("reason").unwrap_or_default().chars().take(500).collect();
    let mut tx = state.pool.begin().await?;
    if !store::decline(&mut tx, trainer.id, id, &reason).await? {
        return Err(AppError::NotFound);
    }
    audit::record(&mut tx)
        .by(trainer.id)
        .action("shift.declined")
        .entity("shift", id)
        .after(serde_json::json!({ "reason": reason }))
        .await?;
    tx.commit().await?;
    flash::push(&session, FlashKind::Info, "Shift declined; the office will find someone else.").await?;
    Ok(Redirect::to("/trainer").into_response())
}

fn location(form: &Fields) -> Option<(f64, f64)> {
    let lat: f64 = form.get("latitude")?.parse().ok()?;
    let lng: f64 = form.get("longitude")?.parse().ok()?;
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lng)).then_some((lat, lng))
}

pub async fn check_in(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let mut tx = state.pool.begin().await?;
    let back = format!("/trainer/shifts/{id}");
    match store::check_in(&mut tx, trainer.id, id, location(&form)).await? {
        CheckIn::NotAllowed => return Err(AppError::NotFound),
        CheckIn::OutsideWindow => {
            flash::push(&session, FlashKind::Error, "Check-in opens an hour before the start.").await?;
        }
        CheckIn::Done { late_minutes } => {
            let late = late_minutes > LATE_AFTER_MINUTES;
            audit::record(&mut tx)
                .by(trainer.id)
                .action(if late { "shift.checked_in_late" } else { "shift.checked_in" })
                .entity("shift", id)
                .after(serde_json::json!({ "late_minutes": late_minutes }))
                .await?;
            if late {
                flag_late(&state, &mut tx, &trainer.name, id, late_minutes).await?;
            }
            tx.commit().await?;
            let message = if late {
                format!("Checked in, {late_minutes} minutes late. The coordinator has been told.")
            } else {
                "Checked in.".to_owned()
            };
            flash::push(&session, FlashKind::Success, message).await?;
        }
    }
    Ok(Redirect::to(&back).into_response())
}

/// Emails the coordinators about a late check-in.
async fn flag_late(
    state: &AppState,
    conn: &mut sqlx::PgConnection,
    trainer: &str,
    shift_id: i64,
    minutes: i32,
) -> AppResult<()> {
    let coordinators: Vec<String> = sqlx::query_scalar(
        "select email from users where role = 'admin' and admin_role in ('coordinator', 'owner') and is_active",
    )
    .fetch_all(&mut *conn)
    .await?;
    for to in coordinators {
        let email = Email {
            to,
            subject: format!("Late check-in: {trainer}"),
            body: format!("{trainer} checked in {minutes} minutes late for shift #{shift_id}.\n"),
        };
        state.outbox.queue(conn, &email).await?;
    }
    Ok(())
}

pub async fn check_out(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    session: Session,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let tz = state.config.timezone;
    let mut tx = state.pool.begin().await?;
    let Some((session_id, started, ended)) = store::check_out(&mut tx, trainer.id, id).await? else {
        return Err(AppError::NotFound);
    };
    let entry = sqlx::query(
        "insert into time_entries (trainer_id, shift_id, started_at, ended_at, source, week_start)
         values ($1, $2, $3, $4, 'shift', $5)",
    )
    .bind(trainer.id)
    .bind(id)
    .bind(started)
    .bind(ended)
    .bind(crate::timesheets::week_of(started, tz))
    .execute(&mut *tx)
    .await;
    if let Err(err) = entry {
        if err.as_database_error().and_then(|e| e.constraint()) == Some("time_entries_locked_when_approved") {
            tx.rollback().await?;
            flash::push(
                &session,
                FlashKind::Error,
                "That week's timesheet is already approved; ask the office.",
            )
            .await?;
            return Ok(Redirect::to(&format!("/trainer/shifts/{id}")).into_response());
        }
        return Err(err.into());
    }
    audit::record(&mut tx).by(trainer.id).action("shift.checked_out").entity("shift", id).await?;
    let completed = crate::attendance::store::complete_if_done(&mut tx, session_id).await?;
    // A week already submitted came back to the trainer with this time in it.
    let week_returned: bool = sqlx::query_scalar(
        "select exists (select 1 from timesheets
                         where trainer_id = $1 and week_start = $2 and changed_after_submit is not null)",
    )
    .bind(trainer.id)
    .bind(crate::timesheets::week_of(started, tz))
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut message = "Checked out; your time is on your timesheet.".to_owned();
    if week_returned {
        message.push_str(" You had already submitted that week, so it is back with you: submit it again.");
    }
    if completed {
        message.push_str(" Session completed.");
    }
    flash::push(&session, FlashKind::Success, message).await?;
    Ok(Redirect::to(&format!("/trainer/shifts/{id}")).into_response())
}
