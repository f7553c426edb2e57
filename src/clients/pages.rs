//! `/admin/clients`: parents and their assigned trainer; assigning or transferring a
//! client, with the reason kept in the history.

use askama::Template;
use axum::{
    Form,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;

use super::{
    actions::{self, AssignForm},
    store::{self, ClientRow, TrainerChoice},
};
use crate::{
    AppState,
    auth::Admin,
    catalogue::EDITORS,
    error::{AppError, AppResult},
    ids::UserId,
    web::{
        FormErrors, PageContext, Path,
        flash::{self, FlashKind},
        fmt,
        form::{Fields, QueryFields, render, render_with},
        page::{Cursor, Order, PageRequest, Pager},
    },
};

#[derive(Template)]
#[template(path = "clients/index.html")]
pub struct IndexPage {
    pub ctx: PageContext,
    pub q: String,
    pub clients: Vec<ClientRow>,
    /// How many clients match, over every page.
    pub total: i64,
    pub pager: Pager,
}

pub async fn index(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let q = query.get("q").unwrap_or_default().chars().take(100).collect::<String>();
    let mut conn = state.pool.acquire().await?;
    let page = PageRequest::from_query(&query, Order::Ascending);
    let rows = store::clients(&mut conn, &q, &page).await?;
    let total = store::count_clients(&mut conn, &q).await?;
    let page = page.finish(rows, |c| Cursor::new(c.name.clone(), c.id), "/admin/clients", &query);
    render(&IndexPage { ctx, q, clients: page.rows, total, pager: page.pager })
}

pub struct HistoryLine {
    pub trainer: String,
    pub from: String,
    pub until: String,
    pub by: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "clients/show.html")]
pub struct ShowPage {
    pub ctx: PageContext,
    pub c: ClientRow,
    pub history: Vec<HistoryLine>,
    pub history_pager: Pager,
    pub trainers: Vec<TrainerChoice>,
    pub form: AssignForm,
    pub errors: FormErrors,
}

impl ShowPage {
    pub fn picked(&self, id: &i64) -> bool {
        self.form.trainer.trim() == id.to_string()
    }
}

/// The client with the page of their history `query` asks for (the newest first).
async fn show_page(
    state: &AppState,
    ctx: PageContext,
    id: UserId,
    query: &Fields,
    form: AssignForm,
    errors: FormErrors,
) -> AppResult<ShowPage> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let c = store::client(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let page = PageRequest::from_query(query, Order::Descending);
    let rows = store::history(&mut conn, id, &page).await?;
    let history = page
        .finish(rows, |h| Cursor::new(h.assigned_at, h.id), &format!("/admin/clients/{id}"), query)
        .map(|h| HistoryLine {
            trainer: h.trainer,
            from: fmt::day_time(h.assigned_at, tz),
            until: h.ended_at.map_or_else(|| "now".to_owned(), |at| fmt::day_time(at, tz)),
            by: h.assigned_by.unwrap_or_else(|| "Someone".into()),
            reason: h.reason,
        });
    let trainers = store::active_trainers(&mut conn).await?;
    Ok(ShowPage { ctx, c, history: history.rows, history_pager: history.pager, trainers, form, errors })
}

pub async fn show(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    Path(id): Path<UserId>,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    render(&show_page(&state, ctx, id, &query, AssignForm::default(), FormErrors::default()).await?)
}

/// `Assign`: a first trainer, or a transfer (see `actions::assign`).
pub async fn assign(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<UserId>,
    Form(form): Form<AssignForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let errors = match form.parse() {
        Err(errors) => errors,
        Ok(request) => {
            let mut tx = state.pool.begin().await?;
            match actions::assign(&state, &mut tx, admin.0.id.0, id, &request).await? {
                Ok(done) => {
                    tx.commit().await?;
                    let kind = if done.kept.is_empty() { FlashKind::Success } else { FlashKind::Info };
                    let message = done.message(request.move_shifts, state.config.timezone);
                    flash::push(&session, kind, message).await?;
                    return Ok(Redirect::to(&format!("/admin/clients/{id}")).into_response());
                }
                Err(errors) => errors,
            }
        }
    };
    let page = show_page(&state, ctx, id, &Fields::default(), form, errors).await?;
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
}
