//! `/parent/children`: a family's children, their details, contacts, collectors and
//! checklist. Another family's child, or an id that is not a number, is a 404.

use askama::Template;
use axum::{
    Form,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;
use time::{Date, OffsetDateTime, macros::format_description};
use time_tz::OffsetDateTimeExt;
use tower_sessions::Session;

use super::{
    ChecklistEntry,
    domain::{ChildForm, ChildInput, CollectorForm, ContactForm},
    store::{self, ChildRow, CollectorRow, ContactRow},
};
use crate::{
    AppState, audit,
    auth::Parent,
    bookings::domain::age_on,
    error::{AppError, AppResult},
    web::{
        FormErrors, PageContext,
        flash::{self, FlashKind},
        form::{render, render_with},
    },
};

/// A path id: anything but a whole number is a page that does not exist.
fn parse_id(raw: &str) -> AppResult<i64> {
    raw.parse().map_err(|_| AppError::NotFound)
}

fn today(state: &AppState) -> Date {
    OffsetDateTime::now_utc().to_timezone(state.config.timezone).date()
}

/// "31 May 2018".
fn long_day(date: Date) -> String {
    date.format(format_description!("[day padding:none] [month repr:long] [year]")).unwrap_or_default()
}

/// What the audit log keeps of a child: who they are, never their health details.
fn audit_summary(first_name: &str, last_name: &str, born: Date, photo_consent: bool) -> serde_json::Value {
    json!({
        "first_name": first_name,
        "last_name": last_name,
        "date_of_birth": born.to_string(),
        "photo_consent": photo_consent,
    })
}

fn child_url(child_id: i64) -> String {
    format!("/parent/children/{child_id}")
}

// The list ----------------------------------------------------------------------------

pub struct ChildListItem {
    pub id: i64,
    pub name: String,
    pub age: i32,
    pub has_medical_flags: bool,
    /// Required checklist items not yet done.
    pub missing: Vec<String>,
}

#[derive(Template)]
#[template(path = "children/index.html")]
pub struct IndexPage {
    pub ctx: PageContext,
    pub children: Vec<ChildListItem>,
}

pub async fn index(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
) -> AppResult<Response> {
    let mut conn = state.pool.acquire().await?;
    let rows = store::list(&mut conn, parent.id).await?;
    let missing = store::missing_items(&mut conn, parent.id).await?;
    let today = today(&state);
    let children = rows
        .into_iter()
        .map(|c| ChildListItem {
            id: c.id,
            name: c.full_name(),
            age: age_on(c.date_of_birth, today),
            has_medical_flags: !(c.medical_notes.is_empty()
                && c.allergies.is_empty()
                && c.additional_needs.is_empty()),
            missing: missing.iter().filter(|m| m.child_id == Some(c.id)).map(|m| m.item.clone()).collect(),
        })
        .collect();
    render(&IndexPage { ctx, children })
}

// Adding and editing ------------------------------------------------------------------

#[derive(Template)]
#[template(path = "children/form.html")]
pub struct FormPage {
    pub ctx: PageContext,
    /// The child being edited; None when adding one.
    pub child_id: Option<i64>,
    pub heading: String,
    pub form: ChildForm,
    pub errors: FormErrors,
    pub today: String,
}

impl FormPage {
    fn new(ctx: PageContext, state: &AppState, child: Option<&ChildRow>, form: ChildForm) -> Self {
        let heading = child.map_or_else(|| "Add a child".to_owned(), |c| format!("Edit {}", c.full_name()));
        Self {
            ctx,
            child_id: child.map(|c| c.id),
            heading,
            form,
            errors: FormErrors::default(),
            today: today(state).to_string(),
        }
    }

    pub fn action(&self) -> String {
        self.child_id
            .map_or_else(|| "/parent/children/new".to_owned(), |id| format!("{}/edit", child_url(id)))
    }
}

pub async fn new_form(State(state): State<AppState>, _: Parent, ctx: PageContext) -> AppResult<Response> {
    render(&FormPage::new(ctx, &state, None, ChildForm::default()))
}

pub async fn create(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    session: Session,
    Form(form): Form<ChildForm>,
) -> AppResult<Response> {
    let ChildInput { child, contact, collector } = match form.parse(today(&state)) {
        Ok(input) => input,
        Err(errors) => {
            let page = FormPage { errors, ..FormPage::new(ctx, &state, None, form) };
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let mut tx = state.pool.begin().await?;
    let child_id = store::insert_child(&mut tx, parent.id, &child).await?;
    store::insert_contact(&mut tx, child_id, &contact).await?;
    if let Some(collector) = &collector {
        store::insert_collector(&mut tx, child_id, collector).await?;
    }
    let after = audit_summary(
        child.first_name.as_str(),
        child.last_name.as_str(),
        child.date_of_birth,
        child.photo_consent,
    );
    audit::record(&mut tx)
        .by(parent.id)
        .action("child.created")
        .entity("child", child_id)
        .after(after)
        .await?;
    flash::done(tx, &session, format!("{} has been added.", child.full_name()), &child_url(child_id)).await
}

/// The edit form shows the child and their first contact and collector.
fn form_for(child: &ChildRow, contact: Option<&ContactRow>, collector: Option<&CollectorRow>) -> ChildForm {
    let text = |value: Option<&String>| value.cloned().unwrap_or_default();
    ChildForm {
        first_name: child.first_name.clone(),
        last_name: child.last_name.clone(),
        date_of_birth: child.date_of_birth.to_string(),
        medical_notes: child.medical_notes.clone(),
        allergies: child.allergies.clone(),
        additional_needs: child.additional_needs.clone(),
        doctor_name: child.doctor_name.clone(),
        doctor_phone: child.doctor_phone.clone(),
        photo_consent: child.photo_consent.then(|| "yes".to_owned()),
        contact_name: text(contact.map(|c| &c.name)),
        contact_relationship: text(contact.map(|c| &c.relationship)),
        contact_phone: text(contact.map(|c| &c.phone)),
        collector_name: text(collector.map(|c| &c.name)),
        collector_relationship: text(collector.map(|c| &c.relationship)),
        collector_phone: text(collector.map(|c| &c.phone)),
        collector_password: text(collector.map(|c| &c.password)),
        collector_notes: text(collector.map(|c| &c.notes)),
    }
}

pub async fn edit_form(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let child_id = parse_id(&id)?;
    let mut conn = state.pool.acquire().await?;
    let child = store::find(&mut conn, parent.id, child_id, false).await?.ok_or(AppError::NotFound)?;
    let contacts = store::contacts(&mut conn, parent.id, child_id).await?;
    let collectors = store::collectors(&mut conn, parent.id, child_id).await?;
    let form = form_for(&child, contacts.first(), collectors.first());
    render(&FormPage::new(ctx, &state, Some(&child), form))
}

pub async fn update(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<ChildForm>,
) -> AppResult<Response> {
    let child_id = parse_id(&id)?;
    let mut tx = state.pool.begin().await?;
    let before = store::find(&mut tx, parent.id, child_id, true).await?.ok_or(AppError::NotFound)?;
    let ChildInput { child, contact, collector } = match form.parse(today(&state)) {
        Ok(input) => input,
        Err(errors) => {
            let page = FormPage { errors, ..FormPage::new(ctx, &state, Some(&before), form) };
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    store::update_child(&mut tx, parent.id, child_id, &child).await?;
    let contacts = store::contacts(&mut tx, parent.id, child_id).await?;
    match contacts.first() {
        Some(first) => store::update_contact(&mut tx, child_id, first.id, &contact).await?,
        None => {
            store::insert_contact(&mut tx, child_id, &contact).await?;
        }
    }
    let collectors = store::collectors(&mut tx, parent.id, child_id).await?;
    match (collectors.first(), &collector) {
        (Some(first), Some(collector)) => {
            store::update_collector(&mut tx, child_id, first.id, collector).await?
        }
        (None, Some(collector)) => {
            store::insert_collector(&mut tx, child_id, collector).await?;
        }
        // Clearing the collector's fields removes that collector.
        (Some(first), None) => {
            store::delete_collector(&mut tx, child_id, first.id).await?;
        }
        (None, None) => {}
    }
    let changed: Vec<&str> = [
        ("medical_notes", before.medical_notes != child.medical_notes),
        ("allergies", before.allergies != child.allergies),
        ("additional_needs", before.additional_needs != child.additional_needs),
        ("doctor_name", before.doctor_name != child.doctor_name),
        ("doctor_phone", before.doctor_phone != child.doctor_phone.as_ref().map_or("", |p| p.as_str())),
    ]
    .into_iter()
    .filter_map(|(field, differs)| differs.then_some(field))
    .collect();
    // Medical details are named, not copied, so the audit log holds no health data.
    let mut after = audit_summary(
        child.first_name.as_str(),
        child.last_name.as_str(),
        child.date_of_birth,
        child.photo_consent,
    );
    after["also_changed"] = json!(changed);
    let before_json =
        audit_summary(&before.first_name, &before.last_name, before.date_of_birth, before.photo_consent);
    audit::record(&mut tx)
        .by(parent.id)
        .action("child.updated")
        .entity("child", child_id)
        .before(before_json)
        .after(after)
        .await?;
    tx.commit().await?;
    flash::push(&session, FlashKind::Success, format!("{}'s details are saved.", child.first_name.as_str()))
        .await?;
    Ok(Redirect::to(&child_url(child_id)).into_response())
}

pub async fn archive(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let child_id = parse_id(&id)?;
    let mut tx = state.pool.begin().await?;
    let child = store::find(&mut tx, parent.id, child_id, true).await?.ok_or(AppError::NotFound)?;
    if store::has_upcoming_places(&mut tx, parent.id, child_id).await? {
        let message = format!(
            "{} has sessions booked. Cancel those bookings before archiving {}.",
            child.first_name, child.first_name
        );
        flash::push(&session, FlashKind::Error, message).await?;
        return Ok(Redirect::to(&child_url(child_id)).into_response());
    }
    if !store::archive(&mut tx, parent.id, child_id).await? {
        return Err(AppError::NotFound);
    }
    audit::record(&mut tx).by(parent.id).action("child.archived").entity("child", child_id).await?;
    let message = format!("{} has been archived and no longer appears in your lists.", child.full_name());
    flash::done(tx, &session, message, "/parent/children").await
}

// The child's page --------------------------------------------------------------------

#[derive(Template)]
#[template(path = "children/show.html")]
pub struct ShowPage {
    pub ctx: PageContext,
    pub child: ChildRow,
    pub age: i32,
    pub born: String,
    pub contacts: Vec<ContactRow>,
    pub collectors: Vec<CollectorRow>,
    pub checklist: Vec<ChecklistEntry>,
    /// The add-contact and add-collector forms, kept when they come back with errors.
    pub contact_form: ContactForm,
    pub collector_form: CollectorForm,
    pub errors: FormErrors,
}

impl ShowPage {
    pub fn url(&self) -> String {
        child_url(self.child.id)
    }
}

async fn show_page(
    conn: &mut PgConnection,
    state: &AppState,
    ctx: PageContext,
    parent_id: i64,
    child: ChildRow,
) -> AppResult<ShowPage> {
    let contacts = store::contacts(conn, parent_id, child.id).await?;
    let collectors = store::collectors(conn, parent_id, child.id).await?;
    let checklist =
        ChecklistEntry::from_rows(store::child_checklist(conn, parent_id, child.id).await?, state);
    Ok(ShowPage {
        ctx,
        age: age_on(child.date_of_birth, today(state)),
        born: long_day(child.date_of_birth),
        child,
        contacts,
        collectors,
        checklist,
        contact_form: ContactForm::default(),
        collector_form: CollectorForm::default(),
        errors: FormErrors::default(),
    })
}

pub async fn show(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let child_id = parse_id(&id)?;
    let mut conn = state.pool.acquire().await?;
    let child = store::find(&mut conn, parent.id, child_id, false).await?.ok_or(AppError::NotFound)?;
    render(&show_page(&mut conn, &state, ctx, parent.id, child).await?)
}

pub async fn add_contact(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<ContactForm>,
) -> AppResult<Response> {
    let child_id = parse_id(&id)?;
    let mut tx = state.pool.begin().await?;
    let child = store::find(&mut tx, parent.id, child_id, true).await?.ok_or(AppError::NotFound)?;
    let contact = match form.parse() {
        Ok(contact) => contact,
        Err(errors) => {
            let page = show_page(&mut tx, &state, ctx, parent.id, child).await?;
            let page = ShowPage { contact_form: form, errors, ..page };
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let contact_id = store::insert_contact(&mut tx, child_id, &contact).await?;
    let after = json!({ "contact_id": contact_id, "name": contact.name.as_str() });
    audit::record(&mut tx)
        .by(parent.id)
        .action("child.contact_added")
        .entity("child", child_id)
        .after(after)
        .await?;
    let message = format!("{} is now an emergency contact for {}.", contact.name.as_str(), child.first_name);
    flash::done(tx, &session, message, &child_url(child_id)).await
}

pub const LAST_CONTACT: &str =
    "A child needs at least one emergency contact. Add another contact before removing this one.";

pub async fn remove_contact(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    session: Session,
    Path((id, contact_id)): Path<(String, String)>,
) -> AppResult<Response> {
    let (child_id, contact_id) = (parse_id(&id)?, parse_id(&contact_id)?);
    let mut tx = state.pool.begin().await?;
    // The lock on the child makes two removals take turns, so both cannot pass the check.
    let child = store::find(&mut tx, parent.id, child_id, true).await?.ok_or(AppError::NotFound)?;
    let contacts = store::contacts(&mut tx, parent.id, child_id).await?;
    if !contacts.iter().any(|c| c.id == contact_id) {
        return Err(AppError::NotFound);
    }
    if contacts.len() < 2 {
        let mut page = show_page(&mut tx, &state, ctx, parent.id, child).await?;
        page.errors.add("contacts", LAST_CONTACT);
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let name = store::delete_contact(&mut tx, child_id, contact_id).await?.ok_or(AppError::NotFound)?;
    let before = json!({ "contact_id": contact_id, "name": name });
    audit::record(&mut tx)
        .by(parent.id)
        .action("child.contact_removed")
        .entity("child", child_id)
        .before(before)
        .await?;
    let message = format!("{name} is no longer an emergency contact for {}.", child.first_name);
    flash::done(tx, &session, message, &child_url(child_id)).await
}

pub async fn add_collector(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<CollectorForm>,
) -> AppResult<Response> {
    let child_id = parse_id(&id)?;
    let mut tx = state.pool.begin().await?;
    let child = store::find(&mut tx, parent.id, child_id, true).await?.ok_or(AppError::NotFound)?;
    let collector = match form.parse() {
        Ok(collector) => collector,
        Err(errors) => {
            let page = show_page(&mut tx, &state, ctx, parent.id, child).await?;
            let page = ShowPage { collector_form: form, errors, ..page };
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let collector_id = store::insert_collector(&mut tx, child_id, &collector).await?;
    let after = json!({ "collector_id": collector_id, "name": collector.name.as_str() });
    audit::record(&mut tx)
        .by(parent.id)
        .action("child.collector_added")
        .entity("child", child_id)
        .after(after)
        .await?;
    let message = format!("{} may now collect {}.", collector.name.as_str(), child.first_name);
    flash::done(tx, &session, message, &child_url(child_id)).await
}

pub async fn remove_collector(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path((id, collector_id)): Path<(String, String)>,
) -> AppResult<Response> {
    let (child_id, collector_id) = (parse_id(&id)?, parse_id(&collector_id)?);
    let mut tx = state.pool.begin().await?;
    let child = store::find(&mut tx, parent.id, child_id, true).await?.ok_or(AppError::NotFound)?;
    let name = store::delete_collector(&mut tx, child_id, collector_id).await?.ok_or(AppError::NotFound)?;
    let before = json!({ "collector_id": collector_id, "name": name });
    audit::record(&mut tx)
        .by(parent.id)
        .action("child.collector_removed")
        .entity("child", child_id)
        .before(before)
        .await?;
    let message = format!("{name} may no longer collect {}.", child.first_name);
    flash::done(tx, &session, message, &child_url(child_id)).await
}

#[derive(Deserialize)]
pub struct ChecklistForm {
    #[serde(default)]
    done: String,
}

impl ChecklistForm {
    pub fn done(&self) -> bool {
        self.done == "true"
    }
}

pub async fn set_checklist_item(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path((id, item_id)): Path<(String, String)>,
    Form(form): Form<ChecklistForm>,
) -> AppResult<Response> {
    let (child_id, item_id) = (parse_id(&id)?, parse_id(&item_id)?);
    let mut tx = state.pool.begin().await?;
    let child = store::find(&mut tx, parent.id, child_id, true).await?.ok_or(AppError::NotFound)?;
    let done = form.done();
    let item = store::set_child_item(&mut tx, child_id, item_id, done, parent.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let action = if done { "checklist.completed" } else { "checklist.reopened" };
    let after = json!({ "item_id": item_id, "item": item, "done": done });
    audit::record(&mut tx).by(parent.id).action(action).entity("child", child_id).after(after).await?;
    tx.commit().await?;
    let message = if done {
        format!("“{item}” is done for {}.", child.first_name)
    } else {
        format!("“{item}” is marked as not done for {}.", child.first_name)
    };
    flash::push(&session, FlashKind::Success, message).await?;
    Ok(Redirect::to(&child_url(child_id)).into_response())
}
