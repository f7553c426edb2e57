//! The audit log: who changed what, when, with the state before and after. Written in
//! the same transaction as the change it describes.

use serde_json::Value;
use sqlx::PgConnection;

pub async fn record(
    conn: &mut PgConnection,
    actor_id: Option<i64>,
    action: &str,
    entity_type: &str,
    entity_id: Option<i64>,
    before: Option<Value>,
    after: Option<Value>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into audit_log (actor_id, action, entity_type, entity_id, before, after)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(actor_id)
    .bind(action)
    .bind(entity_type)
    .bind(entity_id)
    .bind(before)
    .bind(after)
    .execute(conn)
    .await?;
    Ok(())
}
