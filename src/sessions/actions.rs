//! The admin's changes to sessions, one use case per action: each takes the
//! transaction and typed input, owns the rules, SQL, audit rows and emails, and
//! returns the outcome or a refusal by the form field it concerns.

use serde_json::json;
use sqlx::PgConnection;
use time::{Date, Duration, OffsetDateTime};
use time_tz::{OffsetDateTimeExt, Tz};

use super::{
    domain::{SeriesPlan, SessionEdit, SessionPlan, local_instant},
    store,
};
use crate::{
    AppState, audit,
    auth::User,
    db::OnConstraint,
    error::{AppError, AppResult},
    ids::{SeriesId, SessionId},
    notifications::Email,
    states::SessionStatus,
    web::fmt,
};

/// A refusal by the form field it concerns.
pub type Refused = (&'static str, String);

/// The message for a constraint an edit ran into, by the field it concerns.
fn edit_conflict(constraint: &str) -> Option<(&'static str, &'static str)> {
    match constraint {
        "sessions_capacity_not_exceeded" => {
            Some(("capacity", "More places are already booked than that: the capacity cannot go below them."))
        }
        "shifts_no_overlap_per_trainer" => Some((
            "start_time",
            "A trainer on this session has another shift at the new time. Change their shift first.",
        )),
        "shifts_not_in_time_off" => {
            Some(("start_time", "A trainer on this session has approved time off at the new time."))
        }
        _ => None,
    }
}

/// Changes one scheduled session `s` (locked by the caller), or it and the later
/// scheduled ones of its series, with an audit row each and one "shift changed" email
/// per trainer listing every session of theirs that moved. Returns how many sessions
/// changed. A refusal leaves the transaction spoiled: the caller drops it.
pub async fn update(
    state: &AppState,
    conn: &mut PgConnection,
    by: i64,
    s: &store::SessionRow,
    edit: &SessionEdit,
) -> AppResult<Result<usize, Refused>> {
    let tz = state.config.timezone;
    if !store::venue_is_active(&mut *conn, edit.venue_id).await? {
        return Ok(Err(("venue", "Choose a venue in use.".into())));
    }
    let new_venue = store::venue_name(&mut *conn, edit.venue_id).await?.ok_or(AppError::NotFound)?;
    let following = edit.following && s.series_id.is_some();
    let targets = if following { store::this_and_following(&mut *conn, s).await? } else { vec![s.clone()] };
    let mut moved: Vec<(store::ShiftHolder, Vec<String>)> = Vec::new();
    for target in &targets {
        let date = if target.id == s.id { edit.date } else { target.starts_at.to_timezone(tz).date() };
        let starts_at = local_instant(date, edit.start, tz);
        let ends_at = local_instant(date, edit.end, tz);
        let saved =
            store::update_session(&mut *conn, target.id, starts_at, ends_at, edit.venue_id, edit.capacity)
                .await
                .on_constraint(edit_conflict)?;
        if let Err((field, message)) = saved {
            let message = if targets.len() > 1 {
                format!("{message} (the session on {})", fmt::day_time(target.starts_at, tz))
            } else {
                message.to_owned()
            };
            return Ok(Err((field, message)));
        }
        audit::record(&mut *conn)
            .by(by)
            .action("session.updated")
            .entity("session", target.id)
            .before(json!({ "starts_at": target.starts_at.to_string(), "ends_at": target.ends_at.to_string(),
                         "venue_id": target.venue_id, "capacity": target.capacity }))
            .after(json!({ "starts_at": starts_at.to_string(), "ends_at": ends_at.to_string(),
                         "venue_id": edit.venue_id, "capacity": edit.capacity,
                         "scope": if following { "following" } else { "this" } }))
            .await?;
        if starts_at != target.starts_at || ends_at != target.ends_at || edit.venue_id != target.venue_id {
            let line = format!(
                "- {} on {} at {} is now {}–{} at {}",
                target.activity,
                fmt::day_time(target.starts_at, tz),
                target.venue,
                fmt::day_time(starts_at, tz),
                fmt::time_of_day(ends_at, tz),
                new_venue
            );
            for holder in store::shift_holders(&mut *conn, target.id).await? {
                match moved.iter_mut().find(|(h, _)| h.trainer_id == holder.trainer_id) {
                    Some((_, lines)) => lines.push(line.clone()),
                    None => moved.push((holder, vec![line.clone()])),
                }
            }
        }
    }
    for (holder, lines) in &moved {
        let email = Email {
            to: holder.email.clone(),
            subject: format!("Shift changed: {}", s.activity),
            body: format!(
                "Hello {},\n\nThe office has changed a session you are working or have been offered:\n\n{}\n\n\
                 See your shifts at {}/trainer/shifts\n",
                holder.name,
                lines.join("\n"),
                state.config.base_url
            ),
        };
        state.outbox.queue(&mut *conn, &email).await?;
    }
    if targets.is_empty() {
        return Err(AppError::NotFound);
    }
    Ok(Ok(targets.len()))
}

/// A session row from a plan on `date`, with the activity's defaults where the plan
/// leaves capacity or price blank.
fn new_session_row(
    plan: &SessionPlan,
    defaults: &store::ActivityDefaults,
    date: Date,
    tz: &Tz,
    series_id: Option<SeriesId>,
) -> store::NewSession {
    let starts_at = local_instant(date, plan.start, tz);
    store::NewSession {
        activity_id: plan.activity_id,
        venue_id: plan.venue_id,
        series_id,
        starts_at,
        ends_at: starts_at + Duration::minutes(i64::from(plan.duration_minutes)),
        capacity: plan.capacity.unwrap_or(defaults.default_capacity),
        price_pence: plan.price_pence.unwrap_or(defaults.price_pence),
        notes: plan.notes.clone(),
    }
}

/// `Add session`: one session from the plan, audited. Returns it and when it starts.
pub async fn create_session(
    conn: &mut PgConnection,
    by: i64,
    plan: &SessionPlan,
    defaults: &store::ActivityDefaults,
    tz: &Tz,
) -> AppResult<(SessionId, OffsetDateTime)> {
    let row = new_session_row(plan, defaults, plan.date, tz, None);
    let id = store::insert_session(&mut *conn, &row).await?;
    let after = json!({ "starts_at": row.starts_at.to_string(), "activity_id": row.activity_id,
                        "venue_id": row.venue_id, "capacity": row.capacity, "price_pence": row.price_pence });
    audit::record(conn).by(by).action("session.created").entity("session", id).after(after).await?;
    Ok((id, row.starts_at))
}

/// `Add series`: the series, with its rule, and a session on each of its dates, audited once.
pub async fn create_series(
    conn: &mut PgConnection,
    by: i64,
    plan: &SeriesPlan,
    defaults: &store::ActivityDefaults,
    tz: &Tz,
) -> AppResult<SeriesId> {
    let rule = plan.recurrence.to_ical(plan.session.start, tz);
    let series_id =
        store::insert_series(&mut *conn, plan.session.activity_id, plan.session.venue_id, &plan.name, &rule)
            .await?;
    for date in &plan.dates {
        let row = new_session_row(&plan.session, defaults, *date, tz, Some(series_id));
        store::insert_session(&mut *conn, &row).await?;
    }
    let after = json!({ "name": plan.name, "recurrence_rule": rule, "sessions": plan.dates.len(),
                        "activity_id": plan.session.activity_id, "venue_id": plan.session.venue_id });
    audit::record(conn).by(by).action("series.created").entity("series", series_id).after(after).await?;
    Ok(series_id)
}

/// What ending a series did: sessions cancelled, and bookings cancelled or changed.
#[derive(Debug, PartialEq, Eq)]
pub struct SeriesEnded {
    pub sessions: usize,
    pub bookings: usize,
}

/// `Cancel this and the rest`: `s` (locked by the caller) and every later scheduled
/// session of its series, each through the one session's cancellation, with one audit
/// row for the series. None when `s` is not a scheduled session of a series. Card
/// refunds go into `card_refunds`, for the caller to send once committed.
pub async fn cancel_rest_of_series(
    state: &AppState,
    conn: &mut PgConnection,
    admin: &User,
    s: &store::SessionRow,
    reason: &str,
    card_refunds: &mut Vec<i64>,
) -> AppResult<Option<SeriesEnded>> {
    let Some(series_id) = s.series_id.filter(|_| s.status == SessionStatus::Scheduled) else {
        return Ok(None);
    };
    let rest = store::this_and_following(&mut *conn, s).await?;
    let mut bookings = 0;
    for target in &rest {
        bookings +=
            super::cancellation::cancel_session(state, &mut *conn, admin, target, reason, card_refunds)
                .await?;
    }
    audit::record(conn)
        .by(admin.id)
        .action("series.rest_cancelled")
        .entity("series", series_id)
        .after(json!({ "from_session_id": s.id, "sessions": rest.iter().map(|r| r.id).collect::<Vec<_>>(),
                     "reason": reason }))
        .await?;
    Ok(Some(SeriesEnded { sessions: rest.len(), bookings }))
}
