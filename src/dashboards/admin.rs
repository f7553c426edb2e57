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

#[derive(Template)]
#[template(path = "dashboards/admin.html")]
pub struct AdminDashboard {
    pub ctx: PageContext,
    pub pending_bookings: i64,
    pub today: Vec<TodaySession>,
    pub open_shifts: Vec<OpenShift>,
    pub open_shift_count: i64,
}

pub async fn show(State(state): State<AppState>, _admin: Admin, ctx: PageContext) -> AppResult<Response> {
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
    render(&AdminDashboard { ctx, pending_bookings, today, open_shifts, open_shift_count })
}
