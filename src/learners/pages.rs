//! `/parent/people`: the adults an account books for (itself and its delegates), with
//! their special requirements. Another account's delegate is a 404.

use askama::Template;
use axum::{Form, extract::State, http::StatusCode, response::Response};
use time::OffsetDateTime;
use tower_sessions::Session;

use super::{actions, domain::AdultForm, store};
use crate::{
    AppState,
    auth::Parent,
    children::domain::ParticipantKind,
    error::{AppError, AppResult},
    ids::ChildId,
    web::{
        FormErrors, PageContext, Path, flash,
        form::{QueryFields, render, render_with},
        page::{Cursor, Order, PageRequest, Pager},
    },
};

pub struct PersonLine {
    pub id: ChildId,
    pub name: String,
    pub kind: &'static str,
    pub email: String,
    pub needs: Vec<String>,
}

#[derive(Template)]
#[template(path = "learners/index.html")]
pub struct IndexPage {
    pub ctx: PageContext,
    pub people: Vec<PersonLine>,
    pub pager: Pager,
}

fn line(row: store::AdultRow) -> PersonLine {
    let needs = [
        ("Access", row.access_needs),
        ("Dietary", row.dietary_needs),
        ("Language", row.language_needs),
        ("Other", row.other_needs),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("{k}: {v}"))
    .collect();
    PersonLine {
        id: row.id,
        name: format!("{} {}", row.first_name, row.last_name),
        kind: row.kind.label(),
        email: row.email.unwrap_or_default(),
        needs,
    }
}

pub async fn index(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    let request = PageRequest::<OffsetDateTime>::from_query(&query, Order::Ascending);
    let mut conn = state.pool.acquire().await?;
    let rows = store::page(&mut conn, parent.id.0, &request).await?;
    let page = request.finish(rows, |r| Cursor::new(r.created_at, r.id.0), "/parent/people", &query);
    render(&IndexPage { ctx, people: page.rows.into_iter().map(line).collect(), pager: page.pager })
}

#[derive(Template)]
#[template(path = "learners/form.html")]
pub struct FormPage {
    pub ctx: PageContext,
    pub id: Option<ChildId>,
    pub form: AdultForm,
    pub errors: FormErrors,
}

impl FormPage {
    pub fn action(&self) -> String {
        self.id.map_or_else(|| "/parent/people/new".to_owned(), |id| format!("/parent/people/{id}/edit"))
    }
}

pub async fn new_form(Parent(parent): Parent, ctx: PageContext) -> AppResult<Response> {
    let (first_name, last_name) = match parent.name.split_once(' ') {
        Some((first, last)) => (first.to_owned(), last.to_owned()),
        None => (parent.name.clone(), String::new()),
    };
    let form = AdultForm { kind: "self".into(), first_name, last_name, ..Default::default() };
    render(&FormPage { ctx, id: None, form, errors: FormErrors::default() })
}

pub async fn create(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    session: Session,
    Form(form): Form<AdultForm>,
) -> AppResult<Response> {
    let today = crate::clock::today(state.config.timezone);
    let adult = match form.parse(today) {
        Ok(adult) => adult,
        Err(errors) => {
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &FormPage { ctx, id: None, form, errors });
        }
    };
    let mut tx = state.pool.begin().await?;
    if let Err(errors) = actions::add(&mut tx, parent.id.0, &adult).await? {
        tx.rollback().await?;
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &FormPage { ctx, id: None, form, errors });
    }
    flash::done(tx, &session, format!("{} has been added.", adult.full_name()), "/parent/people").await
}

pub async fn edit_form(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    Path(id): Path<ChildId>,
) -> AppResult<Response> {
    let mut conn = state.pool.acquire().await?;
    let row = store::find(&mut conn, parent.id.0, id).await?.ok_or(AppError::NotFound)?;
    let form = AdultForm {
        kind: if row.kind == ParticipantKind::Myself { "self" } else { "delegate" }.into(),
        first_name: row.first_name,
        last_name: row.last_name,
        email: row.email.unwrap_or_default(),
        date_of_birth: row.date_of_birth.map(|d| d.to_string()).unwrap_or_default(),
        access_needs: row.access_needs,
        dietary_needs: row.dietary_needs,
        language_needs: row.language_needs,
        other_needs: row.other_needs,
    };
    render(&FormPage { ctx, id: Some(id), form, errors: FormErrors::default() })
}

pub async fn update(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    session: Session,
    Path(id): Path<ChildId>,
    Form(form): Form<AdultForm>,
) -> AppResult<Response> {
    let today = crate::clock::today(state.config.timezone);
    let adult = match form.parse(today) {
        Ok(adult) => adult,
        Err(errors) => {
            return render_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &FormPage { ctx, id: Some(id), form, errors },
            );
        }
    };
    let mut tx = state.pool.begin().await?;
    if let Err(errors) = actions::change(&mut tx, parent.id.0, id, &adult).await? {
        tx.rollback().await?;
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &FormPage { ctx, id: Some(id), form, errors });
    }
    flash::done(tx, &session, format!("{} has been saved.", adult.full_name()), "/parent/people").await
}
