//! `/parent`: the family's children and what is coming up.

use askama::Template;
use axum::{extract::State, response::Response};
use sqlx::FromRow;
use time::{Date, OffsetDateTime};

use crate::{
    AppState,
    auth::Parent,
    error::AppResult,
    web::{PageContext, fmt, form::render},
};

#[derive(FromRow)]
struct ChildRow {
    first_name: String,
    last_name: String,
    date_of_birth: Date,
    has_medical_flags: bool,
}

pub struct ChildCard {
    pub name: String,
    pub age: i32,
    pub has_medical_flags: bool,
}

#[derive(FromRow)]
struct UpcomingRow {
    child_name: String,
    activity: String,
    venue: String,
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
    status: String,
}

pub struct Upcoming {
    pub child_name: String,
    pub activity: String,
    pub venue: String,
    pub when: String,
    pub until: String,
    pub status: String,
    pub status_key: String,
}

#[derive(Template)]
#[template(path = "dashboards/parent.html")]
pub struct ParentDashboard {
    pub ctx: PageContext,
    pub children: Vec<ChildCard>,
    pub upcoming: Vec<Upcoming>,
}

pub async fn show(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let today = super::local_today(tz);
    let children: Vec<ChildRow> = sqlx::query_as(
        "select first_name, last_name, date_of_birth,
                (medical_notes <> '' or allergies <> '' or additional_needs <> '') as has_medical_flags
         from children where parent_id = $1 and archived_at is null
         order by date_of_birth",
    )
    .bind(parent.id)
    .fetch_all(&state.pool)
    .await?;
    let upcoming: Vec<UpcomingRow> = sqlx::query_as(
        "select c.first_name as child_name, a.name as activity,
                v.name as venue, s.starts_at, s.ends_at, b.status
         from booking_participants p
         join bookings b on b.id = p.booking_id
         join children c on c.id = p.child_id
         join sessions s on s.id = p.session_id
         join activities a on a.id = s.activity_id
         join venues v on v.id = s.venue_id
         where b.parent_id = $1 and p.holds_place and s.status <> 'cancelled'
           and s.starts_at > now()
         order by s.starts_at, c.first_name
         limit 12",
    )
    .bind(parent.id)
    .fetch_all(&state.pool)
    .await?;

    let children = children
        .into_iter()
        .map(|c| ChildCard {
            name: format!("{} {}", c.first_name, c.last_name),
            age: crate::bookings::domain::age_on(c.date_of_birth, today),
            has_medical_flags: c.has_medical_flags,
        })
        .collect();
    let upcoming = upcoming
        .into_iter()
        .map(|u| Upcoming {
            child_name: u.child_name,
            activity: u.activity,
            venue: u.venue,
            when: fmt::day_time(u.starts_at, tz),
            until: fmt::time_of_day(u.ends_at, tz),
            status: u.status.replace('_', " "),
            status_key: u.status,
        })
        .collect();
    render(&ParentDashboard { ctx, children, upcoming })
}
