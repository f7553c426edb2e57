//! `/admin/trainers`: search, a trainer's profile with its qualifications, contacts
//! and internal notes, deactivation, and inviting a new trainer.

use askama::Template;
use axum::{
    Form,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use base64::Engine;
use serde_json::json;
use time::{Date, OffsetDateTime};
use time_tz::OffsetDateTimeExt;
use tower_sessions::Session;

use super::{
    domain::{self, ContactForm, Expiry, PersonForm, ProfileForm, QualificationForm},
    store,
};
use crate::{
    AppState, audit,
    auth::{
        Admin,
        links::{self, LinkPurpose},
    },
    bookings::parse_id,
    catalogue::EDITORS,
    error::{AppError, AppResult},
    families,
    notifications::{Email, LINK_WITHHELD, SignInLink},
    web::{
        FormErrors, PageContext,
        flash::{self, FlashKind},
        fmt,
        form::{Fields, QueryFields, render, render_with},
        page::{Cursor, Order, PageRequest, Pager},
    },
};

fn today(state: &AppState) -> Date {
    OffsetDateTime::now_utc().to_timezone(state.config.timezone).date()
}

fn trainer_url(id: i64) -> String {
    format!("/admin/trainers/{id}")
}

// The list ----------------------------------------------------------------------------------

pub struct Line {
    pub row: store::TrainerLine,
    pub expiry: &'static str,
}

#[derive(Template)]
#[template(path = "trainers/index.html")]
pub struct IndexPage {
    pub ctx: PageContext,
    pub q: String,
    pub trainers: Vec<Line>,
    /// How many trainers match, over every page.
    pub total: i64,
    pub pager: Pager,
}

pub async fn index(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let q = query.get("q").unwrap_or_default().to_owned();
    let today = today(&state);
    let mut conn = state.pool.acquire().await?;
    let text = (!q.is_empty()).then_some(q.as_str());
    let page = PageRequest::from_query(&query, Order::Ascending);
    let rows = store::search(&mut conn, text, &page).await?;
    let total = store::count(&mut conn, text).await?;
    let page = page.finish(rows, |t| Cursor::new(t.sort_key.clone(), t.id), "/admin/trainers", &query);
    let trainers = page
        .rows
        .into_iter()
        .map(|row| Line {
            expiry: match domain::expiry(row.next_expiry, today) {
                Expiry::Expired => "qualification expired",
                Expiry::Soon => "qualification expiring",
                Expiry::Valid => "",
            },
            row,
        })
        .collect();
    render(&IndexPage { ctx, q, trainers, total, pager: page.pager })
}

// The profile -------------------------------------------------------------------------------

pub struct QualificationLine {
    pub id: i64,
    pub name: String,
    pub reference: String,
    pub expires: String,
    pub state: &'static str,
}

pub struct ActivityPick {
    pub id: i64,
    pub name: String,
}

pub struct NoteLine {
    pub body: String,
    pub by: String,
}

/// A client assigned to the trainer (the personal-training case).
pub struct ClientLine {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub since: String,
}

#[derive(Template)]
#[template(path = "trainers/show.html")]
pub struct ShowPage {
    pub ctx: PageContext,
    pub t: store::TrainerRow,
    pub profile: ProfileForm,
    pub activities: Vec<ActivityPick>,
    pub qualifications: Vec<QualificationLine>,
    pub contacts: Vec<store::ContactRow>,
    pub notes: Vec<NoteLine>,
    pub clients: Vec<ClientLine>,
    pub qualification: QualificationForm,
    pub contact: ContactForm,
    pub note: String,
    pub failed_form: &'static str,
    pub errors: FormErrors,
}

async fn show_page(state: &AppState, ctx: PageContext, id: i64) -> AppResult<ShowPage> {
    let tz = state.config.timezone;
    let today = today(state);
    let mut conn = state.pool.acquire().await?;
    let t = store::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let profile = ProfileForm {
        bio: t.bio.clone(),
        hourly_rate: crate::money::Money::from_pence(t.hourly_rate_pence).to_input(),
        can_travel: t.can_travel,
        max_travel_miles: t.max_travel_miles.map(|m| m.to_string()).unwrap_or_default(),
        activities: store::activity_ids(&mut conn, id).await?,
    };
    let activities = crate::sessions::store::activity_choices(&mut conn)
        .await?
        .into_iter()
        .map(|c| ActivityPick { id: c.id, name: c.name })
        .collect();
    let qualifications = store::qualifications(&mut conn, id)
        .await?
        .into_iter()
        .map(|q| QualificationLine {
            id: q.id,
            name: q.name,
            reference: q.reference,
            expires: q.expires_on.map_or_else(|| "does not expire".to_owned(), |d| format!("expires {d}")),
            state: match domain::expiry(q.expires_on, today) {
                Expiry::Expired => "expired",
                Expiry::Soon => "expiring soon",
                Expiry::Valid => "",
            },
        })
        .collect();
    let notes = store::notes(&mut conn, id)
        .await?
        .into_iter()
        .map(|n| NoteLine {
            body: n.body,
            by: format!(
                "{}, {}",
                n.author.unwrap_or_else(|| "Someone".into()),
                fmt::day_time(n.created_at, tz)
            ),
        })
        .collect();
    Ok(ShowPage {
        ctx,
        profile,
        activities,
        qualifications,
        contacts: store::contacts(&mut conn, id).await?,
        notes,
        clients: crate::clients::store::clients_of(&mut conn, id)
            .await?
            .into_iter()
            .map(|c| ClientLine {
                id: c.id,
                name: c.name,
                email: c.email,
                since: fmt::day_time(c.assigned_at, tz),
            })
            .collect(),
        qualification: QualificationForm::default(),
        contact: ContactForm::default(),
        note: String::new(),
        failed_form: "",
        errors: FormErrors::default(),
        t,
    })
}

pub async fn show(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    Path(id): Path<String>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    render(&show_page(&state, ctx, parse_id(&id)?).await?)
}

pub async fn update(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<String>,
    fields: Fields,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let id = parse_id(&id)?;
    let form = ProfileForm::from_fields(&fields);
    let profile = match form.parse() {
        Ok(p) => p,
        Err(errors) => {
            let page = ShowPage {
                profile: form,
                failed_form: "profile",
                errors,
                ..show_page(&state, ctx, id).await?
            };
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let mut tx = state.pool.begin().await?;
    let before = store::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let before_activities = store::activity_ids(&mut tx, id).await?;
    store::update_profile(&mut tx, id, &profile).await?;
    audit::record(&mut tx)
        .by(admin.0.id)
        .action("trainer.updated")
        .entity("trainer", id)
        .before(json!({ "hourly_rate_pence": before.hourly_rate_pence, "can_travel": before.can_travel,
                     "max_travel_miles": before.max_travel_miles, "activities": before_activities }))
        .after(json!({ "hourly_rate_pence": profile.hourly_rate_pence, "can_travel": profile.can_travel,
                     "max_travel_miles": profile.max_travel_miles, "activities": profile.activities }))
        .await?;
    flash::done(tx, &session, format!("{}'s profile is saved.", before.name), &trainer_url(id)).await
}

pub async fn add_qualification(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<QualificationForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let id = parse_id(&id)?;
    let q = match form.parse() {
        Ok(q) => q,
        Err(errors) => {
            let page = ShowPage {
                qualification: form,
                failed_form: "qualification",
                errors,
                ..show_page(&state, ctx, id).await?
            };
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let mut tx = state.pool.begin().await?;
    store::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let qid = store::add_qualification(&mut tx, id, &q).await?;
    audit::record(&mut tx).by(admin.0.id).action("trainer.qualification_added").entity("trainer", id).after(json!({ "qualification_id": qid, "name": q.name, "expires_on": q.expires_on.map(|d| d.to_string()) }))
        .await?;
    flash::done(tx, &session, format!("{} is added.", q.name), &trainer_url(id)).await
}

pub async fn remove_qualification(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path((id, qualification_id)): Path<(String, String)>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let (id, qualification_id) = (parse_id(&id)?, parse_id(&qualification_id)?);
    let mut tx = state.pool.begin().await?;
    if !store::remove_qualification(&mut tx, id, qualification_id).await? {
        return Err(AppError::NotFound);
    }
    audit::record(&mut tx)
        .by(admin.0.id)
        .action("trainer.qualification_removed")
        .entity("trainer", id)
        .after(json!({ "qualification_id": qualification_id }))
        .await?;
    flash::done(tx, &session, "Qualification removed.", &trainer_url(id)).await
}

pub async fn add_contact(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<ContactForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let id = parse_id(&id)?;
    let contact = match form.parse() {
        Ok(c) => c,
        Err(errors) => {
            let page = ShowPage {
                contact: form,
                failed_form: "contact",
                errors,
                ..show_page(&state, ctx, id).await?
            };
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let mut tx = state.pool.begin().await?;
    store::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let cid = store::add_contact(&mut tx, id, &contact).await?;
    audit::record(&mut tx)
        .by(admin.0.id)
        .action("trainer.contact_added")
        .entity("trainer", id)
        .after(json!({ "contact_id": cid, "name": contact.name.as_str() }))
        .await?;
    flash::done(tx, &session, "Emergency contact added.", &trainer_url(id)).await
}

pub async fn remove_contact(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path((id, contact_id)): Path<(String, String)>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let (id, contact_id) = (parse_id(&id)?, parse_id(&contact_id)?);
    let mut tx = state.pool.begin().await?;
    if !store::remove_contact(&mut tx, id, contact_id).await? {
        return Err(AppError::NotFound);
    }
    audit::record(&mut tx)
        .by(admin.0.id)
        .action("trainer.contact_removed")
        .entity("trainer", id)
        .after(json!({ "contact_id": contact_id }))
        .await?;
    flash::done(tx, &session, "Emergency contact removed.", &trainer_url(id)).await
}

pub async fn add_note(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let id = parse_id(&id)?;
    let typed = form.get("note").unwrap_or_default().to_owned();
    let mut errors = FormErrors::default();
    let body = crate::catalogue::domain::notes(&mut errors, "note", &typed);
    if body.is_empty() {
        errors.add("note", "Write the note first.");
    }
    if !errors.is_empty() {
        let page = ShowPage { note: typed, failed_form: "note", errors, ..show_page(&state, ctx, id).await? };
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let mut tx = state.pool.begin().await?;
    store::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let note_id = store::add_note(&mut tx, id, admin.0.id, &body).await?;
    // The note itself stays on the trainer's record; the audit log says only that one was added.
    audit::record(&mut tx)
        .by(admin.0.id)
        .action("trainer.note_added")
        .entity("trainer", id)
        .after(json!({ "note_id": note_id }))
        .await?;
    flash::done(tx, &session, "Note added.", &trainer_url(id)).await
}

pub async fn deactivate(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(id): Path<String>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let id = parse_id(&id)?;
    let mut tx = state.pool.begin().await?;
    let t = store::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let opened = store::deactivate(&mut tx, id).await?;
    audit::record(&mut tx)
        .by(admin.0.id)
        .action("trainer.deactivated")
        .entity("trainer", id)
        .before(json!({ "is_active": t.is_active }))
        .after(json!({ "is_active": false, "shifts_opened": opened }))
        .await?;
    let message = format!("{} is deactivated; {opened} future shift(s) are open for others to take.", t.name);
    flash::done(tx, &session, message, &trainer_url(id)).await
}

pub async fn reactivate(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(id): Path<String>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let id = parse_id(&id)?;
    let mut tx = state.pool.begin().await?;
    let t = store::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    store::reactivate(&mut tx, id).await?;
    audit::record(&mut tx)
        .by(admin.0.id)
        .action("trainer.reactivated")
        .entity("trainer", id)
        .before(json!({ "is_active": t.is_active }))
        .after(json!({ "is_active": true }))
        .await?;
    flash::done(tx, &session, format!("{} is active again.", t.name), &trainer_url(id)).await
}

// Inviting a trainer ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "trainers/invite.html")]
pub struct InvitePage {
    pub ctx: PageContext,
    pub form: PersonForm,
    pub errors: FormErrors,
}

pub async fn invite_form(admin: Admin, ctx: PageContext) -> AppResult<Response> {
    admin.require(EDITORS)?;
    render(&InvitePage { ctx, form: PersonForm::default(), errors: FormErrors::default() })
}

/// Creates the trainer's account and profile with a password nobody knows, and queues
/// the email with a link to choose one, in the caller's transaction.
pub(super) async fn open_account(
    state: &AppState,
    conn: &mut sqlx::PgConnection,
    person: &domain::Person,
) -> AppResult<Result<i64, sqlx::Error>> {
    let secret: [u8; 32] = rand::random();
    let hash = state.passwords.hash(&base64::engine::general_purpose::STANDARD.encode(secret)).await?;
    let user_id = match store::insert_trainer(conn, person, &hash).await {
        Ok(id) => id,
        Err(err) if families::store::is_email_taken(&err) => return Ok(Err(err)),
        Err(err) => return Err(err.into()),
    };
    let email = Email {
        to: person.email.as_str().to_owned(),
        subject: "Your Portico trainer account is ready".into(),
        body: format!(
            "Hello {name},\n\nWelcome aboard. Your Portico account lets you see your shifts, pick up open \
             shifts, set your availability and submit timesheets.\n\n\
             Choose your password within {days} days with this link:\n\n{LINK_WITHHELD}\n\n\
             The link works once. Afterwards, sign in at {base}/login with this email address.\n",
            name = person.name.as_str(),
            days = links::WELCOME_LINK_DAYS,
            base = state.config.base_url,
        ),
    };
    let link = SignInLink {
        purpose: LinkPurpose::Welcome,
        subject_id: user_id,
        base_url: state.config.base_url.clone(),
    };
    state.outbox.queue_with_link(conn, &email, &link).await?;
    Ok(Ok(user_id))
}

pub async fn invite(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Form(form): Form<PersonForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let person = match form.parse(false) {
        Ok(p) => p,
        Err(errors) => {
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &InvitePage { ctx, form, errors });
        }
    };
    let mut tx = state.pool.begin().await?;
    let user_id = match open_account(&state, &mut tx, &person).await? {
        Ok(id) => id,
        Err(_) => {
            let mut errors = FormErrors::default();
            errors.add("email", "An account already uses this email.");
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &InvitePage { ctx, form, errors });
        }
    };
    audit::record(&mut tx)
        .by(admin.0.id)
        .action("trainer.invited")
        .entity("trainer", user_id)
        .after(json!({ "email": person.email.as_str(), "name": person.name.as_str() }))
        .await?;
    tx.commit().await?;
    let message =
        format!("{} is invited: we have emailed them a link to choose a password.", person.name.as_str());
    flash::push(&session, FlashKind::Success, message).await?;
    Ok(Redirect::to(&trainer_url(user_id)).into_response())
}
