//! The one parser for dates typed into forms and query strings (`YYYY-MM-DD`).
//!
//! `time` parses any year from -9999 to 9999, but a day or a month added to
//! 9999-12-31 overflows and panics, and no date in Portico is that far out. So every
//! date the server accepts is bounded to `YEARS`; a year outside it is simply not a
//! date here. (1900, not 2000: adult clients' dates of birth are typed too.)

use std::ops::RangeInclusive;

use time::{Date, macros::format_description};

pub const YEARS: RangeInclusive<i32> = 1900..=2100;

/// The date `input` names, if it is a real date within `YEARS`.
pub fn parse(input: &str) -> Option<Date> {
    Date::parse(input.trim(), format_description!("[year]-[month]-[day]"))
        .ok()
        .filter(|d| YEARS.contains(&d.year()))
}

/// For a query parameter: absent or empty is `None`, a date is `Some(Ok)`, anything
/// else is `Some(Err)` so the page can say it ignored it.
pub fn parse_query(raw: Option<&str>) -> Option<Result<Date, String>> {
    let raw = raw?.trim();
    if raw.is_empty() {
        return None;
    }
    Some(parse(raw).ok_or_else(|| ignored_message(raw)))
}

/// What a page says about a date in its address it could not use.
pub fn ignored_message(raw: &str) -> String {
    let shown: String = raw.chars().filter(|c| !c.is_control()).take(40).collect();
    format!(
        "“{shown}” is not a date Portico can show (dates run from {} to {}), so it was ignored.",
        YEARS.start(),
        YEARS.end()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_dates_within_the_bounded_years_parse() {
        assert_eq!(parse(" 2026-11-29 ").map(|d| d.to_string()).as_deref(), Some("2026-11-29"));
        assert!(parse("9999-12-31").is_none(), "a day after it would overflow");
        assert!(parse("1899-12-31").is_none());
        assert!(parse("2026-02-30").is_none());
        assert!(parse("tomorrow").is_none());
    }

    #[test]
    fn a_query_date_is_absent_a_date_or_ignored_with_a_message() {
        assert!(parse_query(None).is_none());
        assert!(parse_query(Some("  ")).is_none());
        assert!(matches!(parse_query(Some("2026-01-05")), Some(Ok(_))));
        let message = parse_query(Some("9999-12-31")).and_then(Result::err).unwrap_or_default();
        assert!(message.contains("9999-12-31") && message.contains("ignored"));
    }
}
