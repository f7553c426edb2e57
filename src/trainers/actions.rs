//! What the office does to trainers, and what an applicant does, each in the caller's
//! transaction with its audit row and emails: inviting, applying, deciding an
//! application, deciding time off, and keeping a trainer's record.

use base64::Engine;
use serde_json::json;
use sqlx::PgConnection;

use super::{
    domain::{ApplicationStatus, Contact, Person, Profile, Qualification},
    store,
};
use crate::{
    AppState, audit,
    auth::{
        domain::EmailAddress,
        links::{self, LinkPurpose},
    },
    availability::domain::TimeOffStatus,
    children::domain::{PersonName, Phone},
    db::OnConstraint,
    error::{AppError, AppResult},
    ids::{ApplicationId, QualificationId, TimeOffRequestId, TrainerContactId, TrainerId, UserId},
    notifications::{Email, LINK_WITHHELD, SignInLink},
    web::fmt,
};

/// Another account already uses the email.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmailTaken;

/// Creates the trainer's account and profile with a password nobody knows, and queues
/// the email with a link to choose one.
async fn open_account(
    conn: &mut PgConnection,
    state: &AppState,
    person: &Person,
) -> AppResult<Result<TrainerId, EmailTaken>> {
    let secret: [u8; 32] = rand::random();
    let hash = state.passwords.hash(&base64::engine::general_purpose::STANDARD.encode(secret)).await?;
    let inserted = store::insert_trainer(conn, person, &hash)
        .await
        .on_constraint(|name| (name == store::EMAIL_TAKEN).then_some(EmailTaken))?;
    let Ok(user_id) = inserted else { return Ok(inserted) };
    let email = Email {
        to: person.email.as_str().to_owned(),
        subject: "Your Portico trainer account is ready".into(),
        body: format!(
            "Hello {name},\n\nWelcome aboard. Your Portico account lets you see your shifts, pick up open \
             shifts, set your availability and submit timesheets.\n\n\
             Choose your password within {days} days with this link:\n\n{LINK_WITHHELD}\n\n\
             The link works once. Afterwards, sign in at {base}/login with this email address.\n",
            name = person.name.as_str(),
            days = links::WELCOME_LINK_DAYS,
            base = state.config.base_url,
        ),
    };
    let link = SignInLink {
        purpose: LinkPurpose::Welcome,
        subject_id: user_id.0,
        base_url: state.config.base_url.clone(),
    };
    state.outbox.queue_with_link(conn, &email, &link).await?;
    Ok(Ok(user_id))
}

/// The office invites a trainer: their account, profile and welcome email.
pub async fn invite(
    conn: &mut PgConnection,
    state: &AppState,
    by: UserId,
    person: &Person,
) -> AppResult<Result<TrainerId, EmailTaken>> {
    let user_id = match open_account(conn, state, person).await? {
        Ok(id) => id,
        Err(taken) => return Ok(Err(taken)),
    };
    audit::record(conn)
        .by(by)
        .action("trainer.invited")
        .entity("trainer", user_id)
        .after(json!({ "email": person.email.as_str(), "name": person.name.as_str() }))
        .await?;
    Ok(Ok(user_id))
}

/// Anyone applies to work with the provider.
pub async fn apply(conn: &mut PgConnection, person: &Person) -> AppResult<ApplicationId> {
    let id = store::insert_application(conn, person).await?;
    audit::record(conn)
        .action("trainer_application.received")
        .entity("trainer_application", id)
        .after(json!({ "name": person.name.as_str(), "email": person.email.as_str() }))
        .await?;
    Ok(id)
}

/// Why a decision on an application changed nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplicationRefused {
    AlreadyDecided,
    /// The applicant's email already has an account.
    HasAccount {
        name: String,
        email: String,
    },
}

impl ApplicationRefused {
    pub fn message(&self) -> String {
        match self {
            Self::AlreadyDecided => "Nothing changed: that application has already been decided.".to_owned(),
            Self::HasAccount { name, email } => format!(
                "{name} already has an account ({email}). Reject this application, or change that account's role."
            ),
        }
    }
}

