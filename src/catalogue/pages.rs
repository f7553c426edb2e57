//! `/admin/activities` and `/admin/venues`: list, add, edit, deactivate.

use askama::Template;
use axum::{Form, extract::State, http::StatusCode, response::Response};
use tower_sessions::Session;

use super::{
    EDITORS,
    actions::{self, Refused},
    domain::{ActivityForm, Audience, VenueForm, VenueKind},
    store::{self, ActivityRow, Offerable, VenueRow},
};
use crate::{
    AppState,
    auth::Admin,
    error::{AppError, AppResult},
    ids::{ActivityId, VenueId},
    money::Money,
    web::{
        FormErrors, PageContext, Path, flash, fmt,
        form::{render, render_with},
    },
};

// Activities ----------------------------------------------------------------------------

pub struct ActivityLine {
    pub row: ActivityRow,
    pub price: String,
    pub ages: String,
}

#[derive(Template)]
#[template(path = "catalogue/activities.html")]
pub struct ActivitiesPage {
    pub ctx: PageContext,
    pub activities: Vec<ActivityLine>,
}

pub async fn activities(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let mut conn = state.pool.acquire().await?;
    let activities = store::activities(&mut conn, true)
        .await?
        .into_iter()
        .map(|row| ActivityLine {
            price: fmt::pounds(i64::from(row.price_pence)),
            ages: match (row.min_age_years, row.max_age_years) {
                (Some(min), Some(max)) => format!("ages {min}–{max}"),
                (Some(min), None) => format!("ages {min}+"),
                (None, Some(max)) => format!("up to age {max}"),
                (None, None) => "any age".into(),
            },
            row,
        })
        .collect();
    render(&ActivitiesPage { ctx, activities })
}

#[derive(Template)]
#[template(path = "catalogue/activity_form.html")]
pub struct ActivityFormPage {
    pub ctx: PageContext,
    pub activity_id: Option<i64>,
    pub heading: String,
    pub form: ActivityForm,
    pub errors: FormErrors,
    pub audiences: [Audience; 3],
}

impl ActivityFormPage {
    pub fn action(&self) -> String {
        self.activity_id
            .map_or_else(|| "/admin/activities/new".to_owned(), |id| format!("/admin/activities/{id}/edit"))
    }
}

fn activity_form(row: &ActivityRow) -> ActivityForm {
    let opt = |n: Option<i32>| n.map(|n| n.to_string()).unwrap_or_default();
    ActivityForm {
        name: row.name.clone(),
        description: row.description.clone(),
        min_age: opt(row.min_age_years),
        max_age: opt(row.max_age_years),
        duration_minutes: row.default_duration_minutes.to_string(),
        capacity: row.default_capacity.to_string(),
        price: Money::from_pence(row.price_pence).to_input(),
        requires_approval: row.requires_approval.then(|| "yes".to_owned()),
        pay_at_booking: row.pay_at_booking.then(|| "yes".to_owned()),
        booking_cutoff_hours: row.booking_cutoff_hours.to_string(),
        cancellation_cutoff_hours: row.cancellation_cutoff_hours.to_string(),
        waitlist_offer_hours: row.waitlist_offer_hours.to_string(),
        children_per_trainer: opt(row.children_per_trainer),
        qualifications: row.qualifications.clone(),
        audience: row.audience.as_str().to_owned(),
        syllabus: row.syllabus.clone(),
        certificate_valid_months: opt(row.certificate_valid_months),
    }
}

pub async fn new_activity_form(admin: Admin, ctx: PageContext) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let form = ActivityForm {
        cancellation_cutoff_hours: "24".into(),
        booking_cutoff_hours: "0".into(),
        waitlist_offer_hours: "24".into(),
        ..Default::default()
    };
    render(&ActivityFormPage {
        ctx,
        activity_id: None,
        heading: "Add an activity".into(),
        form,
        errors: FormErrors::default(),
        audiences: Audience::ALL,
    })
}

