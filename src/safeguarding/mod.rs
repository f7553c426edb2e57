//! Safeguarding concerns: raised by trainers and admins, readable only by the
//! safeguarding lead (not even owners), never changed or deleted (the database
//! refuses it), with follow-up actions appended.

pub mod domain;

use askama::Template;
use axum::{
    Form, Router,
    extract::State,
    http::StatusCode,
    response::Response,
    routing::{get, post},
};
use time::OffsetDateTime;
use tower_sessions::Session;

use crate::{
    AppState,
    auth::{Admin, AdminRole},
    error::{AppError, AppResult},
    ids::ConcernId,
    web::{
        FormErrors, PageContext, Path, flash, fmt,
        form::{QueryFields, render, render_with},
        page::{Cursor, Order, PageRequest, Pager, paged},
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/safeguarding", get(index))
        .route("/admin/safeguarding/{id}", get(show))
        .route("/admin/safeguarding/{id}/actions", post(add_action))
}

fn require_lead(admin: &Admin) -> AppResult<()> {
    // Deliberately stricter than `Admin::require`: owners do not read these.
    if admin.0.admin_role == Some(AdminRole::SafeguardingLead) { Ok(()) } else { Err(AppError::Forbidden) }
}

struct ConcernRow {
    id: ConcernId,
    child: String,
    raised_by: String,
    concern: String,
    created_at: OffsetDateTime,
    activity: Option<String>,
    actions: i64,
    medical: String,
}

pub struct ConcernLine {
    pub id: ConcernId,
    pub child: String,
    pub raised_by: String,
    pub when: String,
    pub concern: String,
    pub context: String,
    pub actions: i64,
    /// The child's allergies, conditions and needs: the lead may need them to act.
    pub medical: String,
}

#[derive(Template)]
#[template(path = "safeguarding/index.html")]
pub struct IndexPage {
    pub ctx: PageContext,
    /// The child's name searched for, as typed.
    pub child: String,
    pub concerns: Vec<ConcernLine>,
    pub pager: Pager,
}

fn line(row: ConcernRow, tz: &time_tz::Tz) -> ConcernLine {
    ConcernLine {
        id: row.id,
        child: row.child,
        raised_by: row.raised_by,
        when: fmt::day_time(row.created_at, tz),
        concern: row.concern,
        context: row.activity.unwrap_or_default(),
        actions: row.actions,
        medical: row.medical,
    }
}

/// Newest first, 50 a page, optionally only the concerns about children whose name
/// holds `child`.
pub async fn index(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    require_lead(&admin)?;
    let child = query.get("child").unwrap_or_default().trim().to_owned();
    let page: PageRequest<OffsetDateTime> = PageRequest::from_query(&query, Order::Descending);
    let rows = paged!(
        &state.pool,
        page,
        ConcernRow,
        r#"select c.id as "id: ConcernId", ch.first_name || ' ' || ch.last_name as "child!", u.name as raised_by,
                c.concern, c.created_at, a.name as "activity?",
                (select count(*) from safeguarding_actions x where x.concern_id = c.id) as "actions!",
                concat_ws('; ', nullif(ch.allergies, ''), nullif(ch.medical_notes, ''),
                          nullif(ch.additional_needs, '')) as "medical!"
         from safeguarding_concerns c
         join children ch on ch.id = c.child_id
         join users u on u.id = c.raised_by
         left join sessions s on s.id = c.session_id
         left join activities a on a.id = s.activity_id
         where ($3::text is null or ch.first_name || ' ' || ch.last_name ilike '%' || $3 || '%')"#,
        "c.created_at",
        "c.id",
        (!child.is_empty()).then_some(&child),
    )?;
    let page = page.finish(rows, |r| Cursor::new(r.created_at, r.id.0), "/admin/safeguarding", &query);
    let tz = state.config.timezone;
    render(&IndexPage {
        ctx,
        child,
        concerns: page.rows.into_iter().map(|r| line(r, tz)).collect(),
        pager: page.pager,
    })
}

pub struct ActionLine {
    pub author: String,
    pub when: String,
    pub note: String,
}

#[derive(Template)]
#[template(path = "safeguarding/show.html")]
pub struct ShowPage {
    pub ctx: PageContext,
    pub concern: ConcernLine,
    pub actions: Vec<ActionLine>,
    pub note: String,
    pub errors: FormErrors,
}

async fn show_page(state: &AppState, ctx: PageContext, id: ConcernId) -> AppResult<ShowPage> {
    let tz = state.config.timezone;
    let row = sqlx::query_as!(
        ConcernRow,
        r#"select c.id as "id: ConcernId", ch.first_name || ' ' || ch.last_name as "child!", u.name as raised_by,
                c.concern, c.created_at, a.name as "activity?",
                (select count(*) from safeguarding_actions x where x.concern_id = c.id) as "actions!",
                concat_ws('; ', nullif(ch.allergies, ''), nullif(ch.medical_notes, ''),
                          nullif(ch.additional_needs, '')) as "medical!"
         from safeguarding_concerns c
         join children ch on ch.id = c.child_id
         join users u on u.id = c.raised_by
         left join sessions s on s.id = c.session_id
         left join activities a on a.id = s.activity_id
         where c.id = $1"#,
        id.0,
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let actions = sqlx::query!(
        "select u.name as author, x.created_at, x.note
         from safeguarding_actions x join users u on u.id = x.author_id
         where x.concern_id = $1 order by x.created_at, x.id",
        id.0,
    )
    .fetch_all(&state.pool)
    .await?
    .into_iter()
    .map(|x| ActionLine { author: x.author, when: fmt::day_time(x.created_at, tz), note: x.note })
    .collect();
    Ok(ShowPage { ctx, concern: line(row, tz), actions, note: String::new(), errors: FormErrors::default() })
}

pub async fn show(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    Path(id): Path<ConcernId>,
) -> AppResult<Response> {
    require_lead(&admin)?;
    render(&show_page(&state, ctx, id).await?)
}

pub async fn add_action(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<ConcernId>,
    Form(form): Form<domain::FollowUpForm>,
) -> AppResult<Response> {
    require_lead(&admin)?;
    let note = match form.parse() {
        Ok(note) => note,
        Err(message) => {
            let mut page = show_page(&state, ctx, id).await?;
            page.errors.add("note", message);
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let mut tx = state.pool.begin().await?;
    domain::add_action(&mut tx, admin.0.id.0, id, &note).await?;
    flash::done(tx, &session, "Follow-up recorded.", &format!("/admin/safeguarding/{id}")).await
}
