//! What a trainer does on the register, one use case per action. Each takes the
//! transaction, a session the trainer works (see `store::session_worked_by`) and
//! typed input, and owns the SQL and audit rows.

use sqlx::PgConnection;

use super::{
    domain::Incident,
    store::{self, Mark},
};
use crate::{
    AppState, audit,
    error::AppResult,
    ids::{ChildId, IncidentId, SessionId},
};

#[derive(Debug, PartialEq, Eq)]
pub struct RegisterSaved {
    /// Some child went home with someone not on their list: flagged to the office.
    pub flagged: bool,
    /// Every child is marked and the team has checked out.
    pub completed: bool,
}

/// `Save register`: the marks given; a collection by someone not on the child's list
/// is audited on its own so the office sees it.
pub async fn save_register(
    conn: &mut PgConnection,
    trainer_id: i64,
    session: SessionId,
    marks: &[Mark],
) -> AppResult<RegisterSaved> {
    store::save(&mut *conn, session, trainer_id, marks).await?;
    let unlisted = marks.iter().filter(|m| matches!(m.collected_by, Some((_, false))));
    let mut flagged = false;
    for mark in unlisted {
        flagged = true;
        audit::record(&mut *conn)
            .by(trainer_id)
            .action("attendance.collected_by_unlisted_person")
            .entity("session", session)
            .after(serde_json::json!({ "child_id": mark.child_id,
                "collected_by": mark.collected_by.as_ref().map(|c| &c.0), "note": mark.note }))
            .await?;
    }
    audit::record(&mut *conn)
        .by(trainer_id)
        .action("attendance.saved")
        .entity("session", session)
        .after(serde_json::json!({ "marked": marks.len() }))
        .await?;
    let completed = store::complete_if_done(conn, session).await?;
    Ok(RegisterSaved { flagged, completed })
}

pub async fn add_note(
    conn: &mut PgConnection,
    trainer_id: i64,
    session: SessionId,
    body: &str,
) -> AppResult<()> {
    sqlx::query!(
        "insert into session_notes (session_id, author_id, body) values ($1, $2, $3)",
        session.0,
        trainer_id,
        body,
    )
    .execute(&mut *conn)
    .await?;
    audit::record(conn).by(trainer_id).action("session.note_added").entity("session", session).await?;
    Ok(())
}

pub async fn report_incident(
    conn: &mut PgConnection,
    trainer_id: i64,
    session: SessionId,
    incident: &Incident,
) -> AppResult<IncidentId> {
    let id = sqlx::query_scalar!(
        r#"insert into incidents (session_id, reported_by, what_happened, severity, actions_taken)
         values ($1, $2, $3, $4, $5) returning id as "id: IncidentId""#,
        session.0,
        trainer_id,
        &incident.what_happened,
        incident.severity as _,
        &incident.actions_taken,
    )
    .fetch_one(&mut *conn)
    .await?;
    audit::record(conn)
        .by(trainer_id)
        .action("incident.reported")
        .entity("incident", id)
        .after(serde_json::json!({ "session_id": session, "severity": incident.severity.key() }))
        .await?;
    Ok(id)
}

/// Goes to the safeguarding lead only (see `safeguarding::domain::raise`).
pub async fn raise_concern(
    state: &AppState,
    conn: &mut PgConnection,
    trainer_id: i64,
    session: SessionId,
    child: ChildId,
    concern: &str,
) -> AppResult<()> {
    crate::safeguarding::domain::raise(state, conn, trainer_id, child, Some(session), concern).await?;
    Ok(())
}
