//! Offering freed places to the children waiting, inside the transaction that freed
//! them, and the sweep that passes expired offers on.

use sqlx::PgConnection;

use super::store;
use crate::{
    AppState,
    error::AppResult,
    ids::{ChildId, SessionId, WaitlistEntryId},
    notifications::Email,
    web::fmt,
};

/// Offers the free places of `session_ids` to waiting children and queues their emails,
/// inside the caller's transaction.
pub async fn offer_free_places(
    state: &AppState,
    conn: &mut PgConnection,
    session_ids: &[i64],
) -> AppResult<()> {
    let tz = state.config.timezone;
    for offer in store::offer_free_places(conn, session_ids).await? {
        let email = Email {
            to: offer.parent_email.clone(),
            subject: format!("A place for {} at {}", offer.child_name, offer.activity),
            body: format!(
                "Hello {},\n\nA place has come up for {} at {} on {}. It is held for you until {}.\n\n\
                 Claim it here: {}/parent/waitlist\n\nIf you do not claim it by then, it goes to the next child waiting.\n",
                offer.parent_name,
                offer.child_name,
                offer.activity,
                fmt::day_time(offer.starts_at, tz),
                fmt::day_time(offer.offer_expires_at, tz),
                state.config.base_url,
            ),
        };
        state.outbox.queue(conn, &email).await?;
    }
    Ok(())
}

/// Expires unclaimed offers and passes their places on. One sweep; see `spawn_sweeper`.
pub async fn sweep(state: &AppState) -> AppResult<()> {
    let mut tx = state.pool.begin().await?;
    let sessions = store::expire_offers(&mut tx).await?;
    offer_free_places(state, &mut tx, &sessions).await?;
    tx.commit().await?;
    Ok(())
}

/// Puts the parent's children on the session's waitlist; a child already on it keeps
/// its place. Returns how many were added, or None if there is no such session.
pub async fn join(
    conn: &mut PgConnection,
    session: SessionId,
    parent_id: i64,
    children: &[ChildId],
) -> AppResult<Option<u64>> {
    if !store::session_exists(conn, session).await? {
        return Ok(None);
    }
    Ok(Some(store::join(conn, session, parent_id, children).await?))
}

/// Takes a child off a waitlist; a place held for it goes to the next child. False
/// when the entry is not the parent's or has already ended.
pub async fn withdraw(
    state: &AppState,
    conn: &mut PgConnection,
    entry: WaitlistEntryId,
    parent_id: i64,
) -> AppResult<bool> {
    let Some((session_id, was_offered)) = store::withdraw(conn, entry, parent_id).await? else {
        return Ok(false);
    };
    if was_offered {
        offer_free_places(state, conn, &[session_id]).await?;
    }
    Ok(true)
}
