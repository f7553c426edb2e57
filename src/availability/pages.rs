//! `/trainer/availability` and its forms.

use askama::Template;
use axum::{Form, extract::State, http::StatusCode, response::Response};
use time::{Time, macros::format_description};
use tower_sessions::Session;

use super::{
    actions,
    domain::{ExceptionForm, SlotForm, TimeOffForm, TimeOffKind, TimeOffStatus, WEEKDAYS},
    store,
};
use crate::{
    AppState,
    auth::Trainer,
    error::AppResult,
    ids::{AvailabilityExceptionId, AvailabilityId, TimeOffRequestId, TrainerId},
    web::{
        Choice, FormErrors, PageContext, Path, flash, fmt,
        form::{render, render_with},
    },
};

const PAGE: &str = "/trainer/availability";

pub struct Slot {
    pub id: AvailabilityId,
    pub from: String,
    pub to: String,
}

pub struct WeekdaySlots {
    pub number: usize,
    pub name: &'static str,
    pub slots: Vec<Slot>,
}

pub struct Exception {
    pub id: AvailabilityExceptionId,
    pub date: String,
    pub times: String,
    pub available: bool,
    pub note: String,
}

pub struct TimeOff {
    pub id: TimeOffRequestId,
    pub kind: TimeOffKind,
    pub from: String,
    pub to: String,
    pub reason: String,
    pub status: TimeOffStatus,
    pub decision_note: String,
}

/// What was typed into each form, and the errors of the one that failed.
#[derive(Default)]
pub struct Typed {
    pub slot: SlotForm,
    pub slot_errors: FormErrors,
    pub exception: ExceptionForm,
    pub exception_errors: FormErrors,
    pub time_off: TimeOffForm,
    pub time_off_errors: FormErrors,
}

#[derive(Template)]
#[template(path = "availability/show.html")]
pub struct ShowPage {
    pub ctx: PageContext,
    pub week: Vec<WeekdaySlots>,
    pub exceptions: Vec<Exception>,
    pub time_off: Vec<TimeOff>,
    pub kinds: Vec<Choice>,
    pub typed: Typed,
}

fn hm(t: Time) -> String {
    t.format(format_description!("[hour]:[minute]")).unwrap_or_default()
}

async fn page(state: &AppState, ctx: PageContext, trainer: TrainerId, typed: Typed) -> AppResult<ShowPage> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let slots = store::slots(&mut conn, trainer).await?;
    let week = WEEKDAYS
        .iter()
        .enumerate()
        .map(|(i, name)| WeekdaySlots {
            number: i + 1,
            name,
            slots: slots
                .iter()
                .filter(|s| usize::try_from(s.weekday).ok() == Some(i + 1))
                .map(|s| Slot { id: s.id, from: hm(s.starts), to: hm(s.ends) })
                .collect(),
        })
        .collect();
    let exceptions = store::exceptions(&mut conn, trainer)
        .await?
        .into_iter()
        .map(|e| Exception {
            id: e.id,
            date: e
                .on_date
                .format(format_description!("[weekday] [day padding:none] [month repr:long]"))
                .unwrap_or_default(),
            times: match (e.starts, e.ends) {
                (Some(s), Some(t)) => format!("{}–{}", hm(s), hm(t)),
                _ => "all day".into(),
            },
            available: e.available,
            note: e.note,
        })
        .collect();
    let time_off = store::time_off_of(&mut conn, trainer)
        .await?
        .into_iter()
        .map(|t| TimeOff {
            id: t.id,
            kind: t.kind,
            from: fmt::day_time(t.starts_at, tz),
            to: fmt::day_time(t.ends_at, tz),
            reason: t.reason,
            status: t.status,
            decision_note: t.decision_note,
        })
        .collect();
    let kinds = TimeOffKind::ALL
        .iter()
        .map(|k| Choice::new(k.as_str(), k.label(), typed.time_off.kind == k.as_str()))
        .collect();
    Ok(ShowPage { ctx, week, exceptions, time_off, kinds, typed })
}

pub async fn show(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
) -> AppResult<Response> {
    render(&page(&state, ctx, TrainerId(trainer.id.0), Typed::default()).await?)
}

async fn invalid(
    state: &AppState,
    ctx: PageContext,
    trainer: TrainerId,
    typed: Typed,
) -> AppResult<Response> {
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &page(state, ctx, trainer, typed).await?)
}

pub async fn add_slot(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    session: Session,
    Form(form): Form<SlotForm>,
) -> AppResult<Response> {
    let trainer = TrainerId(trainer.id.0);
    let slot = match form.parse() {
        Ok(slot) => slot,
        Err(slot_errors) => {
            return invalid(&state, ctx, trainer, Typed { slot: form, slot_errors, ..Typed::default() })
                .await;
        }
    };
    let mut tx = state.pool.begin().await?;
    actions::add_slot(&mut tx, trainer, &slot).await?;
    flash::done(tx, &session, "Availability added.", PAGE).await
}

pub async fn remove_slot(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    session: Session,
    Path(id): Path<AvailabilityId>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    actions::remove_slot(&mut tx, TrainerId(trainer.id.0), id).await?;
    flash::done(tx, &session, "Availability removed.", PAGE).await
}

pub async fn add_exception(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    session: Session,
    Form(form): Form<ExceptionForm>,
) -> AppResult<Response> {
    let trainer = TrainerId(trainer.id.0);
    let exception = match form.parse() {
        Ok(exception) => exception,
        Err(exception_errors) => {
            let typed = Typed { exception: form, exception_errors, ..Typed::default() };
            return invalid(&state, ctx, trainer, typed).await;
        }
    };
    let mut tx = state.pool.begin().await?;
    actions::add_exception(&mut tx, trainer, &exception).await?;
    flash::done(tx, &session, "Date added.", PAGE).await
}

pub async fn remove_exception(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    session: Session,
    Path(id): Path<AvailabilityExceptionId>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    actions::remove_exception(&mut tx, TrainerId(trainer.id.0), id).await?;
    flash::done(tx, &session, "Date removed.", PAGE).await
}

pub async fn request_time_off(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    session: Session,
    Form(form): Form<TimeOffForm>,
) -> AppResult<Response> {
    let trainer = TrainerId(trainer.id.0);
    let request = match form.parse(state.config.timezone) {
        Ok(request) => request,
        Err(time_off_errors) => {
            let typed = Typed { time_off: form, time_off_errors, ..Typed::default() };
            return invalid(&state, ctx, trainer, typed).await;
        }
    };
    let mut tx = state.pool.begin().await?;
    actions::request_time_off(&mut tx, trainer, &request).await?;
    flash::done(tx, &session, "Time off requested. The office will approve or decline it.", PAGE).await
}

pub async fn withdraw_time_off(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    session: Session,
    Path(id): Path<TimeOffRequestId>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    actions::withdraw_time_off(&mut tx, TrainerId(trainer.id.0), id).await?;
    flash::done(tx, &session, "Request withdrawn.", PAGE).await
}
