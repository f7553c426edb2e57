//! Safeguarding concerns: raised by trainers and admins, readable only by the
//! safeguarding lead (not even owners), never changed or deleted (the database
//! refuses it), with follow-up actions appended.

use askama::Template;
use axum::{
    Router,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
    routing::{get, post},
};
use sqlx::{FromRow, PgConnection};
use time::OffsetDateTime;
use tower_sessions::Session;

use crate::{
    AppState, audit,
    auth::{Admin, AdminRole},
    bookings::parse_id,
    error::{AppError, AppResult},
    notifications::{Confidential, Email},
    web::{
        FormErrors, PageContext, flash, fmt,
        form::{Fields, render, render_with},
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/safeguarding", get(index))
        .route("/admin/safeguarding/{id}", get(show))
        .route("/admin/safeguarding/{id}/actions", post(add_action))
}

/// Records a concern and tells the lead (by email, without its content) that one is waiting.
pub async fn raise(
    state: &AppState,
    conn: &mut PgConnection,
    raised_by: i64,
    child_id: i64,
    session_id: Option<i64>,
    concern: &str,
) -> AppResult<i64> {
    let id: i64 = sqlx::query_scalar(
        "insert into safeguarding_concerns (child_id, session_id, raised_by, concern) values ($1, $2, $3, $4) returning id",
    )
    .bind(child_id)
    .bind(session_id)
    .bind(raised_by)
    .bind(concern)
    .fetch_one(&mut *conn)
    .await?;
    // The audit log is read by other admins: it says a concern exists, never what.
    audit::record(conn)
        .by(raised_by)
        .action("safeguarding.concern_raised")
        .entity("safeguarding_concern", id)
        .await?;
    let leads: Vec<String> = sqlx::query_scalar(
        "select email from users where role = 'admin' and admin_role = 'safeguarding_lead' and is_active",
    )
    .fetch_all(&mut *conn)
    .await?;
    for to in leads {
        let email = Email {
            to,
            subject: "A safeguarding concern has been raised".into(),
            body: format!(
                "A new safeguarding concern (#{id}) is waiting for you. Sign in to read it:\n\n{}/admin/safeguarding/{id}\n",
                state.config.base_url
            ),
        };
        state.outbox.queue_confidential(conn, &email, Confidential::SafeguardingLead).await?;
    }
    Ok(id)
}

fn require_lead(admin: &Admin) -> AppResult<()> {
    // Deliberately stricter than `Admin::require`: owners do not read these.
    if admin.0.admin_role == Some(AdminRole::SafeguardingLead) { Ok(()) } else { Err(AppError::Forbidden) }
}

#[derive(FromRow)]
struct ConcernRow {
    id: i64,
    child: String,
    raised_by: String,
    concern: String,
    created_at: OffsetDateTime,
    activity: Option<String>,
    actions: i64,
    medical: String,
}

pub struct ConcernLine {
    pub id: i64,
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
    pub concerns: Vec<ConcernLine>,
}

const CONCERN_SELECT: &str = "
    select c.id, ch.first_name || ' ' || ch.last_name as child, u.name as raised_by, c.concern, c.created_at,
           a.name as activity, (select count(*) from safeguarding_actions x where x.concern_id = c.id) as actions,
           concat_ws('; ', nullif(ch.allergies, ''), nullif(ch.medical_notes, ''), nullif(ch.additional_needs, '')) as medical
    from safeguarding_concerns c
    join children ch on ch.id = c.child_id
    join users u on u.id = c.raised_by
    left join sessions s on s.id = c.session_id
    left join activities a on a.id = s.activity_id";

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

pub async fn index(State(state): State<AppState>, admin: Admin, ctx: PageContext) -> AppResult<Response> {
    require_lead(&admin)?;
    let rows: Vec<ConcernRow> = sqlx::query_as(&format!("{CONCERN_SELECT} order by c.created_at desc"))
        .fetch_all(&state.pool)
        .await?;
    let tz = state.config.timezone;
    render(&IndexPage { ctx, concerns: rows.into_iter().map(|r| line(r, tz)).collect() })
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

async fn show_page(state: &AppState, ctx: PageContext, id: i64) -> AppResult<ShowPage> {
    let tz = state.config.timezone;
    let row: ConcernRow = sqlx::query_as(&format!("{CONCERN_SELECT} where c.id = $1"))
        .bind(id)
        .fetch_optional(&state.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    let actions = sqlx::query_as::<_, (String, OffsetDateTime, String)>(
        "select u.name, x.created_at, x.note from safeguarding_actions x join users u on u.id = x.author_id
         where x.concern_id = $1 order by x.created_at, x.id",
    )
    .bind(id)
    .fetch_all(&state.pool)
    .await?
    .into_iter()
    .map(|(author, at, note)| ActionLine { author, when: fmt::day_time(at, tz), note })
    .collect();
    Ok(ShowPage { ctx, concern: line(row, tz), actions, note: String::new(), errors: FormErrors::default() })
}

pub async fn show(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    Path(id): Path<String>,
) -> AppResult<Response> {
    require_lead(&admin)?;
    render(&show_page(&state, ctx, parse_id(&id)?).await?)
}

pub async fn add_action(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> AppResult<Response> {
    require_lead(&admin)?;
    let id = parse_id(&id)?;
    let note: String = form.get("note").unwrap_or_default().chars().take(5000).collect();
    if note.is_empty() {
        let mut page = show_page(&state, ctx, id).await?;
        page.errors.add("note", "Write what was done or decided.");
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let mut tx = state.pool.begin().await?;
    let exists: bool = sqlx::query_scalar("select exists(select 1 from safeguarding_concerns where id = $1)")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    if !exists {
        return Err(AppError::NotFound);
    }
    sqlx::query("insert into safeguarding_actions (concern_id, author_id, note) values ($1, $2, $3)")
        .bind(id)
        .bind(admin.0.id)
        .bind(&note)
        .execute(&mut *tx)
        .await?;
    audit::record(&mut tx)
        .by(admin.0.id)
        .action("safeguarding.action_added")
        .entity("safeguarding_concern", id)
        .await?;
    flash::done(tx, &session, "Follow-up recorded.", &format!("/admin/safeguarding/{id}")).await
}
