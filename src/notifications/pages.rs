//! `/admin/outbox`: the emails Portico has written, for owners; safeguarding messages
//! only for the safeguarding lead, who sees just those. In the demo (no SMTP) this is
//! where the mail can be read. Sign-in links are never here (see `LINK_WITHHELD`).

use askama::Template;
use axum::{extract::State, response::Response};
use time::OffsetDateTime;
use tower_sessions::Session;

use super::{Confidential, OutboxStatus};
use crate::{
    AppState,
    auth::{Admin, AdminRole},
    error::{AppError, AppResult},
    ids::OutboxEmailId,
    web::{
        PageContext, Path, flash, fmt,
        form::{QueryFields, render},
        page::{Cursor, Order, PageRequest, Pager, paged},
    },
};

pub struct OutboxRow {
    pub id: OutboxEmailId,
    pub to_address: String,
    pub subject: String,
    pub body_text: String,
    pub status: OutboxStatus,
    pub delivered_via: Option<String>,
    pub created_at: OffsetDateTime,
    /// Tries that failed, and the last one's error (a pending message is being retried).
    pub attempts: i32,
    pub last_error: Option<String>,
}

pub struct OutboxItem {
    pub row: OutboxRow,
    pub created: String,
}

#[derive(Template)]
#[template(path = "notifications/index.html")]
pub struct IndexPage {
    pub ctx: PageContext,
    pub items: Vec<OutboxItem>,
    pub pager: Pager,
}

/// Which messages `admin` may read, as the `confidential_to` they carry: the owner all
/// but the confidential ones (`None`), the safeguarding lead only theirs, anyone else
/// none (403).
fn readable_by(admin: &Admin) -> AppResult<Option<Confidential>> {
    match admin.0.admin_role {
        Some(AdminRole::Owner) => Ok(None),
        Some(AdminRole::SafeguardingLead) => Ok(Some(Confidential::SafeguardingLead)),
        _ => Err(AppError::Forbidden),
    }
}

pub async fn index(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    let readable = readable_by(&admin)?;
    let page: PageRequest<OffsetDateTime> = PageRequest::from_query(&query, Order::Descending);
    // The list shows no bodies, so it reads none.
    let rows = paged!(
        &state.pool,
        page,
        OutboxRow,
        r#"select id as "id: OutboxEmailId", to_address, subject, '' as "body_text!",
                  status as "status: OutboxStatus", delivered_via, created_at, attempts, last_error
           from outbox_emails where confidential_to is not distinct from $3::text"#,
        "created_at",
        "id",
        readable.map(Confidential::as_str),
    )?;
    let page = page.finish(rows, |r| Cursor::new(r.created_at, r.id.0), "/admin/outbox", &query);
    let tz = state.config.timezone;
    let items = page
        .rows
        .into_iter()
        .map(|row| OutboxItem { created: fmt::day_time(row.created_at, tz), row })
        .collect();
    render(&IndexPage { ctx, items, pager: page.pager })
}

#[derive(Template)]
#[template(path = "notifications/show.html")]
pub struct ShowPage {
    pub ctx: PageContext,
    pub item: OutboxItem,
}

pub async fn show(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    Path(id): Path<OutboxEmailId>,
) -> AppResult<Response> {
    let readable = readable_by(&admin)?;
    let row = sqlx::query_as!(
        OutboxRow,
        r#"select id as "id: OutboxEmailId", to_address, subject, body_text, status as "status: OutboxStatus",
                  delivered_via, created_at, attempts, last_error
           from outbox_emails where id = $1 and confidential_to is not distinct from $2::text"#,
        id.0,
        readable.map(Confidential::as_str),
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let item = OutboxItem { created: fmt::day_time(row.created_at, state.config.timezone), row };
    render(&ShowPage { ctx, item })
}

/// `Retry` on a message that was given up on: queues it again with a fresh count of tries.
pub async fn retry(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(id): Path<OutboxEmailId>,
) -> AppResult<Response> {
    let readable = readable_by(&admin)?;
    let mut tx = state.pool.begin().await?;
    let found = sqlx::query_scalar!(
        "select id from outbox_emails where id = $1 and confidential_to is not distinct from $2::text
         for update",
        id.0,
        readable.map(Confidential::as_str),
    )
    .fetch_optional(&mut *tx)
    .await?;
    if found.is_none() {
        return Err(AppError::NotFound);
    }
    let message = if state.outbox.retry(&mut tx, id.0).await? {
        crate::audit::record(&mut tx)
            .by(admin.0.id)
            .action("outbox.retried")
            .entity("outbox_email", id.0)
            .await?;
        "The email is queued to be sent again."
    } else {
        "That email is not one that failed; nothing to retry."
    };
    flash::done(tx, &session, message, "/admin/outbox").await
}
