//! The audit log: who changed what, when, with the state before and after. Written in
//! the same transaction as the change it describes:
//!
//! ```ignore
//! audit::record(&mut tx)
//!     .by(admin.id)
//!     .action("booking.confirmed")
//!     .entity("booking", booking.id)
//!     .before(json!({ "status": "pending" }))
//!     .after(json!({ "status": "confirmed" }))
//!     .await?;
//! ```
//!
//! No actor means Portico itself (a sweep, a webhook).

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use serde_json::Value;
use sqlx::PgConnection;

/// Starts an audit row written through `conn` (the change's transaction) when awaited.
pub fn record(conn: &mut PgConnection) -> Entry<'_> {
    Entry {
        conn,
        actor_id: None,
        action: String::new(),
        entity_type: "",
        entity_id: None,
        before: None,
        after: None,
    }
}

#[must_use = "an audit entry is written only when awaited"]
pub struct Entry<'c> {
    conn: &'c mut PgConnection,
    actor_id: Option<i64>,
    action: String,
    entity_type: &'static str,
    entity_id: Option<i64>,
    before: Option<Value>,
    after: Option<Value>,
}

impl Entry<'_> {
    /// The user who made the change.
    pub fn by(mut self, user_id: impl Into<i64>) -> Self {
        self.actor_id = Some(user_id.into());
        self
    }

    /// The user who made the change, or Portico itself for `None`.
    pub fn actor(mut self, user_id: Option<i64>) -> Self {
        self.actor_id = user_id;
        self
    }

    /// What was done: `area.verb` ("booking.confirmed", "payment.refunded").
    pub fn action(mut self, action: impl Into<String>) -> Self {
        self.action = action.into();
        self
    }

    /// The row the change is about.
    pub fn entity(mut self, entity_type: &'static str, id: impl Into<i64>) -> Self {
        self.entity_type = entity_type;
        self.entity_id = Some(id.into());
        self
    }

    /// A change about a kind of thing rather than one row (a setting, a bulk action).
    pub fn about(mut self, entity_type: &'static str) -> Self {
        self.entity_type = entity_type;
        self
    }

    pub fn before(mut self, before: impl Into<Option<Value>>) -> Self {
        self.before = before.into();
        self
    }

    pub fn after(mut self, after: impl Into<Option<Value>>) -> Self {
        self.after = after.into();
        self
    }

    async fn save(self) -> sqlx::Result<()> {
        debug_assert!(
            !self.action.is_empty() && !self.entity_type.is_empty(),
            "an audit row names its action and entity"
        );
        sqlx::query!(
            "insert into audit_log (actor_id, action, entity_type, entity_id, before, after)
             values ($1, $2, $3, $4, $5, $6)",
            self.actor_id,
            self.action,
            self.entity_type,
            self.entity_id,
            self.before,
            self.after,
        )
        .execute(self.conn)
        .await?;
        Ok(())
    }
}

impl<'c> IntoFuture for Entry<'c> {
    type Output = sqlx::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = sqlx::Result<()>> + Send + 'c>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.save())
    }
}
