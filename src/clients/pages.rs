//! `/admin/clients`: parents and their assigned trainer; assigning or transferring a
//! client, with the reason kept in the history.

use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde_json::json;
use time_tz::TimeZone;
use tower_sessions::Session;

use super::store::{self, ClientRow, TrainerChoice};
use crate::{
    AppState, audit,
    auth::Admin,
    bookings::parse_id,
    catalogue::EDITORS,
    error::{AppError, AppResult},
    notifications::Email,
    web::{
        FormErrors, PageContext,
        flash::{self, FlashKind},
        fmt,
        form::{Fields, QueryFields, render, render_with},
        page::{Cursor, Order, PageRequest, Pager},
    },
};

#[derive(Template)]
#[template(path = "clients/index.html")]
pub struct IndexPage {
    pub ctx: PageContext,
    pub q: String,
    pub clients: Vec<ClientRow>,
    /// How many clients match, over every page.
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
    let q = query.get("q").unwrap_or_default().chars().take(100).collect::<String>();
    let mut conn = state.pool.acquire().await?;
    let page = PageRequest::from_query(&query, Order::Ascending);
    let rows = store::clients(&mut conn, &q, &page).await?;
    let total = store::count_clients(&mut conn, &q).await?;
    let page = page.finish(rows, |c| Cursor::new(c.name.clone(), c.id), "/admin/clients", &query);
    render(&IndexPage { ctx, q, clients: page.rows, total, pager: page.pager })
}

pub struct HistoryLine {
    pub trainer: String,
    pub from: String,
    pub until: String,
    pub by: String,
    pub reason: String,
}

#[derive(Clone, Debug, Default)]
pub struct AssignForm {
    pub trainer: String,
    pub reason: String,
    pub move_shifts: bool,
}

#[derive(Template)]
#[template(path = "clients/show.html")]
pub struct ShowPage {
    pub ctx: PageContext,
    pub c: ClientRow,
    pub history: Vec<HistoryLine>,
    pub trainers: Vec<TrainerChoice>,
    pub form: AssignForm,
    pub errors: FormErrors,
}

impl ShowPage {
    pub fn picked(&self, id: &i64) -> bool {
        self.form.trainer == id.to_string()
    }
}

async fn show_page(
    state: &AppState,
    ctx: PageContext,
    id: i64,
    form: AssignForm,
    errors: FormErrors,
) -> AppResult<ShowPage> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let c = store::client(&mut conn, id, false).await?.ok_or(AppError::NotFound)?;
    let history = store::history(&mut conn, id)
        .await?
        .into_iter()
        .map(|h| HistoryLine {
            trainer: h.trainer,
            from: fmt::day_time(h.assigned_at, tz),
            until: h.ended_at.map_or_else(|| "now".to_owned(), |at| fmt::day_time(at, tz)),
            by: h.assigned_by.unwrap_or_else(|| "Someone".into()),
            reason: h.reason,
        })
        .collect();
    let trainers = store::active_trainers(&mut conn).await?;
    Ok(ShowPage { ctx, c, history, trainers, form, errors })
}

pub async fn show(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    Path(id): Path<String>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let id = parse_id(&id)?;
    render(&show_page(&state, ctx, id, AssignForm::default(), FormErrors::default()).await?)
}

