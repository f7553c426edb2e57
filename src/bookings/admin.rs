//! The office's side: the approval queue, search, a booking's detail, and the
//! decisions (approve, reject, request changes, cancel).

use askama::Template;
use axum::{
    Form,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use time_tz::OffsetDateTimeExt;
use tower_sessions::Session;

use super::{
    Transition,
    actions::{self, Decision, DecisionRefused, OfficeRefund},
    domain::{self, BookingStatus},
    rules, store,
    views::{Choice, HistoryLine, ParticipantLine, history_lines, participant_lines},
};
use crate::{
    AppState,
    auth::{Admin, AdminRole},
    error::{AppError, AppResult},
    ids::BookingId,
    money::Money,
    web::{
        FormErrors, PageContext, Path, csv, date,
        flash::{self, FlashKind},
        fmt,
        form::{self, Fields, QueryFields, render, render_with},
        page::{Cursor, PageRequest, Pager},
    },
};
use futures_util::TryStreamExt;

/// Reading bookings: the office and finance. Deciding on them: coordinators (and owners).
const READERS: &[AdminRole] = &[AdminRole::Coordinator, AdminRole::Finance];
const DECIDERS: &[AdminRole] = &[AdminRole::Coordinator];
/// Children's medical details (allergies, conditions, needs): only the office roles
/// that look after children, not finance (see README, "Who may see and change what").
pub const MEDICAL_READERS: &[AdminRole] = &[AdminRole::Coordinator, AdminRole::SafeguardingLead];

pub struct QueueLine {
    pub id: BookingId,
    pub parent: String,
    pub children: String,
    pub ages: String,
    pub activity: String,
    pub first: String,
    pub sessions: i64,
    pub total: String,
    pub status: &'static str,
    pub status_key: &'static str,
    pub medical: bool,
    pub received: String,
}

#[derive(Template)]
#[template(path = "bookings/admin_index.html")]
pub struct IndexPage {
    pub ctx: PageContext,
    pub statuses: Vec<Choice>,
    pub q: String,
    pub from: String,
    pub to: String,
    pub is_queue: bool,
    pub can_decide: bool,
    pub bookings: Vec<QueueLine>,
    /// How many bookings the search finds over every page (up to `count_cap` + 1).
    pub total: i64,
    pub count_cap: i64,
    pub pager: Pager,
}

const STATUSES: [BookingStatus; 9] = [
    BookingStatus::Pending,
    BookingStatus::AwaitingPayment,
    BookingStatus::ChangesRequested,
    BookingStatus::Approved,
    BookingStatus::Rejected,
    BookingStatus::Cancelled,
    BookingStatus::Completed,
    BookingStatus::Lapsed,
    BookingStatus::Draft,
];

/// The search the list page and the CSV share, from the query string.
fn search_from(query: &Fields, tz: &time_tz::Tz) -> store::Search {
    let status = query.get("status").and_then(BookingStatus::parse);
    store::Search {
        status,
        text: query.get("q").map(str::to_owned),
        from: query.get("from").and_then(date::parse).map(|d| crate::clock::start_of_day(d, tz)),
        until: query
            .get("to")
            .and_then(date::parse)
            .map(|d| crate::clock::start_of_day(d + Duration::days(1), tz)),
        oldest_first: status == Some(BookingStatus::Pending),
    }
}

pub async fn index(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(READERS)?;
    let tz = state.config.timezone;
    let search = search_from(&query, tz);
    let status = search.status;
    let is_queue = search.oldest_first;
    let from = query.get("from").and_then(date::parse);
    let to = query.get("to").and_then(date::parse);
    let request = PageRequest::from_query(&query, search.order());
    let mut conn = state.pool.acquire().await?;
    let today = OffsetDateTime::now_utc().to_timezone(tz).date();
    let sees_medical = admin.require(MEDICAL_READERS).is_ok();
    let (rows, total) = store::search(&mut conn, &search, &request).await?;
    let page = request.finish(rows, |b| Cursor::new(b.created_at, b.id.0), "/admin/bookings", &query);
    let page = page.map(|b| QueueLine {
        id: b.id,
        parent: b.parent_name,
        children: b.children,
        ages: b
            .youngest_dob
            .map(|dob| format!("youngest {}", domain::age_on(dob, today)))
            .unwrap_or_default(),
        activity: b.activity,
        first: b.first_start.map(|t| fmt::day_time(t, tz)).unwrap_or_default(),
        sessions: b.sessions,
        total: fmt::pounds(i64::from(b.total_pence)),
        status: b.status.label(),
        status_key: b.status.as_str(),
        medical: sees_medical && b.medical_flags,
        received: fmt::day_time(b.created_at, tz),
    });
    render(&IndexPage {
        ctx,
        statuses: STATUSES
            .iter()
            .map(|s| Choice {
                value: s.as_str().into(),
                label: s.label().into(),
                selected: Some(*s) == status,
            })
            .collect(),
        q: query.get("q").unwrap_or_default().to_owned(),
        from: from.map(|d| d.to_string()).unwrap_or_default(),
        to: to.map(|d| d.to_string()).unwrap_or_default(),
        is_queue,
        can_decide: admin.require(DECIDERS).is_ok(),
        bookings: page.rows,
        total,
        count_cap: store::COUNT_CAP,
        pager: page.pager,
    })
}

pub struct ChildCard {
    pub name: String,
    pub age: String,
    pub medical: String,
}

#[derive(Template)]
#[template(path = "bookings/admin_show.html")]
pub struct ShowPage {
    pub ctx: PageContext,
    pub id: BookingId,
    pub parent: String,
    pub parent_email: String,
    pub status: &'static str,
    pub status_key: &'static str,
    pub total: String,
    pub notes: String,
    pub by_admin: bool,
    pub lines: Vec<ParticipantLine>,
    pub children: Vec<ChildCard>,
    pub history: Vec<HistoryLine>,
    pub can_decide: bool,
    pub can_approve: bool,
    pub can_reject: bool,
    pub can_request_changes: bool,
    pub can_cancel: bool,
    /// Places that can move, as `session:child`, and where they may go.
    pub places: Vec<Choice>,
    pub move_targets: Vec<Choice>,
    /// Which form the errors belong to, and what was typed there.
    pub failed_form: &'static str,
    pub reason: String,
    pub errors: FormErrors,
    /// What cancelling gives back by the rules, and the office's own amount and why.
    pub cancel_quote: String,
    pub refund: String,
    pub refund_reason: String,
}

async fn show_page(state: &AppState, admin: &Admin, ctx: PageContext, id: BookingId) -> AppResult<ShowPage> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let booking = store::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let participants = store::participants(&mut conn, id).await?;
    let history = store::history(&mut conn, id).await?;
    let status = booking.status;
    let today = OffsetDateTime::now_utc().to_timezone(tz).date();
    let sees_medical = admin.require(MEDICAL_READERS).is_ok();
    let mut children: Vec<ChildCard> = Vec::new();
    for p in &participants {
        if !children.iter().any(|c| c.name == p.child_name) {
            children.push(ChildCard {
                name: p.child_name.clone(),
                age: p.date_of_birth.map_or_else(
                    || "adult".to_owned(),
                    |born| format!("age {}", domain::age_on(born, today)),
                ),
                medical: if sees_medical { p.medical.clone() } else { String::new() },
            });
        }
    }
    let can_decide = admin.require(DECIDERS).is_ok();
    let now = OffsetDateTime::now_utc();
    let cancel_quote = if can_decide && status.can_become(BookingStatus::Cancelled) {
        let refundable = actions::raw(&rules::refundable_sessions(&participants, now));
        let quote = crate::payments::cancellation::quote(&mut conn, id, Some(&refundable)).await?;
        quote_words(quote)
    } else {
        String::new()
    };
    let movable: Vec<&store::Participant> =
        participants.iter().filter(|p| p.holds_place && p.starts_at > now).collect();
    let places = movable
        .iter()
        .map(|p| Choice {
            value: format!("{}:{}", p.session_id, p.child_id),
            label: format!("{} · {}", fmt::day_time(p.starts_at, tz), p.child_name),
            selected: false,
        })
        .collect();
    let activity_ids: Vec<i64> = movable.iter().map(|p| p.activity_id).collect();
    let move_targets = if can_decide && status.holds_places() && !activity_ids.is_empty() {
        super::office::move_targets(&mut conn, &activity_ids, tz).await?
    } else {
        Vec::new()
    };
    Ok(ShowPage {
        ctx,
        id,
        parent: booking.parent_name.clone(),
        parent_email: booking.parent_email.clone(),
        status: status.label(),
        status_key: status.as_str(),
        total: fmt::pounds(i64::from(booking.total_pence)),
        notes: booking.notes.clone(),
        by_admin: booking.created_by_admin,
        lines: participant_lines(&participants, tz),
        children,
        history: history_lines(history, tz),
        can_decide,
        can_approve: can_decide && status.can_become(BookingStatus::Approved),
        can_reject: can_decide && status.can_become(BookingStatus::Rejected),
        can_request_changes: can_decide && status == BookingStatus::Pending,
        can_cancel: can_decide && status.can_become(BookingStatus::Cancelled),
        places,
        move_targets,
        failed_form: "",
        reason: String::new(),
        errors: FormErrors::default(),
        cancel_quote,
        refund: String::new(),
        refund_reason: String::new(),
    })
}

