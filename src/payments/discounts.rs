//! Discount codes: finance defines them (percentage or fixed amount, dates, usage
//! limit, activities); a parent applies one to a booking before paying, which lowers
//! the amount due. The usage limit holds under any concurrency (see `store`). The
//! pages are in `discount_pages`.

use serde_json::json;
use sqlx::PgConnection;
use time::{Date, OffsetDateTime};
use time_tz::OffsetDateTimeExt;

use super::{domain::DiscountKind, store};
use crate::{
    AppState, audit,
    db::OnConstraint,
    error::{AppError, AppResult},
    ids::{BookingId, DiscountCodeId},
    money::Money,
    web::{FormErrors, fmt},
};

/// What a code takes off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Off {
    Percent(i32),
    Fixed(Money),
}

impl Off {
    /// The discount on a booking of `total` with `due` left to pay: never more than due.
    pub fn on(self, total: i64, due: i64) -> i64 {
        let off = match self {
            Off::Percent(p) => total * i64::from(p) / 100,
            Off::Fixed(amount) => i64::from(amount.pence()),
        };
        off.min(due).max(0)
    }

    pub fn of(code: &store::DiscountCode) -> Option<Self> {
        match (code.kind, code.percent_off, code.amount_off_pence) {
            (DiscountKind::Percent, Some(p), _) => Some(Off::Percent(p)),
            (DiscountKind::Fixed, _, Some(a)) => Some(Off::Fixed(Money::from_pence(a))),
            _ => None,
        }
    }

    /// "10% off", "£5.00 off".
    pub fn label(self) -> String {
        match self {
            Off::Percent(p) => format!("{p}% off"),
            Off::Fixed(amount) => format!("{amount} off"),
        }
    }

    /// `kind` and `value` as finance types them: a whole percentage, or pounds.
    pub fn parse(kind: &str, value: &str) -> Result<Self, (&'static str, &'static str)> {
        match DiscountKind::parse(kind) {
            Some(DiscountKind::Percent) => match value.trim().parse::<i32>() {
                Ok(p) if (1..=100).contains(&p) => Ok(Off::Percent(p)),
                _ => Err(("value", "Enter a whole percentage from 1 to 100.")),
            },
            Some(DiscountKind::Fixed) => {
                Money::parse_positive(value).map(Off::Fixed).map_err(|message| ("value", message))
            }
            None => Err(("kind", "Choose a percentage or an amount.")),
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

/// The new-code form as typed (`web::form::Form`): `activity` repeats.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct NewCodeForm {
    pub code: String,
    pub kind: String,
    pub value: String,
    pub valid_from: String,
    pub valid_until: String,
    pub usage_limit: String,
    #[serde(rename = "activity", deserialize_with = "crate::web::form::ids")]
    pub activities: Vec<i64>,
}

/// A field's value trimmed; blank counts as not given.
fn given(raw: &str) -> Option<&str> {
    Some(raw.trim()).filter(|v| !v.is_empty())
}

/// A new code, valid as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCode {
    pub code: String,
    pub off: Off,
    pub valid_from: Option<Date>,
    pub valid_until: Option<Date>,
    pub usage_limit: Option<i32>,
    pub activity_ids: Vec<i64>,
}

impl NewCode {
    pub fn parse(form: &NewCodeForm) -> Result<Self, FormErrors> {
        let mut errors = FormErrors::default();
        let code = parse_code(form.code.trim()).map_err(|m| errors.add("code", m)).ok();
        let off =
            Off::parse(form.kind.trim(), form.value.trim()).map_err(|(field, m)| errors.add(field, m)).ok();
        let valid_from =
            parse_date(given(&form.valid_from)).map_err(|m| errors.add("valid_from", m)).ok().flatten();
        let valid_until =
            parse_date(given(&form.valid_until)).map_err(|m| errors.add("valid_until", m)).ok().flatten();
        if let (Some(from), Some(until)) = (valid_from, valid_until)
            && until < from
        {
            errors.add("valid_until", "The last day must not be before the first.");
        }
        let usage_limit = match given(&form.usage_limit).map(|v| v.parse::<i32>()) {
            None => None,
            Some(Ok(n)) if n > 0 => Some(n),
            Some(_) => {
                errors.add("usage_limit", "Enter a whole number of uses, or leave it empty for no limit.");
                None
            }
        };
        match (code, off) {
            (Some(code), Some(off)) if errors.is_empty() => Ok(NewCode {
                code,
                off,
                valid_from,
                valid_until,
                usage_limit,
                activity_ids: form.activities.clone(),
            }),
            _ => Err(errors),
        }
    }
}

/// Why a valid code was not created.
#[derive(Debug, PartialEq, Eq)]
pub enum CodeRefused {
    Exists,
}

/// Creates a code with its audit row, in the caller's transaction.
pub async fn create_code(
    conn: &mut PgConnection,
    by: i64,
    new: &NewCode,
) -> AppResult<Result<DiscountCodeId, CodeRefused>> {
    let (kind, percent_off, amount_off_pence) = match new.off {
        Off::Percent(p) => (DiscountKind::Percent, Some(p), None),
        Off::Fixed(a) => (DiscountKind::Fixed, None, Some(a.pence())),
    };
    let row = store::NewDiscountCode {
        code: &new.code,
        kind,
        percent_off,
        amount_off_pence,
        valid_from: new.valid_from,
        valid_until: new.valid_until,
        usage_limit: new.usage_limit,
        activity_ids: &new.activity_ids,
        created_by: by,
    };
    let inserted = store::insert_discount_code(&mut *conn, &row).await.on_constraint(|name| match name {
        "discount_codes_code_unique" => Some(CodeRefused::Exists),
        _ => None,
    })?;
    let id = match inserted {
        Ok(id) => DiscountCodeId(id),
        Err(refused) => return Ok(Err(refused)),
    };
    audit::record(&mut *conn)
        .by(by)
        .action("discount_code.created")
        .entity("discount_code", id.0)
        .after(json!({ "code": new.code, "off": new.off.label(), "usage_limit": new.usage_limit }))
        .await?;
    Ok(Ok(id))
}

/// Every code that cannot be used gets these same words, whatever the reason
/// (unknown, expired, for another activity, used up), so guessing learns nothing.
pub const CANNOT_USE: &str = "That code cannot be used for this booking.";
/// The answer once a family has guessed too often.
pub const TOO_MANY: &str = "Too many attempts at a discount code. Please try again in an hour.";
/// Wrong codes a family may try in an hour.
pub const WRONG_GUESSES_PER_HOUR: i32 = 10;

/// A parent applies `typed` to their own booking, in the caller's transaction;
/// `allowed` is [`count_guess`]'s answer. Another family's booking is not found.
/// `Ok(Err(message))` says why the code cannot be used (roll back then).
pub async fn apply_code(
    state: &AppState,
    conn: &mut PgConnection,
    booking_id: BookingId,
    parent_id: i64,
    typed: &str,
    allowed: bool,
) -> AppResult<Result<String, String>> {
    let balance = store::lock_balance(conn, booking_id)
        .await?
        .filter(|b| b.parent_id == parent_id)
        .ok_or(AppError::NotFound)?;
    let today = OffsetDateTime::now_utc().to_timezone(state.config.timezone).date();
    try_code(conn, allowed, typed, &balance, today, parent_id).await
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
    conn: &mut PgConnection,
    booking_id: BookingId,
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
    conn: &mut PgConnection,
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
    conn: &mut PgConnection,
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
pub async fn reprice(conn: &mut PgConnection, booking_id: BookingId, total: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "update booking_discounts d
            set amount_pence = least(case when c.kind = 'percent' then $2::bigint * c.percent_off / 100
                                          else c.amount_off_pence::bigint end, $2::bigint)::int
           from discount_codes c
          where c.id = d.discount_code_id and d.booking_id = $1
            and least(case when c.kind = 'percent' then $2::bigint * c.percent_off / 100
                           else c.amount_off_pence::bigint end, $2::bigint) > 0",
        booking_id.0,
        total
    )
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
        assert_eq!(Off::Fixed(Money::from_pence(1000)).on(650, 650), 650);
        assert_eq!(Off::Fixed(Money::from_pence(200)).on(650, 650), 200);
    }

