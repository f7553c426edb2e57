//! Staffing a session: assign a qualified, active, free trainer (the database refuses
//! overlapping shifts and shifts in approved time off; outside their weekly availability
//! needs a reason), publish an open shift, or offer it to one trainer; suggestions
//! ranked by fit. The use cases here (`staff`, `cancel_shift`) sit under the
//! session page's handlers.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use time::{Date, Duration, OffsetDateTime, Time};
use time_tz::{OffsetDateTimeExt, Tz};

use super::store;
use crate::states::SessionStatus;
use crate::{
    AppState, audit,
    db::OnConstraint,
    error::{AppError, AppResult},
    ids::{SessionId, ShiftId},
    notifications::Email,
    shifts::domain::{ShiftRole, ShiftStatus},
    web::fmt,
};

pub struct ShiftLine {
    pub id: ShiftId,
    pub role: ShiftRole,
    pub status: ShiftStatus,
    pub trainer: String,
    pub note: String,
}

impl ShiftLine {
    /// A trainer holds it (accepted or worked).
    pub fn held(&self) -> bool {
        self.status.is_held()
    }

    pub fn is_cancelled(&self) -> bool {
        self.status == ShiftStatus::Cancelled
    }
}

struct ShiftRow {
    id: ShiftId,
    role: ShiftRole,
    status: ShiftStatus,
    trainer: Option<String>,
    assignment_note: String,
}

pub async fn shift_lines(conn: &mut PgConnection, session_id: SessionId) -> sqlx::Result<Vec<ShiftLine>> {
    let rows = sqlx::query_as!(
        ShiftRow,
        r#"select sh.id as "id: ShiftId", sh.role as "role: ShiftRole", sh.status as "status: ShiftStatus",
                u.name as "trainer?", sh.assignment_note
         from shifts sh left join users u on u.id = sh.trainer_id
         where sh.session_id = $1 order by sh.status = 'cancelled', sh.role <> 'lead', sh.id"#,
        session_id.0,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ShiftLine {
            id: r.id,
            role: r.role,
            status: r.status,
            trainer: r.trainer.unwrap_or_default(),
            note: r.assignment_note,
        })
        .collect())
}

/// What the staffing form sent, kept for a 422.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct AssignForm {
    pub trainer: String,
    pub role: String,
    pub override_reason: String,
    pub shift: String,
    /// Which button: `assign` (the default), `offer` or `open`.
    pub action: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaffAction {
    Assign,
    Offer,
    Open,
}

/// A valid staffing request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffRequest {
    pub action: StaffAction,
    pub role: ShiftRole,
    /// None only when publishing an open shift.
    pub trainer: Option<i64>,
    pub override_reason: String,
    /// The open (or offered, or declined) shift of this session to fill.
    pub shift: Option<ShiftId>,
}

/// Why staffing was refused, by the form field it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffRefused {
    pub field: &'static str,
    pub message: String,
}

impl StaffRefused {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        StaffRefused { field, message: message.into() }
    }
}

impl AssignForm {
    pub fn trainer_is(&self, id: &i64) -> bool {
        self.trainer.trim() == id.to_string()
    }

    pub fn parse(&self) -> Result<StaffRequest, StaffRefused> {
        let action = match self.action.trim() {
            "offer" => StaffAction::Offer,
            "open" => StaffAction::Open,
            _ => StaffAction::Assign,
        };
        // No role chosen is the lead, the one every session needs.
        let role =
            if self.role.trim().is_empty() { Some(ShiftRole::Lead) } else { ShiftRole::parse(&self.role) };
        let role = role.ok_or_else(|| StaffRefused::new("role", "Choose lead, assistant or steward."))?;
        let trainer = self.trainer.trim().parse::<i64>().ok();
        if action != StaffAction::Open && trainer.is_none() {
            return Err(StaffRefused::new("trainer", "Choose a trainer."));
        }
        let override_reason = self.override_reason.trim().to_owned();
        if override_reason.chars().count() > 500 {
            return Err(StaffRefused::new("override_reason", "Use at most 500 characters."));
        }
        let shift = self.shift.trim().parse().ok();
        Ok(StaffRequest { action, role, trainer, override_reason, shift })
    }
}

#[cfg(test)]
mod form_tests {
    use super::*;

    fn form(action: &str, trainer: &str, role: &str) -> AssignForm {
        AssignForm { action: action.into(), trainer: trainer.into(), role: role.into(), ..Default::default() }
    }

