//! `/admin/audit`: the audit log, filtered by who, what (an action prefix such as
//! `session.` or `booking.cancelled`) and when. Safeguarding entries are left out:
//! only the safeguarding lead may learn that a concern exists.

use askama::Template;
use axum::{Router, extract::State, response::Response, routing::get};
use sqlx::FromRow;
use time::{Duration, OffsetDateTime};

use crate::{
    AppState,
    auth::Admin,
    catalogue::EDITORS,
    error::AppResult,
    sessions::domain::parse_date,
    web::{
        PageContext, fmt,
        form::{QueryFields, render},
        page::{Cursor, FETCH, Order, PageRequest, Pager},
    },
};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/audit", get(index))
}

#[derive(FromRow)]
struct Row {
    id: i64,
    created_at: OffsetDateTime,
    actor: Option<String>,
    action: String,
    entity_type: String,
    entity_id: Option<i64>,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
}

pub struct Line {
    pub when: String,
    pub who: String,
    pub action: String,
    pub entity: String,
    pub before: String,
    pub after: String,
}

#[derive(Template)]
#[template(path = "audit/index.html")]
pub struct AuditPage {
    pub ctx: PageContext,
    pub who: String,
    pub what: String,
    pub from: String,
    pub to: String,
    pub lines: Vec<Line>,
    pub pager: Pager,
}

fn compact(value: Option<serde_json::Value>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

pub async fn index(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let tz = state.config.timezone;
    let who = query.get("who").unwrap_or_default().to_owned();
    let what = query.get("what").unwrap_or_default().to_owned();
    let from = query.get("from").and_then(parse_date);
    let to = query.get("to").and_then(parse_date);
    let page = PageRequest::from_query(&query, Order::Descending);
    let sql = format!(
        "select l.id, l.created_at, u.name as actor, l.action, l.entity_type, l.entity_id, l.before, l.after
         from audit_log l left join users u on u.id = l.actor_id
         where l.entity_type not like 'safeguarding%' and l.action not like 'safeguarding.%'
           and ($1::text is null or u.name ilike '%' || $1 || '%' or u.email ilike '%' || $1 || '%')
           and ($2::text is null or l.action like replace(replace($2, '%', '\\%'), '_', '\\_') || '%')
           and ($3::timestamptz is null or l.created_at >= $3)
           and ($4::timestamptz is null or l.created_at < $4)
           {} {} limit {FETCH}",
        page.condition("l.created_at", "l.id", 5),
        page.order("l.created_at", "l.id")
    );
    let query_rows = sqlx::query_as(&sql)
        .bind((!who.is_empty()).then_some(&who))
        .bind((!what.is_empty()).then_some(&what))
        .bind(from.map(|d| crate::dashboards::start_of_day(d, tz)))
        .bind(to.map(|d| crate::dashboards::start_of_day(d + Duration::days(1), tz)));
    let rows: Vec<Row> = page.bind(query_rows).fetch_all(&state.pool).await?;
    let page = page.finish(rows, |r| Cursor::new(r.created_at, r.id), "/admin/audit", &query);
    let lines = page
        .rows
        .into_iter()
        .map(|r| Line {
            when: fmt::day_time(r.created_at, tz),
            who: r.actor.unwrap_or_else(|| "System or a visitor".into()),
            action: r.action,
            entity: match r.entity_id {
                Some(id) => format!("{} #{id}", r.entity_type),
                None => r.entity_type,
            },
            before: compact(r.before),
            after: compact(r.after),
        })
        .collect();
    render(&AuditPage {
        ctx,
        who,
        what,
        from: from.map(|d| d.to_string()).unwrap_or_default(),
        to: to.map(|d| d.to_string()).unwrap_or_default(),
        lines,
        pager: page.pager,
    })
}
