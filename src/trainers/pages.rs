//! `/admin/trainers`: search, a trainer's profile with its qualifications, contacts
//! and internal notes, deactivation, and inviting a new trainer.

use askama::Template;
use axum::{Form, extract::State, http::StatusCode, response::Response};
use time::OffsetDateTime;
use tower_sessions::Session;

use super::{
    actions,
    domain::{self, ContactForm, Expiry, NoteForm, PersonForm, ProfileForm, QualificationForm},
    store,
};
use crate::{
    AppState,
    auth::Admin,
    catalogue::EDITORS,
    clock,
    error::{AppError, AppResult},
    ids::{ActivityId, QualificationId, TrainerContactId, TrainerId},
    money::Money,
    web::{
        FormErrors, PageContext, Path, flash, fmt,
        form::{self, Fields, QueryFields, render, render_with},
        page::{Cursor, Order, PageRequest, Pager},
    },
};

fn trainer_url(id: TrainerId) -> String {
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
    let today = clock::today(state.config.timezone);
    let mut conn = state.pool.acquire().await?;
    let text = (!q.is_empty()).then_some(q.as_str());
    let page = PageRequest::from_query(&query, Order::Ascending);
    let rows = store::search(&mut conn, text, &page).await?;
    let total = store::count(&mut conn, text).await?;
    let page = page.finish(rows, |t| Cursor::new(t.sort_key.clone(), t.id.0), "/admin/trainers", &query);
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
    pub id: QualificationId,
    pub name: String,
    pub reference: String,
    pub expires: String,
    pub state: Expiry,
}

pub struct ActivityPick {
    pub id: ActivityId,
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
    /// Newest first, paged by `notes_after` / `notes_before`.
    pub notes: Vec<NoteLine>,
    pub notes_pager: Pager,
    pub clients: Vec<ClientLine>,
    pub clients_pager: Pager,
    pub qualification: QualificationForm,
    pub contact: ContactForm,
    pub note: String,
    pub failed_form: &'static str,
    pub errors: FormErrors,
}

