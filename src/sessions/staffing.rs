//! Staffing a session: assign a qualified, active, free trainer (the database refuses
//! overlapping shifts and shifts in approved time off; outside their weekly availability
//! needs a reason), publish an open shift, or offer it to one trainer; suggestions
//! ranked by fit.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde_json::json;
use sqlx::{FromRow, PgConnection};
use time::{Date, Duration, OffsetDateTime, Time};
use time_tz::{OffsetDateTimeExt, Tz};
use tower_sessions::Session;

use super::{pages, store};
use crate::{
    AppState, audit,
    auth::Admin,
    bookings::parse_id,
    catalogue::{EDITORS, store::constraint},
    error::{AppError, AppResult},
    notifications::Email,
    web::{
        PageContext,
        flash::{self, FlashKind},
        fmt,
        form::{Fields, render_with},
    },
};

pub const ROLES: [&str; 3] = ["lead", "assistant", "steward"];

pub struct ShiftLine {
    pub id: i64,
    pub role: String,
    pub status: String,
    pub trainer: String,
    pub note: String,
    /// A trainer holds it (accepted or worked).
    pub held: bool,
    pub open: bool,
}

#[derive(FromRow)]
struct ShiftRow {
    id: i64,
    role: String,
    status: String,
    trainer: Option<String>,
    assignment_note: String,
}

pub async fn shift_lines(conn: &mut PgConnection, session_id: i64, _tz: &Tz) -> sqlx::Result<Vec<ShiftLine>> {
    let rows: Vec<ShiftRow> = sqlx::query_as(
        "select sh.id, sh.role, sh.status, u.name as trainer, sh.assignment_note
         from shifts sh left join users u on u.id = sh.trainer_id
         where sh.session_id = $1 order by sh.status = 'cancelled', sh.role <> 'lead', sh.id",
    )
    .bind(session_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ShiftLine {
            held: matches!(r.status.as_str(), "accepted" | "checked_in" | "checked_out"),
            open: r.status == "open",
            id: r.id,
            role: r.role,
            status: r.status,
            trainer: r.trainer.unwrap_or_default(),
            note: r.assignment_note,
        })
        .collect())
}

/// What the staffing form sent, kept for a 422.
#[derive(Clone, Debug, Default)]
pub struct AssignForm {
    pub trainer: String,
    pub role: String,
    pub override_reason: String,
    pub shift: String,
}

impl AssignForm {
    pub fn trainer_is(&self, id: &i64) -> bool {
        self.trainer == id.to_string()
    }
}

/// The session's local date and times, which availability is stated in.
fn local_times(starts_at: OffsetDateTime, ends_at: OffsetDateTime, tz: &Tz) -> (Date, Time, Time) {
    let start = starts_at.to_timezone(tz);
    let end = ends_at.to_timezone(tz);
    // A session past midnight counts as running to the end of its first day.
    let end_time = if end.date() == start.date() {
        end.time()
    } else {
        Time::from_hms(23, 59, 59).unwrap_or(Time::MIDNIGHT)
    };
    (start.date(), start.time(), end_time)
}

#[derive(FromRow)]
struct AvailabilityFacts {
    has_pattern: bool,
    blocked: bool,
    extra: bool,
    in_pattern: bool,
}

