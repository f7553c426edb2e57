//! The certificate pages: the account's list and PDFs, the public check, and the
//! office's list, CSV, certificate page and revoking.

use askama::Template;
use axum::{
    Form,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use futures_util::TryStreamExt as _;
use serde::Deserialize;
use time::{Date, macros::format_description};
use tower_sessions::Session;

use super::{
    OFFICE, actions,
    domain::{Status, normalise},
    pdf,
    store::{self, Certificate, Filter},
};
use crate::{
    AppState,
    auth::{Admin, Parent, client_ip::ClientIp, throttle},
    error::{AppError, AppResult},
    ids::CertificateId,
    web::{
        FormErrors, PageContext, Path, csv, flash,
        form::{QueryFields, render, render_with},
        page::{Cursor, Order, PageRequest, Pager},
    },
};

/// Checks a client may make in an hour: plenty for an employer checking a team, few
/// for a script walking the number space.
const CHECKS_PER_CLIENT: i64 = 30;

/// "7 December 2026".
pub fn day(date: Date) -> String {
    date.format(format_description!("[day padding:none] [month repr:long] [year]")).unwrap_or_default()
}

fn today(state: &AppState) -> Date {
    crate::clock::today(state.config.timezone)
}

/// The provider's name, as its emails are signed (`MAIL_FROM`'s display name).
fn provider(state: &AppState) -> String {
    match state.config.mail_from.split_once('<') {
        Some((name, _)) if !name.trim().is_empty() => name.trim().trim_matches('"').to_owned(),
        _ => "Portico".to_owned(),
    }
}

pub struct Line {
    pub id: i64,
    pub number: String,
    pub learner: String,
    pub course: String,
    pub course_date: String,
    pub expires_on: String,
    pub status: Status,
}

fn line(c: Certificate, today: Date) -> Line {
    Line {
        id: c.id,
        status: c.status(today),
        number: c.number,
        learner: c.learner_name,
        course: c.course_name,
        course_date: day(c.course_date),
        expires_on: day(c.expires_on),
    }
}

fn pdf_response(state: &AppState, c: &Certificate) -> Response {
    let bytes = pdf::render(&pdf::Printed {
        provider: &provider(state),
        learner: &c.learner_name,
        course: &c.course_name,
        course_date: day(c.course_date),
        expires_on: day(c.expires_on),
        trainer: &c.trainer_name,
        number: &c.number,
        verify_url: format!("{}/certificates/verify", state.config.base_url),
        revoked: c.revoked_at.is_some(),
    });
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"certificate-{}.pdf\"", c.number)),
        ],
        bytes,
    )
        .into_response()
}

// The account's certificates ----------------------------------------------------------

#[derive(Template)]
#[template(path = "certificates/mine.html")]
pub struct MinePage {
    pub ctx: PageContext,
    pub certificates: Vec<Line>,
    pub pager: Pager,
}

pub async fn mine(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    let request = PageRequest::<Date>::from_query(&query, Order::Descending);
    let mut conn = state.pool.acquire().await?;
    let rows = store::page_for_account(&mut conn, parent.id.0, &request).await?;
    let page = request.finish(rows, |c| Cursor::new(c.issued_on, c.id), "/parent/certificates", &query);
    let today = today(&state);
    render(&MinePage {
        ctx,
        certificates: page.rows.into_iter().map(|c| line(c, today)).collect(),
        pager: page.pager,
    })
}

pub async fn my_pdf(
    State(state): State<AppState>,
    Parent(parent): Parent,
    Path(CertificateId(id)): Path<CertificateId>,
) -> AppResult<Response> {
    let mut conn = state.pool.acquire().await?;
    let c = store::find_for_account(&mut conn, parent.id.0, id).await?.ok_or(AppError::NotFound)?;
    Ok(pdf_response(&state, &c))
}

// The public check ----------------------------------------------------------------------

/// What the check shows: the state, the course and its dates, nothing about the person.
pub struct Checked {
    pub number: String,
    pub status: Status,
    pub course: String,
    pub course_date: String,
    pub expires_on: String,
}

