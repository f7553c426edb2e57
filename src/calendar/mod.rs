//! iCalendar feeds: `/calendar/{token}.ics` lists a family's booked sessions or a
//! trainer's shifts. The unguessable token is the credential (calendar apps cannot
//! sign in); its owner can reset it, which kills the old link.
//!
//! A booking the office has not confirmed is `TENTATIVE`; a place or shift that went
//! is kept as `CANCELLED` for [`KEEP_CANCELLED`], long enough for calendar apps that
//! only update events (rather than drop missing ones) to take it off.

use axum::{
    Router,
    extract::{Path, State},
    http::header,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use base64::Engine;
use icalendar::{Calendar, Component, Event, EventLike};
use sqlx::{FromRow, PgConnection};
use time::OffsetDateTime;
use tower_sessions::Session;

use crate::{
    AppState,
    auth::{Role, SignedIn},
    error::{AppError, AppResult},
    web::flash::{self, FlashKind},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/calendar/{file}", get(feed)).route("/calendar/reset", post(reset))
}

/// The user's feed URL, creating the token on first use.
pub async fn feed_url(conn: &mut PgConnection, base_url: &str, user_id: i64) -> sqlx::Result<String> {
    let existing: Option<String> = sqlx::query_scalar("select token from calendar_feeds where user_id = $1")
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
    let token = match existing {
        Some(token) => token,
        None => {
            sqlx::query_scalar(
                "insert into calendar_feeds (user_id, token) values ($1, $2)
                 on conflict (user_id) do update set user_id = excluded.user_id returning token",
            )
            .bind(user_id)
            .bind(new_token())
            .fetch_one(&mut *conn)
            .await?
        }
    };
    Ok(format!("{base_url}/calendar/{token}.ics"))
}

fn new_token() -> String {
    let bytes: [u8; 24] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// How long a cancelled place or shift stays in the feed after it was cancelled.
const KEEP_CANCELLED: &str = "30 days";

/// The venue's name and full address, postcode last, on one line.
const LOCATION: &str = r"concat_ws(', ', nullif(btrim(v.name), ''),
    nullif(regexp_replace(btrim(v.address), '\s*\n\s*', ', ', 'g'), ''), nullif(btrim(v.postcode), ''))";

#[derive(FromRow)]
struct Item {
    uid: String,
    summary: String,
    location: String,
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
    /// `confirmed`, `tentative` or `cancelled`.
    status: String,
    /// The page about it, from the site's root.
    path: String,
}

fn status(item: &Item) -> icalendar::EventStatus {
    match item.status.as_str() {
        "cancelled" => icalendar::EventStatus::Cancelled,
        "tentative" => icalendar::EventStatus::Tentative,
        _ => icalendar::EventStatus::Confirmed,
    }
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
    let sql = match role {
        // A place no longer held (cancelled, rejected, lapsed or moved) is a cancelled
        // event; drafts were never sent, so they never appear.
        Role::Parent => format!(
            "select 'booking-' || p.id || '@portico' as uid, c.first_name || ': ' || a.name as summary,
                    {LOCATION} as location, s.starts_at, s.ends_at,
                    case when s.status = 'cancelled' or not p.holds_place then 'cancelled'
                         when b.status in ('approved', 'completed') then 'confirmed'
                         else 'tentative' end as status,
                    '/parent/bookings/' || b.id as path
             from booking_participants p
             join bookings b on b.id = p.booking_id
             join children c on c.id = p.child_id
             join sessions s on s.id = p.session_id
             join activities a on a.id = s.activity_id
             join venues v on v.id = s.venue_id
             where b.parent_id = $1 and b.status <> 'draft' and s.starts_at > now() - interval '30 days'
               and ((p.holds_place and s.status <> 'cancelled')
                    or greatest(p.updated_at, b.updated_at, s.updated_at) > now() - interval '{KEEP_CANCELLED}')
             order by s.starts_at, p.id"
        ),
        Role::Trainer => format!(
            "select 'shift-' || sh.id || '@portico' as uid, a.name || ' (' || sh.role || ')' as summary,
                    {LOCATION} as location, s.starts_at, s.ends_at,
                    case when s.status = 'cancelled' or sh.status = 'cancelled' then 'cancelled'
                         else 'confirmed' end as status,
                    '/trainer/shifts/' || sh.id as path
             from shifts sh
             join sessions s on s.id = sh.session_id
             join activities a on a.id = s.activity_id
             join venues v on v.id = s.venue_id
             where sh.trainer_id = $1 and s.starts_at > now() - interval '30 days'
               and ((sh.status in ('accepted', 'checked_in', 'checked_out') and s.status <> 'cancelled')
                    or (sh.status in ('accepted', 'checked_in', 'checked_out', 'cancelled')
                        and greatest(sh.updated_at, s.updated_at) > now() - interval '{KEEP_CANCELLED}'))
             order by s.starts_at, sh.id"
        ),
        Role::Admin => return Err(AppError::NotFound),
    };
    let items: Vec<Item> = sqlx::query_as(&sql).bind(user_id).fetch_all(&mut *conn).await?;

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
            .status(status(&item));
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
