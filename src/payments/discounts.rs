//! Discount codes: finance defines them (percentage or fixed amount, dates, usage
//! limit, activities); a parent applies one to a booking before paying, which lowers
//! the amount due. The usage limit holds under any concurrency (see `store`).

use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use time::{Date, OffsetDateTime};
use time_tz::OffsetDateTimeExt;
use tower_sessions::Session;

use super::{admin::Choice, domain::Pence, store};
use crate::{
    AppState, audit,
    auth::{Admin, AdminRole, Parent},
    bookings::parse_id,
    error::{AppError, AppResult},
    web::{
        FormErrors, PageContext,
        flash::{self, FlashKind},
        fmt,
        form::{Fields, render, render_with},
    },
};

const FINANCE: &[AdminRole] = &[AdminRole::Finance];

/// What a code takes off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Off {
    Percent(i32),
    Fixed(i32),
}

impl Off {
    /// The discount on a booking of `total` with `due` left to pay: never more than due.
    pub fn on(self, total: i64, due: i64) -> i64 {
        let off = match self {
            Off::Percent(p) => total * i64::from(p) / 100,
            Off::Fixed(pence) => i64::from(pence),
        };
        off.min(due).max(0)
    }

    fn of(code: &store::DiscountCode) -> Option<Self> {
        match (code.kind.as_str(), code.percent_off, code.amount_off_pence) {
            ("percent", Some(p), _) => Some(Off::Percent(p)),
            ("fixed", _, Some(a)) => Some(Off::Fixed(a)),
            _ => None,
        }
    }

    fn label(self) -> String {
        match self {
            Off::Percent(p) => format!("{p}% off"),
            Off::Fixed(pence) => format!("{} off", fmt::pounds(i64::from(pence))),
        }
    }
}

/// A code as typed: letters, digits and dashes, any case.
pub fn parse_code(raw: &str) -> Result<String, &'static str> {
    let code = raw.trim().to_ascii_uppercase();
    let ok = (3..=32).contains(&code.len()) && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok { Ok(code) } else { Err("Use 3 to 32 letters, digits or dashes.") }
}

fn parse_date(raw: Option<&str>) -> Result<Option<Date>, &'static str> {
    match raw {
        None => Ok(None),
        Some(v) => crate::web::date::parse(v).map(Some).ok_or("Enter a date like 2026-12-31."),
    }
}

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
    pub codes: Vec<CodeLine>,
    pub kinds: Vec<Choice>,
    pub activities: Vec<Choice>,
    pub code: String,
    pub value: String,
    pub valid_from: String,
    pub valid_until: String,
    pub usage_limit: String,
    pub errors: FormErrors,
}

