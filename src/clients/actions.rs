//! Assigning a client to a trainer, or transferring them, as one use case: the rules,
//! the history row, moving their future shifts where the new trainer may take them,
//! the trainers' emails and the audit row.

use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;
use time_tz::TimeZone;

use super::store::{self, ClientRow, FutureShift, QualificationGaps};
use crate::{
    AppState, audit,
    db::OnConstraint,
    error::{AppError, AppResult},
    ids::{ShiftId, UserId},
    notifications::Email,
    web::{FormErrors, fmt},
};

/// The assign form, as typed (kept for a 422).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct AssignForm {
    pub trainer: String,
    pub reason: String,
    /// The checkbox: present when ticked.
    pub move_shifts: Option<String>,
}

/// A valid assignment request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub trainer: i64,
    pub reason: String,
    pub move_shifts: bool,
}

impl AssignForm {
    pub fn moves_shifts(&self) -> bool {
        self.move_shifts.as_deref().is_some_and(|v| !v.trim().is_empty())
    }

    pub fn parse(&self) -> Result<Assignment, FormErrors> {
        let mut errors = FormErrors::default();
        let trainer = self.trainer.trim().parse::<i64>().ok();
        if trainer.is_none() {
            errors.add("trainer", "Choose the trainer.");
        }
        let reason = self.reason.trim();
        if reason.is_empty() {
            errors.add("reason", "Give a reason: it stays in the client's history.");
        } else if reason.chars().count() > 2000 {
            errors.add("reason", "Keep it under 2,000 characters.");
        }
        match trainer {
            Some(trainer) if errors.is_empty() => {
                Ok(Assignment { trainer, reason: reason.to_owned(), move_shifts: self.moves_shifts() })
            }
            _ => Err(errors),
        }
    }
}

/// Why one of the client's shifts stayed with the old trainer on a transfer.
pub enum NotMoved {
    NotQualified(QualificationGaps),
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

