//! `/admin/audit`: the audit log, filtered by who, what (an action prefix such as
//! `session.` or `booking.cancelled`) and when. Safeguarding entries are left out:
//! only the safeguarding lead may learn that a concern exists. Money is finance's:
//! a reader who cannot open `/admin/payments` sees no entries about payments, refunds,
//! package sales or discount codes, and no amounts or refunds in any other entry.

use askama::Template;
use axum::{Router, extract::State, response::Response, routing::get};
use sqlx::FromRow;
use time::{Duration, OffsetDateTime};

use crate::{
    AppState,
    auth::{Admin, AdminRole},
    catalogue::EDITORS,
    error::AppResult,
    web::{
        PageContext, fmt,
        form::{QueryFields, render},
        page::{Cursor, Order, PageRequest, Pager, paged},
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

/// Who may read payments (as `/admin/payments`): finance, and owners.
const PAYMENT_READERS: &[AdminRole] = &[AdminRole::Finance];

/// Money kept out of other entries for those who may not read payments.
fn is_money_key(key: &str) -> bool {
    key.contains("refund") || matches!(key, "amount_pence" | "paid_pence" | "discount_pence" | "total_pence")
}

fn compact(value: Option<serde_json::Value>, sees_payments: bool) -> String {
    let Some(mut value) = value else { return String::new() };
    if !sees_payments && let Some(fields) = value.as_object_mut() {
        for (key, field) in fields.iter_mut() {
            if is_money_key(key) {
                *field = serde_json::Value::String("(withheld)".into());
            }
        }
    }
    value.to_string()
}

pub async fn index(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let sees_payments = admin.require(PAYMENT_READERS).is_ok();
    let tz = state.config.timezone;
    let who = query.get("who").unwrap_or_default().to_owned();
    let what = query.get("what").unwrap_or_default().to_owned();
    let from = query.get("from").and_then(crate::web::date::parse);
    let to = query.get("to").and_then(crate::web::date::parse);
    let page: PageRequest<OffsetDateTime> = PageRequest::from_query(&query, Order::Descending);
    let rows = paged!(
        &state.pool,
        page,
        Row,
        r#"select l.id, l.created_at, u.name as "actor?", l.action, l.entity_type, l.entity_id, l.before, l.after
         from audit_log l left join users u on u.id = l.actor_id
         where l.entity_type not like 'safeguarding%' and l.action not like 'safeguarding.%'
           and ($3::text is null or u.name ilike '%' || $3 || '%' or u.email ilike '%' || $3 || '%')
           and ($4::text is null or l.action like replace(replace($4, '%', '\%'), '_', '\_') || '%')
           and ($5::timestamptz is null or l.created_at >= $5)
           and ($6::timestamptz is null or l.created_at < $6)
           and ($7 or not (l.entity_type in ('payment', 'refund', 'cancellation_refund', 'package_purchase', 'discount_code')
                           or l.action like 'payment.%' or l.action like 'refund%'
                           or l.action like 'package_purchase.%' or l.action like 'discount_code.%'))"#,
        "l.created_at",
        "l.id",
        (!who.is_empty()).then_some(&who),
        (!what.is_empty()).then_some(&what),
        from.map(|d| crate::clock::start_of_day(d, tz)),
        to.map(|d| crate::clock::start_of_day(d + Duration::days(1), tz)),
        sees_payments,
    )?;
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
            before: compact(r.before, sees_payments),
            after: compact(r.after, sees_payments),
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