pub async fn assign(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<String>,
    fields: Fields,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let tz = state.config.timezone;
    let id = parse_id(&id)?;
    let form = AssignForm {
        trainer: fields.get("trainer").unwrap_or_default().to_owned(),
        reason: fields.get("reason").unwrap_or_default().to_owned(),
        move_shifts: fields.get("move_shifts").is_some(),
    };
    let again = |form, errors| async {
        let page = show_page(&state, ctx, id, form, errors).await?;
        render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    let mut errors = FormErrors::default();
    let trainer_id = form.trainer.parse::<i64>().ok();
    if trainer_id.is_none() {
        errors.add("trainer", "Choose the trainer.");
    }
    let reason = if form.reason.is_empty() {
        errors.add("reason", "Give a reason: it stays in the client's history.");
        String::new()
    } else if form.reason.chars().count() > 2000 {
        errors.add("reason", "Keep it under 2,000 characters.");
        String::new()
    } else {
        form.reason.clone()
    };
    let mut tx = state.pool.begin().await?;
    // Locking the client serialises two admins transferring the same client at once.
    let client = store::client(&mut tx, id, true).await?.ok_or(AppError::NotFound)?;
    let new_trainer = match trainer_id {
        Some(t) => store::is_active_trainer(&mut tx, t).await?.map(|name| (t, name)),
        None => None,
    };
    if trainer_id.is_some() && new_trainer.is_none() {
        errors.add("trainer", "Choose an active trainer.");
    }
    if let (Some((t, name)), Some(current)) = (&new_trainer, client.trainer_id)
        && *t == current
    {
        errors.add("trainer", format!("{} is already {name}'s client.", client.name));
    }
    let Some((trainer_id, trainer_name)) = new_trainer.filter(|_| errors.is_empty()) else {
        drop(tx);
        return again(form, errors).await;
    };
    store::assign(&mut tx, id, trainer_id, admin.0.id, &reason).await?;

    let mut moved = Vec::new();
    let mut kept = Vec::new();
    if let (true, Some(old_trainer)) = (form.move_shifts, client.trainer_id) {
        let zone = tz.name();
        for shift in store::shifts_for_client(&mut tx, id, old_trainer).await? {
            // Each move in its own savepoint: a refusal undoes only that move.
            let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
            match store::move_shift_if_qualified(&mut savepoint, shift.shift_id, trainer_id, zone).await {
                Ok(true) => {
                    savepoint.commit().await?;
                    moved.push(shift);
                }
                Ok(false) => {
                    savepoint.rollback().await?;
                    let gaps = store::qualification_gaps(&mut tx, shift.shift_id, trainer_id, zone).await?;
                    kept.push((shift, NotMoved::NotQualified(gaps)));
                }
                Err(err) => {
                    let why = match crate::catalogue::store::constraint(&err) {
                        Some("shifts_no_overlap_per_trainer") => NotMoved::Overlaps,
                        Some("shifts_not_in_time_off") => NotMoved::TimeOff,
                        _ => return Err(err.into()),
                    };
                    savepoint.rollback().await?;
                    kept.push((shift, why));
                }
            }
        }
    }
    let line = |activity: &str, at| format!("- {activity} on {}", fmt::day_time(at, tz));
    if !moved.is_empty() {
        let list: Vec<String> = moved.iter().map(|s| line(&s.activity, s.starts_at)).collect();
        let body = format!(
            "Hello {trainer_name},\n\n{} is now your client. These shifts are now yours:\n\n{}\n\n\
             See your shifts at {}/trainer/shifts\n",
            client.name,
            list.join("\n"),
            state.config.base_url
        );
        let to = store::email_of(&mut tx, trainer_id).await?;
        let subject = format!("Shift changed: {} is now your client", client.name);
        state.outbox.queue(&mut tx, &Email { to, subject, body }).await?;
        if let (Some(old), Some(old_name)) = (client.trainer_id, &client.trainer) {
            let body = format!(
                "Hello {old_name},\n\n{} has moved to {trainer_name}. These shifts are no longer yours:\n\n{}\n",
                client.name,
                list.join("\n")
            );
            let to = store::email_of(&mut tx, old).await?;
            let subject = format!("Shift changed: {} has moved to {trainer_name}", client.name);
            state.outbox.queue(&mut tx, &Email { to, subject, body }).await?;
        }
    }
    let action = if client.trainer_id.is_some() { "client.transferred" } else { "client.assigned" };
    audit::record(&mut tx)
        .by(admin.0.id)
        .action(action)
        .entity("client", id)
        .before(client.trainer_id.map(|t| json!({ "trainer_id": t })))
        .after(json!({
            "trainer_id": trainer_id, "reason": reason, "move_shifts": form.move_shifts,
            "shifts_moved": moved.iter().map(|s| s.shift_id).collect::<Vec<_>>(),
            "shifts_kept": kept.iter().map(|(s, _)| s.shift_id).collect::<Vec<_>>(),
            "shifts_not_moved": kept.iter().map(|(s, why)| why.audit(s.shift_id)).collect::<Vec<_>>(),
        }))
        .await?;
    tx.commit().await?;

    let mut message = format!("{} is now {trainer_name}'s client.", client.name);
    if form.move_shifts && client.trainer_id.is_some() {
        message.push_str(&format!(" {} future shift(s) moved to {trainer_name}.", moved.len()));
        if !kept.is_empty() {
            let list: Vec<String> = kept
                .iter()
                .map(|(s, why)| {
                    let when = fmt::day_time(s.starts_at, tz);
                    format!("{} on {when} ({trainer_name} {})", s.activity, why.describe(&s.activity))
                })
                .collect();
            let shifts = if kept.len() == 1 { "shift" } else { "shifts" };
            message.push_str(&format!(" {} {shifts} did not move: {}.", kept.len(), list.join("; ")));
        }
    }
    let kind = if kept.is_empty() { FlashKind::Success } else { FlashKind::Info };
    flash::push(&session, kind, message).await?;
    Ok(Redirect::to(&format!("/admin/clients/{id}")).into_response())
}

/// Why one of the client's shifts stayed with the old trainer on a transfer.
enum NotMoved {
    NotQualified(store::QualificationGaps),
    Overlaps,
    TimeOff,
}

impl NotMoved {
    /// Follows the new trainer's name: "Kim Park is not qualified: needs Pool lifeguard".
    fn describe(&self, activity: &str) -> String {
        match self {
            Self::Overlaps => "has another shift then".into(),
            Self::TimeOff => "has time off then".into(),
            Self::NotQualified(gaps) => {
                let mut parts = Vec::new();
                if !gaps.approved {
                    parts.push(format!("not approved for {activity}"));
                }
                let needs: Vec<String> = gaps
                    .missing
                    .iter()
                    .cloned()
                    .chain(gaps.expired.iter().map(|name| format!("{name} in date")))
                    .collect();
                if !needs.is_empty() {
                    parts.push(format!("needs {}", needs.join(", ")));
                }
                if parts.is_empty() {
                    // Qualified when asked afterwards: their record changed meanwhile.
                    "is not qualified".into()
                } else {
                    format!("is not qualified: {}", parts.join("; "))
                }
            }
        }
    }

    fn audit(&self, shift_id: i64) -> serde_json::Value {
        match self {
            Self::Overlaps => json!({ "shift_id": shift_id, "reason": "overlaps" }),
            Self::TimeOff => json!({ "shift_id": shift_id, "reason": "time_off" }),
            Self::NotQualified(gaps) => json!({
                "shift_id": shift_id, "reason": "not_qualified", "day": gaps.day.to_string(),
                "approved_for_activity": gaps.approved, "missing": gaps.missing, "expired": gaps.expired,
            }),
        }
    }
}