/// The pending application, locked; one decided already is a refusal, none is 404.
async fn pending_application(
    conn: &mut PgConnection,
    id: ApplicationId,
) -> AppResult<Result<store::ApplicationRow, ApplicationRefused>> {
    match store::lock_pending(conn, id).await? {
        Some(app) => Ok(Ok(app)),
        None if store::application_exists(conn, id).await? => Ok(Err(ApplicationRefused::AlreadyDecided)),
        None => Err(AppError::NotFound),
    }
}

/// Approving opens the applicant's account (emailed a link) in the same transaction.
/// Returns the applicant's name and their new account.
pub async fn approve_application(
    conn: &mut PgConnection,
    state: &AppState,
    by: UserId,
    id: ApplicationId,
) -> AppResult<Result<(String, TrainerId), ApplicationRefused>> {
    let app = match pending_application(conn, id).await? {
        Ok(app) => app,
        Err(refused) => return Ok(Err(refused)),
    };
    // The application was valid when made; it is parsed again to hold typed values.
    let person = Person {
        name: PersonName::parse(&app.name, "").map_err(|m| anyhow::anyhow!("stored applicant name: {m}"))?,
        email: EmailAddress::parse(&app.email).map_err(|m| anyhow::anyhow!("stored applicant email: {m}"))?,
        phone: Phone::parse_optional(&app.phone).ok().flatten(),
        experience: app.experience.clone(),
        qualifications: app.qualifications.clone(),
    };
    let Ok(user_id) = open_account(conn, state, &person).await? else {
        return Ok(Err(ApplicationRefused::HasAccount { name: app.name, email: app.email }));
    };
    store::decide(conn, id, ApplicationStatus::Approved, by, "", Some(user_id)).await?;
    audit::record(conn)
        .by(by)
        .action("trainer_application.approved")
        .entity("trainer_application", id)
        .before(json!({ "status": ApplicationStatus::Pending.as_str() }))
        .after(json!({ "status": ApplicationStatus::Approved.as_str(), "user_id": user_id }))
        .await?;
    Ok(Ok((app.name, user_id)))
}

/// Rejecting emails the applicant the reason. Returns the applicant's name.
pub async fn reject_application(
    conn: &mut PgConnection,
    state: &AppState,
    by: UserId,
    id: ApplicationId,
    reason: &str,
) -> AppResult<Result<String, ApplicationRefused>> {
    let app = match pending_application(conn, id).await? {
        Ok(app) => app,
        Err(refused) => return Ok(Err(refused)),
    };
    store::decide(conn, id, ApplicationStatus::Rejected, by, reason, None).await?;
    let email = Email {
        to: app.email.clone(),
        subject: "Your application to work with us".into(),
        body: format!(
            "Hello {},\n\nThank you for applying. We are sorry, but we cannot offer you work at the moment.\n\n{reason}\n",
            app.name
        ),
    };
    state.outbox.queue(conn, &email).await?;
    audit::record(conn)
        .by(by)
        .action("trainer_application.rejected")
        .entity("trainer_application", id)
        .before(json!({ "status": ApplicationStatus::Pending.as_str() }))
        .after(json!({ "status": ApplicationStatus::Rejected.as_str(), "reason": reason }))
        .await?;
    Ok(Ok(app.name))
}

/// A time-off request decided already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlreadyDecided;

async fn pending_time_off(
    conn: &mut PgConnection,
    id: TimeOffRequestId,
) -> AppResult<Result<store::TimeOffRow, AlreadyDecided>> {
    match store::lock_pending_time_off(conn, id).await? {
        Some(request) => Ok(Ok(request)),
        None if store::time_off_exists(conn, id).await? => Ok(Err(AlreadyDecided)),
        None => Err(AppError::NotFound),
    }
}

/// ", 1 Dec 09:00 to 5 Dec 17:00": the span of a request, for its emails.
fn time_off_when(request: &store::TimeOffRow, tz: &time_tz::Tz) -> String {
    format!(", {} to {}", fmt::day_time(request.starts, tz), fmt::day_time(request.ends, tz))
}

