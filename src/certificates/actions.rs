//! Issuing a certificate (in the transaction that records the pass) and revoking one.

use serde_json::json;
use sqlx::PgConnection;
use time::Date;

use super::{
    domain::{months_after, new_number},
    store::{self, NewCertificate},
};
use crate::{audit, db::OnConstraint};

/// A pass to certify: the result row and what the certificate copies.
pub struct Pass {
    pub result_id: i64,
    pub session_id: i64,
    pub activity_id: i64,
    pub child_id: i64,
    pub account_id: i64,
    pub learner_name: String,
    pub course_name: String,
    pub course_date: Date,
    pub valid_months: i32,
    pub trainer_name: String,
}

/// Issues the pass's certificate unless it has a live one; returns the live one's id.
/// A random number that happens to exist already is drawn again.
pub async fn issue(conn: &mut PgConnection, by: i64, pass: &Pass, today: Date) -> sqlx::Result<i64> {
    if let Some(id) = store::live_for_result(conn, pass.result_id).await? {
        return Ok(id);
    }
    for _ in 0..5 {
        let new = NewCertificate {
            number: new_number(&pass.course_name),
            result_id: pass.result_id,
            session_id: pass.session_id,
            activity_id: pass.activity_id,
            child_id: pass.child_id,
            account_id: pass.account_id,
            learner_name: pass.learner_name.clone(),
            course_name: pass.course_name.clone(),
            course_date: pass.course_date,
            issued_on: today,
            expires_on: months_after(pass.course_date.max(today), pass.valid_months),
            trainer_name: pass.trainer_name.clone(),
        };
        // A savepoint, so a clash on the number leaves the transaction usable.
        let mut attempt = sqlx::Connection::begin(&mut *conn).await?;
        let inserted = store::insert(&mut attempt, &new)
            .await
            .on_constraint(|c| (c == "certificates_number_key").then_some(()))?;
        let Ok(id) = inserted else {
            attempt.rollback().await?;
            continue;
        };
        attempt.commit().await?;
        audit::record(conn)
            .by(by)
            .action("certificate.issued")
            .entity("certificate", id)
            .after(json!({ "number": new.number, "learner": new.learner_name, "course": new.course_name,
                           "expires_on": new.expires_on.to_string() }))
            .await?;
        return Ok(id);
    }
    Err(sqlx::Error::Protocol("five certificate numbers in a row were taken".into()))
}

/// Revokes a pass's live certificate when its result changes from passed.
pub async fn revoke_for_result(
    conn: &mut PgConnection,
    by: i64,
    result_id: i64,
    reason: &str,
) -> sqlx::Result<()> {
    if let Some(id) = store::live_for_result(conn, result_id).await? {
        revoke(conn, by, id, reason).await?;
    }
    Ok(())
}

/// Revokes a certificate with the reason; false if it was already revoked.
pub async fn revoke(conn: &mut PgConnection, by: i64, id: i64, reason: &str) -> sqlx::Result<bool> {
    if !store::revoke(conn, id, by, reason).await? {
        return Ok(false);
    }
    audit::record(conn)
        .by(by)
        .action("certificate.revoked")
        .entity("certificate", id)
        .after(json!({ "reason": reason }))
        .await?;
    Ok(true)
}
