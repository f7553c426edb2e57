//! Booking named people into a hold: the office finds the customer's account by email,
//! ticks who comes, and `Book` ends the hold and books them in one transaction.

use askama::Template;
use axum::{extract::State, http::StatusCode, response::Response};
use tower_sessions::Session;

use super::{
    EDITORS,
    actions::{self, ConvertRefused},
    store,
};
use crate::{
    AppState,
    auth::Admin,
    bookings::domain::PlaceRefused,
    error::{AppError, AppResult},
    ids::{ChildId, HoldId},
    web::{
        Choice, FormErrors, PageContext, Path, flash, fmt,
        form::{Form, QueryFields, render_with},
    },
};

#[derive(Template)]
#[template(path = "inquiries/convert.html")]
pub struct ConvertPage {
    pub ctx: PageContext,
    pub id: HoldId,
    pub summary: String,
    pub back: String,
    pub email: String,
    pub family: Option<String>,
    pub people: Vec<Choice>,
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

async fn page(
    state: &AppState,
    ctx: PageContext,
    id: HoldId,
    email: &str,
    chosen: &[ChildId],
    mut errors: FormErrors,
) -> AppResult<ConvertPage> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let hold = store::lock_hold(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let summary = format!(
        "{} places on {} · {}, held for {} until {}",
        hold.places,
        hold.course,
        fmt::day_time(hold.starts_at, tz),
        hold.held_for,
        fmt::day_time(hold.expires_at, tz)
    );
    let found = if email.trim().is_empty() { None } else { family(&mut conn, email).await? };
    if !email.trim().is_empty() && found.is_none() {
        errors.add("email", "No customer account uses this email.");
    }
    let mut people = Vec::new();
    if let Some(f) = &found {
        people = crate::bookings::store::children_of(&mut conn, f.id)
            .await?
            .into_iter()
            .map(|c| {
                Choice::new(
                    c.id.to_string(),
                    format!("{} {}", c.first_name, c.last_name),
                    chosen.contains(&c.id),
                )
            })
            .collect();
    }
    let back = match hold.inquiry_id {
        Some(inquiry) => format!("/admin/inquiries/{inquiry}"),
        None => format!("/admin/sessions/{}", hold.session_id),
    };
    Ok(ConvertPage {
        ctx,
        id,
        summary,
        back,
        email: email.trim().to_owned(),
        family: found.map(|f| f.name),
        people,
        errors,
    })
}

pub async fn form(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    Path(id): Path<HoldId>,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let page =
        page(&state, ctx, id, query.get("email").unwrap_or_default(), &[], FormErrors::default()).await?;
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    render_with(status, &page)
}

/// The customer's email and who of theirs comes (ticked boxes named `person`).
#[derive(serde::Deserialize)]
pub struct ConvertForm {
    #[serde(default)]
    email: String,
    #[serde(default, rename = "person", deserialize_with = "crate::web::form::ids")]
    people: Vec<i64>,
}

pub async fn convert(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<HoldId>,
    Form(form): Form<ConvertForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let email = form.email.trim().to_owned();
    let chosen: Vec<ChildId> = form.people.into_iter().map(ChildId).collect();
    let mut tx = state.pool.begin().await?;
    let found = family(&mut tx, &email).await?;
    let children = match &found {
        Some(f) => crate::bookings::store::children_of(&mut tx, f.id).await?,
        None => Vec::new(),
    };
    let mut errors = FormErrors::default();
    if chosen.is_empty() || !chosen.iter().all(|c| children.iter().any(|k| k.id == *c)) {
        errors.add("person", "Tick who comes.");
    }
    let Some(f) = found.filter(|_| errors.is_empty()) else {
        tx.rollback().await?;
        let page = page(&state, ctx, id, &email, &chosen, errors).await?;
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let message = match actions::convert(&state, &mut tx, &admin.0, id, f.id, &chosen).await? {
        Ok((_, booking)) => {
            let to = format!("/admin/bookings/{booking}");
            return flash::done(
                tx,
                &session,
                "Booked into the held places; the customer has been emailed.",
                &to,
            )
            .await;
        }
        Err(ConvertRefused::NotHeld) => {
            "This hold has ended or expired; book through Bookings instead.".to_owned()
        }
        Err(ConvertRefused::TooMany(places)) => {
            format!("Only {places} places are held: tick at most {places}.")
        }
        Err(ConvertRefused::Place(PlaceRefused::Full(_))) => {
            "The date has no place left for everyone ticked.".into()
        }
        Err(ConvertRefused::Place(PlaceRefused::AlreadyBooked(..))) => {
            "Someone ticked is already booked on it.".into()
        }
    };
    tx.rollback().await?;
    let mut errors = FormErrors::default();
    errors.add("person", message);
    let page = page(&state, ctx, id, &email, &chosen, errors).await?;
    render_with(StatusCode::CONFLICT, &page)
}
