//! The office acting for a family: booking a child onto a session, and moving a
//! booked place to another session (the difference in price added to what is owed, or
//! refunded). Both are recorded in the booking's history as done by the office, and
//! audited.

use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use sqlx::FromRow;
use time::OffsetDateTime;
use tower_sessions::Session;

use super::{
    domain::BookingStatus,
    parse_id,
    store::{self, BookingError, NewItem},
};
use crate::{
    AppState, audit,
    auth::{Admin, AdminRole},
    error::{AppError, AppResult},
    web::{
        FormErrors, PageContext,
        flash::{self, FlashKind},
        fmt,
        form::{Fields, QueryFields, render_with},
    },
};

const DECIDERS: &[AdminRole] = &[AdminRole::Coordinator];

/// One choice in a select.
pub struct Pick {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "bookings/office_new.html")]
pub struct NewPage {
    pub ctx: PageContext,
    pub email: String,
    pub family: Option<String>,
    pub children: Vec<Pick>,
    pub sessions: Vec<Pick>,
    pub errors: FormErrors,
}

#[derive(FromRow)]
struct Family {
    id: i64,
    name: String,
}

async fn family(conn: &mut sqlx::PgConnection, email: &str) -> sqlx::Result<Option<Family>> {
    sqlx::query_as("select id, name from users where email = $1 and role = 'parent' and is_active")
        .bind(email.trim().to_lowercase())
        .fetch_optional(conn)
        .await
}

async fn new_page(
    state: &AppState,
    ctx: PageContext,
    email: &str,
    chosen: (Option<i64>, Option<i64>),
) -> AppResult<NewPage> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let mut errors = FormErrors::default();
    let found = if email.is_empty() { None } else { family(&mut conn, email).await? };
    if !email.is_empty() && found.is_none() {
        errors.add("email", "No parent account uses this email.");
    }
    let mut children = Vec::new();
    let mut sessions = Vec::new();
    if let Some(f) = &found {
        children = store::children_of(&mut conn, f.id)
            .await?
            .into_iter()
            .map(|c| Pick {
                value: c.id.to_string(),
                label: format!("{} {}", c.first_name, c.last_name),
                selected: chosen.0 == Some(c.id),
            })
            .collect();
        sessions = store::upcoming_sessions(&mut conn, &store::SessionFilter::default())
            .await?
            .into_iter()
            .map(|s| Pick {
                value: s.id.to_string(),
                label: format!(
                    "{} · {} · {} ({} left)",
                    fmt::day_time(s.starts_at, tz),
                    s.activity,
                    s.venue,
                    s.places_left()
                ),
                selected: chosen.1 == Some(s.id),
            })
            .collect();
    }
    Ok(NewPage { ctx, email: email.to_owned(), family: found.map(|f| f.name), children, sessions, errors })
}

pub async fn new(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(DECIDERS)?;
    let page = new_page(&state, ctx, query.get("email").unwrap_or_default(), (None, None)).await?;
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    render_with(status, &page)
}

