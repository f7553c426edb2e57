//! The safeguarding core: raising a concern and recording a follow-up, apart from the
//! lead's pages, so the register can raise one without reaching into handlers.

use serde::Deserialize;
use sqlx::PgConnection;

use crate::{
    AppState, audit,
    error::{AppError, AppResult},
    ids::{ChildId, ConcernId, SessionId},
    notifications::{Confidential, Email},
};

/// Records a concern and tells the lead (by email, without its content) that one is waiting.
pub async fn raise(
    state: &AppState,
    conn: &mut PgConnection,
    raised_by: i64,
    child_id: ChildId,
    session_id: Option<SessionId>,
    concern: &str,
) -> AppResult<ConcernId> {
    let id = sqlx::query_scalar!(
        r#"insert into safeguarding_concerns (child_id, session_id, raised_by, concern) values ($1, $2, $3, $4)
         returning id as "id: ConcernId""#,
        child_id.0,
        session_id.map(i64::from),
        raised_by,
        concern,
    )
    .fetch_one(&mut *conn)
    .await?;
    // The audit log is read by other admins: it says a concern exists, never what.
    audit::record(conn)
        .by(raised_by)
        .action("safeguarding.concern_raised")
        .entity("safeguarding_concern", id)
        .await?;
    let leads = sqlx::query_scalar!(
        "select email from users where role = 'admin' and admin_role = 'safeguarding_lead' and is_active",
    )
    .fetch_all(&mut *conn)
    .await?;
    for to in leads {
        let email = Email {
            to,
            subject: "A safeguarding concern has been raised".into(),
            body: format!(
                "A new safeguarding concern (#{id}) is waiting for you. Sign in to read it:\n\n{}/admin/safeguarding/{id}\n",
                state.config.base_url
            ),
        };
        state.outbox.queue_confidential(conn, &email, Confidential::SafeguardingLead).await?;
    }
    Ok(id)
}

/// The follow-up form: what was done or decided.
#[derive(Debug, Default, Deserialize)]
pub struct FollowUpForm {
    #[serde(default)]
    pub note: String,
}

impl FollowUpForm {
    /// The note, up to 5,000 characters; an empty one is refused.
    pub fn parse(&self) -> Result<String, &'static str> {
        let note: String = self.note.trim().chars().take(5000).collect();
        if note.is_empty() { Err("Write what was done or decided.") } else { Ok(note) }
    }
}

/// Appends a follow-up to a concern (the database refuses changes to what is written).
pub async fn add_action(conn: &mut PgConnection, by: i64, concern: ConcernId, note: &str) -> AppResult<()> {
    let exists = sqlx::query_scalar!(
        r#"select exists(select 1 from safeguarding_concerns where id = $1) as "exists!""#,
        concern.0,
    )
    .fetch_one(&mut *conn)
    .await?;
    if !exists {
        return Err(AppError::NotFound);
    }
    sqlx::query!(
        "insert into safeguarding_actions (concern_id, author_id, note) values ($1, $2, $3)",
        concern.0,
        by,
        note,
    )
    .execute(&mut *conn)
    .await?;
    audit::record(conn)
        .by(by)
        .action("safeguarding.action_added")
        .entity("safeguarding_concern", concern)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_follow_up_needs_words_and_is_bounded() {
        assert!(FollowUpForm { note: "   ".into() }.parse().is_err());
        let long = FollowUpForm { note: "x".repeat(6000) }.parse().unwrap_or_default();
        assert_eq!(long.chars().count(), 5000);
    }
}
