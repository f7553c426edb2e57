//! Parsing the availability forms.

use time::{Date, OffsetDateTime, Time, macros::format_description};
use time_tz::{PrimitiveDateTimeExt, Tz};

pub const WEEKDAYS: [&str; 7] =
    ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

pub fn parse_weekday(raw: &str) -> Result<i16, &'static str> {
    raw.parse::<i16>().ok().filter(|d| (1..=7).contains(d)).ok_or("Choose a day of the week.")
}

pub fn parse_time(raw: &str) -> Result<Time, &'static str> {
    let raw = raw.trim();
    Time::parse(raw, format_description!("[hour]:[minute]"))
        .or_else(|_| Time::parse(raw, format_description!("[hour]:[minute]:[second]")))
        .map_err(|_| "Enter a time like 16:30.")
}

pub fn parse_date(raw: &str) -> Result<Date, &'static str> {
    crate::web::date::parse(raw).ok_or("Enter a date.")
}

/// A time range within one day: the end must come after the start.
pub fn parse_range(from: &str, to: &str) -> Result<(Time, Time), (&'static str, &'static str)> {
    let from = parse_time(from).map_err(|m| ("starts", m))?;
    let to = parse_time(to).map_err(|m| ("ends", m))?;
    if to <= from {
        return Err(("ends", "The end must be after the start."));
    }
    Ok((from, to))
}

/// A local date and optional time as an instant in `tz`. A blank time means the start
/// of the day, or with `end_of_day` the end of it (the next midnight).
pub fn parse_local(
    date: &str,
    time: &str,
    end_of_day: bool,
    tz: &Tz,
) -> Result<OffsetDateTime, &'static str> {
    let date = parse_date(date)?;
    let (date, time) = match (time.trim().is_empty(), end_of_day) {
        (true, true) => (date.next_day().ok_or("Enter a date.")?, Time::MIDNIGHT),
        (true, false) => (date, Time::MIDNIGHT),
        (false, _) => (date, parse_time(time)?),
    };
    date.with_time(time)
        .assume_timezone(tz)
        .take_first()
        .ok_or("That time does not exist here (the clocks change).")
}

pub const TIME_OFF_KINDS: [(&str, &str); 3] =
    [("holiday", "Holiday"), ("sickness", "Sickness"), ("other", "Other")];

pub fn parse_kind(raw: &str) -> Result<&'static str, &'static str> {
    TIME_OFF_KINDS
        .iter()
        .find(|(k, _)| *k == raw)
        .map(|(k, _)| *k)
        .ok_or("Choose holiday, sickness or other.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_ranges_parse_with_clear_refusals() {
        assert_eq!(parse_range("09:00", "12:30").unwrap().1.hour(), 12);
        assert_eq!(parse_range("12:00", "09:00").unwrap_err(), ("ends", "The end must be after the start."));
        assert_eq!(parse_range("9am", "10:00").unwrap_err().0, "starts");
        assert!(parse_weekday("0").is_err() && parse_weekday("8").is_err() && parse_weekday("x").is_err());
        assert_eq!(parse_weekday("7"), Ok(7));
        assert_eq!(parse_kind("holiday"), Ok("holiday"));
        assert!(parse_kind("jury duty").is_err());
        assert!(parse_date("2026-02-30").is_err());
    }

    #[test]
    fn a_blank_time_means_the_whole_day() {
        let london = time_tz::timezones::db::europe::LONDON;
        let from = parse_local("2026-07-01", "", false, london).unwrap();
        let to = parse_local("2026-07-02", "", true, london).unwrap();
        assert_eq!(from, time::macros::datetime!(2026-06-30 23:00 UTC));
        assert_eq!(to, time::macros::datetime!(2026-07-02 23:00 UTC));
        assert_eq!(
            parse_local("2026-07-01", "14:30", true, london).unwrap(),
            time::macros::datetime!(2026-07-01 13:30 UTC)
        );
    }
}