/// Books a child on the family's behalf. Capacity still holds; age limits and the
/// booking cut-off are the office's call, so they are not enforced here.
pub async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    form: Fields,
) -> AppResult<Response> {
    admin.require(DECIDERS)?;
    let email = form.get("email").unwrap_or_default().to_owned();
    let (child_id, session_id) = (form.id("child"), form.id("session"));
    let mut tx = state.pool.begin().await?;
    let found = family(&mut tx, &email).await?;
    let child = match (&found, child_id) {
        (Some(f), Some(id)) => store::children_of(&mut tx, f.id).await?.into_iter().find(|c| c.id == id),
        _ => None,
    };
    let target = match session_id {
        Some(id) => store::session(&mut tx, id).await?.filter(|s| s.status == "scheduled"),
        None => None,
    };
    let (Some(f), Some(child), Some(target)) = (found, child, target) else {
        let mut page = new_page(&state, ctx, &email, (child_id, session_id)).await?;
        if page.family.is_some() {
            if child_id.is_none() {
                page.errors.add("child", "Choose the child to book.");
            }
            if session_id.is_none() {
                page.errors.add("session", "Choose a session.");
            }
        }
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let mut items = [NewItem { session_id: target.id, child_id: child.id, price_pence: target.price_pence }];
    let note = "Booked by the office";
    let booking_id =
        match store::create(&mut tx, f.id, admin.0.id, (BookingStatus::Approved, None), &mut items, note)
            .await
        {
            Ok(id) => id,
            Err(BookingError::Database(err)) => return Err(err.into()),
            Err(conflict) => {
                let mut page = new_page(&state, ctx, &email, (child_id, session_id)).await?;
                let message = match conflict {
                    BookingError::Full { .. } => "That session is full.",
                    _ => "That child is already booked on that session.",
                };
                page.errors.add("session", message);
                return render_with(StatusCode::CONFLICT, &page);
            }
        };
    audit::record(&mut tx)
        .by(admin.0.id)
        .action("booking.created_for_family")
        .entity("booking", booking_id)
        .after(serde_json::json!({ "parent_id": f.id, "child_id": child.id, "session_id": target.id }))
        .await?;
    super::notify_created(&state, &mut tx, booking_id, BookingStatus::Approved).await?;
    flash::done(
        tx,
        &session,
        "Booked for the family; they have been emailed.",
        &format!("/admin/bookings/{booking_id}"),
    )
    .await
}

/// Moves one booked place (a child on a session) to another session of the office's
/// choosing, releasing the old place to the waitlist.
pub async fn move_place(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> AppResult<Response> {
    admin.require(DECIDERS)?;
    let id = parse_id(&id)?;
    let back = format!("/admin/bookings/{id}");
    let place: Option<(i64, i64)> = form
        .get("place")
        .and_then(|p| p.split_once(':'))
        .and_then(|(s, c)| Some((s.parse().ok()?, c.parse().ok()?)));
    let (Some((from_session, child_id)), Some(to_session)) = (place, form.id("to_session")) else {
        flash::push(&session, FlashKind::Error, "Choose the place to move and the session to move it to.")
            .await?;
        return Ok(Redirect::to(&back).into_response());
    };
    let mut tx = state.pool.begin().await?;
    let status = store::lock_status(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let target = store::session(&mut tx, to_session).await?.filter(|s| s.status == "scheduled");
    let (Some(target), true) = (target, status.holds_places()) else {
        flash::push(&session, FlashKind::Error, "That move is not possible.").await?;
        return Ok(Redirect::to(&back).into_response());
    };
    let moved: Option<(i64, i32)> = sqlx::query_as(
        "update booking_participants set holds_place = false
         where booking_id = $1 and session_id = $2 and child_id = $3 and holds_place
         returning id, price_pence",
    )
    .bind(id)
    .bind(from_session)
    .bind(child_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((old_place, old_price)) = moved else { return Err(AppError::NotFound) };
    // A place paid with a package credit stays paid by it; any other costs what the new
    // session costs, and the booking's total follows.
    let new_price = if used_credit(&mut tx, old_place).await? { 0 } else { target.price_pence };
    let inserted = sqlx::query(
        "insert into booking_participants (booking_id, session_id, child_id, price_pence) values ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(target.id)
    .bind(child_id)
    .bind(new_price)
    .execute(&mut *tx)
    .await;
    if let Err(err) = inserted {
        let message = match err.as_database_error().and_then(|e| e.constraint()) {
            Some("sessions_capacity_not_exceeded") => "Nothing moved: that session is full.",
            Some("booking_participants_one_per_child_session") => {
                "Nothing moved: the child is already booked on that session."
            }
            _ => return Err(err.into()),
        };
        tx.rollback().await?;
        flash::push(&session, FlashKind::Error, message).await?;
        return Ok(Redirect::to(&back).into_response());
    }
    let tz = state.config.timezone;
    let old = store::session(&mut tx, from_session).await?.ok_or(AppError::NotFound)?;
    let mut reason = format!(
        "Moved by the office from {} to {}",
        fmt::day_time(old.starts_at, tz),
        fmt::day_time(target.starts_at, tz)
    );
    let change = i64::from(new_price) - i64::from(old_price);
    let mut card_refunds = Vec::new();
    if change != 0 {
        store::adjust_total(&mut tx, id, change).await?;
    }
    if change > 0 {
        reason.push_str(&format!(
            "; the new session costs {} more, added to the amount due",
            fmt::pounds(change)
        ));
    } else if change < 0 {
        // Give back what was paid beyond the new total, never more than the difference.
        let balance = crate::payments::store::lock_balance(&mut tx, crate::ids::BookingId(id))
            .await?
            .ok_or(AppError::NotFound)?;
        let overpaid = balance.paid_pence + balance.discount_pence - i64::from(balance.total_pence);
        let refund_pence = overpaid.min(-change).max(0);
        reason.push_str(&format!("; the new session costs {} less", fmt::pounds(-change)));
        if refund_pence > 0 {
            reason.push_str(&format!(", {} refunded", fmt::pounds(refund_pence)));
            let refund = crate::payments::cancellation::refund_amount(
                &state,
                &mut tx,
                crate::ids::BookingId(id),
                refund_pence,
                &reason,
                Some(admin.0.id),
                crate::payments::cancellation::Cause::Move,
            )
            .await?;
            card_refunds = refund.card_refunds;
        }
    }
    store::record_change(&mut tx, id, Some(status), status, Some(admin.0.id), &reason).await?;
    audit::record(&mut tx)
        .by(admin.0.id)
        .action("booking.moved")
        .entity("booking", id)
        .before(
            serde_json::json!({ "session_id": from_session, "child_id": child_id, "price_pence": old_price }),
        )
        .after(serde_json::json!({ "session_id": target.id, "child_id": child_id, "price_pence": new_price }))
        .await?;
    crate::waitlist::offer_free_places(&state, &mut tx, &[from_session]).await?;
    tx.commit().await?;
    // Card refunds go to Stripe only once the move is committed, each once.
    crate::payments::cancellation::settle(&state, &card_refunds).await;
    flash::push(&session, FlashKind::Success, reason).await?;
    Ok(Redirect::to(&back).into_response())
}

/// Whether the place used a package credit (and has not had it back).
async fn used_credit(conn: &mut sqlx::PgConnection, participant_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from package_credit_movements m where m.participant_id = $1 and m.kind = 'use')
            and not exists (select 1 from package_credit_movements m where m.participant_id = $1 and m.kind = 'return')",
    )
    .bind(participant_id)
    .fetch_one(conn)
    .await
}

/// Sessions a place could move to: upcoming, of the same activity, with room.
pub async fn move_targets(
    conn: &mut sqlx::PgConnection,
    activity_ids: &[i64],
    tz: &time_tz::Tz,
) -> sqlx::Result<Vec<Pick>> {
    let now = OffsetDateTime::now_utc();
    Ok(store::upcoming_sessions(conn, &store::SessionFilter::default())
        .await?
        .into_iter()
        .filter(|s| activity_ids.contains(&s.activity_id) && s.places_left() > 0 && s.starts_at > now)
        .map(|s| Pick {
            value: s.id.to_string(),
            label: format!("{} · {} ({} left)", fmt::day_time(s.starts_at, tz), s.activity, s.places_left()),
            selected: false,
        })
        .collect())
}