/// Whether the session falls in the trainer's stated availability. A trainer who has
/// stated no weekly pattern has not said they are unavailable, so counts as available;
/// a dated "unavailable" exception always counts.
pub async fn is_available(
    conn: &mut PgConnection,
    trainer_id: i64,
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
    tz: &Tz,
) -> sqlx::Result<bool> {
    let (date, from, to) = local_times(starts_at, ends_at, tz);
    let facts: AvailabilityFacts = sqlx::query_as(
        "select exists (select 1 from trainer_availability where trainer_id = $1) as has_pattern,
                exists (select 1 from trainer_availability_exceptions where trainer_id = $1 and on_date = $2
                        and not available and (starts is null or (starts < $4 and ends > $3))) as blocked,
                exists (select 1 from trainer_availability_exceptions where trainer_id = $1 and on_date = $2
                        and available and (starts is null or (starts <= $3 and ends >= $4))) as extra,
                exists (select 1 from trainer_availability where trainer_id = $1 and weekday = $5
                        and starts <= $3 and ends >= $4) as in_pattern",
    )
    .bind(trainer_id)
    .bind(date)
    .bind(from)
    .bind(to)
    .bind(i16::from(date.weekday().number_from_monday()))
    .fetch_one(conn)
    .await?;
    Ok(!facts.blocked && (facts.extra || facts.in_pattern || !facts.has_pattern))
}

#[derive(FromRow)]
struct TrainerFacts {
    name: String,
    active: bool,
    delivers: bool,
}

#[derive(FromRow)]
struct RequiredQualification {
    name: String,
    has: bool,
    expires_on: Option<Date>,
}

