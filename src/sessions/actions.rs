//! The admin's changes to sessions, one use case per action: each takes the
//! transaction and typed input, owns the rules, SQL, audit rows and emails, and
//! returns the outcome or a refusal by the form field it concerns.

use serde_json::json;
use sqlx::PgConnection;
use time_tz::OffsetDateTimeExt;

use super::{
    domain::{SessionEdit, local_instant},
    store,
};
use crate::{
    AppState, audit,
    db::OnConstraint,
    error::{AppError, AppResult},
    notifications::Email,
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