#[derive(Template)]
#[template(path = "certificates/verify.html")]
pub struct VerifyPage {
    pub ctx: PageContext,
    pub number: String,
    pub checked: Option<Checked>,
    pub not_found: bool,
    pub errors: FormErrors,
}

pub async fn verify_form(ctx: PageContext, QueryFields(query): QueryFields) -> AppResult<Response> {
    let number = query.get("number").unwrap_or_default().chars().take(40).collect();
    render(&VerifyPage { ctx, number, checked: None, not_found: false, errors: FormErrors::default() })
}

#[derive(Deserialize)]
pub struct VerifyForm {
    #[serde(default)]
    number: String,
}

pub async fn verify(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ctx: PageContext,
    Form(form): Form<VerifyForm>,
) -> AppResult<Response> {
    let typed: String = form.number.chars().take(40).collect();
    let mut page =
        VerifyPage { ctx, number: typed, checked: None, not_found: false, errors: FormErrors::default() };
    let Some(number) = normalise(&form.number) else {
        page.errors.add("number", "Enter the certificate number, like FA-7K3M-9QPX-4TRW.");
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let client = ip.to_string();
    let limits = [throttle::Limit { key: &client, max: CHECKS_PER_CLIENT }];
    if !throttle::allow_request(&state.pool, "certificate-check", "1 hour", &limits).await? {
        page.errors.add("number", "Many certificates have been checked from your address in the last hour. Please try again in an hour.");
        return render_with(StatusCode::TOO_MANY_REQUESTS, &page);
    }
    let mut conn = state.pool.acquire().await?;
    match store::by_number(&mut conn, &number).await? {
        Some(c) => {
            page.checked = Some(Checked {
                status: c.status(today(&state)),
                number: c.number,
                course: c.course_name,
                course_date: day(c.course_date),
                expires_on: day(c.expires_on),
            });
            render(&page)
        }
        None => {
            page.not_found = true;
            render_with(StatusCode::NOT_FOUND, &page)
        }
    }
}

// The office ----------------------------------------------------------------------------

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "certificates/admin.html")]
pub struct AdminPage {
    pub ctx: PageContext,
    pub certificates: Vec<Line>,
    pub pager: Pager,
    pub statuses: Vec<Choice>,
    pub courses: Vec<Choice>,
    pub expiring: String,
    pub search: String,
    /// The filters as a query string, for the CSV link.
    pub csv_query: String,
}

fn filter_from(query: &crate::web::form::Fields, today: Date) -> Filter {
    let text = |name| query.get(name).map(str::trim).filter(|s| !s.is_empty());
    Filter {
        status: text("status").and_then(Status::parse),
        activity_id: query.id("course"),
        expiring_within: text("expiring")
            .and_then(|s| s.parse::<i32>().ok())
            .filter(|d| (0..=3660).contains(d)),
        search: text("q").map(|s| s.chars().take(100).collect()),
        today: Some(today),
    }
}

async fn course_choices(conn: &mut sqlx::PgConnection, chosen: Option<i64>) -> AppResult<Vec<Choice>> {
    let rows = sqlx::query!(
        "select id, name from activities where certificate_valid_months is not null
            or exists (select 1 from certificates c where c.activity_id = activities.id) order by name"
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Choice { value: r.id.to_string(), label: r.name, selected: chosen == Some(r.id) })
        .collect())
}

pub async fn admin_index(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(OFFICE)?;
    let today = today(&state);
    let filter = filter_from(&query, today);
    let request = PageRequest::<Date>::from_query(&query, Order::Descending);
    let mut conn = state.pool.acquire().await?;
    let rows = store::page(&mut conn, &filter, &request).await?;
    let page = request.finish(rows, |c| Cursor::new(c.issued_on, c.id), "/admin/certificates", &query);
    let statuses = Status::ALL
        .into_iter()
        .map(|s| Choice {
            value: s.key().into(),
            label: s.label().into(),
            selected: filter.status == Some(s),
        })
        .collect();
    let csv_query = query
        .pairs()
        .filter(|(k, _)| ["status", "course", "expiring", "q"].contains(k))
        .map(|(k, v)| format!("{k}={}", form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()))
        .collect::<Vec<_>>()
        .join("&");
    render(&AdminPage {
        ctx,
        certificates: page.rows.into_iter().map(|c| line(c, today)).collect(),
        pager: page.pager,
        statuses,
        courses: course_choices(&mut conn, filter.activity_id).await?,
        expiring: filter.expiring_within.map(|d| d.to_string()).unwrap_or_default(),
        search: filter.search.clone().unwrap_or_default(),
        csv_query,
    })
}

