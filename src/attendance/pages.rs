//! The register page and the small forms beside it.

use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use time::OffsetDateTime;
use time_tz::OffsetDateTimeExt;
use tower_sessions::Session;

use super::store::{self, Mark};
use crate::{
    AppState, audit,
    auth::{Trainer, User},
    bookings::{domain::age_on, parse_id, store as bookings},
    error::{AppError, AppResult},
    shifts::store as shifts,
    web::{
        FormErrors, PageContext,
        flash::{self, FlashKind},
        fmt,
        form::{Fields, render_with},
    },
};

pub const STATUSES: [(&str, &str); 4] =
    [("present", "Present"), ("late", "Late"), ("absent", "Absent"), ("excused", "Excused")];

pub struct CollectorChoice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct ChildLine {
    pub id: i64,
    pub name: String,
    pub age: i32,
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
    pub session_id: i64,
    pub title: String,
    pub when: String,
    pub venue: String,
    pub children: Vec<ChildLine>,
    pub statuses: [(&'static str, &'static str); 4],
    pub notes: Vec<NoteLine>,
    pub errors: FormErrors,
    pub incident: IncidentForm,
    pub concern_child: String,
    pub concern: String,
    pub completed: bool,
}

#[derive(Default)]
pub struct IncidentForm {
    pub what: String,
    pub severity: String,
    pub actions: String,
}

/// The session, if this trainer works it; anyone else gets "not found".
async fn session_for(
    conn: &mut sqlx::PgConnection,
    trainer: &User,
    raw_id: &str,
) -> AppResult<bookings::SessionInfo> {
    let id = parse_id(raw_id)?;
    if !shifts::works_session(conn, trainer.id, id).await? {
        return Err(AppError::NotFound);
    }
    bookings::session(conn, crate::ids::SessionId(id)).await?.ok_or(AppError::NotFound)
}