    #[test]
    fn a_staffing_form_needs_a_trainer_unless_it_publishes_an_open_shift() {
        let open = form("open", "", "assistant").parse().ok();
        assert_eq!(
            open.map(|r| (r.action, r.role, r.trainer)),
            Some((StaffAction::Open, ShiftRole::Assistant, None))
        );
        assert_eq!(form("offer", "", "lead").parse().err().map(|e| e.field), Some("trainer"));
        let assign = form("", "12", "").parse().ok();
        assert_eq!(
            assign.map(|r| (r.action, r.role, r.trainer)),
            Some((StaffAction::Assign, ShiftRole::Lead, Some(12)))
        );
        assert_eq!(form("assign", "12", "boss").parse().err().map(|e| e.field), Some("role"));
    }
}

/// The session's local date and times, which availability is stated in.
fn local_times(starts_at: OffsetDateTime, ends_at: OffsetDateTime, tz: &Tz) -> (Date, Time, Time) {
    let start = starts_at.to_timezone(tz);
    let end = ends_at.to_timezone(tz);
    // A session past midnight counts as running to the end of its first day.
    let end_time = if end.date() == start.date() {
        end.time()
    } else {
        Time::from_hms(23, 59, 59).unwrap_or(Time::MIDNIGHT)
    };
    (start.date(), start.time(), end_time)
}

struct AvailabilityFacts {
    has_pattern: bool,
    blocked: bool,
    extra: bool,
    in_pattern: bool,
}

/// Whether the session falls in the trainer's stated availability. A trainer who has
/// stated no weekly pattern has not said they are unavailable, so counts as available;
/// a dated "unavailable" exception always counts.
pub async fn is_available(
    conn: &mut PgConnection,
    trainer_id: i64,
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
    tz: &Tz,
) -> sqlx::Result<bool> {
    let (date, from, to) = local_times(starts_at, ends_at, tz);
    let facts = sqlx::query_as!(
        AvailabilityFacts,
        r#"select exists (select 1 from trainer_availability where trainer_id = $1) as "has_pattern!",
                exists (select 1 from trainer_availability_exceptions where trainer_id = $1 and on_date = $2
                        and not available and (starts is null or (starts < $4 and ends > $3))) as "blocked!",
                exists (select 1 from trainer_availability_exceptions where trainer_id = $1 and on_date = $2
                        and available and (starts is null or (starts <= $3 and ends >= $4))) as "extra!",
                exists (select 1 from trainer_availability where trainer_id = $1 and weekday = $5
                        and starts <= $3 and ends >= $4) as "in_pattern!""#,
        trainer_id,
        date,
        from,
        to,
        i16::from(date.weekday().number_from_monday()),
    )
    .fetch_one(conn)
    .await?;
    Ok(!facts.blocked && (facts.extra || facts.in_pattern || !facts.has_pattern))
}

struct TrainerFacts {
    name: String,
    active: bool,
    delivers: bool,
}

struct RequiredQualification {
    name: String,
    has: bool,
    expires_on: Option<Date>,
}

