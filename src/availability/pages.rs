//! `/trainer/availability` and its forms.

use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use sqlx::FromRow;
use time::{Date, OffsetDateTime, Time, macros::format_description};
use tower_sessions::Session;

use super::domain::{self, TIME_OFF_KINDS, WEEKDAYS};
use crate::{
    AppState, audit,
    auth::{Trainer, User},
    bookings::parse_id,
    error::{AppError, AppResult},
    web::{
        FormErrors, PageContext,
        flash::{self, FlashKind},
        fmt,
        form::{Fields, render, render_with},
    },
};

#[derive(FromRow)]
struct SlotRow {
    id: i64,
    weekday: i16,
    starts: Time,
    ends: Time,
}

pub struct Slot {
    pub id: i64,
    pub from: String,
    pub to: String,
}

pub struct WeekdaySlots {
    pub number: usize,
    pub name: &'static str,
    pub slots: Vec<Slot>,
}

#[derive(FromRow)]
struct ExceptionRow {
    id: i64,
    on_date: Date,
    starts: Option<Time>,
    ends: Option<Time>,
    available: bool,
    note: String,
}

pub struct Exception {
    pub id: i64,
    pub date: String,
    pub times: String,
    pub available: bool,
    pub note: String,
}

#[derive(FromRow)]
struct TimeOffRow {
    id: i64,
    kind: String,
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
    reason: String,
    status: String,
    decision_note: String,
}

pub struct TimeOff {
    pub id: i64,
    pub kind: String,
    pub from: String,
    pub to: String,
    pub reason: String,
    pub status: String,
    pub decision_note: String,
}

/// What was typed into whichever form failed, to put back.
#[derive(Default)]
pub struct Typed {
    pub form: &'static str,
    pub weekday: String,
    pub starts: String,
    pub ends: String,
    pub date: String,
    pub available: bool,
    pub note: String,
    pub kind: String,
    pub from_date: String,
    pub from_time: String,
    pub to_date: String,
    pub to_time: String,
}

#[derive(Template)]
#[template(path = "availability/show.html")]
pub struct ShowPage {
    pub ctx: PageContext,
    pub week: Vec<WeekdaySlots>,
    pub exceptions: Vec<Exception>,
    pub time_off: Vec<TimeOff>,
    pub kinds: [(&'static str, &'static str); 3],
    pub typed: Typed,
    pub errors: FormErrors,
}

fn hm(t: Time) -> String {
    t.format(format_description!("[hour]:[minute]")).unwrap_or_default()
}

async fn page(
    state: &AppState,
    ctx: PageContext,
    trainer: &User,
    typed: Typed,
    errors: FormErrors,
) -> AppResult<ShowPage> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let slots: Vec<SlotRow> = sqlx::query_as(
        "select id, weekday, starts, ends from trainer_availability where trainer_id = $1 order by weekday, starts",
    )
    .bind(trainer.id)
    .fetch_all(&mut *conn)
    .await?;
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
    let exceptions: Vec<ExceptionRow> = sqlx::query_as(
        "select id, on_date, starts, ends, available, note from trainer_availability_exceptions
         where trainer_id = $1 and on_date >= current_date order by on_date, starts",
    )
    .bind(trainer.id)
    .fetch_all(&mut *conn)
    .await?;
    let exceptions = exceptions
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
    let time_off: Vec<TimeOffRow> = sqlx::query_as(
        "select id, kind, lower(during) as starts_at, upper(during) as ends_at, reason, status, decision_note
         from time_off_requests where trainer_id = $1 and upper(during) > now() - interval '60 days'
         order by lower(during) desc",
    )
    .bind(trainer.id)
    .fetch_all(&mut *conn)
    .await?;
    let time_off = time_off
        .into_iter()
        .map(|t| TimeOff {
            id: t.id,
            kind: TIME_OFF_KINDS
                .iter()
                .find(|(k, _)| *k == t.kind)
                .map_or(t.kind.clone(), |(_, l)| (*l).to_owned()),
            from: fmt::day_time(t.starts_at, tz),
            to: fmt::day_time(t.ends_at, tz),
            reason: t.reason,
            status: t.status,
            decision_note: t.decision_note,
        })
        .collect();
    Ok(ShowPage { ctx, week, exceptions, time_off, kinds: TIME_OFF_KINDS, typed, errors })
}

pub async fn show(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
) -> AppResult<Response> {
    render(&page(&state, ctx, &trainer, Typed::default(), FormErrors::default()).await?)
}

async fn invalid(
    state: &AppState,
    ctx: PageContext,
    trainer: &User,
    typed: Typed,
    errors: FormErrors,
) -> AppResult<Response> {
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &page(state, ctx, trainer, typed, errors).await?)
}

async fn done(session: &Session, message: &str) -> AppResult<Response> {
    flash::push(session, FlashKind::Success, message).await?;
    Ok(Redirect::to("/trainer/availability").into_response())
}

pub async fn add_slot(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    session: Session,
    form: Fields,
) -> AppResult<Response> {
    let typed = Typed {
        form: "slot",
        weekday: form.get("weekday").unwrap_or_default().into(),
        starts: form.get("starts").unwrap_or_default().into(),
        ends: form.get("ends").unwrap_or_default().into(),
        ..Typed::default()
    };
    let mut errors = FormErrors::default();
    let weekday = domain::parse_weekday(&typed.weekday).map_err(|m| errors.add("weekday", m)).ok();
    let range = domain::parse_range(&typed.starts, &typed.ends).map_err(|(f, m)| errors.add(f, m)).ok();
    let (Some(weekday), Some((starts, ends))) = (weekday, range) else {
        return invalid(&state, ctx, &trainer, typed, errors).await;
    };
    let mut tx = state.pool.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "insert into trainer_availability (trainer_id, weekday, starts, ends) values ($1, $2, $3, $4) returning id",
    )
    .bind(trainer.id)
    .bind(weekday)
    .bind(starts)
    .bind(ends)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(&mut tx)
        .by(trainer.id)
        .action("availability.slot_added")
        .entity("trainer_availability", id)
        .await?;
    tx.commit().await?;
    done(&session, "Availability added.").await
}

