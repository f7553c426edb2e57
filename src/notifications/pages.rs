//! `/admin/outbox`: every email Portico has written, for owners. In the demo (no SMTP)
//! this is where the mail can be read.

use askama::Template;
use axum::{
    extract::{Path, State},
    response::Response,
};
use sqlx::FromRow;
use time::OffsetDateTime;

use crate::{
    AppState,
    auth::Admin,
    error::AppResult,
    web::{PageContext, fmt, form::render},
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
}

const COLUMNS: &str = "id, to_address, subject, body_text, status, delivered_via, created_at";

pub async fn index(State(state): State<AppState>, admin: Admin, ctx: PageContext) -> AppResult<Response> {
    admin.require(&[])?;
    let rows: Vec<OutboxRow> =
        sqlx::query_as(&format!("select {COLUMNS} from outbox_emails order by id desc limit 200"))
            .fetch_all(&state.pool)
            .await?;
    let tz = state.config.timezone;
    let items =
        rows.into_iter().map(|row| OutboxItem { created: fmt::day_time(row.created_at, tz), row }).collect();
    render(&IndexPage { ctx, items })
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
    admin.require(&[])?;
    let id = crate::web::parse_id(&id)?;
    let row: OutboxRow = sqlx::query_as(&format!("select {COLUMNS} from outbox_emails where id = $1"))
        .bind(id)
        .fetch_one(&state.pool)
        .await?;
    let item = OutboxItem { created: fmt::day_time(row.created_at, state.config.timezone), row };
    render(&ShowPage { ctx, item })
}
