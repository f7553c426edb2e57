//! Finance's discount codes page and a parent applying a code to a booking; the rules
//! are in `discounts`.

use askama::Template;
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use sqlx::PgConnection;
use time::OffsetDateTime;
use tower_sessions::Session;

use super::{
    discounts::{self, CodeRefused, NewCode, NewCodeForm, Off},
    domain::{Choice, DiscountKind},
    store::{self, DiscountCode},
};
use crate::{
    AppState,
    auth::{Admin, AdminRole, Parent},
    error::AppResult,
    ids::BookingId,
    web::{
        FormErrors, PageContext, Path,
        flash::{self, FlashKind},
        form::{Fields, Form, QueryFields, render, render_with},
        page::{Cursor, Order, PageRequest, Pager, paged},
    },
};

const FINANCE: &[AdminRole] = &[AdminRole::Finance];

pub struct CodeLine {
    pub code: String,
    pub off: String,
    pub dates: String,
    pub used: String,
    pub activities: String,
}

#[derive(Template)]
#[template(path = "payments/discounts.html")]
pub struct IndexPage {
    pub ctx: PageContext,
    /// A page of the codes, newest first.
    pub codes: Vec<CodeLine>,
    pub pager: Pager,
    pub kinds: Vec<Choice>,
    pub activities: Vec<Choice>,
    pub code: String,
    pub value: String,
    pub valid_from: String,
    pub valid_until: String,
    pub usage_limit: String,
    pub errors: FormErrors,
}

/// One page of the discount codes, newest first.
async fn codes_page(
    conn: &mut PgConnection,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<(OffsetDateTime, DiscountCode)>> {
    let rows = paged!(
        conn,
        page,
        CodeRow,
        r#"select id, code, kind as "kind: DiscountKind", percent_off, amount_off_pence, valid_from, valid_until,
                usage_limit, times_used, activity_ids, active, created_at
           from discount_codes where true"#,
        "created_at",
        "id",
    )?;
    Ok(rows.into_iter().map(CodeRow::split).collect())
}

/// A code as [`codes_page`] reads it: the code, and when it was made (its place in the list).
struct CodeRow {
    id: i64,
    code: String,
    kind: DiscountKind,
    percent_off: Option<i32>,
    amount_off_pence: Option<i32>,
    valid_from: Option<time::Date>,
    valid_until: Option<time::Date>,
    usage_limit: Option<i32>,
    times_used: i32,
    activity_ids: Vec<i64>,
    active: bool,
    created_at: OffsetDateTime,
}

impl CodeRow {
    fn split(self) -> (OffsetDateTime, DiscountCode) {
        let code = DiscountCode {
            id: self.id,
            code: self.code,
            kind: self.kind,
            percent_off: self.percent_off,
            amount_off_pence: self.amount_off_pence,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            usage_limit: self.usage_limit,
            times_used: self.times_used,
            activity_ids: self.activity_ids,
            active: self.active,
        };
        (self.created_at, code)
    }
}

async fn index_page(
    state: &AppState,
    ctx: PageContext,
    form: Option<&NewCodeForm>,
    query: &Fields,
) -> AppResult<IndexPage> {
    let mut conn = state.pool.acquire().await?;
    let activities = store::activities(&mut conn).await?;
    let name_of =
        |id: &i64| activities.iter().find(|a| a.id == *id).map(|a| a.name.clone()).unwrap_or_default();
    let page: PageRequest<OffsetDateTime> = PageRequest::from_query(query, Order::Descending);
    let codes = codes_page(&mut conn, &page).await?;
    let codes = page.finish(codes, |(at, c)| Cursor::new(*at, c.id), "/admin/discounts", query);
    let pager = codes.pager;
    let codes = codes
        .rows
        .into_iter()
        .map(|(_, c)| CodeLine {
            off: Off::of(&c).map(Off::label).unwrap_or_default(),
            dates: match (c.valid_from, c.valid_until) {
                (None, None) => "Always".into(),
                (from, until) => format!(
                    "{} – {}",
                    from.map(|d| d.to_string()).unwrap_or_default(),
                    until.map(|d| d.to_string()).unwrap_or_default()
                ),
            },
            used: match c.usage_limit {
                Some(limit) => format!("{} of {limit}", c.times_used),
                None => c.times_used.to_string(),
            },
            activities: if c.activity_ids.is_empty() {
                "All".into()
            } else {
                c.activity_ids.iter().map(name_of).collect::<Vec<_>>().join(", ")
            },
            code: c.code,
        })
        .collect();
    let form = form.cloned().unwrap_or_default();
    let chosen = &form.activities;
    let kind = form.kind.trim();
    Ok(IndexPage {
        ctx,
        codes,
        pager,
        kinds: DiscountKind::ALL
            .iter()
            .map(|k| Choice {
                value: k.as_str().into(),
                label: k.label().into(),
                selected: DiscountKind::parse(kind) == Some(*k),
            })
            .collect(),
        activities: activities
            .iter()
            .map(|a| Choice {
                value: a.id.to_string(),
                label: a.name.clone(),
                selected: chosen.contains(&a.id),
            })
            .collect(),
        code: form.code.trim().to_owned(),
        value: form.value.trim().to_owned(),
        valid_from: form.valid_from.trim().to_owned(),
        valid_until: form.valid_until.trim().to_owned(),
        usage_limit: form.usage_limit.trim().to_owned(),
        errors: FormErrors::default(),
    })
}

pub async fn index(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    render(&index_page(&state, ctx, None, &query).await?)
}

pub async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Form(form): Form<NewCodeForm>,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    let new = match NewCode::parse(&form) {
        Ok(new) => new,
        Err(errors) => return failed(&state, ctx, &form, errors).await,
    };
    let mut tx = state.pool.begin().await?;
    match discounts::create_code(&mut tx, admin.0.id.0, &new).await? {
        Ok(_) => {
            flash::done(tx, &session, format!("Discount code {} created.", new.code), "/admin/discounts")
                .await
        }
        Err(CodeRefused::Exists) => {
            tx.rollback().await?;
            let mut errors = FormErrors::default();
            errors.add("code", "That code already exists.");
            failed(&state, ctx, &form, errors).await
        }
    }
}

/// The form again, filled in, with its errors.
async fn failed(
    state: &AppState,
    ctx: PageContext,
    form: &NewCodeForm,
    errors: FormErrors,
) -> AppResult<Response> {
    // The form comes back over the first page of codes.
    let mut page = index_page(state, ctx, Some(form), &Fields::default()).await?;
    page.errors = errors;
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

#[derive(serde::Deserialize)]
pub struct ApplyForm {
    #[serde(default)]
    code: String,
}

/// A parent applies a code to their booking; the booking page shows the answer (the
/// code's field lives there).
pub async fn apply(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path(id): Path<BookingId>,
    axum::Form(form): axum::Form<ApplyForm>,
) -> AppResult<Response> {
    let allowed = discounts::count_guess(&state, parent.id.0).await?;
    let mut tx = state.pool.begin().await?;
    match discounts::apply_code(&state, &mut tx, id, parent.id.0, &form.code, allowed).await? {
        Ok(message) => {
            tx.commit().await?;
            store::count_discount_success(&state.pool, parent.id.0).await?;
            flash::push(&session, FlashKind::Success, message).await?;
        }
        Err(message) => {
            tx.rollback().await?;
            flash::push(&session, FlashKind::Error, message).await?;
        }
    }
    Ok(Redirect::to(&format!("/parent/bookings/{id}")).into_response())
}
