//! The availability forms, parsed once, and the states of a time-off request.

use serde::Deserialize;
use time::{Date, OffsetDateTime, Time, macros::format_description};
use time_tz::{PrimitiveDateTimeExt, Tz};

use crate::web::FormErrors;

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

/// Why a trainer asks for time off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum TimeOffKind {
    Holiday,
    Sickness,
    Other,
}

impl TimeOffKind {
    pub const ALL: [TimeOffKind; 3] = [Self::Holiday, Self::Sickness, Self::Other];

    /// The value a form sends.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Holiday => "holiday",
            Self::Sickness => "sickness",
            Self::Other => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Holiday => "Holiday",
            Self::Sickness => "Sickness",
            Self::Other => "Other",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw.trim()).ok_or("Choose holiday, sickness or other.")
    }
}

/// Where a time-off request stands: the trainer may withdraw it while it is pending;
/// the office approves or declines it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum TimeOffStatus {
    Pending,
    Approved,
    Declined,
    Withdrawn,
}

impl TimeOffStatus {
    /// The badge's class.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Declined => "declined",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Approved => "Approved",
            Self::Declined => "Declined",
            Self::Withdrawn => "Withdrawn",
        }
    }

    /// Only a pending request can be withdrawn or decided.
    pub fn is_pending(self) -> bool {
        matches!(self, Self::Pending)
    }
}

/// A slot of the weekly pattern, as typed.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct SlotForm {
    pub weekday: String,
    pub starts: String,
    pub ends: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// 1 (Monday) to 7 (Sunday).
    pub weekday: i16,
    pub starts: Time,
    pub ends: Time,
}

impl SlotForm {
    pub fn parse(&self) -> Result<Slot, FormErrors> {
        let mut errors = FormErrors::default();
        let weekday = parse_weekday(&self.weekday).map_err(|m| errors.add("weekday", m)).ok();
        let range = parse_range(&self.starts, &self.ends).map_err(|(f, m)| errors.add(f, m)).ok();
        match (weekday, range) {
            (Some(weekday), Some((starts, ends))) => Ok(Slot { weekday, starts, ends }),
            _ => Err(errors),
        }
    }
}

/// A dated exception, as typed. Its errors are keyed by the fields' ids
/// (`exception-starts`), which differ from the weekly form's on the same page.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ExceptionForm {
    pub date: String,
    pub starts: String,
    pub ends: String,
    pub available: String,
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exception {
    pub date: Date,
    /// None: all day.
    pub times: Option<(Time, Time)>,
    pub available: bool,
    pub note: String,
}

pub const MAX_NOTE_CHARS: usize = 500;
pub const MAX_REASON_CHARS: usize = 1000;

impl ExceptionForm {
    pub fn is_available(&self) -> bool {
        self.available == "1"
    }

    pub fn parse(&self) -> Result<Exception, FormErrors> {
        let mut errors = FormErrors::default();
        let date = parse_date(&self.date).map_err(|m| errors.add("date", m)).ok();
        let times = if self.starts.is_empty() && self.ends.is_empty() {
            Some(None)
        } else {
            parse_range(&self.starts, &self.ends)
                .map(Some)
                .map_err(|(field, m)| {
                    errors.add(if field == "starts" { "exception-starts" } else { "exception-ends" }, m)
                })
                .ok()
        };
        match (date, times) {
            (Some(date), Some(times)) => Ok(Exception {
                date,
                times,
                available: self.is_available(),
                note: self.note.chars().take(MAX_NOTE_CHARS).collect(),
            }),
            _ => Err(errors),
        }
    }
}

/// A time-off request, as typed.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct TimeOffForm {
    pub kind: String,
    pub from_date: String,
    pub from_time: String,
    pub to_date: String,
    pub to_time: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeOffRequest {
    pub kind: TimeOffKind,
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
    pub reason: String,
}

impl TimeOffForm {
    pub fn parse(&self, tz: &Tz) -> Result<TimeOffRequest, FormErrors> {
        let mut errors = FormErrors::default();
        let kind = TimeOffKind::parse(&self.kind).map_err(|m| errors.add("kind", m)).ok();
        // Without times, time off runs from the start of the first day to the end of the last.
        let from = parse_local(&self.from_date, &self.from_time, false, tz)
            .map_err(|m| errors.add("from_date", m))
            .ok();
        let to =
            parse_local(&self.to_date, &self.to_time, true, tz).map_err(|m| errors.add("to_date", m)).ok();
        if let (Some(from), Some(to)) = (from, to)
            && to <= from
        {
            errors.add("to_date", "The end must be after the start.");
        }
        match (kind, from, to) {
            (Some(kind), Some(from), Some(to)) if errors.is_empty() => Ok(TimeOffRequest {
                kind,
                from,
                to,
                reason: self.reason.chars().take(MAX_REASON_CHARS).collect(),
            }),
            _ => Err(errors),
        }
    }
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
        assert_eq!(TimeOffKind::parse("holiday"), Ok(TimeOffKind::Holiday));
        assert!(TimeOffKind::parse("jury duty").is_err());
        assert!(parse_date("2026-02-30").is_err());
    }

    #[test]
    fn each_form_parses_whole_or_says_which_field_is_wrong() {
        let slot = SlotForm { weekday: "3".into(), starts: "09:00".into(), ends: "12:00".into() };
        assert_eq!(slot.parse().unwrap().weekday, 3);
        let e = SlotForm { weekday: "9".into(), ..slot }.parse().unwrap_err();
        assert!(e.get("weekday").is_some());
        let all_day =
            ExceptionForm { date: "2027-03-14".into(), available: "1".into(), ..Default::default() };
        let parsed = all_day.parse().unwrap();
        assert_eq!((parsed.times, parsed.available), (None, true));
        let e =
            ExceptionForm { starts: "10:00".into(), ends: "09:00".into(), ..all_day }.parse().unwrap_err();
        assert!(e.get("exception-ends").is_some());
        let london = time_tz::timezones::db::europe::LONDON;
        let ask = |from: &str, to: &str| TimeOffForm {
            kind: "sickness".into(),
            from_date: from.into(),
            to_date: to.into(),
            ..Default::default()
        };
        assert_eq!(ask("2027-04-01", "2027-04-01").parse(london).unwrap().kind, TimeOffKind::Sickness);
        assert!(ask("2027-04-02", "2027-04-01").parse(london).unwrap_err().get("to_date").is_some());
        let e = TimeOffForm { kind: "".into(), ..ask("x", "") }.parse(london).unwrap_err();
        assert!(e.get("kind").is_some() && e.get("from_date").is_some() && e.get("to_date").is_some());
    }

    #[test]
    fn time_off_states_have_labels_and_only_pending_ones_are_open() {
        assert!(TimeOffStatus::Pending.is_pending());
        assert!(!TimeOffStatus::Withdrawn.is_pending());
        assert_eq!(TimeOffStatus::Declined.label(), "Declined");
        assert_eq!(TimeOffKind::Other.label(), "Other");
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