pub async fn export(
    State(state): State<AppState>,
    admin: Admin,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(OFFICE)?;
    let today = today(&state);
    let filter = filter_from(&query, today);
    let pool = state.pool.clone();
    let header = [
        "Number",
        "Learner",
        "Course",
        "Course date",
        "Issued",
        "Expires",
        "Trainer",
        "Status",
        "Revoked because",
    ];
    Ok(csv::stream("certificates.csv", &header, move |mut sink| async move {
        let mut conn = pool.acquire().await?;
        let mut rows = store::export(&mut conn, &filter);
        while let Some(c) = rows.try_next().await? {
            sink.record([
                c.number.clone(),
                csv::cell(&c.learner_name),
                csv::cell(&c.course_name),
                c.course_date.to_string(),
                c.issued_on.to_string(),
                c.expires_on.to_string(),
                csv::cell(&c.trainer_name),
                c.status(today).label().to_owned(),
                csv::cell(c.revoked_reason.as_deref().unwrap_or_default()),
            ])
            .await?;
        }
        Ok(sink)
    })?)
}

#[derive(Template)]
#[template(path = "certificates/show.html")]
pub struct ShowPage {
    pub ctx: PageContext,
    pub c: Line,
    pub trainer: String,
    pub issued_on: String,
    pub revoked_reason: Option<String>,
    pub reason: String,
    pub errors: FormErrors,
}

fn show_page(ctx: PageContext, c: Certificate, today: Date) -> ShowPage {
    ShowPage {
        ctx,
        trainer: c.trainer_name.clone(),
        issued_on: day(c.issued_on),
        revoked_reason: c.revoked_reason.clone(),
        c: line(c, today),
        reason: String::new(),
        errors: FormErrors::default(),
    }
}

pub async fn admin_show(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    Path(CertificateId(id)): Path<CertificateId>,
) -> AppResult<Response> {
    admin.require(OFFICE)?;
    let mut conn = state.pool.acquire().await?;
    let c = store::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    render(&show_page(ctx, c, today(&state)))
}

pub async fn admin_pdf(
    State(state): State<AppState>,
    admin: Admin,
    Path(CertificateId(id)): Path<CertificateId>,
) -> AppResult<Response> {
    admin.require(OFFICE)?;
    let mut conn = state.pool.acquire().await?;
    let c = store::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    Ok(pdf_response(&state, &c))
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    reason: String,
}

pub async fn revoke(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(CertificateId(id)): Path<CertificateId>,
    Form(form): Form<RevokeForm>,
) -> AppResult<Response> {
    admin.require(OFFICE)?;
    let mut tx = state.pool.begin().await?;
    let c = store::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let reason = form.reason.trim();
    let problem = if reason.is_empty() {
        Some("Say why the certificate is revoked.")
    } else if reason.chars().count() > 500 {
        Some("Use at most 500 characters.")
    } else if c.revoked_at.is_some() {
        Some("This certificate is already revoked.")
    } else {
        None
    };
    if let Some(problem) = problem {
        tx.rollback().await?;
        let mut page = show_page(ctx, c, today(&state));
        page.reason = form.reason.clone();
        page.errors.add("reason", problem);
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    actions::revoke(&mut tx, admin.0.id.0, id, reason).await?;
    flash::done(
        tx,
        &session,
        format!("Certificate {} revoked.", c.number),
        &format!("/admin/certificates/{id}"),
    )
    .await
}
