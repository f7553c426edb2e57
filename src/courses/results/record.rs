//! Results' SQL and the use case that records them: each change audited, a pass on a
//! course with a certificate validity issuing the certificate, a pass taken back
//! revoking it, all in the caller's transaction.

use serde_json::json;
use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use super::domain::{CourseResult, Entry};
use crate::{
    audit,
    certificates::actions::{self as certificates, Pass},
    ids::{ChildId, SessionId},
};

/// A course session, if `trainer_id` works it (an accepted or worked shift); a
/// children's session or anyone else's is None.
#[derive(Debug)]
pub struct CourseSession {
    pub id: SessionId,
    pub activity_id: i64,
    pub course: String,
    pub venue: String,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub certificate_valid_months: Option<i32>,
}

pub async fn session_worked_by(
    conn: &mut PgConnection,
    trainer_id: i64,
    id: SessionId,
) -> sqlx::Result<Option<CourseSession>> {
    sqlx::query_as!(
        CourseSession,
        r#"select s.id as "id: SessionId", s.activity_id, a.name as course, v.name as venue, s.starts_at, s.ends_at,
                a.certificate_valid_months
         from sessions s
         join activities a on a.id = s.activity_id
         join venues v on v.id = s.venue_id
         where s.id = $1 and a.audience <> 'children'
           and exists (select 1 from shifts sh where sh.session_id = s.id and sh.trainer_id = $2
                       and sh.status in ('accepted', 'checked_in', 'checked_out'))"#,
        id.0,
        trainer_id,
    )
    .fetch_optional(conn)
    .await
}

/// A learner holding a place on the session, with the result so far.
#[derive(Debug)]
pub struct Learner {
    pub child_id: ChildId,
    pub account_id: i64,
    pub name: String,
    pub needs: String,
    pub result_id: Option<i64>,
    pub result: Option<CourseResult>,
    pub note: Option<String>,
    pub certificate: Option<String>,
}

/// Every participant holding a place on the session (as the register lists them),
/// with their result and live certificate.
pub async fn learners(conn: &mut PgConnection, session_id: SessionId) -> sqlx::Result<Vec<Learner>> {
    sqlx::query_as!(
        Learner,
        r#"select c.id as "child_id: ChildId", c.parent_id as account_id,
                c.first_name || ' ' || c.last_name as "name!",
                concat_ws('; ', nullif(c.access_needs, ''), nullif(c.dietary_needs, ''),
                          nullif(c.language_needs, ''), nullif(c.other_needs, '')) as "needs!",
                r.id as "result_id?", r.result as "result?: CourseResult", r.note as "note?",
                (select number from certificates ce where ce.result_id = r.id and ce.revoked_at is null) as "certificate?"
         from booking_participants p
         join bookings b on b.id = p.booking_id
         join children c on c.id = p.child_id
         left join course_results r on r.session_id = p.session_id and r.child_id = c.id
         where p.session_id = $1 and p.holds_place and b.status in ('approved', 'completed', 'pending', 'changes_requested')
         order by c.first_name, c.last_name, c.id"#,
        session_id.0,
    )
    .fetch_all(conn)
    .await
}

async fn save(conn: &mut PgConnection, session_id: SessionId, by: i64, e: &Entry) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "insert into course_results (session_id, child_id, result, note, recorded_by)
         values ($1, $2, $3, $4, $5)
         on conflict on constraint course_results_one_per_place do update
             set result = excluded.result, note = excluded.note, recorded_by = excluded.recorded_by,
                 recorded_at = now()
         returning id",
        session_id.0,
        e.child_id.0,
        e.result as _,
        e.note,
        by,
    )
    .fetch_one(conn)
    .await
}

/// What recording did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recorded {
    pub changed: usize,
    pub issued: usize,
}

/// Who records: the trainer's id and name (printed on certificates).
pub struct Recorder<'a> {
    pub id: i64,
    pub name: &'a str,
}

/// Records `entries` for the session's `learners`; unchanged results are left alone.
pub async fn record(
    conn: &mut PgConnection,
    by: Recorder<'_>,
    s: &CourseSession,
    learners: &[Learner],
    entries: &[Entry],
    (course_date, today): (Date, Date),
) -> sqlx::Result<Recorded> {
    let mut done = Recorded::default();
    for e in entries {
        let Some(l) = learners.iter().find(|l| l.child_id == e.child_id) else { continue };
        if l.result == Some(e.result) && l.note.as_deref() == Some(e.note.as_str()) {
            continue;
        }
        let result_id = save(conn, s.id, by.id, e).await?;
        audit::record(conn)
            .by(by.id)
            .action("course_result.recorded")
            .entity("course_result", result_id)
            .before(l.result.map(|r| json!({ "result": r, "note": l.note })))
            .after(
                json!({ "session_id": s.id.0, "child_id": e.child_id.0, "result": e.result, "note": e.note }),
            )
            .await?;
        done.changed += 1;
        if l.result == Some(CourseResult::Passed) && e.result != CourseResult::Passed {
            let reason = format!("The result was changed to {}.", e.result.label().to_lowercase());
            certificates::revoke_for_result(conn, by.id, result_id, &reason).await?;
        }
        if let (CourseResult::Passed, Some(valid_months)) = (e.result, s.certificate_valid_months)
            && l.certificate.is_none()
        {
            let pass = Pass {
                result_id,
                session_id: s.id.0,
                activity_id: s.activity_id,
                child_id: e.child_id.0,
                account_id: l.account_id,
                learner_name: l.name.clone(),
                course_name: s.course.clone(),
                course_date,
                valid_months,
                trainer_name: by.name.to_owned(),
            };
            certificates::issue(conn, by.id, &pass, today).await?;
            done.issued += 1;
        }
    }
    Ok(done)
}
