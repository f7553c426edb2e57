//! The feed itself (`/calendar/{token}.ics`) and resetting its link.

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use icalendar::{Calendar, Component, Event, EventLike};
use sqlx::PgConnection;
use time::OffsetDateTime;
use tower_sessions::Session;

use super::FeedFile;
use crate::{
    AppState,
    auth::{Role, SignedIn},
    error::{AppError, AppResult},
    web::{Path, flash},
};

/// How a row of the feed shows in a calendar app.
#[derive(Clone, Copy, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
enum Shown {
    Confirmed,
    /// Not yet confirmed by the office (pending, awaiting payment, changes requested).
    Tentative,
    /// A place or shift that went, kept for 30 days so calendar apps
    /// that only update events (rather than drop missing ones) take it off.
    Cancelled,
}

impl Shown {
    fn status(self) -> icalendar::EventStatus {
        match self {
            Shown::Confirmed => icalendar::EventStatus::Confirmed,
            Shown::Tentative => icalendar::EventStatus::Tentative,
            Shown::Cancelled => icalendar::EventStatus::Cancelled,
        }
    }
}

struct Item {
    uid: String,
    summary: String,
    location: String,
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
    shown: Shown,
    /// The page about it, from the site's root.
    path: String,
}

// The LOCATION is the venue's name and full address, postcode last, on one line.
// A place no longer held (cancelled, rejected, lapsed or moved) is a cancelled event
// for 30 days; drafts were never sent, so they never appear.
async fn family_feed(conn: &mut PgConnection, parent_id: i64) -> sqlx::Result<Vec<Item>> {
    sqlx::query_as!(
        Item,
        r#"
    select 'booking-' || p.id || '@portico' as "uid!", c.first_name || ': ' || a.name as "summary!",
           concat_ws(', ', nullif(btrim(v.name), ''),
               nullif(regexp_replace(btrim(v.address), '\s*\n\s*', ', ', 'g'), ''),
               nullif(btrim(v.postcode), '')) as "location!",
           s.starts_at, s.ends_at,
           case when s.status = 'cancelled' or not p.holds_place then 'cancelled'
                when b.status in ('approved', 'completed') then 'confirmed'
                else 'tentative' end as "shown!: Shown",
           '/parent/bookings/' || b.id as "path!"
    from booking_participants p
    join bookings b on b.id = p.booking_id
    join children c on c.id = p.child_id
    join sessions s on s.id = p.session_id
    join activities a on a.id = s.activity_id
    join venues v on v.id = s.venue_id
    where b.parent_id = $1 and b.status <> 'draft' and s.starts_at > now() - interval '30 days'
      and ((p.holds_place and s.status <> 'cancelled')
           or greatest(p.updated_at, b.updated_at, s.updated_at) > now() - interval '30 days')
    order by s.starts_at, p.id"#,
        parent_id,
    )
    .fetch_all(conn)
    .await
}

async fn trainer_feed(conn: &mut PgConnection, trainer_id: i64) -> sqlx::Result<Vec<Item>> {
    sqlx::query_as!(
        Item,
        r#"
    select 'shift-' || sh.id || '@portico' as "uid!", a.name || ' (' || sh.role || ')' as "summary!",
           concat_ws(', ', nullif(btrim(v.name), ''),
               nullif(regexp_replace(btrim(v.address), '\s*\n\s*', ', ', 'g'), ''),
               nullif(btrim(v.postcode), '')) as "location!",
           s.starts_at, s.ends_at,
           case when s.status = 'cancelled' or sh.status = 'cancelled' then 'cancelled'
                else 'confirmed' end as "shown!: Shown",
           '/trainer/shifts/' || sh.id as "path!"
    from shifts sh
    join sessions s on s.id = sh.session_id
    join activities a on a.id = s.activity_id
    join venues v on v.id = s.venue_id
    where sh.trainer_id = $1 and s.starts_at > now() - interval '30 days'
      and ((sh.status in ('accepted', 'checked_in', 'checked_out') and s.status <> 'cancelled')
           or (sh.status in ('accepted', 'checked_in', 'checked_out', 'cancelled')
               and greatest(sh.updated_at, s.updated_at) > now() - interval '30 days'))
    order by s.starts_at, sh.id"#,
        trainer_id,
    )
    .fetch_all(conn)
    .await
}

pub async fn feed(State(state): State<AppState>, Path(file): Path<FeedFile>) -> AppResult<Response> {
    let token = file.token();
    let mut conn = state.pool.acquire().await?;
    let owner = sqlx::query!(
        r#"select u.id, u.role as "role: Role", u.name from calendar_feeds f join users u on u.id = f.user_id
         where f.token = $1 and u.is_active"#,
        token,
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound)?;
    let items = match owner.role {
        Role::Parent => family_feed(&mut conn, owner.id).await?,
        Role::Trainer => trainer_feed(&mut conn, owner.id).await?,
        Role::Admin => return Err(AppError::NotFound),
    };
    let name = owner.name;

    let mut calendar = Calendar::new();
    calendar.name(&format!("Portico: {name}"));
    for item in items {
        let mut event = Event::new();
        event
            .uid(&item.uid)
            .summary(&item.summary)
            .location(&item.location)
            .url(&format!("{}{}", state.config.base_url, item.path))
            .starts(item.starts_at)
            .ends(item.ends_at)
            .status(item.shown.status());
        calendar.push(event.done());
    }
    Ok((
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8"), (header::CACHE_CONTROL, "no-store")],
        calendar.done().to_string(),
    )
        .into_response())
}

/// A new secret link; the old one stops working at once.
pub async fn reset(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    session: Session,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    super::reset(&mut tx, user.id.0).await?;
    let back = match user.role {
        Role::Parent => "/parent/bookings",
        _ => user.role.portal(),
    };
    flash::done(tx, &session, "Your calendar link has been reset; the old one no longer works.", back).await
}