async fn index_page(state: &AppState, ctx: PageContext, form: Option<&Fields>) -> AppResult<IndexPage> {
    let mut conn = state.pool.acquire().await?;
    let activities = store::activities(&mut conn).await?;
    let name_of =
        |id: &i64| activities.iter().find(|a| a.id == *id).map(|a| a.name.clone()).unwrap_or_default();
    let codes = store::discount_codes(&mut conn)
        .await?
        .into_iter()
        .map(|c| CodeLine {
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
    let typed = |name: &str| form.and_then(|f| f.get(name)).unwrap_or_default().to_owned();
    let chosen: Vec<i64> = form.map(|f| f.ids("activity")).unwrap_or_default();
    let kind = typed("kind");
    Ok(IndexPage {
        ctx,
        codes,
        kinds: [("percent", "Percentage off"), ("fixed", "Amount off (£)")]
            .iter()
            .map(|(v, l)| Choice { value: (*v).into(), label: (*l).into(), selected: kind == *v })
            .collect(),
        activities: activities
            .iter()
            .map(|a| Choice {
                value: a.id.to_string(),
                label: a.name.clone(),
                selected: chosen.contains(&a.id),
            })
            .collect(),
        code: typed("code"),
        value: typed("value"),
        valid_from: typed("valid_from"),
        valid_until: typed("valid_until"),
        usage_limit: typed("usage_limit"),
        errors: FormErrors::default(),
    })
}

pub async fn index(State(state): State<AppState>, admin: Admin, ctx: PageContext) -> AppResult<Response> {
    admin.require(FINANCE)?;
    render(&index_page(&state, ctx, None).await?)
}

pub async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    form: Fields,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    let mut errors = FormErrors::default();
    let code = parse_code(form.get("code").unwrap_or_default()).map_err(|m| errors.add("code", m)).ok();
    let value = form.get("value").unwrap_or_default();
    let off = match form.get("kind") {
        Some("percent") => match value.parse::<i32>() {
            Ok(p) if (1..=100).contains(&p) => Some(Off::Percent(p)),
            _ => {
                errors.add("value", "Enter a whole percentage from 1 to 100.");
                None
            }
        },
        Some("fixed") => {
            Pence::parse_pounds(value).map(|p| Off::Fixed(p.get())).map_err(|m| errors.add("value", m)).ok()
        }
        _ => {
            errors.add("kind", "Choose a percentage or an amount.");
            None
        }
    };
    let valid_from =
        parse_date(form.get("valid_from")).map_err(|m| errors.add("valid_from", m)).ok().flatten();
    let valid_until =
        parse_date(form.get("valid_until")).map_err(|m| errors.add("valid_until", m)).ok().flatten();
    if let (Some(from), Some(until)) = (valid_from, valid_until)
        && until < from
    {
        errors.add("valid_until", "The last day must not be before the first.");
    }
    let usage_limit = match form.get("usage_limit") {
        None => None,
        Some(v) => match v.parse::<i32>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                errors.add("usage_limit", "Enter a whole number of uses, or leave it empty for no limit.");
                None
            }
        },
    };
    let activity_ids = form.ids("activity");
    let (Some(code), Some(off), true) = (code, off, errors.is_empty()) else {
        return failed(&state, ctx, &form, errors).await;
    };
    let (kind, percent_off, amount_off_pence) = match off {
        Off::Percent(p) => ("percent", Some(p), None),
        Off::Fixed(a) => ("fixed", None, Some(a)),
    };
    let mut tx = state.pool.begin().await?;
    let new = store::NewDiscountCode {
        code: &code,
        kind,
        percent_off,
        amount_off_pence,
        valid_from,
        valid_until,
        usage_limit,
        activity_ids: &activity_ids,
        created_by: admin.0.id,
    };
    let id = match store::insert_discount_code(&mut tx, &new).await {
        Ok(id) => id,
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("discount_codes_code_unique") => {
            tx.rollback().await?;
            errors.add("code", "That code already exists.");
            return failed(&state, ctx, &form, errors).await;
        }
        Err(e) => return Err(e.into()),
    };
    let after = serde_json::json!({ "code": code, "off": off.label(), "usage_limit": usage_limit });
    audit::record(&mut tx)
        .by(admin.0.id)
        .action("discount_code.created")
        .entity("discount_code", id)
        .after(after)
        .await?;
    flash::done(tx, &session, format!("Discount code {code} created."), "/admin/discounts").await
}

