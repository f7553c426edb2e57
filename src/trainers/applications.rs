//! Trainer applications: anyone may apply at `/apply`; the office approves (the account
//! and profile are created, and the applicant emailed, in one transaction) or rejects
//! with a reason.

use askama::Template;
use axum::{
    Form,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde_json::json;
use tower_sessions::Session;

use super::{domain::PersonForm, pages::open_account, store};
use crate::{
    AppState, audit,
    auth::{Admin, client_ip::ClientIp, domain::EmailAddress, throttle},
    bookings::parse_id,
    catalogue::EDITORS,
    children::domain::{PersonName, Phone},
    error::{AppError, AppResult},
    notifications::Email,
    web::{
        FormErrors, PageContext,
        flash::{self, FlashKind},
        fmt,
        form::{Fields, render, render_with},
    },
};

#[derive(Template)]
#[template(path = "trainers/apply.html")]
pub struct ApplyPage {
    pub ctx: PageContext,
    pub form: PersonForm,
    pub errors: FormErrors,
    pub sent: bool,
}

pub async fn apply_form(
    ctx: PageContext,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> AppResult<Response> {
    let sent = query.as_deref() == Some("sent");
    render(&ApplyPage { ctx, form: PersonForm::default(), errors: FormErrors::default(), sent })
}

pub async fn apply(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ctx: PageContext,
    Form(form): Form<PersonForm>,
) -> AppResult<Response> {
    let person = match form.parse(true) {
        Ok(p) => p,
        Err(errors) => {
            return render_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ApplyPage { ctx, form, errors, sent: false },
            );
        }
    };
    if !throttle::allow_public_form(&state.pool, "trainer-application", ip).await? {
        let mut errors = FormErrors::default();
        errors.add("email", throttle::PUBLIC_FORM_BUSY);
        return render_with(StatusCode::TOO_MANY_REQUESTS, &ApplyPage { ctx, form, errors, sent: false });
    }
    let mut tx = state.pool.begin().await?;
    let id = store::insert_application(&mut tx, &person).await?;
    audit::record(&mut tx)
        .action("trainer_application.received")
        .entity("trainer_application", id)
        .after(json!({ "name": person.name.as_str(), "email": person.email.as_str() }))
        .await?;
    tx.commit().await?;
    Ok(Redirect::to("/apply?sent").into_response())
}

pub struct ApplicationLine {
    pub row: store::ApplicationRow,
    pub received: String,
}

#[derive(Template)]
#[template(path = "trainers/applications.html")]
pub struct ApplicationsPage {
    pub ctx: PageContext,
    pub applications: Vec<ApplicationLine>,
    /// The application whose rejection came back, and the reason typed.
    pub failed: Option<i64>,
    pub reason: String,
    pub errors: FormErrors,
}

impl ApplicationsPage {
    pub fn is_failed(&self, id: &i64) -> bool {
        self.failed == Some(*id)
    }
}

async fn page(state: &AppState, ctx: PageContext) -> AppResult<ApplicationsPage> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let applications = store::applications(&mut conn)
        .await?
        .into_iter()
        .map(|row| ApplicationLine { received: fmt::day_time(row.created_at, tz), row })
        .collect();
    Ok(ApplicationsPage {
        ctx,
        applications,
        failed: None,
        reason: String::new(),
        errors: FormErrors::default(),
    })
}

pub async fn index(State(state): State<AppState>, admin: Admin, ctx: PageContext) -> AppResult<Response> {
    admin.require(EDITORS)?;
    render(&page(&state, ctx).await?)
}

async fn already_decided(state: &AppState, session: &Session, id: i64) -> AppResult<Response> {
    let mut conn = state.pool.acquire().await?;
    if !store::application_exists(&mut conn, id).await? {
        return Err(AppError::NotFound);
    }
    flash::push(session, FlashKind::Error, "Nothing changed: that application has already been decided.")
        .await?;
    Ok(Redirect::to("/admin/trainers/applications").into_response())
}

pub async fn approve(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(id): Path<String>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let id = parse_id(&id)?;
    let mut tx = state.pool.begin().await?;
    let Some(app) = store::lock_pending(&mut tx, id).await? else {
        drop(tx);
        return already_decided(&state, &session, id).await;
    };
    // The application was valid when made; it is parsed again to hold typed values.
    let person = super::domain::Person {
        name: PersonName::parse(&app.name, "").map_err(|m| anyhow::anyhow!("stored applicant name: {m}"))?,
        email: EmailAddress::parse(&app.email).map_err(|m| anyhow::anyhow!("stored applicant email: {m}"))?,
        phone: Phone::parse_optional(&app.phone).ok().flatten(),
        experience: app.experience.clone(),
        qualifications: app.qualifications.clone(),
    };
    let user_id = match open_account(&state, &mut tx, &person).await? {
        Ok(user_id) => user_id,
        Err(_) => {
            drop(tx);
            let message = format!(
                "{} already has an account ({}). Reject this application, or change that account's role.",
                app.name, app.email
            );
            flash::push(&session, FlashKind::Error, message).await?;
            return Ok(Redirect::to("/admin/trainers/applications").into_response());
        }
    };
    store::decide(&mut tx, id, "approved", admin.0.id, "", Some(user_id)).await?;
    audit::record(&mut tx)
        .by(admin.0.id)
        .action("trainer_application.approved")
        .entity("trainer_application", id)
        .before(json!({ "status": "pending" }))
        .after(json!({ "status": "approved", "user_id": user_id }))
        .await?;
    let message = format!("{} is approved: their account is open and they have been emailed.", app.name);
    flash::done(tx, &session, message, &format!("/admin/trainers/{user_id}")).await
}

pub async fn reject(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let id = parse_id(&id)?;
    let typed = form.get("reason").unwrap_or_default().to_owned();
    let reason = match crate::bookings::domain::parse_reason(&typed) {
        Ok(reason) => reason,
        Err(message) => {
            let mut page = page(&state, ctx).await?;
            page.failed = Some(id);
            page.reason = typed;
            page.errors.add("reason", message);
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let mut tx = state.pool.begin().await?;
    let Some(app) = store::lock_pending(&mut tx, id).await? else {
        drop(tx);
        return already_decided(&state, &session, id).await;
    };
    store::decide(&mut tx, id, "rejected", admin.0.id, &reason, None).await?;
    let email = Email {
        to: app.email.clone(),
        subject: "Your application to work with us".into(),
        body: format!(
            "Hello {},\n\nThank you for applying. We are sorry, but we cannot offer you work at the moment.\n\n{reason}\n",
            app.name
        ),
    };
    state.outbox.queue(&mut tx, &email).await?;
    audit::record(&mut tx)
        .by(admin.0.id)
        .action("trainer_application.rejected")
        .entity("trainer_application", id)
        .before(json!({ "status": "pending" }))
        .after(json!({ "status": "rejected", "reason": reason }))
        .await?;
    tx.commit().await?;
    flash::push(
        &session,
        FlashKind::Success,
        format!("{}'s application is rejected; they have been emailed.", app.name),
    )
    .await?;
    Ok(Redirect::to("/admin/trainers/applications").into_response())
}