/// Why `trainer_id` may not work this session, if they may not: not an active trainer,
/// not approved for the activity, or a required qualification missing or expired on the day.
pub async fn ineligibility(
    conn: &mut PgConnection,
    trainer_id: i64,
    session: &store::SessionRow,
    tz: &Tz,
) -> sqlx::Result<Option<String>> {
    let facts = sqlx::query_as!(
        TrainerFacts,
        r#"select u.name, u.is_active as active,
                exists (select 1 from activity_trainers at where at.trainer_id = u.id and at.activity_id = $2)
                    as "delivers!"
         from users u join trainer_profiles t on t.user_id = u.id where u.id = $1"#,
        trainer_id,
        session.activity_id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(facts) = facts else { return Ok(Some("Choose a trainer.".into())) };
    if !facts.active {
        return Ok(Some(format!("{} is deactivated and cannot be given shifts.", facts.name)));
    }
    if !facts.delivers {
        return Ok(Some(format!("{} is not approved to deliver {}.", facts.name, session.activity)));
    }
    let day = session.starts_at.to_timezone(tz).date();
    let required = sqlx::query_as!(
        RequiredQualification,
        r#"select q.name, t.id is not null as "has!", t.expires_on as "expires_on?"
         from activity_required_qualifications q
         left join lateral (select id, expires_on from trainer_qualifications t
                            where t.trainer_id = $2 and lower(t.name) = lower(q.name)
                            order by t.expires_on desc nulls first limit 1) t on true
         where q.activity_id = $1 order by q.name"#,
        session.activity_id,
        trainer_id,
    )
    .fetch_all(conn)
    .await?;
    for q in required {
        if !q.has {
            return Ok(Some(format!(
                "{} does not have {}, which {} needs.",
                facts.name, q.name, session.activity
            )));
        }
        if let Some(expiry) = q.expires_on
            && expiry < day
        {
            return Ok(Some(format!(
                "{}'s {} expired on {expiry}; {} needs it in date.",
                facts.name, q.name, session.activity
            )));
        }
    }
    Ok(None)
}

async fn trainer_contact(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<(String, String)>> {
    let row = sqlx::query!("select name, email from users where id = $1", id).fetch_optional(conn).await?;
    Ok(row.map(|r| (r.name, r.email)))
}

/// What staffing did, for the page to say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Staffed {
    Published,
    Assigned { name: String, role: ShiftRole },
    Offered { name: String },
}

impl Staffed {
    pub fn message(&self) -> String {
        match self {
            Staffed::Published => "Open shift published: any eligible trainer may take it.".into(),
            Staffed::Assigned { name, role } => {
                format!("{name} is assigned as {} and has been emailed.", role.label())
            }
            Staffed::Offered { name } => format!("The shift is offered to {name}, who has been emailed."),
        }
    }
}

/// `POST /admin/sessions/{id}/shifts`: publishes an open shift, or assigns or offers
/// one to a trainer (filling the chosen open shift, if any), with the audit row and
/// the trainer's email. A refusal after a write leaves the transaction spoiled: the
/// caller drops it.
pub async fn staff(
    state: &AppState,
    conn: &mut PgConnection,
    by: i64,
    session: SessionId,
    request: &StaffRequest,
) -> AppResult<Result<Staffed, StaffRefused>> {
    let s = store::find_locked(&mut *conn, session).await?.ok_or(AppError::NotFound)?;
    if s.status != SessionStatus::Scheduled {
        return Ok(Err(StaffRefused::new("trainer", "This session is not scheduled any more.")));
    }
    let existing = match request.shift {
        Some(shift) => fillable_shift(&mut *conn, session, shift).await?,
        None => None,
    };
    let trainer_id = match (request.action, request.trainer) {
        (StaffAction::Open, _) | (_, None) => {
            let shift = publish(&mut *conn, session, existing, request.role).await?;
            audit::record(conn)
                .by(by)
                .action("shift.published")
                .entity("shift", shift)
                .after(json!({ "session_id": session, "role": request.role.key(), "status": "open" }))
                .await?;
            return Ok(Ok(Staffed::Published));
        }
        (_, Some(trainer_id)) => trainer_id,
    };
    let tz = state.config.timezone;
    if let Some(problem) = ineligibility(&mut *conn, trainer_id, &s, tz).await? {
        return Ok(Err(StaffRefused::new("trainer", problem)));
    }
    let (name, email) = trainer_contact(&mut *conn, trainer_id).await?.ok_or(AppError::NotFound)?;
    let available = is_available(&mut *conn, trainer_id, s.starts_at, s.ends_at, tz).await?;
    let reason = &request.override_reason;
    let (status, note) = match request.action {
        StaffAction::Assign if !available && reason.is_empty() => {
            let message = format!(
                "{name} is not available then by their weekly availability. To assign them anyway, give a reason."
            );
            return Ok(Err(StaffRefused::new("override_reason", message)));
        }
        StaffAction::Assign if !available => {
            (ShiftStatus::Accepted, format!("Outside availability: {reason}"))
        }
        StaffAction::Assign => (ShiftStatus::Accepted, String::new()),
        StaffAction::Offer | StaffAction::Open => (ShiftStatus::Offered, String::new()),
    };
    let given = give_shift(&mut *conn, session, existing, trainer_id, request.role, status, &note)
        .await
        .on_constraint(|constraint| match constraint {
            "shifts_no_overlap_per_trainer" => {
                Some(format!("{name} already has a shift at that time. Nothing was changed."))
            }
            "shifts_not_in_time_off" => {
                Some(format!("{name} has approved time off then. Nothing was changed."))
            }
            _ => None,
        })?;
    let shift = match given {
        Ok(shift) => shift,
        Err(message) => return Ok(Err(StaffRefused::new("trainer", message))),
    };
    let assigned = status == ShiftStatus::Accepted;
    audit::record(&mut *conn)
        .by(by)
        .action(if assigned { "shift.assigned" } else { "shift.offered" })
        .entity("shift", shift)
        .after(json!({ "session_id": session, "trainer_id": trainer_id, "role": request.role.key(),
                     "status": status.key(), "override_reason": if available { None } else { Some(reason) } }))
        .await?;
    state.outbox.queue(conn, &staffing_email(state, &s, &name, email, request.role, assigned)).await?;
    Ok(Ok(if assigned { Staffed::Assigned { name, role: request.role } } else { Staffed::Offered { name } }))
}

/// The chosen shift, locked, if it belongs to the session and may still be filled.
async fn fillable_shift(
    conn: &mut PgConnection,
    session: SessionId,
    shift: ShiftId,
) -> sqlx::Result<Option<ShiftId>> {
    sqlx::query_scalar!(
        r#"select id as "id: ShiftId" from shifts
         where id = $1 and session_id = $2 and status in ('open', 'offered', 'declined')
         for update"#,
        shift.0,
        session.0,
    )
    .fetch_optional(conn)
    .await
}

/// Makes `existing` (or a new shift) an open one in `role`.
async fn publish(
    conn: &mut PgConnection,
    session: SessionId,
    existing: Option<ShiftId>,
    role: ShiftRole,
) -> sqlx::Result<ShiftId> {
    match existing {
        Some(shift) => {
            sqlx::query!(
                "update shifts set status = $3, trainer_id = null, role = $2 where id = $1",
                shift.0,
                role as _,
                ShiftStatus::Open as _,
            )
            .execute(conn)
            .await?;
            Ok(shift)
        }
        None => {
            sqlx::query_scalar!(
                r#"insert into shifts (session_id, trainer_id, role, status) values ($1, null, $2, $3)
                 returning id as "id: ShiftId""#,
                session.0,
                role as _,
                ShiftStatus::Open as _,
            )
            .fetch_one(conn)
            .await
        }
    }
}

/// Gives `existing` (or a new shift) to the trainer; the database refuses overlaps and time off.
async fn give_shift(
    conn: &mut PgConnection,
    session: SessionId,
    existing: Option<ShiftId>,
    trainer_id: i64,
    role: ShiftRole,
    status: ShiftStatus,
    note: &str,
) -> sqlx::Result<ShiftId> {
    match existing {
        Some(shift) => sqlx::query_scalar!(
            r#"update shifts set trainer_id = $2, role = $3, status = $4, assignment_note = $5 where id = $1
                 returning id as "id: ShiftId""#,
            shift.0,
            trainer_id,
            role as _,
            status as _,
            note,
        )
        .fetch_one(conn)
        .await,
        None => {
            sqlx::query_scalar!(
                r#"insert into shifts (session_id, trainer_id, role, status, assignment_note)
                 values ($1, $2, $3, $4, $5) returning id as "id: ShiftId""#,
                session.0,
                trainer_id,
                role as _,
                status as _,
                note,
            )
            .fetch_one(conn)
            .await
        }
    }
}

fn staffing_email(
    state: &AppState,
    s: &store::SessionRow,
    name: &str,
    to: String,
    role: ShiftRole,
    assigned: bool,
) -> Email {
    let tz = state.config.timezone;
    let when = format!("{}–{}", fmt::day_time(s.starts_at, tz), fmt::time_of_day(s.ends_at, tz));
    let (activity, venue, base, role) = (&s.activity, &s.venue, &state.config.base_url, role.label());
    let (subject, body) = if assigned {
        (
            format!("New shift: {activity} on {when}"),
            format!(
                "Hello {name},\n\nYou are on the {activity} session at {venue} on {when}, as {role}.\n\n\
                 See your shifts at {base}/trainer\n"
            ),
        )
    } else {
        (
            format!("Shift offered: {activity} on {when}"),
            format!(
                "Hello {name},\n\nWe would like you to work the {activity} session at {venue} on {when}, as {role}.\n\n\
                 Accept or decline it at {base}/trainer\n"
            ),
        )
    };
    Email { to, subject, body }
}

/// `POST /admin/shifts/{id}/cancel`: takes a shift off its session, telling the trainer
/// who held or was offered it. Returns the session; a shift already worked, cancelled
/// or unknown is not found.
pub async fn cancel_shift(
    state: &AppState,
    conn: &mut PgConnection,
    by: i64,
    shift: ShiftId,
) -> AppResult<SessionId> {
    let row = sqlx::query!(
        r#"with old as (select id, status from shifts where id = $1 for update)
         update shifts sh set status = 'cancelled' from old
         where sh.id = old.id and old.status in ('open', 'offered', 'accepted', 'declined')
         returning sh.session_id as "session_id: SessionId", sh.role as "role: ShiftRole", sh.trainer_id,
                   old.status as "was!: ShiftStatus""#,
        shift.0,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Err(AppError::NotFound) };
    let (session_id, role, trainer_id, was) = (row.session_id, row.role, row.trainer_id, row.was);
    // The trainer holding or offered it is told; a declined offer is no longer theirs.
    let told = match was {
        ShiftStatus::Offered | ShiftStatus::Accepted => trainer_id,
        _ => None,
    };
    if let Some(trainer_id) = told {
        let (name, to) = trainer_contact(&mut *conn, trainer_id).await?.ok_or(AppError::NotFound)?;
        let s = store::find(&mut *conn, session_id).await?.ok_or(AppError::NotFound)?;
        let when = fmt::day_time(s.starts_at, state.config.timezone);
        let email = Email {
            to,
            subject: format!("Shift cancelled: {} on {when}", s.activity),
            body: format!(
                "Hello {name},\n\nThe office has taken you off the {} session on {when} at {}. \
                 You are no longer needed on it.\n",
                s.activity, s.venue
            ),
        };
        state.outbox.queue(&mut *conn, &email).await?;
    }
    audit::record(conn)
        .by(by)
        .action("shift.cancelled")
        .entity("shift", shift)
        .after(json!({ "session_id": session_id, "role": role.key(), "trainer_id": trainer_id }))
        .await?;
    Ok(session_id)
}

// Suggestions ---------------------------------------------------------------------------------

pub struct Suggestion {
    pub trainer_id: i64,
    pub name: String,
    pub available: bool,
    pub hours: String,
}

struct Candidate {
    id: i64,
    name: String,
    week_minutes: i64,
}

/// Eligible trainers for the session, best first: qualified and free (not holding an
/// overlapping shift, not in approved time off), then available by their pattern,
/// then fewest hours that week.
pub async fn suggestions(
    conn: &mut PgConnection,
    s: &store::SessionRow,
    tz: &Tz,
) -> sqlx::Result<Vec<Suggestion>> {
    let day = s.starts_at.to_timezone(tz).date();
    let monday = day - Duration::days(i64::from(day.weekday().number_days_from_monday()));
    let week_from = crate::clock::start_of_day(monday, tz);
    let week_to = crate::clock::start_of_day(monday + Duration::days(7), tz);
    let candidates = sqlx::query_as!(
        Candidate,
        r#"select u.id, u.name,
                coalesce((select sum(extract(epoch from upper(o.during) - lower(o.during)))::bigint / 60
                          from shifts o where o.trainer_id = u.id and o.status in ('accepted', 'checked_in', 'checked_out')
                            and o.during && tstzrange($3, $4)), 0) as "week_minutes!"
         from users u
         join trainer_profiles t on t.user_id = u.id
         join activity_trainers at on at.trainer_id = u.id and at.activity_id = $2
         where u.is_active
           and not exists (select 1 from shifts o where o.trainer_id = u.id and o.session_id = $1
                           and o.status <> 'cancelled' and o.status <> 'declined')
           and not exists (select 1 from shifts o join sessions x on x.id = $1
                           where o.trainer_id = u.id and o.status in ('accepted', 'checked_in', 'checked_out')
                             and o.during && tstzrange(x.starts_at, x.ends_at))
           and not exists (select 1 from time_off_requests r join sessions x on x.id = $1
                           where r.trainer_id = u.id and r.status = 'approved'
                             and r.during && tstzrange(x.starts_at, x.ends_at))
           and trainer_qualified(u.id, $2, $5)
         order by u.name"#,
        s.id.0,
        s.activity_id,
        week_from,
        week_to,
        day,
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut ranked = Vec::new();
    for c in candidates {
        let available = is_available(conn, c.id, s.starts_at, s.ends_at, tz).await?;
        ranked.push((available, c));
    }
    ranked.sort_by(|(a_av, a), (b_av, b)| b_av.cmp(a_av).then(a.week_minutes.cmp(&b.week_minutes)));
    Ok(ranked
        .into_iter()
        .take(8)
        .map(|(available, c)| Suggestion {
            trainer_id: c.id,
            name: c.name,
            available,
            hours: format!("{}h{:02} this week", c.week_minutes / 60, c.week_minutes % 60),
        })
        .collect())
}