pub async fn create_activity(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Form(form): Form<ActivityForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let errors = match form.parse() {
        Ok(activity) => {
            let mut tx = state.pool.begin().await?;
            match actions::create_activity(&mut tx, admin.0.id.0, &activity).await? {
                Ok(_) => {
                    let message = format!("{} is in the catalogue.", activity.name);
                    return flash::done(tx, &session, message, "/admin/activities").await;
                }
                Err(errors) => errors,
            }
        }
        Err(errors) => errors,
    };
    let page = ActivityFormPage {
        ctx,
        activity_id: None,
        heading: "Add an activity".into(),
        form,
        errors,
        audiences: Audience::ALL,
    };
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

pub async fn edit_activity_form(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    Path(ActivityId(id)): Path<ActivityId>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let mut conn = state.pool.acquire().await?;
    let row = store::activity(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    render(&ActivityFormPage {
        ctx,
        activity_id: Some(id),
        heading: format!("Edit {}", row.name),
        form: activity_form(&row),
        errors: FormErrors::default(),
        audiences: Audience::ALL,
    })
}

pub async fn update_activity(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(ActivityId(id)): Path<ActivityId>,
    Form(form): Form<ActivityForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let errors = match form.parse() {
        Ok(activity) => {
            let mut tx = state.pool.begin().await?;
            match actions::update_activity(&mut tx, admin.0.id.0, id, &activity).await? {
                Ok(()) => {
                    let message = format!("{} is saved.", activity.name);
                    return flash::done(tx, &session, message, "/admin/activities").await;
                }
                Err(Refused::NotFound) => return Err(AppError::NotFound),
                Err(Refused::Invalid(errors)) => errors,
            }
        }
        Err(errors) => errors,
    };
    // The form comes back under the activity's saved name (none: not found).
    let mut conn = state.pool.acquire().await?;
    let row = store::activity(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let page = ActivityFormPage {
        ctx,
        activity_id: Some(id),
        heading: format!("Edit {}", row.name),
        form,
        errors,
        audiences: Audience::ALL,
    };
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// A kind of catalogue entry that can be taken out of use and brought back.
pub(super) struct Offered {
    table: Offerable,
    list: &'static str,
    /// What happens once it is back, and once it is out, after its name.
    back: &'static str,
    out: &'static str,
}

const ACTIVITY: Offered = Offered {
    table: Offerable::Activities,
    list: "/admin/activities",
    back: "is offered again.",
    out: "is deactivated: no new sessions can use it; existing ones stay.",
};

const VENUE: Offered = Offered {
    table: Offerable::Venues,
    list: "/admin/venues",
    back: "is in use again.",
    out: "is deactivated.",
};

pub(super) const PACKAGE: Offered = Offered {
    table: Offerable::Packages,
    list: "/admin/packages",
    back: "is on sale again.",
    out: "is deactivated: no one can buy it; packages already bought stay.",
};

/// Deactivates or reactivates one entry.
pub(super) async fn set_active(
    state: AppState,
    admin: Admin,
    session: Session,
    id: i64,
    kind: &Offered,
    active: bool,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let mut tx = state.pool.begin().await?;
    let name = actions::set_active(&mut tx, admin.0.id.0, kind.table, id, active)
        .await?
        .ok_or(AppError::NotFound)?;
    let message = format!("{name} {}", if active { kind.back } else { kind.out });
    flash::done(tx, &session, message, kind.list).await
}

pub async fn deactivate_activity(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(ActivityId(id)): Path<ActivityId>,
) -> AppResult<Response> {
    set_active(state, admin, session, id, &ACTIVITY, false).await
}

pub async fn reactivate_activity(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(ActivityId(id)): Path<ActivityId>,
) -> AppResult<Response> {
    set_active(state, admin, session, id, &ACTIVITY, true).await
}

// Venues --------------------------------------------------------------------------------

pub struct KindChoice {
    pub value: &'static str,
    pub label: &'static str,
}

#[derive(Template)]
#[template(path = "catalogue/venues.html")]
pub struct VenuesPage {
    pub ctx: PageContext,
    pub venues: Vec<VenueRow>,
}

pub async fn venues(State(state): State<AppState>, admin: Admin, ctx: PageContext) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let mut conn = state.pool.acquire().await?;
    let venues = store::venues(&mut conn, true).await?;
    render(&VenuesPage { ctx, venues })
}

#[derive(Template)]
#[template(path = "catalogue/venue_form.html")]
pub struct VenueFormPage {
    pub ctx: PageContext,
    pub venue_id: Option<i64>,
    pub heading: String,
    pub form: VenueForm,
    pub kinds: Vec<KindChoice>,
    pub errors: FormErrors,
}

impl VenueFormPage {
    fn new(
        ctx: PageContext,
        venue_id: Option<i64>,
        heading: String,
        form: VenueForm,
        errors: FormErrors,
    ) -> Self {
        let kinds =
            VenueKind::ALL.iter().map(|k| KindChoice { value: k.as_str(), label: k.label() }).collect();
        Self { ctx, venue_id, heading, form, kinds, errors }
    }

    pub fn action(&self) -> String {
        self.venue_id.map_or_else(|| "/admin/venues/new".to_owned(), |id| format!("/admin/venues/{id}/edit"))
    }
}

pub async fn new_venue_form(admin: Admin, ctx: PageContext) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let form = VenueForm { kind: "site".into(), ..Default::default() };
    render(&VenueFormPage::new(ctx, None, "Add a venue".into(), form, FormErrors::default()))
}

pub async fn create_venue(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Form(form): Form<VenueForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let errors = match form.parse() {
        Ok(venue) => {
            let mut tx = state.pool.begin().await?;
            match actions::create_venue(&mut tx, admin.0.id.0, &venue).await? {
                Ok(_) => {
                    return flash::done(tx, &session, format!("{} is added.", venue.name), "/admin/venues")
                        .await;
                }
                Err(errors) => errors,
            }
        }
        Err(errors) => errors,
    };
    let page = VenueFormPage::new(ctx, None, "Add a venue".into(), form, errors);
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

pub async fn edit_venue_form(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    Path(VenueId(id)): Path<VenueId>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let mut conn = state.pool.acquire().await?;
    let row = store::venue(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let form = VenueForm {
        name: row.name.clone(),
        kind: row.kind.as_str().to_owned(),
        address: row.address.clone(),
        postcode: row.postcode.clone(),
        capacity: row.capacity.map(|c| c.to_string()).unwrap_or_default(),
        notes: row.notes.clone(),
    };
    render(&VenueFormPage::new(ctx, Some(id), format!("Edit {}", row.name), form, FormErrors::default()))
}

pub async fn update_venue(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(VenueId(id)): Path<VenueId>,
    Form(form): Form<VenueForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let errors = match form.parse() {
        Ok(venue) => {
            let mut tx = state.pool.begin().await?;
            match actions::update_venue(&mut tx, admin.0.id.0, id, &venue).await? {
                Ok(()) => {
                    return flash::done(tx, &session, format!("{} is saved.", venue.name), "/admin/venues")
                        .await;
                }
                Err(Refused::NotFound) => return Err(AppError::NotFound),
                Err(Refused::Invalid(errors)) => errors,
            }
        }
        Err(errors) => errors,
    };
    // The form comes back under the venue's saved name (none: not found).
    let mut conn = state.pool.acquire().await?;
    let row = store::venue(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let page = VenueFormPage::new(ctx, Some(id), format!("Edit {}", row.name), form, errors);
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

pub async fn deactivate_venue(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(VenueId(id)): Path<VenueId>,
) -> AppResult<Response> {
    set_active(state, admin, session, id, &VENUE, false).await
}

pub async fn reactivate_venue(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(VenueId(id)): Path<VenueId>,
) -> AppResult<Response> {
    set_active(state, admin, session, id, &VENUE, true).await
}