/// The rules' refund for a cancellation now, and the most the office may give.
fn quote_words(quote: crate::payments::cancellation::Quote) -> String {
    let mut words = format!(
        "By the rules, cancelling now refunds {} (places still before their cancellation cut-off)",
        fmt::pounds(quote.amount_pence)
    );
    if quote.credits > 0 {
        words.push_str(&format!(" and returns {} package credit(s)", quote.credits));
    }
    words.push_str(&format!("; {} is paid and not yet refunded.", fmt::pounds(quote.paid_pence)));
    words
}

pub async fn show(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    Path(id): Path<BookingId>,
) -> AppResult<Response> {
    admin.require(READERS)?;
    let page = show_page(&state, &admin, ctx, id).await?;
    render(&page)
}

/// `Export CSV`: the bookings the current search shows.
pub async fn export(
    State(state): State<AppState>,
    admin: Admin,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(READERS)?;
    let tz = state.config.timezone;
    let search = search_from(&query, tz);
    let pool = state.pool.clone();
    let header = [
        "Booking",
        "Status",
        "Parent",
        "Children",
        "Activity",
        "First session",
        "Sessions",
        "Total (£)",
        "Received",
    ];
    Ok(csv::stream("bookings.csv", &header, move |mut sink| async move {
        let mut conn = crate::db::long_read(&pool).await?;
        let mut rows = store::export(&mut conn, &search);
        while let Some(b) = rows.try_next().await? {
            sink.record([
                b.id.to_string(),
                b.status.label().to_owned(),
                csv::cell(&b.parent_name),
                csv::cell(&b.children),
                csv::cell(&b.activity),
                b.first_start.map(|t| csv::date_time(t, tz)).unwrap_or_default(),
                b.sessions.to_string(),
                csv::decimal_pounds(i64::from(b.total_pence)),
                csv::date_time(b.created_at, tz),
            ])
            .await?;
        }
        Ok(sink)
    })?)
}