/// The trainer's email about the decision on their time off.
fn time_off_email(
    request: &store::TimeOffRow,
    state: &AppState,
    decided: TimeOffStatus,
    note: &str,
    tail: &str,
) -> Email {
    let when = time_off_when(request, state.config.timezone);
    let kind = request.kind.label().to_lowercase();
    let verb = decided.label().to_lowercase();
    let mut body = format!("Hello {},\n\nYour time off ({kind}{when}) is {verb}.\n", request.trainer);
    if !note.is_empty() {
        body.push_str(&format!("\nFrom the office: {note}\n"));
    }
    body.push_str(tail);
    Email { to: request.email.clone(), subject: format!("Time off {verb}"), body }
}

/// Approving opens the trainer's clashing shifts first (the database refuses approval
/// while any clash), tells the coordinators about them, and emails the trainer.
/// Returns the trainer's name and how many shifts were opened.
pub async fn approve_time_off(
    conn: &mut PgConnection,
    state: &AppState,
    by: UserId,
    id: TimeOffRequestId,
    note: &str,
) -> AppResult<Result<(String, usize), AlreadyDecided>> {
    let tz = state.config.timezone;
    let request = match pending_time_off(conn, id).await? {
        Ok(request) => request,
        Err(decided) => return Ok(Err(decided)),
    };
    let opened = store::open_clashing_shifts(conn, id).await?;
    store::decide_time_off(conn, id, TimeOffStatus::Approved, by, note).await?;
    audit::record(conn)
        .by(by)
        .action("time_off.approved")
        .entity("time_off_request", id)
        .before(json!({ "status": TimeOffStatus::Pending.as_str() }))
        .after(json!({ "status": TimeOffStatus::Approved.as_str(),
                       "shifts_opened": opened.iter().map(|o| o.shift_id).collect::<Vec<_>>() }))
        .await?;
    if !opened.is_empty() {
        let list: Vec<String> = opened
            .iter()
            .map(|o| format!("- {} on {}", o.activity, fmt::day_time(o.starts_at, tz)))
            .collect();
        for to in store::coordinator_emails(conn).await? {
            let email = Email {
                to,
                subject: format!("Open shifts: {} has time off", request.trainer),
                body: format!(
                    "{}'s time off ({}) is approved. These shifts are open again and need someone:\n\n{}\n\n\
                     See them at {}/admin/sessions\n",
                    request.trainer,
                    request.kind.label().to_lowercase(),
                    list.join("\n"),
                    state.config.base_url
                ),
            };
            state.outbox.queue(conn, &email).await?;
        }
    }
    let tail = match opened.len() {
        0 => String::new(),
        n => {
            format!("\n{n} shift(s) of yours in that time are no longer yours; the office will cover them.\n")
        }
    };
    state.outbox.queue(conn, &time_off_email(&request, state, TimeOffStatus::Approved, note, &tail)).await?;
    Ok(Ok((request.trainer, opened.len())))
}

/// Declining leaves the trainer's shifts theirs and emails them. Returns their name.
pub async fn decline_time_off(
    conn: &mut PgConnection,
    state: &AppState,
    by: UserId,
    id: TimeOffRequestId,
    note: &str,
) -> AppResult<Result<String, AlreadyDecided>> {
    let request = match pending_time_off(conn, id).await? {
        Ok(request) => request,
        Err(decided) => return Ok(Err(decided)),
    };
    store::decide_time_off(conn, id, TimeOffStatus::Declined, by, note).await?;
    audit::record(conn)
        .by(by)
        .action("time_off.declined")
        .entity("time_off_request", id)
        .before(json!({ "status": TimeOffStatus::Pending.as_str() }))
        .after(json!({ "status": TimeOffStatus::Declined.as_str(), "note": note }))
        .await?;
    let tail = "\nYour shifts in that time stay yours. Speak to the office if you need to.\n";
    state.outbox.queue(conn, &time_off_email(&request, state, TimeOffStatus::Declined, note, tail)).await?;
    Ok(Ok(request.trainer))
}

// A trainer's record ----------------------------------------------------------------------

async fn trainer(conn: &mut PgConnection, id: TrainerId) -> AppResult<store::TrainerRow> {
    store::find(conn, id).await?.ok_or(AppError::NotFound)
}