/// The profile, with the page of notes `query` asks for (the first when it asks none).
async fn show_page(state: &AppState, ctx: PageContext, id: TrainerId, query: &Fields) -> AppResult<ShowPage> {
    let tz = state.config.timezone;
    let today = clock::today(tz);
    let mut conn = state.pool.acquire().await?;
    let t = store::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let profile = ProfileForm {
        bio: t.bio.clone(),
        hourly_rate: Money::from_pence(t.hourly_rate_pence).to_input(),
        can_travel: t.can_travel,
        max_travel_miles: t.max_travel_miles.map(|m| m.to_string()).unwrap_or_default(),
        activities: store::activity_ids(&mut conn, id).await?,
    };
    let activities = crate::sessions::store::activity_choices(&mut conn)
        .await?
        .into_iter()
        .map(|c| ActivityPick { id: ActivityId(c.id), name: c.name })
        .collect();
    let qualifications = store::qualifications(&mut conn, id)
        .await?
        .into_iter()
        .map(|q| QualificationLine {
            id: q.id,
            name: q.name,
            reference: q.reference,
            expires: q.expires_on.map_or_else(|| "does not expire".to_owned(), |d| format!("expires {d}")),
            state: domain::expiry(q.expires_on, today),
        })
        .collect();
    let notes_page: PageRequest<OffsetDateTime> =
        PageRequest::named(query, Order::Descending, "notes_after", "notes_before");
    let rows = store::notes(&mut conn, id, &notes_page).await?;
    let notes =
        notes_page.finish(rows, |n| Cursor::new(n.created_at, n.id), &trainer_url(id), query).map(|n| {
            NoteLine {
                body: n.body,
                by: format!(
                    "{}, {}",
                    n.author.unwrap_or_else(|| "Someone".into()),
                    fmt::day_time(n.created_at, tz)
                ),
            }
        });
    let clients_page: PageRequest<String> =
        PageRequest::named(query, Order::Ascending, "clients_after", "clients_before");
    let rows = crate::clients::store::clients_of(&mut conn, id.0, &clients_page).await?;
    let clients =
        clients_page.finish(rows, |c| Cursor::new(c.name.clone(), c.id), &trainer_url(id), query).map(|c| {
            ClientLine { id: c.id, name: c.name, email: c.email, since: fmt::day_time(c.assigned_at, tz) }
        });
    Ok(ShowPage {
        ctx,
        profile,
        activities,
        qualifications,
        contacts: store::contacts(&mut conn, id).await?,
        notes: notes.rows,
        notes_pager: notes.pager,
        clients: clients.rows,
        clients_pager: clients.pager,
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
    Path(id): Path<TrainerId>,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    render(&show_page(&state, ctx, id, &query).await?)
}

/// The profile page again, with the form that failed and its errors (422).
async fn failed(
    state: &AppState,
    ctx: PageContext,
    id: TrainerId,
    with: impl FnOnce(&mut ShowPage) -> &'static str,
    errors: FormErrors,
) -> AppResult<Response> {
    let mut page = show_page(state, ctx, id, &Fields::default()).await?;
    page.failed_form = with(&mut page);
    page.errors = errors;
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

pub async fn update(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<TrainerId>,
    form::Form(form): form::Form<ProfileForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let profile = match form.parse() {
        Ok(p) => p,
        Err(errors) => {
            return failed(
                &state,
                ctx,
                id,
                |p| {
                    p.profile = form;
                    "profile"
                },
                errors,
            )
            .await;
        }
    };
    let mut tx = state.pool.begin().await?;
    let name = actions::update_profile(&mut tx, admin.0.id, id, &profile).await?;
    flash::done(tx, &session, format!("{name}'s profile is saved."), &trainer_url(id)).await
}

pub async fn add_qualification(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<TrainerId>,
    Form(form): Form<QualificationForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let q = match form.parse() {
        Ok(q) => q,
        Err(errors) => {
            return failed(
                &state,
                ctx,
                id,
                |p| {
                    p.qualification = form;
                    "qualification"
                },
                errors,
            )
            .await;
        }
    };
    let mut tx = state.pool.begin().await?;
    actions::add_qualification(&mut tx, admin.0.id, id, &q).await?;
    flash::done(tx, &session, format!("{} is added.", q.name), &trainer_url(id)).await
}

pub async fn remove_qualification(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path((id, qualification)): Path<(TrainerId, QualificationId)>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let mut tx = state.pool.begin().await?;
    actions::remove_qualification(&mut tx, admin.0.id, id, qualification).await?;
    flash::done(tx, &session, "Qualification removed.", &trainer_url(id)).await
}

pub async fn add_contact(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<TrainerId>,
    Form(form): Form<ContactForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let contact = match form.parse() {
        Ok(c) => c,
        Err(errors) => {
            return failed(
                &state,
                ctx,
                id,
                |p| {
                    p.contact = form;
                    "contact"
                },
                errors,
            )
            .await;
        }
    };
    let mut tx = state.pool.begin().await?;
    actions::add_contact(&mut tx, admin.0.id, id, &contact).await?;
    flash::done(tx, &session, "Emergency contact added.", &trainer_url(id)).await
}

pub async fn remove_contact(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path((id, contact)): Path<(TrainerId, TrainerContactId)>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let mut tx = state.pool.begin().await?;
    actions::remove_contact(&mut tx, admin.0.id, id, contact).await?;
    flash::done(tx, &session, "Emergency contact removed.", &trainer_url(id)).await
}

pub async fn add_note(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<TrainerId>,
    Form(form): Form<NoteForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let body = match form.parse() {
        Ok(body) => body,
        Err(errors) => {
            return failed(
                &state,
                ctx,
                id,
                |p| {
                    p.note = form.note;
                    "note"
                },
                errors,
            )
            .await;
        }
    };
    let mut tx = state.pool.begin().await?;
    actions::add_note(&mut tx, admin.0.id, id, &body).await?;
    flash::done(tx, &session, "Note added.", &trainer_url(id)).await
}

pub async fn deactivate(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(id): Path<TrainerId>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let mut tx = state.pool.begin().await?;
    let (name, opened) = actions::deactivate(&mut tx, admin.0.id, id).await?;
    let message = format!("{name} is deactivated; {opened} future shift(s) are open for others to take.");
    flash::done(tx, &session, message, &trainer_url(id)).await
}

pub async fn reactivate(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(id): Path<TrainerId>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let mut tx = state.pool.begin().await?;
    let name = actions::reactivate(&mut tx, admin.0.id, id).await?;
    flash::done(tx, &session, format!("{name} is active again."), &trainer_url(id)).await
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
    let Ok(user_id) = actions::invite(&mut tx, &state, admin.0.id, &person).await? else {
        let mut errors = FormErrors::default();
        errors.add("email", "An account already uses this email.");
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &InvitePage { ctx, form, errors });
    };
    let message =
        format!("{} is invited: we have emailed them a link to choose a password.", person.name.as_str());
    flash::done(tx, &session, message, &trainer_url(user_id)).await
}