    #[test]
    fn kinds_and_values_parse_into_what_comes_off() {
        assert_eq!(Off::parse("percent", "10"), Ok(Off::Percent(10)));
        assert_eq!(Off::parse("fixed", "2.50"), Ok(Off::Fixed(Money::from_pence(250))));
        assert_eq!(Off::parse("percent", "101").map_err(|e| e.0), Err("value"));
        assert_eq!(Off::parse("fixed", "0").map_err(|e| e.0), Err("value"));
        assert_eq!(Off::parse("half", "1").map_err(|e| e.0), Err("kind"));
        assert_eq!(Off::Fixed(Money::from_pence(500)).label(), "£5.00 off");
    }

    #[test]
    fn a_new_code_is_read_whole_or_refused_field_by_field() {
        let read = |raw: &str| serde_html_form::from_str::<NewCodeForm>(raw).unwrap();
        let form = read("code=spring-10&kind=percent&value=10&activity=3&activity=2&usage_limit=");
        let new = NewCode::parse(&form).unwrap();
        assert_eq!((new.code.as_str(), new.off, new.usage_limit), ("SPRING-10", Off::Percent(10), None));
        assert_eq!(new.activity_ids, vec![2, 3]);
        let form =
            read("code=x&kind=fixed&value=abc&valid_from=2026-05-02&valid_until=2026-05-01&usage_limit=0");
        let errors = NewCode::parse(&form).unwrap_err();
        for field in ["code", "value", "valid_until", "usage_limit"] {
            assert!(errors.get(field).is_some(), "{field}");
        }
    }

    #[test]
    fn codes_are_upper_case_letters_digits_and_dashes() {
        assert_eq!(parse_code(" spring-10 ").as_deref(), Ok("SPRING-10"));
        assert!(parse_code("ab").is_err());
        assert!(parse_code("50% OFF").is_err());
    }
}
