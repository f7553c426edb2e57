//! `/admin`: what needs the office today.

use askama::Template;
use axum::{extract::State, response::Response};
use time::{Duration, OffsetDateTime};

use crate::{
    AppState,
    auth::Admin,
    availability::domain::TimeOffKind,
    bookings::domain::BookingStatus,
    error::AppResult,
    ids::SessionId,
    sessions::domain::{Staffing, trainers_needed},
    shifts::domain::ShiftRole,
    states::SessionStatus,
    web::{PageContext, fmt, form::render},
};

/// A session with its staffing: today's for the office, this week's for those who run
/// the calendar (today's are among them).
struct SessionRow {
    id: SessionId,
    activity: String,
    venue: String,
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
    places_taken: i32,
    capacity: i32,
    status: SessionStatus,
    children_per_trainer: Option<i32>,
    /// Shifts held (accepted, checked in or out), and how many of them lead.
    staffed: i64,
    leads: i64,
    /// Shifts still open or offered.
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

struct OpenShiftRow {
    activity: String,
    starts_at: OffsetDateTime,
    role: ShiftRole,
    /// How many there are in all, though only the soonest are read.
    total: i64,
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

pub struct Expiring {
    pub trainer_id: i64,
    pub trainer: String,
    pub name: String,
    pub expires: String,
    pub expired: bool,
}

pub struct TimeOffRequest {
    pub trainer: String,
    pub kind: TimeOffKind,
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
    let (day_start, day_end) =
        (super::start_of_day(today, tz), super::start_of_day(today + Duration::days(1), tz));
    let runs_calendar = admin.require(crate::catalogue::EDITORS).is_ok();
    let monday = today - Duration::days(i64::from(today.weekday().number_days_from_monday()));
    let (from, until) = if runs_calendar {
        (super::start_of_day(monday, tz), super::start_of_day(monday + Duration::days(7), tz))
    } else {
        (day_start, day_end)
    };
    let mut conn = state.pool.acquire().await?;
    let pending_bookings = crate::bookings::store::count_in(&mut conn, BookingStatus::Pending).await?;
    let sessions = sessions_between(&mut conn, from, until).await?;
    let open = open_shifts(&mut conn).await?;
    let today_sessions = sessions
        .iter()
        .filter(|s| s.starts_at >= day_start && s.starts_at < day_end && s.status != SessionStatus::Cancelled)
        .map(|s| TodaySession {
            from: fmt::time_of_day(s.starts_at, tz),
            to: fmt::time_of_day(s.ends_at, tz),
            activity: s.activity.clone(),
            venue: s.venue.clone(),
            booked: s.places_taken,
            capacity: s.capacity,
            staffed: s.staffed,
            open_shifts: s.open_shifts,
        })
        .collect();
    let open_shift_count = open.first().map_or(0, |o| o.total);
    let open_shifts = open
        .into_iter()
        .map(|o| OpenShift {
            when: fmt::day_time(o.starts_at, tz),
            activity: o.activity,
            role: o.role.key().to_owned(),
        })
        .collect();
    let (understaffed, expiring, time_off) = if runs_calendar {
        let understaffed = understaffed(&sessions, tz);
        let (expiring, time_off) = calendar_notices(&mut conn, today, tz).await?;
        (understaffed, expiring, time_off)
    } else {
        (Vec::new(), Vec::new(), Vec::new())
    };
    render(&AdminDashboard {
        ctx,
        pending_bookings,
        today: today_sessions,
        open_shifts,
        open_shift_count,
        runs_calendar,
        understaffed,
        expiring,
        time_off,
    })
}

/// Sessions starting in [from, until) with their staffing, by start. Each session's
/// shifts are counted through `shifts_session` (a lateral aggregate), so the cost
/// follows the sessions in range rather than every shift there is.
async fn sessions_between(
    conn: &mut sqlx::PgConnection,
    from: OffsetDateTime,
    until: OffsetDateTime,
) -> sqlx::Result<Vec<SessionRow>> {
    sqlx::query_as!(
        SessionRow,
        r#"select s.id as "id: SessionId", a.name as activity, v.name as venue, s.starts_at, s.ends_at,
                  s.places_taken, s.capacity, s.status as "status: SessionStatus", a.children_per_trainer,
                  c.staffed as "staffed!", c.leads as "leads!", c.open_shifts as "open_shifts!"
           from sessions s
           join activities a on a.id = s.activity_id
           join venues v on v.id = s.venue_id
           cross join lateral (
               select count(*) filter (where sh.status in ('accepted', 'checked_in', 'checked_out')) as staffed,
                      count(*) filter (where sh.status in ('accepted', 'checked_in', 'checked_out')
                                       and sh.role = 'lead') as leads,
                      count(*) filter (where sh.status in ('open', 'offered')) as open_shifts
               from shifts sh where sh.session_id = s.id) c
           where s.starts_at >= $1 and s.starts_at < $2
           order by s.starts_at, a.name"#,
        from,
        until,
    )
    .fetch_all(conn)
    .await
}

/// The soonest 50 unfilled shifts of the next 14 days, each row with how many there are
/// in all (found through the partial index `shifts_open`, 0033_staff_dashboards.sql).
async fn open_shifts(conn: &mut sqlx::PgConnection) -> sqlx::Result<Vec<OpenShiftRow>> {
    sqlx::query_as!(
        OpenShiftRow,
        r#"select a.name as activity, s.starts_at, sh.role as "role: ShiftRole", count(*) over () as "total!"
           from shifts sh
           join sessions s on s.id = sh.session_id
           join activities a on a.id = s.activity_id
           where sh.status = 'open' and s.status <> 'cancelled'
             and s.starts_at > now() and s.starts_at < now() + interval '14 days'
           order by s.starts_at limit 50"#,
    )
    .fetch_all(conn)
    .await
}

/// This week's sessions still to run that are short of staff.
fn understaffed(sessions: &[SessionRow], tz: &time_tz::Tz) -> Vec<Understaffed> {
    let now = OffsetDateTime::now_utc();
    sessions
        .iter()
        .filter(|r| r.status == SessionStatus::Scheduled && r.ends_at > now)
        .filter_map(|r| {
            let staffing =
                Staffing::of(trainers_needed(r.places_taken, r.children_per_trainer), r.staffed, r.leads);
            (staffing != Staffing::Full).then(|| Understaffed {
                id: r.id.into(),
                when: fmt::day_time(r.starts_at, tz),
                activity: r.activity.clone(),
                staffing: staffing.label(),
                css: staffing.css(),
            })
        })
        .collect()
}

/// A row of [`calendar_notices`]: a qualification about to lapse (`expires_on`), or
/// time off waiting for a decision (`kind`).
struct NoticeRow {
    trainer_id: i64,
    trainer: String,
    name: Option<String>,
    expires_on: Option<time::Date>,
    kind: Option<TimeOffKind>,
    starts: Option<OffsetDateTime>,
}

/// Qualifications about to lapse (or lapsed), and time off waiting for a decision: the
/// first 20 of each, in one round trip.
async fn calendar_notices(
    conn: &mut sqlx::PgConnection,
    today: time::Date,
    tz: &time_tz::Tz,
) -> AppResult<(Vec<Expiring>, Vec<TimeOffRequest>)> {
    let rows = sqlx::query_as!(
        NoticeRow,
        r#"(select u.id as "trainer_id!", u.name as "trainer!", q.name as "name?", q.expires_on as "expires_on?",
                   null::text as "kind?: TimeOffKind", null::timestamptz as "starts?"
              from trainer_qualifications q join users u on u.id = q.trainer_id
             where u.is_active and q.expires_on <= $1
             order by q.expires_on, u.name limit 20)
           union all
           (select u.id, u.name, null, null, r.kind, lower(r.during)
              from time_off_requests r join users u on u.id = r.trainer_id
             where r.status = 'pending' order by lower(r.during) limit 20)"#,
        today + Duration::days(crate::trainers::domain::EXPIRY_WARNING_DAYS),
    )
    .fetch_all(&mut *conn)
    .await?;
    let (mut expiring, mut time_off) = (Vec::new(), Vec::new());
    for r in rows {
        match (r.expires_on, r.kind) {
            (Some(expires_on), _) => expiring.push(Expiring {
                expired: expires_on < today,
                expires: expires_on.to_string(),
                trainer_id: r.trainer_id,
                trainer: r.trainer,
                name: r.name.unwrap_or_default(),
            }),
            (None, Some(kind)) => time_off.push(TimeOffRequest {
                from: r.starts.map(|t| fmt::day_time(t, tz)).unwrap_or_default(),
                trainer: r.trainer,
                kind,
            }),
            (None, None) => {}
        }
    }
    Ok((expiring, time_off))
}
