//! The register page and the small forms beside it.

use askama::Template;
use axum::{Form, extract::State, http::StatusCode, response::Response};
use time_tz::OffsetDateTimeExt;
use tower_sessions::Session;

use super::{
    actions::{self, RegisterSaved},
    domain::{self, AttendanceStatus, ConcernForm, IncidentForm, NoteForm, RegisterForm, Severity},
    store::{self, RegisterSession},
};
use crate::{
    AppState,
    auth::{Trainer, User},
    bookings::domain::age_on,
    error::{AppError, AppResult},
    ids::{ChildId, SessionId},
    web::{
        FormErrors, PageContext, Path, flash, fmt,
        form::{self, render_with},
    },
};

pub struct CollectorChoice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct ChildLine {
    pub id: ChildId,
    pub name: String,
    /// None for an adult who gave no date of birth.
    pub age: Option<i32>,
    pub photo_consent: bool,
    pub flags: Vec<String>,
    pub status: String,
    pub collectors: Vec<CollectorChoice>,
    pub other_name: String,
    pub note: String,
    pub flagged: bool,
    pub signed_out: Option<String>,
}

pub struct NoteLine {
    pub author: String,
    pub when: String,
    pub body: String,
}

#[derive(Template)]
#[template(path = "attendance/register.html")]
pub struct RegisterPage {
    pub ctx: PageContext,
    pub session_id: SessionId,
    pub title: String,
    pub when: String,
    pub venue: String,
    pub children: Vec<ChildLine>,
    /// Each mark's form value and label.
    pub statuses: Vec<(&'static str, &'static str)>,
    /// Each severity's form value and label.
    pub severities: Vec<(&'static str, &'static str)>,
    pub notes: Vec<NoteLine>,
    pub errors: FormErrors,
    pub incident: IncidentForm,
    pub concern: ConcernForm,
    pub completed: bool,
    pub course: bool,
}

/// The session, if this trainer works it; anyone else gets "not found".
async fn session_for(
    conn: &mut sqlx::PgConnection,
    trainer: &User,
    id: SessionId,
) -> AppResult<RegisterSession> {
    store::session_worked_by(conn, trainer.id.0, id).await?.ok_or(AppError::NotFound)
}

async fn page(
    state: &AppState,
    ctx: PageContext,
    s: &RegisterSession,
    typed: Option<&RegisterForm>,
) -> AppResult<RegisterPage> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let booked = store::booked(&mut conn, s.id).await?;
    let ids: Vec<ChildId> = booked.iter().map(|b| b.child_id).collect();
    let collectors = store::collectors(&mut conn, &ids).await?;
    let on = s.starts_at.to_timezone(tz).date();
    let children = booked.into_iter().map(|b| child_line(b, &collectors, typed, on, tz)).collect();
    let notes = sqlx::query!(
        r#"select u.name as "author?", n.created_at, n.body
         from session_notes n left join users u on u.id = n.author_id
         where n.session_id = $1 order by n.created_at"#,
        s.id.0,
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|n| NoteLine {
        author: n.author.unwrap_or_default(),
        when: fmt::day_time(n.created_at, tz),
        body: n.body,
    })
    .collect();
    Ok(RegisterPage {
        ctx,
        session_id: s.id,
        title: s.activity.clone(),
        when: format!("{}–{}", fmt::day_time(s.starts_at, tz), fmt::time_of_day(s.ends_at, tz)),
        venue: s.venue.clone(),
        children,
        statuses: AttendanceStatus::ALL.iter().map(|s| (s.key(), s.label())).collect(),
        severities: Severity::ALL.iter().map(|s| (s.key(), s.label())).collect(),
        notes,
        errors: FormErrors::default(),
        incident: IncidentForm::default(),
        concern: ConcernForm::default(),
        completed: s.completed,
        course: s.course,
    })
}

/// One child's line on the register: their flags, and the marks saved or typed.
fn child_line(
    b: store::Booked,
    collectors: &[store::Collector],
    typed: Option<&RegisterForm>,
    on: time::Date,
    tz: &time_tz::Tz,
) -> ChildLine {
    let typed_status = typed.and_then(|f| f.get("status", b.child_id)).map(str::to_owned);
    let chosen = typed.and_then(|f| f.get("collector", b.child_id).map(str::to_owned)).unwrap_or_else(|| {
        collectors
            .iter()
            .find(|c| c.child_id == b.child_id && c.name == b.collected_by)
            .map(|c| c.id.to_string())
            .unwrap_or_else(|| if b.collected_by.is_empty() { String::new() } else { "other".into() })
    });
    let mut choices: Vec<CollectorChoice> = collectors
        .iter()
        .filter(|c| c.child_id == b.child_id)
        .map(|c| CollectorChoice {
            value: c.id.to_string(),
            label: format!("{} ({})", c.name, c.relationship),
            selected: chosen == c.id.to_string(),
        })
        .collect();
    choices.push(CollectorChoice {
        value: "other".into(),
        label: "Someone else (flag to the office)".into(),
        selected: chosen == "other",
    });
    let flags = [
        ("Allergies", &b.allergies),
        ("Medical", &b.medical_notes),
        ("Needs", &b.additional_needs),
        ("Access", &b.access_needs),
        ("Dietary", &b.dietary_needs),
        ("Language", &b.language_needs),
        ("Other", &b.other_needs),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("{k}: {v}"))
    .collect();
    ChildLine {
        id: b.child_id,
        name: format!("{} {}", b.first_name, b.last_name),
        age: b.date_of_birth.map(|born| age_on(born, on)),
        photo_consent: b.photo_consent,
        flags,
        status: typed_status.or(b.status.map(|s| s.key().to_owned())).unwrap_or_default(),
        other_name: typed
            .and_then(|f| f.get("other", b.child_id))
            .map(str::to_owned)
            .unwrap_or_else(|| if chosen == "other" { b.collected_by.clone() } else { String::new() }),
        note: typed.and_then(|f| f.get("note", b.child_id)).map(str::to_owned).unwrap_or(b.collection_note),
        flagged: b.flagged,
        signed_out: b.signed_out_at.map(|t| fmt::time_of_day(t, tz)),
        collectors: choices,
    }
}