/// Saves the profile and the activities they deliver. Returns the trainer's name.
pub async fn update_profile(
    conn: &mut PgConnection,
    by: UserId,
    id: TrainerId,
    profile: &Profile,
) -> AppResult<String> {
    let before = trainer(conn, id).await?;
    let before_activities = store::activity_ids(conn, id).await?;
    store::update_profile(conn, id, profile).await?;
    audit::record(conn)
        .by(by)
        .action("trainer.updated")
        .entity("trainer", id)
        .before(json!({ "hourly_rate_pence": before.hourly_rate_pence, "can_travel": before.can_travel,
                     "max_travel_miles": before.max_travel_miles, "activities": before_activities }))
        .after(json!({ "hourly_rate_pence": profile.hourly_rate.pence(), "can_travel": profile.can_travel,
                     "max_travel_miles": profile.max_travel_miles, "activities": profile.activities }))
        .await?;
    Ok(before.name)
}

pub async fn add_qualification(
    conn: &mut PgConnection,
    by: UserId,
    id: TrainerId,
    q: &Qualification,
) -> AppResult<()> {
    trainer(conn, id).await?;
    let qid = store::add_qualification(conn, id, q).await?;
    audit::record(conn)
        .by(by)
        .action("trainer.qualification_added")
        .entity("trainer", id)
        .after(json!({ "qualification_id": qid, "name": q.name, "expires_on": q.expires_on.map(|d| d.to_string()) }))
        .await?;
    Ok(())
}

pub async fn remove_qualification(
    conn: &mut PgConnection,
    by: UserId,
    id: TrainerId,
    qualification: QualificationId,
) -> AppResult<()> {
    if !store::remove_qualification(conn, id, qualification).await? {
        return Err(AppError::NotFound);
    }
    audit::record(conn)
        .by(by)
        .action("trainer.qualification_removed")
        .entity("trainer", id)
        .after(json!({ "qualification_id": qualification }))
        .await?;
    Ok(())
}

pub async fn add_contact(
    conn: &mut PgConnection,
    by: UserId,
    id: TrainerId,
    contact: &Contact,
) -> AppResult<()> {
    trainer(conn, id).await?;
    let cid = store::add_contact(conn, id, contact).await?;
    audit::record(conn)
        .by(by)
        .action("trainer.contact_added")
        .entity("trainer", id)
        .after(json!({ "contact_id": cid, "name": contact.name.as_str() }))
        .await?;
    Ok(())
}

pub async fn remove_contact(
    conn: &mut PgConnection,
    by: UserId,
    id: TrainerId,
    contact: TrainerContactId,
) -> AppResult<()> {
    if !store::remove_contact(conn, id, contact).await? {
        return Err(AppError::NotFound);
    }
    audit::record(conn)
        .by(by)
        .action("trainer.contact_removed")
        .entity("trainer", id)
        .after(json!({ "contact_id": contact }))
        .await?;
    Ok(())
}

pub async fn add_note(conn: &mut PgConnection, by: UserId, id: TrainerId, body: &str) -> AppResult<()> {
    trainer(conn, id).await?;
    let note_id = store::add_note(conn, id, by, body).await?;
    // The note itself stays on the trainer's record; the audit log says only that one was added.
    audit::record(conn)
        .by(by)
        .action("trainer.note_added")
        .entity("trainer", id)
        .after(json!({ "note_id": note_id }))
        .await?;
    Ok(())
}

/// Deactivating opens their future shifts for others. Returns their name and how many.
pub async fn deactivate(conn: &mut PgConnection, by: UserId, id: TrainerId) -> AppResult<(String, u64)> {
    let t = trainer(conn, id).await?;
    let opened = store::deactivate(conn, id).await?;
    audit::record(conn)
        .by(by)
        .action("trainer.deactivated")
        .entity("trainer", id)
        .before(json!({ "is_active": t.is_active }))
        .after(json!({ "is_active": false, "shifts_opened": opened }))
        .await?;
    Ok((t.name, opened))
}

/// Returns their name.
pub async fn reactivate(conn: &mut PgConnection, by: UserId, id: TrainerId) -> AppResult<String> {
    let t = trainer(conn, id).await?;
    store::reactivate(conn, id).await?;
    audit::record(conn)
        .by(by)
        .action("trainer.reactivated")
        .entity("trainer", id)
        .before(json!({ "is_active": t.is_active }))
        .after(json!({ "is_active": true }))
        .await?;
    Ok(t.name)
}