/// Deletes one of the trainer's own rows from `table` (another trainer's id is 404),
/// with its audit row.
async fn remove_own(
    state: &AppState,
    trainer: &User,
    raw_id: &str,
    table: &'static str,
    action: &str,
) -> AppResult<()> {
    let id = parse_id(raw_id)?;
    let mut tx = state.pool.begin().await?;
    let removed = sqlx::query(&format!("delete from {table} where id = $1 and trainer_id = $2"))
        .bind(id)
        .bind(trainer.id)
        .execute(&mut *tx)
        .await?;
    if removed.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    audit::record(&mut tx).by(trainer.id).action(action).entity(table, id).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn remove_slot(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    session: Session,
    Path(id): Path<String>,
) -> AppResult<Response> {
    remove_own(&state, &trainer, &id, "trainer_availability", "availability.slot_removed").await?;
    done(&session, "Availability removed.").await
}

pub async fn add_exception(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    session: Session,
    form: Fields,
) -> AppResult<Response> {
    let typed = Typed {
        form: "exception",
        date: form.get("date").unwrap_or_default().into(),
        starts: form.get("starts").unwrap_or_default().into(),
        ends: form.get("ends").unwrap_or_default().into(),
        available: form.get("available") == Some("1"),
        note: form.get("note").unwrap_or_default().chars().take(500).collect(),
        ..Typed::default()
    };
    let mut errors = FormErrors::default();
    let date = domain::parse_date(&typed.date).map_err(|m| errors.add("date", m)).ok();
    let times = if typed.starts.is_empty() && typed.ends.is_empty() {
        Some(None)
    } else {
        domain::parse_range(&typed.starts, &typed.ends).map(Some).map_err(|(f, m)| errors.add(f, m)).ok()
    };
    let (Some(date), Some(times)) = (date, times) else {
        return invalid(&state, ctx, &trainer, typed, errors).await;
    };
    let mut tx = state.pool.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "insert into trainer_availability_exceptions (trainer_id, on_date, starts, ends, available, note)
         values ($1, $2, $3, $4, $5, $6) returning id",
    )
    .bind(trainer.id)
    .bind(date)
    .bind(times.map(|t| t.0))
    .bind(times.map(|t| t.1))
    .bind(typed.available)
    .bind(&typed.note)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(&mut tx)
        .by(trainer.id)
        .action("availability.exception_added")
        .entity("trainer_availability_exception", id)
        .await?;
    tx.commit().await?;
    done(&session, "Date added.").await
}

pub async fn remove_exception(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    session: Session,
    Path(id): Path<String>,
) -> AppResult<Response> {
    remove_own(&state, &trainer, &id, "trainer_availability_exceptions", "availability.exception_removed")
        .await?;
    done(&session, "Date removed.").await
}

pub async fn request_time_off(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
    session: Session,
    form: Fields,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let typed = Typed {
        form: "time_off",
        kind: form.get("kind").unwrap_or_default().into(),
        from_date: form.get("from_date").unwrap_or_default().into(),
        from_time: form.get("from_time").unwrap_or_default().into(),
        to_date: form.get("to_date").unwrap_or_default().into(),
        to_time: form.get("to_time").unwrap_or_default().into(),
        note: form.get("reason").unwrap_or_default().chars().take(1000).collect(),
        ..Typed::default()
    };
    let mut errors = FormErrors::default();
    let kind = domain::parse_kind(&typed.kind).map_err(|m| errors.add("kind", m)).ok();
    // Without times, time off runs from the start of the first day to the end of the last.
    let from = domain::parse_local(&typed.from_date, &typed.from_time, false, tz)
        .map_err(|m| errors.add("from_date", m))
        .ok();
    let to = domain::parse_local(&typed.to_date, &typed.to_time, true, tz)
        .map_err(|m| errors.add("to_date", m))
        .ok();
    if let (Some(from), Some(to)) = (from, to)
        && to <= from
    {
        errors.add("to_date", "The end must be after the start.");
    }
    let (Some(kind), Some(from), Some(to)) = (kind, from, to) else {
        return invalid(&state, ctx, &trainer, typed, errors).await;
    };
    if !errors.is_empty() {
        return invalid(&state, ctx, &trainer, typed, errors).await;
    }
    let mut tx = state.pool.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "insert into time_off_requests (trainer_id, kind, during, reason) values ($1, $2, tstzrange($3, $4), $5)
         returning id",
    )
    .bind(trainer.id)
    .bind(kind)
    .bind(from)
    .bind(to)
    .bind(&typed.note)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(&mut tx).by(trainer.id).action("time_off.requested").entity("time_off_request", id).await?;
    tx.commit().await?;
    done(&session, "Time off requested. The office will approve or decline it.").await
}

pub async fn withdraw_time_off(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    session: Session,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let mut tx = state.pool.begin().await?;
    let withdrawn = sqlx::query(
        "update time_off_requests set status = 'withdrawn' where id = $1 and trainer_id = $2 and status = 'pending'",
    )
    .bind(id)
    .bind(trainer.id)
    .execute(&mut *tx)
    .await?;
    if withdrawn.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    audit::record(&mut tx).by(trainer.id).action("time_off.withdrawn").entity("time_off_request", id).await?;
    tx.commit().await?;
    done(&session, "Request withdrawn.").await
}