/// The form of every decision: the reason the parent reads, and for a cancellation
/// the office's own refund and why.
#[derive(Deserialize, Default)]
pub struct DecisionForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    refund: String,
    #[serde(default)]
    refund_reason: String,
}

impl DecisionForm {
    /// The decision, or the errors by field. Approving needs no words; every other
    /// decision tells the parent why.
    pub fn parse(&self, to: BookingStatus) -> Result<Decision, FormErrors> {
        let mut errors = FormErrors::default();
        let reason = match to {
            BookingStatus::Approved => self.reason.chars().take(2000).collect(),
            _ => domain::parse_reason(&self.reason).unwrap_or_else(|message| {
                errors.add("reason", message);
                String::new()
            }),
        };
        let typed = self.refund.trim();
        let refund = match to {
            BookingStatus::Cancelled if !typed.is_empty() => {
                match Money::parse(typed, "Enter an amount in pounds, like 12.50.") {
                    Ok(amount) => Some(OfficeRefund {
                        pence: i64::from(amount.pence()),
                        why: self.refund_reason.trim().chars().take(500).collect(),
                    }),
                    Err(message) => {
                        errors.add("refund", message);
                        None
                    }
                }
            }
            _ => None,
        };
        if errors.is_empty() { Ok(Decision { to, reason, refund }) } else { Err(errors) }
    }
}

/// Which form on the page a decision's errors belong to.
fn form_name(to: BookingStatus) -> &'static str {
    match to {
        BookingStatus::Rejected => "reject",
        BookingStatus::ChangesRequested => "request-changes",
        _ => "cancel",
    }
}