async fn page(
    state: &AppState,
    ctx: PageContext,
    s: &bookings::SessionInfo,
    typed: Option<&Fields>,
) -> AppResult<RegisterPage> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let booked = store::booked(&mut conn, s.id.0).await?;
    let ids: Vec<i64> = booked.iter().map(|b| b.child_id).collect();
    let collectors = store::collectors(&mut conn, &ids).await?;
    let on = s.starts_at.to_timezone(tz).date();
    let children = booked
        .into_iter()
        .map(|b| {
            let typed_status =
                typed.and_then(|f| f.get(&format!("status_{}", b.child_id))).map(str::to_owned);
            let chosen = typed
                .and_then(|f| f.get(&format!("collector_{}", b.child_id)).map(str::to_owned))
                .unwrap_or_else(|| {
                    collectors
                        .iter()
                        .find(|c| c.child_id == b.child_id && c.name == b.collected_by)
                        .map(|c| c.id.to_string())
                        .unwrap_or_else(|| {
                            if b.collected_by.is_empty() { String::new() } else { "other".into() }
                        })
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
            let flags =
                [("Allergies", &b.allergies), ("Medical", &b.medical_notes), ("Needs", &b.additional_needs)]
                    .into_iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
            ChildLine {
                id: b.child_id,
                name: format!("{} {}", b.first_name, b.last_name),
                age: age_on(b.date_of_birth, on),
                photo_consent: b.photo_consent,
                flags,
                status: typed_status.or(b.status).unwrap_or_default(),
                other_name: typed
                    .and_then(|f| f.get(&format!("other_{}", b.child_id)))
                    .map(str::to_owned)
                    .unwrap_or_else(
                        || if chosen == "other" { b.collected_by.clone() } else { String::new() },
                    ),
                note: typed
                    .and_then(|f| f.get(&format!("note_{}", b.child_id)))
                    .map(str::to_owned)
                    .unwrap_or(b.collection_note),
                flagged: b.flagged,
                signed_out: b.signed_out_at.map(|t| fmt::time_of_day(t, tz)),
                collectors: choices,
            }
        })
        .collect();
    let notes = sqlx::query_as::<_, (Option<String>, OffsetDateTime, String)>(
        "select u.name, n.created_at, n.body from session_notes n left join users u on u.id = n.author_id
         where n.session_id = $1 order by n.created_at",
    )
    .bind(s.id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|(author, at, body)| NoteLine {
        author: author.unwrap_or_default(),
        when: fmt::day_time(at, tz),
        body,
    })
    .collect();
    Ok(RegisterPage {
        ctx,
        session_id: s.id.0,
        title: s.activity.clone(),
        when: format!("{}–{}", fmt::day_time(s.starts_at, tz), fmt::time_of_day(s.ends_at, tz)),
        venue: s.venue.clone(),
        children,
        statuses: STATUSES,
        notes,
        errors: FormErrors::default(),
        incident: IncidentForm::default(),
        concern_child: String::new(),
        concern: String::new(),
        completed: s.status == crate::bookings::domain::SessionStatus::Completed,
    })
}

pub async fn register(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let mut conn = state.pool.acquire().await?;
    let s = session_for(&mut conn, &trainer, &id).await?;
    drop(conn);
    render_with(StatusCode::OK, &page(&state, ctx, &s, None).await?)
}

/// `Save register`: every mark given is saved; signing out to someone not on the
/// child's list needs their name and is flagged to the office.
pub async fn save_register(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let s = session_for(&mut tx, &trainer, &id).await?;
    let booked = store::booked(&mut tx, s.id.0).await?;
    let ids: Vec<i64> = booked.iter().map(|b| b.child_id).collect();
    let collectors = store::collectors(&mut tx, &ids).await?;
    let mut errors = FormErrors::default();
    let mut marks = Vec::new();
    for child in &booked {
        let Some(status) = form
            .get(&format!("status_{}", child.child_id))
            .and_then(|v| STATUSES.iter().find(|(key, _)| *key == v).map(|(key, _)| *key))
        else {
            continue;
        };
        let note =
            form.get(&format!("note_{}", child.child_id)).unwrap_or_default().chars().take(500).collect();
        let collected_by = match form.get(&format!("collector_{}", child.child_id)) {
            None => None,
            Some("other") => match form.get(&format!("other_{}", child.child_id)) {
                Some(name) => Some((name.chars().take(100).collect::<String>(), false)),
                None => {
                    errors.add(
                        "collector",
                        format!("Write the name of the person collecting {}.", child.first_name),
                    );
                    continue;
                }
            },
            Some(id) => collectors
                .iter()
                .find(|c| c.child_id == child.child_id && c.id.to_string() == id)
                .map(|c| (c.name.clone(), true)),
        };
        marks.push(Mark { child_id: child.child_id, status, collected_by, note });
    }
    if !errors.is_empty() {
        drop(tx);
        let mut page = page(&state, ctx, &s, Some(&form)).await?;
        page.errors = errors;
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    store::save(&mut tx, s.id.0, trainer.id, &marks).await?;
    let flagged: Vec<&Mark> = marks.iter().filter(|m| matches!(m.collected_by, Some((_, false)))).collect();
    for mark in &flagged {
        audit::record(&mut tx).by(trainer.id).action("attendance.collected_by_unlisted_person").entity("session", s.id).after(serde_json::json!({ "child_id": mark.child_id, "collected_by": mark.collected_by.as_ref().map(|c| &c.0), "note": mark.note }))
        .await?;
    }
    audit::record(&mut tx)
        .by(trainer.id)
        .action("attendance.saved")
        .entity("session", s.id)
        .after(serde_json::json!({ "marked": marks.len() }))
        .await?;
    let completed = store::complete_if_done(&mut tx, s.id.0).await?;
    tx.commit().await?;
    let message = match (flagged.is_empty(), completed) {
        (false, _) => {
            "Register saved. A collection by someone not on the list has been flagged to the office."
        }
        (true, true) => {
            "Register saved. Every child is marked and the team has checked out: session completed."
        }
        (true, false) => "Register saved.",
    };
    flash::push(&session, FlashKind::Success, message).await?;
    Ok(Redirect::to(&format!("/trainer/sessions/{}/register", s.id)).into_response())
}

fn required(form: &Fields, field: &'static str, message: &'static str, errors: &mut FormErrors) -> String {
    let value: String = form.get(field).unwrap_or_default().chars().take(5000).collect();
    if value.is_empty() {
        errors.add(field, message);
    }
    value
}

pub async fn add_note(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let s = session_for(&mut tx, &trainer, &id).await?;
    let mut errors = FormErrors::default();
    let body = required(&form, "body", "Write the note.", &mut errors);
    if !errors.is_empty() {
        drop(tx);
        let mut page = page(&state, ctx, &s, None).await?;
        page.errors = errors;
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    sqlx::query("insert into session_notes (session_id, author_id, body) values ($1, $2, $3)")
        .bind(s.id)
        .bind(trainer.id)
        .bind(&body)
        .execute(&mut *tx)
        .await?;
    audit::record(&mut tx).by(trainer.id).action("session.note_added").entity("session", s.id).await?;
    flash::done(
        tx,
        &session,
        "Note added for the team.",
        &format!("/trainer/sessions/{}/register#notes", s.id),
    )
    .await
}

pub async fn report_incident(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let s = session_for(&mut tx, &trainer, &id).await?;
    let mut errors = FormErrors::default();
    let what = required(&form, "what_happened", "Describe what happened.", &mut errors);
    let severity = form.get("severity").filter(|v| ["low", "medium", "high"].contains(v)).map(str::to_owned);
    if severity.is_none() {
        errors.add("severity", "Choose how serious it was.");
    }
    let actions: String = form.get("actions_taken").unwrap_or_default().chars().take(5000).collect();
    let Some(severity) = severity.filter(|_| errors.is_empty()) else {
        drop(tx);
        let mut page = page(&state, ctx, &s, None).await?;
        page.incident =
            IncidentForm { what, severity: form.get("severity").unwrap_or_default().to_owned(), actions };
        page.errors = errors;
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let incident_id: i64 = sqlx::query_scalar(
        "insert into incidents (session_id, reported_by, what_happened, severity, actions_taken)
         values ($1, $2, $3, $4, $5) returning id",
    )
    .bind(s.id)
    .bind(trainer.id)
    .bind(&what)
    .bind(&severity)
    .bind(&actions)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(&mut tx)
        .by(trainer.id)
        .action("incident.reported")
        .entity("incident", incident_id)
        .after(serde_json::json!({ "session_id": s.id, "severity": severity }))
        .await?;
    flash::done(
        tx,
        &session,
        "Incident reported to the office.",
        &format!("/trainer/sessions/{}/register", s.id),
    )
    .await
}

/// Goes to the safeguarding lead only: the trainer sees a confirmation, not the record.
pub async fn raise_concern(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let s = session_for(&mut tx, &trainer, &id).await?;
    let booked = store::booked(&mut tx, s.id.0).await?;
    let mut errors = FormErrors::default();
    let child = form.id("child_id").filter(|id| booked.iter().any(|b| b.child_id == *id));
    if child.is_none() {
        errors.add("child_id", "Choose the child this is about.");
    }
    let concern =
        required(&form, "concern", "Describe the concern: what you saw or heard, and when.", &mut errors);
    let Some(child_id) = child.filter(|_| errors.is_empty()) else {
        drop(tx);
        let mut page = page(&state, ctx, &s, None).await?;
        page.concern_child = form.get("child_id").unwrap_or_default().to_owned();
        page.concern = concern;
        page.errors = errors;
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    crate::safeguarding::raise(&state, &mut tx, trainer.id, child_id, Some(s.id.0), &concern).await?;
    tx.commit().await?;
    flash::push(
        &session,
        FlashKind::Success,
        "Thank you. Your concern has gone to the safeguarding lead, who will follow it up.",
    )
    .await?;
    Ok(Redirect::to(&format!("/trainer/sessions/{}/register", s.id)).into_response())
}
