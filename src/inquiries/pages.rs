//! The public's "Ask about a course" form: no sign-in, CSRF as everywhere, and as
//! many sends an hour from one client as sign-up allows.

use askama::Template;
use axum::{Form, extract::State, http::StatusCode, response::Response};

use super::{actions, domain::InquiryForm, store};
use crate::{
    AppState,
    auth::{client_ip::ClientIp, throttle},
    error::AppResult,
    ids::ActivityId,
    web::{
        Choice, FormErrors, PageContext,
        form::{QueryFields, render, render_with},
    },
};

#[derive(Template)]
#[template(path = "inquiries/ask.html")]
pub struct AskPage {
    pub ctx: PageContext,
    pub form: InquiryForm,
    pub courses: Vec<Choice>,
    pub errors: FormErrors,
    pub canonical: String,
}

async fn ask_page(
    state: &AppState,
    ctx: PageContext,
    form: InquiryForm,
    errors: FormErrors,
) -> AppResult<AskPage> {
    let mut conn = state.pool.acquire().await?;
    let courses = store::courses(&mut conn)
        .await?
        .into_iter()
        .map(|c| Choice::new(c.id.to_string(), c.name, form.course.trim() == c.id.to_string()))
        .collect();
    let canonical = format!("{}/courses/ask", state.config.base_url.trim_end_matches('/'));
    Ok(AskPage { ctx, form, courses, errors, canonical })
}

/// The form, with the course already chosen when the link names one (`?course=3`).
pub async fn ask_form(
    State(state): State<AppState>,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    let form =
        InquiryForm { course: query.get("course").unwrap_or_default().to_owned(), ..InquiryForm::default() };
    render(&ask_page(&state, ctx, form, FormErrors::default()).await?)
}

#[derive(Template)]
#[template(path = "inquiries/asked.html")]
pub struct AskedPage {
    pub ctx: PageContext,
    pub email: String,
}

pub async fn ask(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ctx: PageContext,
    Form(form): Form<InquiryForm>,
) -> AppResult<Response> {
    let mut conn = state.pool.acquire().await?;
    let offered: Vec<ActivityId> = store::courses(&mut conn).await?.into_iter().map(|c| c.id).collect();
    drop(conn);
    let inquiry = match form.parse(&offered) {
        Ok(inquiry) => inquiry,
        Err(errors) => {
            let page = ask_page(&state, ctx, form, errors).await?;
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    if !throttle::allow_public_form(&state.pool, "inquiry", ip).await? {
        let mut errors = FormErrors::default();
        errors.add("email", throttle::PUBLIC_FORM_BUSY);
        let page = ask_page(&state, ctx, form, errors).await?;
        return render_with(StatusCode::TOO_MANY_REQUESTS, &page);
    }
    let mut tx = state.pool.begin().await?;
    actions::ask(&mut tx, &inquiry).await?;
    tx.commit().await?;
    render(&AskedPage { ctx, email: inquiry.email.as_str().to_owned() })
}
