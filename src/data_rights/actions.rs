//! What a family and the owner do about the family's data, one use case per action:
//! the download, asking for and withdrawing the account's closure, and declining it
//! (carrying it out is `erasure::carry_out`). Each runs in the caller's transaction
//! with its audit row and email.

use serde_json::json;
use sqlx::PgConnection;

use super::{
    domain::{Closure, ErasureStatus},
    export,
    store::{self, ONE_PENDING_CONSTRAINT},
};
use crate::{
    audit,
    db::OnConstraint,
    error::{AppError, AppResult},
    families,
    ids::ErasureRequestId,
    notifications::{Email, Outbox},
};

/// Why a request about the account was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The parent already has a request waiting.
    AlreadyPending,
    /// The parent has no request waiting to withdraw.
    NothingPending,
    /// The owner's decision came after another: carried out, declined or withdrawn.
    AlreadyDecided,
}

/// The ZIP of everything about the family, and its audit row. The caller's
/// transaction is made REPEATABLE READ here, before any read, so the files agree; the
/// audit row is its one write, last, so the download and its record go together.
pub async fn export(conn: &mut PgConnection, parent_id: i64) -> anyhow::Result<Vec<u8>> {
    sqlx::query!("set transaction isolation level repeatable read").execute(&mut *conn).await?;
    let zip = export::family_zip(conn, parent_id).await?;
    audit::record(conn)
        .by(parent_id)
        .action("family.data_exported")
        .entity("user", parent_id)
        .after(json!({ "bytes": zip.len() }))
        .await?;
    Ok(zip)
}

/// The parent asks for their account to be closed.
pub async fn request_closure(
    conn: &mut PgConnection,
    parent_id: i64,
    closure: &Closure,
) -> sqlx::Result<Result<ErasureRequestId, Refused>> {
    let inserted = store::insert(conn, parent_id, &closure.reason)
        .await
        .on_constraint(|name| (name == ONE_PENDING_CONSTRAINT).then_some(Refused::AlreadyPending))?;
    let Ok(id) = inserted else { return Ok(inserted) };
    audit::record(conn)
        .by(parent_id)
        .action("family.erasure_requested")
        .entity("user", parent_id)
        .after(json!({ "request_id": id }))
        .await?;
    Ok(Ok(id))
}

/// The parent withdraws their waiting request.
pub async fn withdraw_closure(
    conn: &mut PgConnection,
    parent_id: i64,
) -> sqlx::Result<Result<ErasureRequestId, Refused>> {
    let Some(id) = store::withdraw(conn, parent_id).await? else { return Ok(Err(Refused::NothingPending)) };
    audit::record(conn)
        .by(parent_id)
        .action("family.erasure_withdrawn")
        .entity("user", parent_id)
        .after(json!({ "request_id": id }))
        .await?;
    Ok(Ok(id))
}

/// The owner declines a waiting request with a reason, which the parent is emailed.
/// A request that does not exist is not found; one already decided is refused.
pub async fn decline(
    conn: &mut PgConnection,
    outbox: &Outbox,
    base_url: &str,
    actor_id: i64,
    id: ErasureRequestId,
    reason: &str,
) -> AppResult<Result<(), Refused>> {
    let Some(user_id) = store::lock_pending(conn, id).await? else {
        store::find(conn, id).await?.ok_or(AppError::NotFound)?;
        return Ok(Err(Refused::AlreadyDecided));
    };
    store::decide(conn, id, ErasureStatus::Declined, actor_id, reason).await?;
    audit::record(conn)
        .by(actor_id)
        .action("family.erasure_declined")
        .entity("user", user_id)
        .after(json!({ "request_id": id, "reason": reason }))
        .await?;
    let parent = families::store::profile(conn, user_id).await?.ok_or(AppError::NotFound)?;
    let email = Email {
        to: parent.email,
        subject: "Your request to close your Portico account".into(),
        body: format!(
            "Hello {name},\n\nWe have not closed your account, for this reason:\n\n{reason}\n\n\
             Your account stays open; you can ask again at {base_url}/parent/account.\n",
            name = parent.name,
        ),
    };
    outbox.queue(conn, &email).await?;
    Ok(Ok(()))
}
