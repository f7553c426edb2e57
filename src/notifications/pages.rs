//! `/admin/outbox`: the emails Portico has written, for owners; safeguarding messages
//! only for the safeguarding lead, who sees just those. In the demo (no SMTP) this is
//! where the mail can be read. Sign-in links are never here (see `LINK_WITHHELD`).

use askama::Template;
use axum::{
    extract::{Path, State},
    response::Response,
};
use sqlx::FromRow;
use time::OffsetDateTime;

use crate::{
    AppState,
    auth::{Admin, AdminRole},
    error::{AppError, AppResult},
    web::{
        PageContext, fmt,
        form::{QueryFields, render},
        page::{Cursor, FETCH, Order, PageRequest, Pager},
    },
};

#[derive(FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub to_address: String,
    pub subject: String,
    pub body_text: String,
    pub status: String,
    pub delivered_via: Option<String>,
    pub created_at: OffsetDateTime,
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

const COLUMNS: &str = "id, to_address, subject, body_text, status, delivered_via, created_at";

/// Which messages `admin` may read: the owner all but the confidential ones, the
/// safeguarding lead only theirs, anyone else none (403).
fn readable_by(admin: &Admin) -> AppResult<&'static str> {
    match admin.0.admin_role {
        Some(AdminRole::Owner) => Ok("confidential_to is null"),
        Some(AdminRole::SafeguardingLead) => Ok("confidential_to = 'safeguarding_lead'"),
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
    let page = PageRequest::from_query(&query, Order::Descending);
    // The list shows no bodies, so it reads none.
    let sql = format!(
        "select id, to_address, subject, '' as body_text, status, delivered_via, created_at
         from outbox_emails where {readable} {} {} limit {FETCH}",
        page.condition("created_at", "id", 1),
        page.order("created_at", "id")
    );
    let rows: Vec<OutboxRow> = page.bind(sqlx::query_as(&sql)).fetch_all(&state.pool).await?;
    let page = page.finish(rows, |r| Cursor::new(r.created_at, r.id), "/admin/outbox", &query);
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
    Path(id): Path<String>,
) -> AppResult<Response> {
    let readable = readable_by(&admin)?;
    let id = crate::web::parse_id(&id)?;
    let row: OutboxRow =
        sqlx::query_as(&format!("select {COLUMNS} from outbox_emails where id = $1 and {readable}"))
            .bind(id)
            .fetch_optional(&state.pool)
            .await?
            .ok_or(AppError::NotFound)?;
    let item = OutboxItem { created: fmt::day_time(row.created_at, state.config.timezone), row };
    render(&ShowPage { ctx, item })
}
