//! The office acting for a family: booking a child onto a session, and moving a
//! booked place to another session (the difference in price added to what is owed, or
//! refunded). Both are recorded in the booking's history as done by the office, and
//! audited.

use askama::Template;
use axum::{
    Form,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use time::OffsetDateTime;
use tower_sessions::Session;

use super::{
    actions::{self, BookingRefused, BookingRequest, MoveRefused},
    domain::PlaceRefused,
    store::{self, NewItem},
    views::Choice,
};
use crate::{
    AppState,
    auth::{Admin, AdminRole},
    error::AppResult,
    ids::{BookingId, ChildId, SessionId},
    states::SessionStatus,
    web::{
        FormErrors, PageContext, Path,
        flash::{self, FlashKind},
        fmt,
        form::{QueryFields, render_with},
    },
};

const DECIDERS: &[AdminRole] = &[AdminRole::Coordinator];

#[derive(Template)]
#[template(path = "bookings/office_new.html")]
pub struct NewPage {
    pub ctx: PageContext,
    pub email: String,
    pub family: Option<String>,
    pub children: Vec<Choice>,
    pub sessions: Vec<Choice>,
    pub errors: FormErrors,
}

struct Family {
    id: i64,
    name: String,
}

async fn family(conn: &mut sqlx::PgConnection, email: &str) -> sqlx::Result<Option<Family>> {
    sqlx::query_as!(
        Family,
        "select id, name from users where email = $1 and role = 'parent' and is_active",
        email.trim().to_lowercase(),
    )
    .fetch_optional(conn)
    .await
}

async fn new_page(
    state: &AppState,
    ctx: PageContext,
    email: &str,
    chosen: (Option<ChildId>, Option<SessionId>),
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
            .map(|c| Choice {
                value: c.id.to_string(),
                label: format!("{} {}", c.first_name, c.last_name),
                selected: chosen.0 == Some(c.id),
            })
            .collect();
        sessions = store::upcoming_sessions(&mut conn, &store::SessionFilter::default())
            .await?
            .into_iter()
            .map(|s| Choice {
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

/// The office's booking form: the family's email, the child and the session.
#[derive(Deserialize, Default)]
pub struct OfficeBookingForm {
    #[serde(default)]
    email: String,
    child: Option<String>,
    session: Option<String>,
}

impl OfficeBookingForm {
    fn chosen(&self) -> (Option<ChildId>, Option<SessionId>) {
        let child = self.child.as_deref().and_then(|v| v.parse().ok());
        (child, self.session.as_deref().and_then(|v| v.parse().ok()))
    }
}

/// Books a child on the family's behalf through `bookings::book`. Capacity still
/// holds; age limits and the booking cut-off are the office's call, so they are not
/// enforced here.
pub async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Form(form): Form<OfficeBookingForm>,
) -> AppResult<Response> {
    admin.require(DECIDERS)?;
    let (child_id, session_id) = form.chosen();
    let mut tx = state.pool.begin().await?;
    let found = family(&mut tx, &form.email).await?;
    let child = match (&found, child_id) {
        (Some(f), Some(id)) => store::children_of(&mut tx, f.id).await?.into_iter().find(|c| c.id == id),
        _ => None,
    };
    let target = match session_id {
        Some(id) => store::session(&mut tx, id).await?.filter(|s| s.status == SessionStatus::Scheduled),
        None => None,
    };
    let (Some(f), Some(child), Some(target)) = (found, child, target) else {
        let mut page = new_page(&state, ctx, &form.email, (child_id, session_id)).await?;
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
    let request = BookingRequest {
        parent_id: f.id,
        sessions: std::slice::from_ref(&target),
        items: vec![NewItem { session_id: target.id, child_id: child.id, price_pence: target.price_pence }],
        note: "Booked by the office".into(),
        draft: false,
        use_credits: false,
        discount: None,
    };
    match actions::book(&state, &mut tx, &admin.0, request).await? {
        Ok(booked) => {
            let to = format!("/admin/bookings/{}", booked.id);
            flash::done(tx, &session, "Booked for the family; they have been emailed.", &to).await
        }
        Err(refused) => {
            tx.rollback().await?;
            let mut page = new_page(&state, ctx, &form.email, (child_id, session_id)).await?;
            let message = match refused {
                BookingRefused::Place(PlaceRefused::Full(_)) => "That session is full.",
                BookingRefused::Place(PlaceRefused::AlreadyBooked(..)) | BookingRefused::Discount(_) => {
                    "That child is already booked on that session."
                }
            };
            page.errors.add("session", message);
            render_with(StatusCode::CONFLICT, &page)
        }
    }
}

/// The move form: the place (`session:child`) and the session to move it to.
#[derive(Deserialize, Default)]
pub struct MoveForm {
    place: Option<String>,
    to_session: Option<String>,
}

impl MoveForm {
    pub fn parse(&self) -> Option<((SessionId, ChildId), SessionId)> {
        let (s, c) = self.place.as_deref()?.split_once(':')?;
        Some(((s.parse().ok()?, c.parse().ok()?), self.to_session.as_deref()?.parse().ok()?))
    }
}

/// Moves one booked place to another session of the office's choosing (see
/// `actions::move_place`).
pub async fn move_place(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(id): Path<BookingId>,
    Form(form): Form<MoveForm>,
) -> AppResult<Response> {
    admin.require(DECIDERS)?;
    let back = format!("/admin/bookings/{id}");
    let Some((place, to_session)) = form.parse() else {
        flash::push(&session, FlashKind::Error, "Choose the place to move and the session to move it to.")
            .await?;
        return Ok(Redirect::to(&back).into_response());
    };
    let mut tx = state.pool.begin().await?;
    let moved = match actions::move_place(&state, &mut tx, &admin.0, id, place, to_session).await? {
        Ok(moved) => moved,
        Err(refused) => {
            tx.rollback().await?;
            let message = match refused {
                MoveRefused::NoPlace => return Err(crate::error::AppError::NotFound),
                MoveRefused::NotPossible => "That move is not possible.",
                MoveRefused::Place(PlaceRefused::Full(_)) => "Nothing moved: that session is full.",
                MoveRefused::Place(PlaceRefused::AlreadyBooked(..)) => {
                    "Nothing moved: the child is already booked on that session."
                }
            };
            flash::push(&session, FlashKind::Error, message).await?;
            return Ok(Redirect::to(&back).into_response());
        }
    };
    tx.commit().await?;
    // Card refunds go to Stripe only once the move is committed, each once.
    crate::payments::cancellation::settle(&state, &moved.card_refunds).await;
    flash::push(&session, FlashKind::Success, moved.reason).await?;
    Ok(Redirect::to(&back).into_response())
}

/// Sessions a place could move to: upcoming, of the same activity, with room.
pub async fn move_targets(
    conn: &mut sqlx::PgConnection,
    activity_ids: &[i64],
    tz: &time_tz::Tz,
) -> sqlx::Result<Vec<Choice>> {
    let now = OffsetDateTime::now_utc();
    Ok(store::upcoming_sessions(conn, &store::SessionFilter::default())
        .await?
        .into_iter()
        .filter(|s| activity_ids.contains(&s.activity_id) && s.places_left() > 0 && s.starts_at > now)
        .map(|s| Choice {
            value: s.id.to_string(),
            label: format!("{} · {} ({} left)", fmt::day_time(s.starts_at, tz), s.activity, s.places_left()),
            selected: false,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_move_names_a_place_and_a_session() {
        let form =
            |place: &str, to: &str| MoveForm { place: Some(place.into()), to_session: Some(to.into()) };
        assert_eq!(form("3:4", "9").parse(), Some(((SessionId(3), ChildId(4)), SessionId(9))));
        assert_eq!(form("3", "9").parse(), None);
        assert_eq!(form("3:4", "").parse(), None);
        assert_eq!(MoveForm::default().parse(), None);
    }
}
