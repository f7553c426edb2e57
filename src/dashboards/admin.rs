//! `/admin`: what needs the office today.

use askama::Template;
use axum::{extract::State, response::Response};
use sqlx::FromRow;
use time::{Duration, OffsetDateTime};

use crate::{
    AppState,
    auth::Admin,
    error::AppResult,
    web::{PageContext, fmt, form::render},
};

#[derive(FromRow)]
struct SessionRow {
    activity: String,
    venue: String,
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
    places_taken: i32,
    capacity: i32,
    staffed: i64,
    open_shifts: i64,
}

pub struct TodaySession {
    pub activity: String,
    pub venue: String,
    pub from: String,
    pub to: String,
    pub booked: i32,
    pub capacity: i32,
    pub staffed: i64,
    pub open_shifts: i64,
}

#[derive(FromRow)]
struct OpenShiftRow {
    activity: String,
    starts_at: OffsetDateTime,
    role: String,
}

pub struct OpenShift {
    pub activity: String,
    pub when: String,
    pub role: String,
}

/// A session this week that still needs staff.
pub struct Understaffed {
    pub id: i64,
    pub when: String,
    pub activity: String,
    pub staffing: String,
    pub css: &'static str,
}

#[derive(FromRow)]
struct ExpiringRow {
    trainer_id: i64,
    trainer: String,
    name: String,
    expires_on: time::Date,
}

pub struct Expiring {
    pub trainer_id: i64,
    pub trainer: String,
    pub name: String,
    pub expires: String,
    pub expired: bool,
}

#[derive(FromRow)]
struct TimeOffRow {
    trainer: String,
    kind: String,
    starts: Option<OffsetDateTime>,
}

pub struct TimeOffRequest {
    pub trainer: String,
    pub kind: String,
    pub from: String,
}

#[derive(Template)]
#[template(path = "dashboards/admin.html")]
pub struct AdminDashboard {
    /// The calendar's panels, for those who run it (coordinators and owners).
    pub runs_calendar: bool,
    pub understaffed: Vec<Understaffed>,
    pub expiring: Vec<Expiring>,
    pub time_off: Vec<TimeOffRequest>,
    pub ctx: PageContext,
    pub pending_bookings: i64,
    pub today: Vec<TodaySession>,
    pub open_shifts: Vec<OpenShift>,
    pub open_shift_count: i64,
}

pub async fn show(State(state): State<AppState>, admin: Admin, ctx: PageContext) -> AppResult<Response> {
    let tz = state.config.timezone;
    let today = super::local_today(tz);
    let day_start = super::start_of_day(today, tz);
    let day_end = super::start_of_day(today + Duration::days(1), tz);

    let pending_bookings: i64 = sqlx::query_scalar("select count(*) from bookings where status = 'pending'")
        .fetch_one(&state.pool)
        .await?;
    let sessions: Vec<SessionRow> = sqlx::query_as(
        "select a.name as activity, v.name as venue, s.starts_at, s.ends_at, s.places_taken, s.capacity,
                count(sh.id) filter (where sh.status in ('accepted', 'checked_in', 'checked_out')) as staffed,
                count(sh.id) filter (where sh.status in ('open', 'offered')) as open_shifts
         from sessions s
         join activities a on a.id = s.activity_id
         join venues v on v.id = s.venue_id
         left join shifts sh on sh.session_id = s.id
         where s.starts_at >= $1 and s.starts_at < $2 and s.status <> 'cancelled'
         group by s.id, a.name, v.name
         order by s.starts_at",
    )
    .bind(day_start)
    .bind(day_end)
    .fetch_all(&state.pool)
    .await?;
    let open: Vec<OpenShiftRow> = sqlx::query_as(
        "select a.name as activity, s.starts_at, sh.role
         from shifts sh
         join sessions s on s.id = sh.session_id
         join activities a on a.id = s.activity_id
         where sh.status = 'open' and s.status <> 'cancelled'
           and s.starts_at > now() and s.starts_at < now() + interval '14 days'
         order by s.starts_at",
    )
    .fetch_all(&state.pool)
    .await?;

    let today = sessions
        .into_iter()
        .map(|s| TodaySession {
            from: fmt::time_of_day(s.starts_at, tz),
            to: fmt::time_of_day(s.ends_at, tz),
            activity: s.activity,
            venue: s.venue,
            booked: s.places_taken,
            capacity: s.capacity,
            staffed: s.staffed,
            open_shifts: s.open_shifts,
        })
        .collect();
    let open_shift_count = open.len() as i64;
    let open_shifts = open
        .into_iter()
        .map(|o| OpenShift { when: fmt::day_time(o.starts_at, tz), activity: o.activity, role: o.role })
        .collect();
    let runs_calendar = admin.require(crate::catalogue::EDITORS).is_ok();
    let (understaffed, expiring, time_off) =
        if runs_calendar { calendar_panels(&state).await? } else { (Vec::new(), Vec::new(), Vec::new()) };
    render(&AdminDashboard {
        ctx,
        pending_bookings,
        today,
        open_shifts,
        open_shift_count,
        runs_calendar,
        understaffed,
        expiring,
        time_off,
    })
}

