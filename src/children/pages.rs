//! `/parent/children`: a family's children, their details, contacts, collectors and
//! checklist. Another family's child, or an id that is not a number, is a 404.

use askama::Template;
use axum::{
    Form,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use sqlx::PgConnection;
use time::{Date, macros::format_description};
use tower_sessions::Session;

use super::{
    ChecklistEntry, actions,
    domain::{ChecklistForm, ChildForm, CollectorForm, ContactForm},
    store::{self, ChildRow, CollectorRow, ContactRow},
};
use crate::{
    AppState,
    auth::Parent,
    bookings::domain::age_on,
    error::{AppError, AppResult},
    ids::{ChecklistItemId, ChildId, CollectorId, EmergencyContactId},
    web::{
        FormErrors, PageContext, Path,
        flash::{self, FlashKind},
        form::{render, render_with},
    },
};

fn today(state: &AppState) -> Date {
    crate::clock::today(state.config.timezone)
}

/// "31 May 2018".
fn long_day(date: Date) -> String {
    date.format(format_description!("[day padding:none] [month repr:long] [year]")).unwrap_or_default()
}

fn child_url(child_id: ChildId) -> String {
    format!("/parent/children/{child_id}")
}

// The list ----------------------------------------------------------------------------

pub struct ChildListItem {
    pub id: ChildId,
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
    let rows = store::list(&mut conn, parent.id.0).await?;
    let missing = store::missing_items(&mut conn, parent.id.0).await?;
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
    pub child_id: Option<ChildId>,
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
    let input = match form.parse(today(&state)) {
        Ok(input) => input,
        Err(errors) => {
            let page = FormPage { errors, ..FormPage::new(ctx, &state, None, form) };
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let mut tx = state.pool.begin().await?;
    let child_id = actions::add_child(&mut tx, parent.id.0, &input).await?;
    let message = format!("{} has been added.", input.child.full_name());
    flash::done(tx, &session, message, &child_url(child_id)).await
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
    Path(child_id): Path<ChildId>,
) -> AppResult<Response> {
    let mut conn = state.pool.acquire().await?;
    let child = store::find(&mut conn, parent.id.0, child_id).await?.ok_or(AppError::NotFound)?;
    let contacts = store::contacts(&mut conn, parent.id.0, child_id).await?;
    let collectors = store::collectors(&mut conn, parent.id.0, child_id).await?;
    let form = form_for(&child, contacts.first(), collectors.first());
    render(&FormPage::new(ctx, &state, Some(&child), form))
}

pub async fn update(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    session: Session,
    Path(child_id): Path<ChildId>,
    Form(form): Form<ChildForm>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let before = store::lock(&mut tx, parent.id.0, child_id).await?.ok_or(AppError::NotFound)?;
    let input = match form.parse(today(&state)) {
        Ok(input) => input,
        Err(errors) => {
            let page = FormPage { errors, ..FormPage::new(ctx, &state, Some(&before), form) };
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    actions::update_child(&mut tx, parent.id.0, &before, &input).await?;
    let message = format!("{}'s details are saved.", input.child.first_name.as_str());
    flash::done(tx, &session, message, &child_url(child_id)).await
}

pub async fn archive(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path(child_id): Path<ChildId>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let child = store::lock(&mut tx, parent.id.0, child_id).await?.ok_or(AppError::NotFound)?;
    if let Err(refused) = actions::archive(&mut tx, parent.id.0, &child).await? {
        flash::push(&session, FlashKind::Error, refused.message(&child)).await?;
        return Ok(Redirect::to(&child_url(child_id)).into_response());
    }
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
    Path(child_id): Path<ChildId>,
) -> AppResult<Response> {
    let mut conn = state.pool.acquire().await?;
    let child = store::find(&mut conn, parent.id.0, child_id).await?.ok_or(AppError::NotFound)?;
    render(&show_page(&mut conn, &state, ctx, parent.id.0, child).await?)
}

pub async fn add_contact(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    session: Session,
    Path(child_id): Path<ChildId>,
    Form(form): Form<ContactForm>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let child = store::lock(&mut tx, parent.id.0, child_id).await?.ok_or(AppError::NotFound)?;
    let contact = match form.parse() {
        Ok(contact) => contact,
        Err(errors) => {
            let page = show_page(&mut tx, &state, ctx, parent.id.0, child).await?;
            let page = ShowPage { contact_form: form, errors, ..page };
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    actions::add_contact(&mut tx, parent.id.0, &child, &contact).await?;
    let message = format!("{} is now an emergency contact for {}.", contact.name.as_str(), child.first_name);
    flash::done(tx, &session, message, &child_url(child_id)).await
}

pub async fn remove_contact(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    session: Session,
    Path((child_id, contact_id)): Path<(ChildId, EmergencyContactId)>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let child = store::lock(&mut tx, parent.id.0, child_id).await?.ok_or(AppError::NotFound)?;
    let name = match actions::remove_contact(&mut tx, parent.id.0, &child, contact_id).await? {
        Ok(name) => name,
        Err(refused) => {
            let message = refused.message(&child);
            let mut page = show_page(&mut tx, &state, ctx, parent.id.0, child).await?;
            page.errors.add("contacts", message);
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let message = format!("{name} is no longer an emergency contact for {}.", child.first_name);
    flash::done(tx, &session, message, &child_url(child_id)).await
}

pub async fn add_collector(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    session: Session,
    Path(child_id): Path<ChildId>,
    Form(form): Form<CollectorForm>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let child = store::lock(&mut tx, parent.id.0, child_id).await?.ok_or(AppError::NotFound)?;
    let collector = match form.parse() {
        Ok(collector) => collector,
        Err(errors) => {
            let page = show_page(&mut tx, &state, ctx, parent.id.0, child).await?;
            let page = ShowPage { collector_form: form, errors, ..page };
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    actions::add_collector(&mut tx, parent.id.0, &child, &collector).await?;
    let message = format!("{} may now collect {}.", collector.name.as_str(), child.first_name);
    flash::done(tx, &session, message, &child_url(child_id)).await
}

pub async fn remove_collector(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path((child_id, collector_id)): Path<(ChildId, CollectorId)>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let child = store::lock(&mut tx, parent.id.0, child_id).await?.ok_or(AppError::NotFound)?;
    let name = actions::remove_collector(&mut tx, parent.id.0, &child, collector_id).await?;
    let message = format!("{name} may no longer collect {}.", child.first_name);
    flash::done(tx, &session, message, &child_url(child_id)).await
}

pub async fn set_checklist_item(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path((child_id, item_id)): Path<(ChildId, ChecklistItemId)>,
    Form(form): Form<ChecklistForm>,
) -> AppResult<Response> {
    let done = form.parse();
    let mut tx = state.pool.begin().await?;
    let child = store::lock(&mut tx, parent.id.0, child_id).await?.ok_or(AppError::NotFound)?;
    let item = actions::set_checklist_item(&mut tx, parent.id.0, &child, item_id, done).await?;
    let message = if done {
        format!("“{item}” is done for {}.", child.first_name)
    } else {
        format!("“{item}” is marked as not done for {}.", child.first_name)
    };
    flash::done(tx, &session, message, &child_url(child_id)).await
}