    fn audit(&self, shift_id: ShiftId) -> serde_json::Value {
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

/// What an assignment did.
pub struct Assigned {
    pub client: ClientRow,
    pub trainer_name: String,
    pub moved: Vec<FutureShift>,
    pub kept: Vec<(FutureShift, NotMoved)>,
}

impl Assigned {
    /// What the page says: who is whose, and which shifts moved or did not (and why).
    pub fn message(&self, asked_to_move: bool, tz: &time_tz::Tz) -> String {
        let (client, trainer) = (&self.client.name, &self.trainer_name);
        let mut message = format!("{client} is now {trainer}'s client.");
        if asked_to_move && self.client.trainer_id.is_some() {
            message.push_str(&format!(" {} future shift(s) moved to {trainer}.", self.moved.len()));
            if !self.kept.is_empty() {
                let list: Vec<String> = self
                    .kept
                    .iter()
                    .map(|(s, why)| {
                        let when = fmt::day_time(s.starts_at, tz);
                        format!("{} on {when} ({trainer} {})", s.activity, why.describe(&s.activity))
                    })
                    .collect();
                let shifts = if self.kept.len() == 1 { "shift" } else { "shifts" };
                message.push_str(&format!(
                    " {} {shifts} did not move: {}.",
                    self.kept.len(),
                    list.join("; ")
                ));
            }
        }
        message
    }
}

/// Assigns the client to a trainer, or transfers them, keeping the history. Refused
/// (by field) for a trainer who is not active or already theirs.
pub async fn assign(
    state: &AppState,
    conn: &mut PgConnection,
    by: i64,
    client_id: UserId,
    request: &Assignment,
) -> AppResult<Result<Assigned, FormErrors>> {
    // Locking the client serialises two admins transferring the same client at once.
    let client = store::client_locked(&mut *conn, client_id).await?.ok_or(AppError::NotFound)?;
    let mut errors = FormErrors::default();
    let trainer_name = store::is_active_trainer(&mut *conn, request.trainer).await?;
    match (&trainer_name, client.trainer_id) {
        (None, _) => errors.add("trainer", "Choose an active trainer."),
        (Some(name), Some(current)) if current == request.trainer => {
            errors.add("trainer", format!("{} is already {name}'s client.", client.name));
        }
        _ => {}
    }
    let Some(trainer_name) = trainer_name.filter(|_| errors.is_empty()) else { return Ok(Err(errors)) };
    store::assign(&mut *conn, client_id, request.trainer, by, &request.reason).await?;
    let (moved, kept) = match client.trainer_id {
        Some(old) if request.move_shifts => move_shifts(state, conn, client_id, old, request.trainer).await?,
        _ => (Vec::new(), Vec::new()),
    };
    let assigned = Assigned { client, trainer_name, moved, kept };
    if !assigned.moved.is_empty() {
        tell_trainers(state, conn, &assigned, request.trainer).await?;
    }
    let client = &assigned.client;
    audit::record(conn)
        .by(by)
        .action(if client.trainer_id.is_some() { "client.transferred" } else { "client.assigned" })
        .entity("client", client_id)
        .before(client.trainer_id.map(|t| json!({ "trainer_id": t })))
        .after(json!({
            "trainer_id": request.trainer, "reason": request.reason, "move_shifts": request.move_shifts,
            "shifts_moved": assigned.moved.iter().map(|s| s.shift_id).collect::<Vec<_>>(),
            "shifts_kept": assigned.kept.iter().map(|(s, _)| s.shift_id).collect::<Vec<_>>(),
            "shifts_not_moved": assigned.kept.iter().map(|(s, why)| why.audit(s.shift_id)).collect::<Vec<_>>(),
        }))
        .await?;
    Ok(Ok(assigned))
}

/// Moves the client's future shifts from `old` to `new`, each in its own savepoint so
/// a refusal undoes only that move. Returns those moved and those kept, with why.
async fn move_shifts(
    state: &AppState,
    conn: &mut PgConnection,
    client_id: UserId,
    old: i64,
    new: i64,
) -> AppResult<(Vec<FutureShift>, Vec<(FutureShift, NotMoved)>)> {
    let zone = state.config.timezone.name();
    let (mut moved, mut kept) = (Vec::new(), Vec::new());
    for shift in store::shifts_for_client(&mut *conn, client_id, old).await? {
        let mut savepoint = sqlx::Connection::begin(&mut *conn).await?;
        let outcome = store::move_shift_if_qualified(&mut savepoint, shift.shift_id, new, zone)
            .await
            .on_constraint(|name| match name {
                "shifts_no_overlap_per_trainer" => Some(NotMoved::Overlaps),
                "shifts_not_in_time_off" => Some(NotMoved::TimeOff),
                _ => None,
            })?;
        match outcome {
            Ok(true) => {
                savepoint.commit().await?;
                moved.push(shift);
            }
            Ok(false) => {
                savepoint.rollback().await?;
                let gaps = store::qualification_gaps(&mut *conn, shift.shift_id, new, zone).await?;
                kept.push((shift, NotMoved::NotQualified(gaps)));
            }
            Err(why) => {
                savepoint.rollback().await?;
                kept.push((shift, why));
            }
        }
    }
    Ok((moved, kept))
}

/// Emails the new trainer the shifts now theirs, and the old one those no longer theirs.
async fn tell_trainers(
    state: &AppState,
    conn: &mut PgConnection,
    done: &Assigned,
    new: i64,
) -> AppResult<()> {
    let tz = state.config.timezone;
    let (client, trainer_name) = (&done.client, &done.trainer_name);
    let list: Vec<String> = done
        .moved
        .iter()
        .map(|s| format!("- {} on {}", s.activity, fmt::day_time(s.starts_at, tz)))
        .collect();
    let body = format!(
        "Hello {trainer_name},\n\n{} is now your client. These shifts are now yours:\n\n{}\n\n\
         See your shifts at {}/trainer/shifts\n",
        client.name,
        list.join("\n"),
        state.config.base_url
    );
    let to = store::email_of(&mut *conn, new).await?.ok_or(AppError::NotFound)?;
    let subject = format!("Shift changed: {} is now your client", client.name);
    state.outbox.queue(&mut *conn, &Email { to, subject, body }).await?;
    if let (Some(old), Some(old_name)) = (client.trainer_id, &client.trainer) {
        let body = format!(
            "Hello {old_name},\n\n{} has moved to {trainer_name}. These shifts are no longer yours:\n\n{}\n",
            client.name,
            list.join("\n")
        );
        let to = store::email_of(&mut *conn, old).await?.ok_or(AppError::NotFound)?;
        let subject = format!("Shift changed: {} has moved to {trainer_name}", client.name);
        state.outbox.queue(conn, &Email { to, subject, body }).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assignment_needs_a_trainer_and_a_reason_of_sensible_length() {
        let form = AssignForm {
            trainer: " 4 ".into(),
            reason: " Moved house ".into(),
            move_shifts: Some("yes".into()),
        };
        assert_eq!(
            form.parse().ok(),
            Some(Assignment { trainer: 4, reason: "Moved house".into(), move_shifts: true })
        );
        let empty = AssignForm::default().parse().err().unwrap_or_default();
        assert!(empty.get("trainer").is_some() && empty.get("reason").is_some());
        let long = AssignForm { trainer: "4".into(), reason: "x".repeat(2001), move_shifts: None };
        assert_eq!(
            long.parse().err().unwrap_or_default().get("reason"),
            Some("Keep it under 2,000 characters.")
        );
    }
}