/// What the calendar needs this week: sessions short of staff, qualifications about
/// to lapse (or lapsed), and time off waiting for a decision.
async fn calendar_panels(
    state: &AppState,
) -> AppResult<(Vec<Understaffed>, Vec<Expiring>, Vec<TimeOffRequest>)> {
    use crate::sessions::{domain, store};
    let tz = state.config.timezone;
    let today = super::local_today(tz);
    let monday = today - Duration::days(i64::from(today.weekday().number_days_from_monday()));
    let (from, until) =
        (super::start_of_day(monday, tz), super::start_of_day(monday + Duration::days(7), tz));
    let mut conn = state.pool.acquire().await?;
    let now = OffsetDateTime::now_utc();
    let understaffed = store::calendar(&mut conn, from, until, &store::CalendarFilter::default())
        .await?
        .into_iter()
        .filter(|r| r.status == domain::SessionStatus::Scheduled && r.ends_at > now)
        .filter_map(|r| {
            let needed = domain::trainers_needed(r.places_taken, r.children_per_trainer);
            let staffing = domain::Staffing::of(needed, r.staffed, r.leads);
            (staffing != domain::Staffing::Full).then(|| Understaffed {
                id: r.id.into(),
                when: fmt::day_time(r.starts_at, tz),
                activity: r.activity,
                staffing: staffing.label(),
                css: staffing.css(),
            })
        })
        .collect();
    let expiring: Vec<ExpiringRow> = sqlx::query_as(
        "select u.id as trainer_id, u.name as trainer, q.name, q.expires_on
         from trainer_qualifications q join users u on u.id = q.trainer_id
         where u.is_active and q.expires_on <= $1
         order by q.expires_on, u.name limit 20",
    )
    .bind(today + Duration::days(crate::trainers::domain::EXPIRY_WARNING_DAYS))
    .fetch_all(&mut *conn)
    .await?;
    let expiring = expiring
        .into_iter()
        .map(|q| Expiring {
            expired: q.expires_on < today,
            expires: q.expires_on.to_string(),
            trainer_id: q.trainer_id,
            trainer: q.trainer,
            name: q.name,
        })
        .collect();
    let time_off: Vec<TimeOffRow> = sqlx::query_as(
        "select u.name as trainer, r.kind, lower(r.during) as starts
         from time_off_requests r join users u on u.id = r.trainer_id
         where r.status = 'pending' order by lower(r.during) limit 20",
    )
    .fetch_all(&mut *conn)
    .await?;
    let time_off = time_off
        .into_iter()
        .map(|r| TimeOffRequest {
            from: r.starts.map(|t| fmt::day_time(t, tz)).unwrap_or_default(),
            trainer: r.trainer,
            kind: r.kind,
        })
        .collect();
    Ok((understaffed, expiring, time_off))
}