/// Applies one decision and redirects back, or re-renders with the form's errors.
async fn decide(
    (state, admin, ctx, session): (AppState, Admin, PageContext, Session),
    id: BookingId,
    form: DecisionForm,
    to: BookingStatus,
) -> AppResult<Response> {
    admin.require(DECIDERS)?;
    let refused = |errors: FormErrors| async {
        let mut page = show_page(&state, &admin, ctx, id).await?;
        page.failed_form = form_name(to);
        page.reason = form.reason.clone();
        page.refund = form.refund.clone();
        page.refund_reason = form.refund_reason.clone();
        page.errors = errors;
        render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    let decision = match form.parse(to) {
        Ok(decision) => decision,
        Err(errors) => return refused(errors).await,
    };
    let mut tx = state.pool.begin().await?;
    let refund = match actions::decide(&state, &mut tx, &admin.0, id, decision).await? {
        Ok(refund) => refund,
        Err(DecisionRefused::Refund(problems)) => {
            tx.rollback().await?;
            let mut errors = FormErrors::default();
            for (field, message) in problems {
                errors.add(field, message);
            }
            return refused(errors).await;
        }
        Err(DecisionRefused::NotAllowed(now)) => {
            let message = format!("Nothing changed: the booking is now “{}”.", now.label());
            flash::push(&session, FlashKind::Error, message).await?;
            return Ok(Redirect::to(&format!("/admin/bookings/{id}")).into_response());
        }
        Err(DecisionRefused::Missing) => return Err(AppError::NotFound),
    };
    tx.commit().await?;
    if let Some(refund) = &refund {
        crate::payments::cancellation::settle(&state, &refund.card_refunds).await;
        crate::payments::holds::close_checkouts(&state, id).await;
    }
    let done = match to {
        BookingStatus::Approved => "Booking approved; the parent has been emailed.".to_owned(),
        BookingStatus::Rejected => "Booking rejected; the parent has been emailed the reason.".to_owned(),
        BookingStatus::ChangesRequested => "Changes requested; the parent has been emailed.".to_owned(),
        _ => format!(
            "Booking cancelled; its places are free again, {} refunded and the parent has been emailed.",
            fmt::pounds(refund.as_ref().map_or(0, |r| r.total_pence))
        ),
    };
    flash::push(&session, FlashKind::Success, done).await?;
    Ok(Redirect::to(&format!("/admin/bookings/{id}")).into_response())
}

pub async fn approve(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<BookingId>,
    Form(form): Form<DecisionForm>,
) -> AppResult<Response> {
    decide((state, admin, ctx, session), id, form, BookingStatus::Approved).await
}

pub async fn reject(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<BookingId>,
    Form(form): Form<DecisionForm>,
) -> AppResult<Response> {
    decide((state, admin, ctx, session), id, form, BookingStatus::Rejected).await
}

pub async fn request_changes(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<BookingId>,
    Form(form): Form<DecisionForm>,
) -> AppResult<Response> {
    decide((state, admin, ctx, session), id, form, BookingStatus::ChangesRequested).await
}

pub async fn cancel(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<BookingId>,
    Form(form): Form<DecisionForm>,
) -> AppResult<Response> {
    decide((state, admin, ctx, session), id, form, BookingStatus::Cancelled).await
}

/// The queue's ticked bookings (`booking` repeats).
#[derive(Deserialize)]
pub struct ApproveManyForm {
    #[serde(default, rename = "booking", deserialize_with = "crate::web::form::ids")]
    bookings: Vec<BookingId>,
}

/// Approves every selected booking that is still waiting, in one transaction.
pub async fn approve_many(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    form::Form(form): form::Form<ApproveManyForm>,
) -> AppResult<Response> {
    admin.require(DECIDERS)?;
    let ids = form.bookings;
    let mut tx = state.pool.begin().await?;
    let mut approved = 0;
    for &id in &ids {
        if let Transition::Done =
            actions::transition(&state, &mut tx, id, BookingStatus::Approved, Some(&admin.0), "").await?
        {
            approved += 1;
        }
    }
    tx.commit().await?;
    let skipped = ids.len() - approved;
    let message = match (approved, skipped) {
        (0, 0) => "Select the bookings to approve.".to_owned(),
        (n, 0) => format!("Approved {n} booking{}.", if n == 1 { "" } else { "s" }),
        (n, s) => format!("Approved {n}; {s} had already been decided by someone else."),
    };
    let kind = if approved == 0 { FlashKind::Error } else { FlashKind::Success };
    flash::push(&session, kind, message).await?;
    Ok(Redirect::to("/admin/bookings?status=pending").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(reason: &str, refund: &str) -> DecisionForm {
        DecisionForm { reason: reason.into(), refund: refund.into(), refund_reason: String::new() }
    }

    #[test]
    fn decisions_other_than_approval_need_a_reason() {
        assert!(form("", "").parse(BookingStatus::Approved).is_ok());
        let errors = form("  ", "").parse(BookingStatus::Rejected).err().unwrap();
        assert!(errors.get("reason").is_some());
        let decision = form(" Full ", "").parse(BookingStatus::Cancelled).ok().unwrap();
        assert_eq!(decision.reason, "Full");
        assert!(decision.refund.is_none(), "an empty refund means the rules' amount");
    }

    #[test]
    fn an_office_refund_is_parsed_as_money() {
        let decision = form("Closed", "£12.50").parse(BookingStatus::Cancelled).ok().unwrap();
        assert_eq!(decision.refund.map(|r| r.pence), Some(1250));
        let errors = form("Closed", "twelve").parse(BookingStatus::Cancelled).err().unwrap();
        assert_eq!(errors.get("refund"), Some(Money::INVALID));
        assert!(form("Full", "5").parse(BookingStatus::Rejected).ok().unwrap().refund.is_none());
    }
}
