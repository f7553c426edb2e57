//! `/trainer/sessions/{id}/results`: one form, made for a phone, with each learner's
//! result and note. Only the session's own trainers see it; anyone else gets 404.

use askama::Template;
use axum::{extract::State, http::StatusCode, response::Response};
use time::OffsetDateTime;
use time_tz::OffsetDateTimeExt;
use tower_sessions::Session;

use super::{
    domain::{self, CourseResult},
    record::{self, CourseSession, Learner, Recorder},
};
use crate::{
    AppState,
    auth::Trainer,
    error::{AppError, AppResult},
    ids::{ChildId, SessionId},
    web::{
        FormErrors, PageContext, Path, flash, fmt,
        form::{Form, render, render_with},
    },
};

pub struct LearnerLine {
    pub id: ChildId,
    pub name: String,
    pub needs: String,
    pub result: String,
    pub note: String,
    pub certificate: Option<String>,
}

#[derive(Template)]
#[template(path = "courses/results.html")]
pub struct ResultsPage {
    pub ctx: PageContext,
    pub session_id: SessionId,
    pub course: String,
    pub when: String,
    pub venue: String,
    pub certificate: bool,
    pub started: bool,
    pub learners: Vec<LearnerLine>,
    pub choices: Vec<(&'static str, &'static str)>,
    pub errors: FormErrors,
}

fn page(
    state: &AppState,
    ctx: PageContext,
    s: &CourseSession,
    learners: Vec<Learner>,
    typed: Option<&std::collections::HashMap<String, String>>,
) -> ResultsPage {
    let tz = state.config.timezone;
    let learners = learners
        .into_iter()
        .map(|l| {
            let typed_value = |name: String| typed.and_then(|f| f.get(&name)).cloned();
            LearnerLine {
                result: typed_value(format!("result_{}", l.child_id))
                    .unwrap_or_else(|| l.result.map(|r| r.key().to_owned()).unwrap_or_default()),
                note: typed_value(format!("note_{}", l.child_id))
                    .unwrap_or_else(|| l.note.unwrap_or_default()),
                id: l.child_id,
                name: l.name,
                needs: l.needs,
                certificate: l.certificate,
            }
        })
        .collect();
    ResultsPage {
        ctx,
        session_id: s.id,
        course: s.course.clone(),
        when: format!("{}–{}", fmt::day_time(s.starts_at, tz), fmt::time_of_day(s.ends_at, tz)),
        venue: s.venue.clone(),
        certificate: s.certificate_valid_months.is_some(),
        started: s.starts_at <= OffsetDateTime::now_utc(),
        learners,
        choices: CourseResult::ALL.iter().map(|r| (r.key(), r.label())).collect(),
        errors: FormErrors::default(),
    }
}

pub async fn results(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    Path(id): Path<SessionId>,
) -> AppResult<Response> {
    let mut conn = state.pool.acquire().await?;
    let s = record::session_worked_by(&mut conn, trainer.id.0, id).await?.ok_or(AppError::NotFound)?;
    let learners = record::learners(&mut conn, s.id).await?;
    render(&page(&state, ctx, &s, learners, None))
}

pub async fn save_results(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    session: Session,
    Path(id): Path<SessionId>,
    Form(form): Form<std::collections::HashMap<String, String>>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let s = record::session_worked_by(&mut tx, trainer.id.0, id).await?.ok_or(AppError::NotFound)?;
    // One recording at a time per session, so two trainers saving at once take turns.
    sqlx::query!("select id from sessions where id = $1 for update", s.id.0).fetch_one(&mut *tx).await?;
    let learners = record::learners(&mut tx, s.id).await?;
    let ids: Vec<ChildId> = learners.iter().map(|l| l.child_id).collect();
    let entries = domain::entries(&form, &ids).and_then(|entries| {
        if s.starts_at > OffsetDateTime::now_utc() && !entries.is_empty() {
            let mut errors = FormErrors::default();
            errors.add("results", "Results can be recorded once the course has started.");
            Err(errors)
        } else {
            Ok(entries)
        }
    });
    let entries = match entries {
        Ok(entries) => entries,
        Err(errors) => {
            tx.rollback().await?;
            let mut page = page(&state, ctx, &s, learners, Some(&form));
            page.errors = errors;
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let tz = state.config.timezone;
    let dates = (s.starts_at.to_timezone(tz).date(), crate::clock::today(tz));
    let by = Recorder { id: trainer.id.0, name: &trainer.name };
    let done = record::record(&mut tx, by, &s, &learners, &entries, dates).await?;
    let message = match (done.changed, done.issued) {
        (0, _) => "Nothing changed.".to_owned(),
        (n, 0) => format!("Results saved ({n} changed)."),
        (n, i) => format!("Results saved ({n} changed). {i} certificate(s) issued."),
    };
    flash::done(tx, &session, message, &format!("/trainer/sessions/{}/results", s.id)).await
}
