//! iCalendar feeds: `/calendar/{token}.ics` lists a family's booked sessions or a
//! trainer's shifts. The unguessable token is the credential (calendar apps cannot
//! sign in); its owner can reset it, which kills the old link.

use axum::{
    Router,
    extract::{Path, State},
    http::header,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use icalendar::{Calendar, Component, Event, EventLike};
use sqlx::FromRow;
use time::OffsetDateTime;
use tower_sessions::Session;

pub mod feed;

pub use feed::feed_url;
use feed::new_token;

use crate::{
    AppState,
    auth::{Role, SignedIn},
    error::{AppError, AppResult},
    web::flash::{self, FlashKind},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/calendar/{file}", get(feed)).route("/calendar/reset", post(reset))
}

#[derive(FromRow)]
struct Item {
    uid: String,
    summary: String,
    location: String,
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
    cancelled: bool,
}

async fn feed(State(state): State<AppState>, Path(file): Path<String>) -> AppResult<Response> {
    let token = file.strip_suffix(".ics").ok_or(AppError::NotFound)?;
    let mut conn = state.pool.acquire().await?;
    let owner: Option<(i64, Role, String)> = sqlx::query_as(
        "select u.id, u.role, u.name from calendar_feeds f join users u on u.id = f.user_id
         where f.token = $1 and u.is_active",
    )
    .bind(token)
    .fetch_optional(&mut *conn)
    .await?;
    let (user_id, role, name) = owner.ok_or(AppError::NotFound)?;
    let items: Vec<Item> = match role {
        Role::Parent => sqlx::query_as(
            "select 'booking-' || p.id || '@portico' as uid, c.first_name || ': ' || a.name as summary,
                    v.name || case when v.address <> '' then ', ' || v.address else '' end as location,
                    s.starts_at, s.ends_at, s.status = 'cancelled' as cancelled
             from booking_participants p
             join bookings b on b.id = p.booking_id
             join children c on c.id = p.child_id
             join sessions s on s.id = p.session_id
             join activities a on a.id = s.activity_id
             join venues v on v.id = s.venue_id
             where b.parent_id = $1 and p.holds_place and s.starts_at > now() - interval '30 days'
             order by s.starts_at",
        ),
        Role::Trainer => sqlx::query_as(
            "select 'shift-' || sh.id || '@portico' as uid, a.name || ' (' || sh.role || ')' as summary,
                    v.name || case when v.address <> '' then ', ' || v.address else '' end as location,
                    s.starts_at, s.ends_at, s.status = 'cancelled' as cancelled
             from shifts sh
             join sessions s on s.id = sh.session_id
             join activities a on a.id = s.activity_id
             join venues v on v.id = s.venue_id
             where sh.trainer_id = $1 and sh.status in ('accepted', 'checked_in', 'checked_out')
               and s.starts_at > now() - interval '30 days'
             order by s.starts_at",
        ),
        Role::Admin => return Err(AppError::NotFound),
    }
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;

    let mut calendar = Calendar::new();
    calendar.name(&format!("Portico: {name}"));
    for item in items {
        let mut event = Event::new();
        event
            .uid(&item.uid)
            .summary(&item.summary)
            .location(&item.location)
            .starts(item.starts_at)
            .ends(item.ends_at);
        if item.cancelled {
            event.status(icalendar::EventStatus::Cancelled);
        }
        calendar.push(event.done());
    }
    Ok((
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8"), (header::CACHE_CONTROL, "no-store")],
        calendar.done().to_string(),
    )
        .into_response())
}

/// A new secret link; the old one stops working at once.
async fn reset(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    session: Session,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    sqlx::query(
        "insert into calendar_feeds (user_id, token) values ($1, $2)
         on conflict (user_id) do update set token = excluded.token, created_at = now()",
    )
    .bind(user.id)
    .bind(new_token())
    .execute(&mut *tx)
    .await?;
    crate::audit::record(&mut tx).by(user.id).action("calendar_feed.reset").entity("user", user.id).await?;
    tx.commit().await?;
    flash::push(
        &session,
        FlashKind::Success,
        "Your calendar link has been reset; the old one no longer works.",
    )
    .await?;
    let back = match user.role {
        Role::Parent => "/parent/bookings",
        _ => user.role.portal(),
    };
    Ok(Redirect::to(back).into_response())
}
