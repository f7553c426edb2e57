//! `/trainer`: this week's shifts, today first.

use askama::Template;
use axum::{extract::State, response::Response};
use sqlx::FromRow;
use time::OffsetDateTime;
use time_tz::OffsetDateTimeExt;

use crate::{
    AppState,
    auth::Trainer,
    error::AppResult,
    web::{PageContext, fmt, form::render},
};

#[derive(FromRow)]
struct ShiftRow {
    activity: String,
    venue: String,
    address: String,
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
    role: String,
    status: String,
    booked: i32,
    capacity: i32,
}

pub struct ShiftCard {
    pub day: String,
    pub from: String,
    pub to: String,
    pub activity: String,
    pub venue: String,
    pub address: String,
    pub role: String,
    pub status: String,
    pub status_key: String,
    pub booked: i32,
    pub capacity: i32,
    pub is_today: bool,
}

#[derive(Template)]
#[template(path = "dashboards/trainer.html")]
pub struct TrainerDashboard {
    pub ctx: PageContext,
    pub today: Vec<ShiftCard>,
    pub rest_of_week: Vec<ShiftCard>,
    pub offered: i64,
}

pub async fn show(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let today = super::local_today(tz);
    let (week_start, week_end) = super::week_bounds(today, tz);
    let rows: Vec<ShiftRow> = sqlx::query_as(
        "select a.name as activity, v.name as venue, v.address, s.starts_at, s.ends_at,
                sh.role, sh.status, s.places_taken as booked, s.capacity
         from shifts sh
         join sessions s on s.id = sh.session_id
         join activities a on a.id = s.activity_id
         join venues v on v.id = s.venue_id
         where sh.trainer_id = $1
           and sh.status in ('offered', 'accepted', 'checked_in', 'checked_out')
           and s.status <> 'cancelled'
           and s.starts_at >= $2 and s.starts_at < $3
         order by s.starts_at",
    )
    .bind(trainer.id)
    .bind(week_start)
    .bind(week_end)
    .fetch_all(&state.pool)
    .await?;
    let offered = rows.iter().filter(|r| r.status == "offered").count() as i64;

    let (today_cards, rest): (Vec<ShiftCard>, Vec<ShiftCard>) = rows
        .into_iter()
        .map(|r| ShiftCard {
            is_today: r.starts_at.to_timezone(tz).date() == today,
            day: fmt::long_date(r.starts_at, tz),
            from: fmt::time_of_day(r.starts_at, tz),
            to: fmt::time_of_day(r.ends_at, tz),
            activity: r.activity,
            venue: r.venue,
            address: r.address,
            role: r.role,
            status: r.status.replace('_', " "),
            status_key: r.status,
            booked: r.booked,
            capacity: r.capacity,
        })
        .partition(|c| c.is_today);
    render(&TrainerDashboard { ctx, today: today_cards, rest_of_week: rest, offered })
}