pub async fn register(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    Path(id): Path<SessionId>,
) -> AppResult<Response> {
    let mut conn = state.pool.acquire().await?;
    let s = session_for(&mut conn, &trainer, id).await?;
    drop(conn);
    render_with(StatusCode::OK, &page(&state, ctx, &s, None).await?)
}

/// The register again with the form's errors (a 422).
async fn again(
    state: &AppState,
    ctx: PageContext,
    s: &RegisterSession,
    typed: Option<&RegisterForm>,
    errors: FormErrors,
    fill: impl FnOnce(&mut RegisterPage),
) -> AppResult<Response> {
    let mut page = page(state, ctx, s, typed).await?;
    page.errors = errors;
    fill(&mut page);
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// `Save register`: every mark given is saved; signing out to someone not on the
/// child's list needs their name and is flagged to the office.
pub async fn save_register(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    session: Session,
    Path(id): Path<SessionId>,
    form::Form(form): form::Form<RegisterForm>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let s = session_for(&mut tx, &trainer, id).await?;
    let booked = store::booked(&mut tx, s.id).await?;
    let ids: Vec<ChildId> = booked.iter().map(|b| b.child_id).collect();
    let collectors = store::collectors(&mut tx, &ids).await?;
    let marks = match domain::marks(&form, &booked, &collectors) {
        Ok(marks) => marks,
        Err(errors) => {
            drop(tx);
            return again(&state, ctx, &s, Some(&form), errors, |_| {}).await;
        }
    };
    let message = match actions::save_register(&mut tx, trainer.id.0, s.id, &marks).await? {
        RegisterSaved { flagged: true, .. } => {
            "Register saved. A collection by someone not on the list has been flagged to the office."
        }
        RegisterSaved { completed: true, .. } => {
            "Register saved. Every child is marked and the team has checked out: session completed."
        }
        RegisterSaved { .. } => "Register saved.",
    };
    flash::done(tx, &session, message, &format!("/trainer/sessions/{}/register", s.id)).await
}

pub async fn add_note(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    session: Session,
    Path(id): Path<SessionId>,
    Form(form): Form<NoteForm>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let s = session_for(&mut tx, &trainer, id).await?;
    let body = match form.parse() {
        Ok(body) => body,
        Err(errors) => {
            drop(tx);
            return again(&state, ctx, &s, None, errors, |_| {}).await;
        }
    };
    actions::add_note(&mut tx, trainer.id.0, s.id, &body).await?;
    let to = format!("/trainer/sessions/{}/register#notes", s.id);
    flash::done(tx, &session, "Note added for the team.", &to).await
}

pub async fn report_incident(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    session: Session,
    Path(id): Path<SessionId>,
    Form(form): Form<IncidentForm>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let s = session_for(&mut tx, &trainer, id).await?;
    let incident = match form.parse() {
        Ok(incident) => incident,
        Err(errors) => {
            drop(tx);
            return again(&state, ctx, &s, None, errors, |page| page.incident = form).await;
        }
    };
    actions::report_incident(&mut tx, trainer.id.0, s.id, &incident).await?;
    let to = format!("/trainer/sessions/{}/register", s.id);
    flash::done(tx, &session, "Incident reported to the office.", &to).await
}

/// Goes to the safeguarding lead only: the trainer sees a confirmation, not the record.
pub async fn raise_concern(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    session: Session,
    Path(id): Path<SessionId>,
    Form(form): Form<ConcernForm>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let s = session_for(&mut tx, &trainer, id).await?;
    let booked: Vec<ChildId> = store::booked(&mut tx, s.id).await?.iter().map(|b| b.child_id).collect();
    let (child, concern) = match form.parse(&booked) {
        Ok(parsed) => parsed,
        Err(errors) => {
            drop(tx);
            return again(&state, ctx, &s, None, errors, |page| page.concern = form).await;
        }
    };
    actions::raise_concern(&state, &mut tx, trainer.id.0, s.id, child, &concern).await?;
    let message = "Thank you. Your concern has gone to the safeguarding lead, who will follow it up.";
    flash::done(tx, &session, message, &format!("/trainer/sessions/{}/register", s.id)).await
}
