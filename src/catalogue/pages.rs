//! `/admin/activities` and `/admin/venues`: list, add, edit, deactivate.

use askama::Template;
use axum::{Form, extract::State, http::StatusCode, response::Response};
use serde_json::json;
use tower_sessions::Session;

use super::{
    EDITORS,
    domain::{ActivityForm, VENUE_KINDS, VenueForm},
    store::{self, ActivityRow, Offerable, VenueRow},
};
use crate::{
    AppState, audit,
    auth::Admin,
    db::OnConstraint,
    error::{AppError, AppResult},
    ids::{ActivityId, VenueId},
    money::Money,
    web::{
        FormErrors, PageContext, Path, flash, fmt,
        form::{render, render_with},
    },
};

/// The form's errors when the database refused it for one field.
pub(super) fn field_error(field: &'static str, message: &'static str) -> FormErrors {
    let mut errors = FormErrors::default();
    errors.add(field, message);
    errors
}

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
    }
}

/// The message by the field for a constraint the database refused.
fn activity_constraint_error(constraint: &str) -> Option<(&'static str, &'static str)> {
    match constraint {
        "activities_name_key" => Some(("name", "An activity already has this name.")),
        "activities_age_range" => Some(("max_age", "The oldest age must not be below the youngest.")),
        _ => None,
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
    let again = |ctx, form, errors| {
        let page =
            ActivityFormPage { ctx, activity_id: None, heading: "Add an activity".into(), form, errors };
        render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    let activity = match form.parse() {
        Ok(a) => a,
        Err(errors) => return again(ctx, form, errors),
    };
    let mut tx = state.pool.begin().await?;
    let id =
        match store::insert_activity(&mut tx, &activity).await.on_constraint(activity_constraint_error)? {
            Ok(id) => id,
            Err((field, message)) => return again(ctx, form, field_error(field, message)),
        };
    let after = activity_json(&activity);
    audit::record(&mut tx)
        .by(admin.0.id)
        .action("activity.created")
        .entity("activity", id)
        .after(after)
        .await?;
    flash::done(tx, &session, format!("{} is in the catalogue.", activity.name), "/admin/activities").await
}

fn activity_json(a: &super::domain::Activity) -> serde_json::Value {
    json!({
        "name": a.name, "min_age": a.min_age, "max_age": a.max_age,
        "duration_minutes": a.duration_minutes, "capacity": a.capacity, "price_pence": a.price.pence(),
        "requires_approval": a.requires_approval, "pay_at_booking": a.pay_at_booking,
        "booking_cutoff_hours": a.booking_cutoff_hours,
        "cancellation_cutoff_hours": a.cancellation_cutoff_hours,
        "waitlist_offer_hours": a.waitlist_offer_hours, "children_per_trainer": a.children_per_trainer,
        "qualifications": a.qualifications,
    })
}

fn activity_row_json(a: &ActivityRow) -> serde_json::Value {
    json!({
        "name": a.name, "min_age": a.min_age_years, "max_age": a.max_age_years,
        "duration_minutes": a.default_duration_minutes, "capacity": a.default_capacity,
        "price_pence": a.price_pence, "requires_approval": a.requires_approval, "pay_at_booking": a.pay_at_booking,
        "booking_cutoff_hours": a.booking_cutoff_hours, "cancellation_cutoff_hours": a.cancellation_cutoff_hours,
        "waitlist_offer_hours": a.waitlist_offer_hours, "children_per_trainer": a.children_per_trainer,
        "qualifications": a.qualifications, "is_active": a.is_active,
    })
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
    let mut tx = state.pool.begin().await?;
    let before = store::activity(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let heading = format!("Edit {}", before.name);
    let again = |ctx, form, errors| {
        let page = ActivityFormPage { ctx, activity_id: Some(id), heading, form, errors };
        render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    let activity = match form.parse() {
        Ok(a) => a,
        Err(errors) => return again(ctx, form, errors),
    };
    if let Err((field, message)) =
        store::update_activity(&mut tx, id, &activity).await.on_constraint(activity_constraint_error)?
    {
        return again(ctx, form, field_error(field, message));
    }
    audit::record(&mut tx)
        .by(admin.0.id)
        .action("activity.updated")
        .entity("activity", id)
        .before(activity_row_json(&before))
        .after(activity_json(&activity))
        .await?;
    flash::done(tx, &session, format!("{} is saved.", activity.name), "/admin/activities").await
}

/// A kind of catalogue entry that can be taken out of use and brought back.
pub(super) struct Offered {
    table: Offerable,
    entity: &'static str,
    list: &'static str,
    /// What happens once it is back, and once it is out, after its name.
    back: &'static str,
    out: &'static str,
}

const ACTIVITY: Offered = Offered {
    table: Offerable::Activities,
    entity: "activity",
    list: "/admin/activities",
    back: "is offered again.",
    out: "is deactivated: no new sessions can use it; existing ones stay.",
};

const VENUE: Offered = Offered {
    table: Offerable::Venues,
    entity: "venue",
    list: "/admin/venues",
    back: "is in use again.",
    out: "is deactivated.",
};

pub(super) const PACKAGE: Offered = Offered {
    table: Offerable::Packages,
    entity: "package",
    list: "/admin/packages",
    back: "is on sale again.",
    out: "is deactivated: no one can buy it; packages already bought stay.",
};

/// Deactivates or reactivates one entry, with its audit row.
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
    let (name, was_active) =
        store::set_active(&mut tx, kind.table, id, active).await?.ok_or(AppError::NotFound)?;
    let verb = if active { "reactivated" } else { "deactivated" };
    let (was, now) = (json!({ "is_active": was_active }), json!({ "is_active": active }));
    let action = format!("{}.{verb}", kind.entity);
    audit::record(&mut tx)
        .by(admin.0.id)
        .action(&action)
        .entity(kind.entity, id)
        .before(was)
        .after(now)
        .await?;
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

pub fn kind_label(kind: &str) -> &'static str {
    VENUE_KINDS.iter().find(|(k, _)| *k == kind).map_or("", |(_, l)| *l)
}

#[derive(Template)]
#[template(path = "catalogue/venues.html")]
pub struct VenuesPage {
    pub ctx: PageContext,
    pub venues: Vec<VenueRow>,
}

impl VenuesPage {
    pub fn kind_label(&self, kind: &str) -> &'static str {
        kind_label(kind)
    }
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
        let kinds = VENUE_KINDS.iter().map(|&(value, label)| KindChoice { value, label }).collect();
        Self { ctx, venue_id, heading, form, kinds, errors }
    }

    pub fn action(&self) -> String {
        self.venue_id.map_or_else(|| "/admin/venues/new".to_owned(), |id| format!("/admin/venues/{id}/edit"))
    }
}

fn venue_constraint_error(constraint: &str) -> Option<(&'static str, &'static str)> {
    match constraint {
        "venues_name_key" => Some(("name", "A venue already has this name.")),
        _ => None,
    }
}

fn venue_json(v: &super::domain::Venue) -> serde_json::Value {
    json!({ "name": v.name, "kind": v.kind, "address": v.address, "postcode": v.postcode,
            "capacity": v.capacity, "notes": v.notes })
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
    let again = |ctx, form, errors| {
        render_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &VenueFormPage::new(ctx, None, "Add a venue".into(), form, errors),
        )
    };
    let venue = match form.parse() {
        Ok(v) => v,
        Err(errors) => return again(ctx, form, errors),
    };
    let mut tx = state.pool.begin().await?;
    let id = match store::insert_venue(&mut tx, &venue).await.on_constraint(venue_constraint_error)? {
        Ok(id) => id,
        Err((field, message)) => return again(ctx, form, field_error(field, message)),
    };
    audit::record(&mut tx)
        .by(admin.0.id)
        .action("venue.created")
        .entity("venue", id)
        .after(venue_json(&venue))
        .await?;
    flash::done(tx, &session, format!("{} is added.", venue.name), "/admin/venues").await
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
        kind: row.kind.clone(),
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
    let mut tx = state.pool.begin().await?;
    let before = store::venue(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let heading = format!("Edit {}", before.name);
    let again = |ctx, form, errors| {
        render_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &VenueFormPage::new(ctx, Some(id), heading, form, errors),
        )
    };
    let venue = match form.parse() {
        Ok(v) => v,
        Err(errors) => return again(ctx, form, errors),
    };
    if let Err((field, message)) =
        store::update_venue(&mut tx, id, &venue).await.on_constraint(venue_constraint_error)?
    {
        return again(ctx, form, field_error(field, message));
    }
    let was = json!({ "name": before.name, "kind": before.kind, "address": before.address,
                      "postcode": before.postcode, "capacity": before.capacity, "notes": before.notes });
    audit::record(&mut tx)
        .by(admin.0.id)
        .action("venue.updated")
        .entity("venue", id)
        .before(was)
        .after(venue_json(&venue))
        .await?;
    flash::done(tx, &session, format!("{} is saved.", venue.name), "/admin/venues").await
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