/// The form again, filled in, with its errors.
async fn failed(
    state: &AppState,
    ctx: PageContext,
    form: &Fields,
    errors: FormErrors,
) -> AppResult<Response> {
    let mut page = index_page(state, ctx, Some(form)).await?;
    page.errors = errors;
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// Every code that cannot be used gets these same words, whatever the reason
/// (unknown, expired, for another activity, used up), so guessing learns nothing.
pub const CANNOT_USE: &str = "That code cannot be used for this booking.";
/// The answer once a family has guessed too often.
pub const TOO_MANY: &str = "Too many attempts at a discount code. Please try again in an hour.";
/// Wrong codes a family may try in an hour.
pub const WRONG_GUESSES_PER_HOUR: i32 = 10;

/// A parent applies a code to their booking; the booking page shows the answer (the
/// code's field lives there).
pub async fn apply(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let back = format!("/parent/bookings/{id}");
    let allowed = count_guess(&state, parent.id).await?;
    let mut tx = state.pool.begin().await?;
    let balance = store::lock_balance(&mut tx, id)
        .await?
        .filter(|b| b.parent_id == parent.id)
        .ok_or(AppError::NotFound)?;
    let today = OffsetDateTime::now_utc().to_timezone(state.config.timezone).date();
    let typed = form.get("code").unwrap_or_default();
    match try_code(&mut tx, allowed, typed, &balance, today, parent.id).await? {
        Ok(message) => {
            tx.commit().await?;
            store::count_discount_success(&state.pool, parent.id).await?;
            flash::push(&session, FlashKind::Success, message).await?;
        }
        Err(message) => {
            tx.rollback().await?;
            flash::push(&session, FlashKind::Error, message).await?;
        }
    }
    Ok(Redirect::to(&back).into_response())
}

/// Counts a guess at a code by `parent_id`'s family; false once they have had their
/// wrong guesses for the hour. Called before the action's transaction begins: the
/// count must outlive that transaction's rollback, and taking a second connection
/// while holding one could starve the pool under load.
pub async fn count_guess(state: &AppState, parent_id: i64) -> AppResult<bool> {
    Ok(store::count_discount_attempt(&state.pool, parent_id, WRONG_GUESSES_PER_HOUR).await?)
}

/// Applies a code the parent typed while booking, in the booking's transaction;
/// `allowed` is `count_guess`'s answer. `Ok(Err(message))` says why it cannot be
/// used. After the booking commits, the caller gives the guess back with
/// `store::count_discount_success`.
pub async fn apply_to_new_booking(
    state: &AppState,
    conn: &mut sqlx::PgConnection,
    booking_id: i64,
    typed: &str,
    allowed: bool,
    parent_id: i64,
) -> AppResult<Result<String, String>> {
    let Some(balance) = store::lock_balance(conn, booking_id).await? else {
        return Err(AppError::NotFound);
    };
    let today = OffsetDateTime::now_utc().to_timezone(state.config.timezone).date();
    try_code(conn, allowed, typed, &balance, today, parent_id).await
}

/// What does not depend on the code is answered first; then, within the family's
/// guesses, the code is checked and applied.
async fn try_code(
    conn: &mut sqlx::PgConnection,
    allowed: bool,
    typed: &str,
    balance: &store::Balance,
    today: Date,
    parent_id: i64,
) -> AppResult<Result<String, String>> {
    if balance.discount_pence > 0 {
        return Ok(Err("This booking already has a discount.".into()));
    }
    if balance.due_pence() <= 0 {
        return Ok(Err("Nothing is due on this booking.".into()));
    }
    if !allowed {
        return Ok(Err(TOO_MANY.into()));
    }
    let Ok(code) = parse_code(typed) else { return Ok(Err(CANNOT_USE.into())) };
    let Some(code) = store::discount_code_by_code(conn, &code).await? else {
        return Ok(Err(CANNOT_USE.into()));
    };
    check_and_apply(conn, &code, balance, today, parent_id).await
}

async fn check_and_apply(
    conn: &mut sqlx::PgConnection,
    code: &store::DiscountCode,
    balance: &store::Balance,
    today: Date,
    parent_id: i64,
) -> AppResult<Result<String, String>> {
    let cannot = || Ok(Err(CANNOT_USE.to_owned()));
    let Some(off) = Off::of(code) else { return cannot() };
    if !code.active
        || code.valid_from.is_some_and(|d| today < d)
        || code.valid_until.is_some_and(|d| today > d)
    {
        return cannot();
    }
    if !code.activity_ids.is_empty() {
        let booked = store::booking_activity_ids(conn, balance.booking_id).await?;
        if !booked.iter().any(|a| code.activity_ids.contains(a)) {
            return cannot();
        }
    }
    let amount = off.on(i64::from(balance.total_pence), balance.due_pence());
    let Ok(amount) = i32::try_from(amount) else { return cannot() };
    if amount == 0 {
        return cannot();
    }
    if !store::take_discount_use(conn, code.id).await? {
        return cannot();
    }
    if !store::insert_booking_discount(conn, balance.booking_id, code.id, amount, parent_id).await? {
        return Ok(Err("This booking already has a discount.".into()));
    }
    Ok(Ok(format!("Code {} applied: {} off.", code.code, fmt::pounds(i64::from(amount)))))
}

/// A booking's price changed before anything was paid (a draft submitted at today's
/// prices): its discount is worked out again on the new total, as [`Off::on`] does.
/// A discount that would come to nothing stays as it was: nothing is due either way.
pub async fn reprice(conn: &mut sqlx::PgConnection, booking_id: i64, total: i64) -> sqlx::Result<()> {
    sqlx::query(
        "update booking_discounts d
            set amount_pence = least(case when c.kind = 'percent' then $2 * c.percent_off / 100
                                          else c.amount_off_pence::bigint end, $2)::int
           from discount_codes c
          where c.id = d.discount_code_id and d.booking_id = $1
            and least(case when c.kind = 'percent' then $2 * c.percent_off / 100
                           else c.amount_off_pence::bigint end, $2) > 0",
    )
    .bind(booking_id)
    .bind(total)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discounts_are_whole_pence_and_never_more_than_due() {
        assert_eq!(Off::Percent(10).on(650, 650), 65);
        assert_eq!(Off::Percent(15).on(999, 999), 149, "rounded down, in the family's favour never below");
        assert_eq!(Off::Percent(100).on(650, 400), 400);
        assert_eq!(Off::Fixed(1000).on(650, 650), 650);
        assert_eq!(Off::Fixed(200).on(650, 650), 200);
    }

    #[test]
    fn codes_are_upper_case_letters_digits_and_dashes() {
        assert_eq!(parse_code(" spring-10 ").as_deref(), Ok("SPRING-10"));
        assert!(parse_code("ab").is_err());
        assert!(parse_code("50% OFF").is_err());
    }
}
