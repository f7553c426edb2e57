//! The SQL for erasure requests. A parent's queries name the parent, so another
//! family's request is never found.

use sqlx::PgConnection;
use time::OffsetDateTime;

use super::domain::ErasureStatus;
use crate::ids::ErasureRequestId;

/// The unique index that keeps one pending request per account.
pub const ONE_PENDING_CONSTRAINT: &str = "erasure_requests_one_pending";

/// How many requests one page of the owner's list shows.
pub const PAGE_SIZE: i64 = 50;

#[derive(Clone, Debug)]
pub struct RequestRow {
    pub id: ErasureRequestId,
    pub user_id: i64,
    pub status: ErasureStatus,
    pub reason: String,
    pub decision_reason: String,
    pub decided_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    /// The account's name now (a placeholder once erased).
    pub name: String,
    pub email: String,
    pub decided_by_name: Option<String>,
}

// Every select of a `RequestRow` is the same request with its account and decider,
// written out whole in each query so that each is checked at compile time.

/// The parent's pending request, if any.
pub async fn pending_for(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Option<RequestRow>> {
    sqlx::query_as!(
        RequestRow,
        r#"select r.id as "id: ErasureRequestId", r.user_id, r.status as "status: ErasureStatus", r.reason,
                  r.decision_reason, r.decided_at, r.created_at, u.name, u.email, d.name as "decided_by_name?"
           from erasure_requests r join users u on u.id = r.user_id
           left join users d on d.id = r.decided_by
           where r.user_id = $1 and r.status = 'pending'"#,
        user_id
    )
    .fetch_optional(conn)
    .await
}

/// The parent's latest decided request, to tell them what became of it.
pub async fn latest_decided_for(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Option<RequestRow>> {
    sqlx::query_as!(
        RequestRow,
        r#"select r.id as "id: ErasureRequestId", r.user_id, r.status as "status: ErasureStatus", r.reason,
                  r.decision_reason, r.decided_at, r.created_at, u.name, u.email, d.name as "decided_by_name?"
           from erasure_requests r join users u on u.id = r.user_id
           left join users d on d.id = r.decided_by
           where r.user_id = $1 and r.status <> 'pending' order by r.id desc limit 1"#,
        user_id
    )
    .fetch_optional(conn)
    .await
}

/// Records a pending request; fails with `erasure_requests_one_pending` when one waits.
pub async fn insert(conn: &mut PgConnection, user_id: i64, reason: &str) -> sqlx::Result<ErasureRequestId> {
    sqlx::query_scalar!(
        r#"insert into erasure_requests (user_id, reason) values ($1, $2) returning id as "id: ErasureRequestId""#,
        user_id,
        reason
    )
    .fetch_one(conn)
    .await
}

/// Withdraws the parent's pending request; returns its id, or `None` if none waits.
pub async fn withdraw(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Option<ErasureRequestId>> {
    sqlx::query_scalar!(
        r#"update erasure_requests set status = 'withdrawn', decided_by = $1, decided_at = now()
           where user_id = $1 and status = 'pending' returning id as "id: ErasureRequestId""#,
        user_id
    )
    .fetch_optional(conn)
    .await
}

pub async fn find(conn: &mut PgConnection, id: ErasureRequestId) -> sqlx::Result<Option<RequestRow>> {
    sqlx::query_as!(
        RequestRow,
        r#"select r.id as "id: ErasureRequestId", r.user_id, r.status as "status: ErasureStatus", r.reason,
                  r.decision_reason, r.decided_at, r.created_at, u.name, u.email, d.name as "decided_by_name?"
           from erasure_requests r join users u on u.id = r.user_id
           left join users d on d.id = r.decided_by
           where r.id = $1"#,
        id.0
    )
    .fetch_optional(conn)
    .await
}

/// The request locked for a decision, if it still waits: two owners deciding at once
/// cannot both act on it.
pub async fn lock_pending(conn: &mut PgConnection, id: ErasureRequestId) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "select user_id from erasure_requests where id = $1 and status = 'pending' for update",
        id.0
    )
    .fetch_optional(conn)
    .await
}

/// Marks a locked pending request decided (`Completed` or `Declined`).
pub async fn decide(
    conn: &mut PgConnection,
    id: ErasureRequestId,
    status: ErasureStatus,
    decided_by: i64,
    decision_reason: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update erasure_requests
         set status = $2, decided_by = $3, decision_reason = $4, decided_at = now()
         where id = $1 and status = 'pending'",
        id.0,
        status as _,
        decided_by,
        decision_reason
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Which requests the owner's list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    Pending,
    All,
}

/// One page of requests, newest first, by keyset: `before` shows the ones older than
/// that id, `after` the ones newer. Fetches one extra row to know whether more follow.
pub async fn page(
    conn: &mut PgConnection,
    filter: Filter,
    before: Option<ErasureRequestId>,
    after: Option<ErasureRequestId>,
) -> sqlx::Result<Vec<RequestRow>> {
    let status = match filter {
        Filter::Pending => Some(ErasureStatus::Pending),
        Filter::All => None,
    };
    let (before, after) = (before.map(i64::from), after.map(i64::from));
    // Going back a page reads ascending from `after`, then the caller reverses it.
    if after.is_some() {
        sqlx::query_as!(
            RequestRow,
            r#"select r.id as "id: ErasureRequestId", r.user_id, r.status as "status: ErasureStatus", r.reason,
                      r.decision_reason, r.decided_at, r.created_at, u.name, u.email, d.name as "decided_by_name?"
               from erasure_requests r join users u on u.id = r.user_id
               left join users d on d.id = r.decided_by
               where ($1::text is null or r.status = $1)
                 and ($2::bigint is null or r.id < $2) and ($3::bigint is null or r.id > $3)
               order by r.id asc limit $4"#,
            status as _,
            before,
            after,
            PAGE_SIZE + 1
        )
        .fetch_all(conn)
        .await
    } else {
        sqlx::query_as!(
            RequestRow,
            r#"select r.id as "id: ErasureRequestId", r.user_id, r.status as "status: ErasureStatus", r.reason,
                      r.decision_reason, r.decided_at, r.created_at, u.name, u.email, d.name as "decided_by_name?"
               from erasure_requests r join users u on u.id = r.user_id
               left join users d on d.id = r.decided_by
               where ($1::text is null or r.status = $1)
                 and ($2::bigint is null or r.id < $2) and ($3::bigint is null or r.id > $3)
               order by r.id desc limit $4"#,
            status as _,
            before,
            after,
            PAGE_SIZE + 1
        )
        .fetch_all(conn)
        .await
    }
}