/// Why `trainer_id` may not work this session, if they may not: not an active trainer,
/// not approved for the activity, or a required qualification missing or expired on the day.
pub async fn ineligibility(
    conn: &mut PgConnection,
    trainer_id: i64,
    session: &store::SessionRow,
    tz: &Tz,
) -> sqlx::Result<Option<String>> {
    let facts: Option<TrainerFacts> = sqlx::query_as(
        "select u.name, u.is_active as active,
                exists (select 1 from activity_trainers at where at.trainer_id = u.id and at.activity_id = $2) as delivers
         from users u join trainer_profiles t on t.user_id = u.id where u.id = $1",
    )
    .bind(trainer_id)
    .bind(session.activity_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(facts) = facts else { return Ok(Some("Choose a trainer.".into())) };
    if !facts.active {
        return Ok(Some(format!("{} is deactivated and cannot be given shifts.", facts.name)));
    }
    if !facts.delivers {
        return Ok(Some(format!("{} is not approved to deliver {}.", facts.name, session.activity)));
    }
    let day = session.starts_at.to_timezone(tz).date();
    let required: Vec<RequiredQualification> = sqlx::query_as(
        "select q.name, t.id is not null as has, t.expires_on
         from activity_required_qualifications q
         left join lateral (select id, expires_on from trainer_qualifications t
                            where t.trainer_id = $2 and lower(t.name) = lower(q.name)
                            order by t.expires_on desc nulls first limit 1) t on true
         where q.activity_id = $1 order by q.name",
    )
    .bind(session.activity_id)
    .bind(trainer_id)
    .fetch_all(conn)
    .await?;
    for q in required {
        if !q.has {
            return Ok(Some(format!(
                "{} does not have {}, which {} needs.",
                facts.name, q.name, session.activity
            )));
        }
        if let Some(expiry) = q.expires_on
            && expiry < day
        {
            return Ok(Some(format!(
                "{}'s {} expired on {expiry}; {} needs it in date.",
                facts.name, q.name, session.activity
            )));
        }
    }
    Ok(None)
}

/// The message for a constraint the database refused an assignment with.
pub fn refusal(err: &sqlx::Error, name: &str) -> Option<String> {
    match constraint(err)? {
        "shifts_no_overlap_per_trainer" => {
            Some(format!("{name} already has a shift at that time. Nothing was changed."))
        }
        "shifts_not_in_time_off" => Some(format!("{name} has approved time off then. Nothing was changed.")),
        _ => None,
    }
}

async fn trainer_contact(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<(String, String)>> {
    sqlx::query_as("select name, email from users where id = $1").bind(id).fetch_optional(conn).await
}

/// Re-renders the session page with the staffing form's error.
async fn again(
    state: &AppState,
    ctx: PageContext,
    id: i64,
    form: AssignForm,
    field: &'static str,
    message: String,
) -> AppResult<Response> {
    let mut page = pages::show_page(state, ctx, id).await?;
    page.failed_form = "staff";
    page.staff = form;
    page.errors.add(field, message);
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Assign,
    Offer,
    Open,
}

/// `POST /admin/sessions/{id}/shifts`: `action` is assign, offer or open.
pub async fn staff(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<String>,
    fields: Fields,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let tz = state.config.timezone;
    let id = parse_id(&id)?;
    let form = AssignForm {
        trainer: fields.get("trainer").unwrap_or_default().to_owned(),
        role: fields.get("role").unwrap_or("lead").to_owned(),
        override_reason: fields.get("override_reason").unwrap_or_default().to_owned(),
        shift: fields.get("shift").unwrap_or_default().to_owned(),
    };
    let action = match fields.get("action") {
        Some("offer") => Action::Offer,
        Some("open") => Action::Open,
        _ => Action::Assign,
    };
    let Some(role) = ROLES.iter().find(|r| **r == form.role).copied() else {
        return again(&state, ctx, id, form, "role", "Choose lead, assistant or steward.".into()).await;
    };
    let trainer_id = form.trainer.parse::<i64>().ok();
    if action != Action::Open && trainer_id.is_none() {
        return again(&state, ctx, id, form, "trainer", "Choose a trainer.".into()).await;
    }
    let reason = form.override_reason.trim().to_owned();
    if reason.chars().count() > 500 {
        return again(&state, ctx, id, form, "override_reason", "Use at most 500 characters.".into()).await;
    }

    let mut tx = state.pool.begin().await?;
    let s = store::find(&mut tx, id, true).await?.ok_or(AppError::NotFound)?;
    if s.status != "scheduled" {
        drop(tx);
        return again(&state, ctx, id, form, "trainer", "This session is not scheduled any more.".into())
            .await;
    }
    // An open shift of this session to fill, if one was chosen.
    let existing: Option<i64> = match form.shift.parse::<i64>() {
        Ok(shift_id) => sqlx::query_scalar(
            "select id from shifts where id = $1 and session_id = $2 and status in ('open', 'offered', 'declined')
             for update",
        )
        .bind(shift_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?,
        Err(_) => None,
    };

    if action == Action::Open {
        let shift_id: i64 = match existing {
            Some(shift_id) => {
                sqlx::query("update shifts set status = 'open', trainer_id = null, role = $2 where id = $1")
                    .bind(shift_id)
                    .bind(role)
                    .execute(&mut *tx)
                    .await?;
                shift_id
            }
            None => sqlx::query_scalar(
                "insert into shifts (session_id, trainer_id, role, status) values ($1, null, $2, 'open') returning id",
            )
            .bind(id)
            .bind(role)
            .fetch_one(&mut *tx)
            .await?,
        };
        audit::record(&mut tx)
            .by(admin.0.id)
            .action("shift.published")
            .entity("shift", shift_id)
            .after(json!({ "session_id": id, "role": role, "status": "open" }))
            .await?;
        tx.commit().await?;
        flash::push(&session, FlashKind::Success, "Open shift published: any eligible trainer may take it.")
            .await?;
        return Ok(Redirect::to(&format!("/admin/sessions/{id}")).into_response());
    }

    let trainer_id = trainer_id.unwrap_or_default();
    if let Some(problem) = ineligibility(&mut tx, trainer_id, &s, tz).await? {
        drop(tx);
        return again(&state, ctx, id, form, "trainer", problem).await;
    }
    let Some((name, email)) = trainer_contact(&mut tx, trainer_id).await? else {
        return Err(AppError::NotFound);
    };
    let available = is_available(&mut tx, trainer_id, s.starts_at, s.ends_at, tz).await?;
    let when = format!("{}–{}", fmt::day_time(s.starts_at, tz), fmt::time_of_day(s.ends_at, tz));
    let (status, note) = match action {
        Action::Assign if !available && reason.is_empty() => {
            drop(tx);
            let message = format!(
                "{name} is not available then by their weekly availability. To assign them anyway, give a reason."
            );
            return again(&state, ctx, id, form, "override_reason", message).await;
        }
        Action::Assign if !available => ("accepted", format!("Outside availability: {reason}")),
        Action::Assign => ("accepted", String::new()),
        _ => ("offered", String::new()),
    };
    let result = match existing {
        Some(shift_id) => sqlx::query_scalar(
            "update shifts set trainer_id = $2, role = $3, status = $4, assignment_note = $5 where id = $1 returning id",
        )
        .bind(shift_id)
        .bind(trainer_id)
        .bind(role)
        .bind(status)
        .bind(&note)
        .fetch_one(&mut *tx)
        .await,
        None => sqlx::query_scalar(
            "insert into shifts (session_id, trainer_id, role, status, assignment_note)
             values ($1, $2, $3, $4, $5) returning id",
        )
        .bind(id)
        .bind(trainer_id)
        .bind(role)
        .bind(status)
        .bind(&note)
        .fetch_one(&mut *tx)
        .await,
    };
    let shift_id: i64 = match result {
        Ok(shift_id) => shift_id,
        Err(err) => {
            let Some(message) = refusal(&err, &name) else { return Err(err.into()) };
            drop(tx);
            return again(&state, ctx, id, form, "trainer", message).await;
        }
    };
    let action_name = if status == "accepted" { "shift.assigned" } else { "shift.offered" };
    audit::record(&mut tx)
        .by(admin.0.id)
        .action(action_name)
        .entity("shift", shift_id)
        .after(json!({ "session_id": id, "trainer_id": trainer_id, "role": role, "status": status,
                     "override_reason": if available { None } else { Some(&reason) } }))
        .await?;
    let (subject, body) = if status == "accepted" {
        (
            format!("New shift: {} on {when}", s.activity),
            format!(
                "Hello {name},\n\nYou are on the {} session at {} on {when}, as {role}.\n\n\
                 See your shifts at {}/trainer\n",
                s.activity, s.venue, state.config.base_url
            ),
        )
    } else {
        (
            format!("Shift offered: {} on {when}", s.activity),
            format!(
                "Hello {name},\n\nWe would like you to work the {} session at {} on {when}, as {role}.\n\n\
                 Accept or decline it at {}/trainer\n",
                s.activity, s.venue, state.config.base_url
            ),
        )
    };
    state.outbox.queue(&mut tx, &Email { to: email, subject, body }).await?;
    tx.commit().await?;
    let message = if status == "accepted" {
        format!("{name} is assigned as {role} and has been emailed.")
    } else {
        format!("The shift is offered to {name}, who has been emailed.")
    };
    flash::push(&session, FlashKind::Success, message).await?;
    Ok(Redirect::to(&format!("/admin/sessions/{id}")).into_response())
}

/// `POST /admin/shifts/{id}/cancel`: takes a shift off the session.
pub async fn cancel_shift(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(id): Path<String>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let id = parse_id(&id)?;
    let mut tx = state.pool.begin().await?;
    let row: Option<(i64, String, Option<i64>, String)> = sqlx::query_as(
        "with old as (select id, status from shifts where id = $1 for update)
         update shifts sh set status = 'cancelled' from old
         where sh.id = old.id and old.status in ('open', 'offered', 'accepted', 'declined')
         returning sh.session_id, sh.role, sh.trainer_id, old.status",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((session_id, role, trainer_id, was)) = row else { return Err(AppError::NotFound) };
    // The trainer holding or offered it is told; a declined offer is no longer theirs.
    if let (Some(trainer_id), "offered" | "accepted") = (trainer_id, was.as_str()) {
        let holder: (String, String) = sqlx::query_as("select email, name from users where id = $1")
            .bind(trainer_id)
            .fetch_one(&mut *tx)
            .await?;
        let s = store::find(&mut tx, session_id, false).await?.ok_or(AppError::NotFound)?;
        let when = fmt::day_time(s.starts_at, state.config.timezone);
        let email = Email {
            to: holder.0,
            subject: format!("Shift cancelled: {} on {when}", s.activity),
            body: format!(
                "Hello {},\n\nThe office has taken you off the {} session on {when} at {}. \
                 You are no longer needed on it.\n",
                holder.1, s.activity, s.venue
            ),
        };
        state.outbox.queue(&mut tx, &email).await?;
    }
    audit::record(&mut tx)
        .by(admin.0.id)
        .action("shift.cancelled")
        .entity("shift", id)
        .after(json!({ "session_id": session_id, "role": role, "trainer_id": trainer_id }))
        .await?;
    flash::done(tx, &session, "Shift removed.", &format!("/admin/sessions/{session_id}")).await
}

// Suggestions ---------------------------------------------------------------------------------

pub struct Suggestion {
    pub trainer_id: i64,
    pub name: String,
    pub available: bool,
    pub hours: String,
}

#[derive(FromRow)]
struct Candidate {
    id: i64,
    name: String,
    week_minutes: i64,
}

/// Eligible trainers for the session, best first: qualified and free (not holding an
/// overlapping shift, not in approved time off), then available by their pattern,
/// then fewest hours that week.
pub async fn suggestions(
    conn: &mut PgConnection,
    s: &store::SessionRow,
    tz: &Tz,
) -> sqlx::Result<Vec<Suggestion>> {
    let day = s.starts_at.to_timezone(tz).date();
    let monday = day - Duration::days(i64::from(day.weekday().number_days_from_monday()));
    let week_from = crate::clock::start_of_day(monday, tz);
    let week_to = crate::clock::start_of_day(monday + Duration::days(7), tz);
    let candidates: Vec<Candidate> = sqlx::query_as(
        "select u.id, u.name,
                coalesce((select sum(extract(epoch from upper(o.during) - lower(o.during)))::bigint / 60
                          from shifts o where o.trainer_id = u.id and o.status in ('accepted', 'checked_in', 'checked_out')
                            and o.during && tstzrange($3, $4)), 0) as week_minutes
         from users u
         join trainer_profiles t on t.user_id = u.id
         join activity_trainers at on at.trainer_id = u.id and at.activity_id = $2
         where u.is_active
           and not exists (select 1 from shifts o where o.trainer_id = u.id and o.session_id = $1
                           and o.status <> 'cancelled' and o.status <> 'declined')
           and not exists (select 1 from shifts o join sessions x on x.id = $1
                           where o.trainer_id = u.id and o.status in ('accepted', 'checked_in', 'checked_out')
                             and o.during && tstzrange(x.starts_at, x.ends_at))
           and not exists (select 1 from time_off_requests r join sessions x on x.id = $1
                           where r.trainer_id = u.id and r.status = 'approved'
                             and r.during && tstzrange(x.starts_at, x.ends_at))
           and trainer_qualified(u.id, $2, $5)
         order by u.name",
    )
    .bind(s.id)
    .bind(s.activity_id)
    .bind(week_from)
    .bind(week_to)
    .bind(day)
    .fetch_all(&mut *conn)
    .await?;
    let mut ranked = Vec::new();
    for c in candidates {
        let available = is_available(conn, c.id, s.starts_at, s.ends_at, tz).await?;
        ranked.push((available, c));
    }
    ranked.sort_by(|(a_av, a), (b_av, b)| b_av.cmp(a_av).then(a.week_minutes.cmp(&b.week_minutes)));
    Ok(ranked
        .into_iter()
        .take(8)
        .map(|(available, c)| Suggestion {
            trainer_id: c.id,
            name: c.name,
            available,
            hours: format!("{}h{:02} this week", c.week_minutes / 60, c.week_minutes % 60),
        })
        .collect())
}
