//! Sessions and series as typed values: a recurrence expanded into local dates (with
//! the `rrule` crate), local wall-clock times turned into instants in the provider's
//! zone, and a session's staffing at a glance.

use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time, Weekday, macros::format_description};
use time_tz::{PrimitiveDateTimeExt, Tz};

use serde::Deserialize;

use crate::{catalogue::domain::whole_number, ids::VenueId, money::Money, web::FormErrors};

/// The most sessions one series may create: a year of twice-weekly classes and more.
pub const MAX_OCCURRENCES: u16 = 200;

pub fn parse_date(input: &str) -> Option<Date> {
    crate::web::date::parse(input)
}

pub fn parse_time(input: &str) -> Option<Time> {
    let input = input.trim();
    Time::parse(input, format_description!("[hour]:[minute]"))
        .or_else(|_| Time::parse(input, format_description!("[hour]:[minute]:[second]")))
        .ok()
}

/// The instant `date` at `time` on the provider's clocks. In the spring gap (a time
/// the clocks skip), the same wall-clock time an hour later.
pub fn local_instant(date: Date, time: Time, tz: &Tz) -> OffsetDateTime {
    let local = PrimitiveDateTime::new(date, time);
    local
        .assume_timezone(tz)
        .take_first()
        .or_else(|| (local + Duration::hours(1)).assume_timezone(tz).take_first())
        .unwrap_or_else(|| local.assume_utc())
}

/// How a series ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeriesEnd {
    Until(Date),
    Count(u16),
}

/// Weekly on `weekdays`, every `every_weeks` weeks from `first`, until an end, skipping
/// `holidays`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recurrence {
    pub first: Date,
    pub weekdays: Vec<Weekday>,
    pub every_weeks: u16,
    pub end: SeriesEnd,
    pub holidays: Vec<Date>,
}

fn ical_day(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "MO",
        Weekday::Tuesday => "TU",
        Weekday::Wednesday => "WE",
        Weekday::Thursday => "TH",
        Weekday::Friday => "FR",
        Weekday::Saturday => "SA",
        Weekday::Sunday => "SU",
    }
}

fn ical_date(date: Date) -> String {
    format!("{:04}{:02}{:02}", date.year(), u8::from(date.month()), date.day())
}

impl Recurrence {
    /// The RRULE line (RFC 5545), e.g. `FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=10`.
    fn rrule(&self) -> String {
        let days: Vec<&str> = self.weekdays.iter().map(|d| ical_day(*d)).collect();
        let end = match self.end {
            SeriesEnd::Until(date) => format!("UNTIL={}T235959Z", ical_date(date)),
            SeriesEnd::Count(n) => format!("COUNT={n}"),
        };
        format!("FREQ=WEEKLY;INTERVAL={};BYDAY={};{end}", self.every_weeks, days.join(","))
    }

    /// What `series.recurrence_rule` keeps: the rule at its local start time and zone,
    /// with the skipped holidays as EXDATEs.
    pub fn to_ical(&self, starts: Time, tz: &Tz) -> String {
        let zone = time_tz::TimeZone::name(tz);
        let at = |d: Date| format!("{}T{:02}{:02}00", ical_date(d), starts.hour(), starts.minute());
        let mut text = format!("DTSTART;TZID={zone}:{}\nRRULE:{}", at(self.first), self.rrule());
        if !self.holidays.is_empty() {
            let dates: Vec<String> = self.holidays.iter().map(|d| at(*d)).collect();
            text.push_str(&format!("\nEXDATE;TZID={zone}:{}", dates.join(",")));
        }
        text
    }

    /// The local dates the series meets on. The rule is expanded on dates alone (at
    /// midnight UTC, which has no clock changes); each date gets its local time later,
    /// so a 16:00 class stays 16:00 across daylight saving. A COUNT counts dates
    /// before holidays are skipped, as an EXDATE would.
    pub fn dates(&self) -> Result<Vec<Date>, &'static str> {
        let text = format!("DTSTART:{}T000000Z\nRRULE:{}", ical_date(self.first), self.rrule());
        let set: rrule::RRuleSet = text.parse().map_err(|_| "These dates do not make a valid repeat.")?;
        let result = set.all(MAX_OCCURRENCES + 1);
        let mut dates = Vec::new();
        for at in result.dates {
            let day = OffsetDateTime::from_unix_timestamp(at.timestamp())
                .map_err(|_| "These dates do not make a valid repeat.")?
                .date();
            if !self.holidays.contains(&day) {
                dates.push(day);
            }
        }
        if dates.len() > usize::from(MAX_OCCURRENCES) {
            return Err("That makes more than 200 sessions: end the series sooner.");
        }
        if dates.is_empty() {
            return Err("No dates match: check the days, the end and the holidays.");
        }
        Ok(dates)
    }
}

/// A trainer count a session needs: one per `children_per_trainer` booked children,
/// and always at least one (the lead).
pub fn trainers_needed(places_taken: i32, children_per_trainer: Option<i32>) -> i64 {
    let needed = match children_per_trainer {
        Some(ratio) if ratio > 0 => (i64::from(places_taken) + i64::from(ratio) - 1) / i64::from(ratio),
        _ => 1,
    };
    needed.max(1)
}

/// Staffing at a glance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Staffing {
    Full,
    Short(i64),
    Unstaffed,
}

impl Staffing {
    /// `staffed`: trainers holding a shift; `leads`: those of them in the lead role.
    pub fn of(needed: i64, staffed: i64, leads: i64) -> Self {
        if staffed == 0 {
            Staffing::Unstaffed
        } else if staffed < needed {
            Staffing::Short(needed - staffed)
        } else if leads == 0 {
            // Enough hands but nobody leading: a lead is still missing.
            Staffing::Short(1)
        } else {
            Staffing::Full
        }
    }

    pub fn label(self) -> String {
        match self {
            Staffing::Full => "fully staffed".into(),
            Staffing::Short(n) => format!("short by {n}"),
            Staffing::Unstaffed => "unstaffed".into(),
        }
    }

    pub fn css(self) -> &'static str {
        match self {
            Staffing::Full => "badge ok",
            Staffing::Short(_) => "badge warn",
            Staffing::Unstaffed => "badge bad",
        }
    }
}

pub const WEEKDAYS: [(Weekday, &str, &str); 7] = [
    (Weekday::Monday, "mon", "Monday"),
    (Weekday::Tuesday, "tue", "Tuesday"),
    (Weekday::Wednesday, "wed", "Wednesday"),
    (Weekday::Thursday, "thu", "Thursday"),
    (Weekday::Friday, "fri", "Friday"),
    (Weekday::Saturday, "sat", "Saturday"),
    (Weekday::Sunday, "sun", "Sunday"),
];

/// Dates typed one per line or separated by commas; every one must be a real date.
pub fn parse_dates(errors: &mut FormErrors, field: &'static str, input: &str) -> Vec<Date> {
    let mut dates = Vec::new();
    for raw in input.split([',', '\n', ' ']).map(str::trim).filter(|s| !s.is_empty()) {
        match parse_date(raw) {
            Some(date) => dates.push(date),
            None => errors.add(field, format!("“{raw}” is not a date like 2026-10-26.")),
        }
    }
    dates.sort_unstable();
    dates.dedup();
    dates
}

/// What the session and series forms share: when, where, how big, how much.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct SessionFields {
    pub activity: String,
    pub venue: String,
    pub date: String,
    pub start_time: String,
    pub duration_minutes: String,
    pub capacity: String,
    pub price: String,
    pub notes: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionPlan {
    pub activity_id: i64,
    pub venue_id: i64,
    pub date: Date,
    pub start: Time,
    pub duration_minutes: i32,
    /// Blank: the activity's default.
    pub capacity: Option<i32>,
    pub price_pence: Option<i32>,
    pub notes: String,
}

impl SessionFields {
    /// `default_duration`: the activity's, used when the length is left blank.
    pub fn parse_into(&self, e: &mut FormErrors, default_duration: Option<i32>) -> Option<SessionPlan> {
        let activity_id = self.activity.trim().parse::<i64>().ok();
        if activity_id.is_none() {
            e.add("activity", "Choose the activity.");
        }
        let venue_id = self.venue.trim().parse::<i64>().ok();
        if venue_id.is_none() {
            e.add("venue", "Choose the venue.");
        }
        let date = parse_date(&self.date);
        if date.is_none() {
            e.add("date", "Enter the date, like 2026-10-17.");
        }
        let start = parse_time(&self.start_time);
        if start.is_none() {
            e.add("start_time", "Enter the start time, like 16:00.");
        }
        let duration = if self.duration_minutes.trim().is_empty() && default_duration.is_some() {
            default_duration
        } else {
            whole_number(
                e,
                "duration_minutes",
                &self.duration_minutes,
                5..=24 * 60,
                Some("Enter how long it lasts, in minutes."),
            )
        };
        let capacity = whole_number(e, "capacity", &self.capacity, 0..=10_000, None);
        let price = if self.price.trim().is_empty() {
            None
        } else {
            Money::parse(&self.price, "").map_err(|m| e.add("price", m)).ok().map(Money::pence)
        };
        let notes = crate::catalogue::domain::notes(e, "notes", &self.notes);
        Some(SessionPlan {
            activity_id: activity_id?,
            venue_id: venue_id?,
            date: date?,
            start: start?,
            duration_minutes: duration?,
            capacity,
            price_pence: price,
            notes,
        })
    }
}

/// The edit form of one session (or it and the following ones of its series).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct EditForm {
    pub date: String,
    pub start_time: String,
    pub end_time: String,
    pub venue: String,
    pub capacity: String,
    /// `this` or `following`.
    pub scope: String,
}

/// A valid edit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionEdit {
    pub date: Date,
    pub start: Time,
    pub end: Time,
    pub venue_id: VenueId,
    pub capacity: i32,
    /// This and the following sessions of the series.
    pub following: bool,
}

impl EditForm {
    /// `original_date`: the session's local date, which "this and following" keeps.
    pub fn parse(&self, original_date: Date) -> Result<SessionEdit, FormErrors> {
        let mut e = FormErrors::default();
        let date = parse_date(&self.date);
        if date.is_none() {
            e.add("date", "Enter the date, like 2026-10-17.");
        }
        let start = parse_time(&self.start_time);
        if start.is_none() {
            e.add("start_time", "Enter the start time, like 16:00.");
        }
        let end = parse_time(&self.end_time);
        if end.is_none() {
            e.add("end_time", "Enter the end time, like 17:00.");
        }
        if let (Some(start), Some(end)) = (start, end)
            && end <= start
        {
            e.add("end_time", "The session must end after it starts.");
        }
        let venue_id = self.venue.trim().parse::<VenueId>().ok();
        if venue_id.is_none() {
            e.add("venue", "Choose the venue.");
        }
        let capacity = whole_number(
            &mut e,
            "capacity",
            &self.capacity,
            0..=10_000,
            Some("Enter how many places it has."),
        );
        let following = self.scope == "following";
        if following && date.is_some_and(|d| d != original_date) {
            e.add("date", "Move one session at a time: choose “Only this session” to change the date.");
        }
        match (date, start, end, venue_id, capacity) {
            (Some(date), Some(start), Some(end), Some(venue_id), Some(capacity)) if e.is_empty() => {
                Ok(SessionEdit { date, start, end, venue_id, capacity, following })
            }
            _ => Err(e),
        }
    }
}

/// The series form: the session fields plus the repeat (read through `SeriesInput`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(from = "SeriesInput")]
pub struct SeriesForm {
    pub name: String,
    pub session: SessionFields,
    pub weekdays: Vec<String>,
    pub every_weeks: String,
    pub end: String,
    pub until: String,
    pub count: String,
    pub holidays: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesPlan {
    pub name: String,
    pub session: SessionPlan,
    pub recurrence: Recurrence,
    pub dates: Vec<Date>,
}

/// The series form as posted (`web::form::Form`): the session's fields beside the
/// repeat's, `weekday` and `holidays` repeated.
#[derive(Default, Deserialize)]
#[serde(default)]
struct SeriesInput {
    name: String,
    activity: String,
    venue: String,
    date: String,
    start_time: String,
    duration_minutes: String,
    capacity: String,
    price: String,
    notes: String,
    #[serde(rename = "weekday")]
    weekdays: Vec<String>,
    every_weeks: String,
    end: String,
    until: String,
    count: String,
    holidays: Vec<String>,
}

impl From<SeriesInput> for SeriesForm {
    fn from(f: SeriesInput) -> Self {
        SeriesForm {
            name: f.name,
            session: SessionFields {
                activity: f.activity,
                venue: f.venue,
                date: f.date,
                start_time: f.start_time,
                duration_minutes: f.duration_minutes,
                capacity: f.capacity,
                price: f.price,
                notes: f.notes,
            },
            weekdays: f.weekdays,
            every_weeks: f.every_weeks,
            end: f.end,
            until: f.until,
            count: f.count,
            holidays: f.holidays.join("\n"),
        }
    }
}

impl SeriesForm {
    pub fn has_weekday(&self, code: &str) -> bool {
        self.weekdays.iter().any(|d| d == code)
    }

    pub fn parse(&self, default_duration: Option<i32>) -> Result<SeriesPlan, FormErrors> {
        let mut e = FormErrors::default();
        let name = crate::catalogue::domain::short_name(
            &mut e,
            "name",
            &self.name,
            "Name the series, like Autumn term.",
        );
        let session = self.session.parse_into(&mut e, default_duration);
        let mut weekdays: Vec<Weekday> =
            WEEKDAYS.iter().filter(|(_, code, _)| self.has_weekday(code)).map(|(d, _, _)| *d).collect();
        if weekdays.is_empty() {
            // The first date's weekday is the obvious default.
            if let Some(s) = &session {
                weekdays.push(s.date.weekday());
            } else {
                e.add("weekday", "Choose the days it meets on.");
            }
        }
        let every_weeks = if self.every_weeks.trim().is_empty() {
            Some(1)
        } else {
            whole_number(&mut e, "every_weeks", &self.every_weeks, 1..=52, None)
        };
        let end = match self.end.as_str() {
            "count" => whole_number(
                &mut e,
                "count",
                &self.count,
                1..=i32::from(MAX_OCCURRENCES),
                Some("Enter how many times it meets."),
            )
            .and_then(|n| u16::try_from(n).ok())
            .map(SeriesEnd::Count),
            _ => match parse_date(&self.until) {
                Some(until) => Some(SeriesEnd::Until(until)),
                None => {
                    e.add("until", "Enter the last date, like 2026-12-12.");
                    None
                }
            },
        };
        let holidays = parse_dates(&mut e, "holidays", &self.holidays);
        let (Some(session), Some(every_weeks), Some(end)) = (session, every_weeks, end) else {
            return Err(e);
        };
        if let SeriesEnd::Until(until) = end
            && until < session.date
        {
            e.add("until", "The last date must not be before the first.");
        }
        if !e.is_empty() {
            return Err(e);
        }
        let recurrence = Recurrence {
            first: session.date,
            weekdays,
            every_weeks: u16::try_from(every_weeks).unwrap_or(1),
            end,
            holidays,
        };
        match recurrence.dates() {
            Ok(dates) => Ok(SeriesPlan { name, session, recurrence, dates }),
            Err(message) => {
                e.add("weekday", message);
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime, time};

    use super::*;

    fn weekly(first: Date, days: &[Weekday], end: SeriesEnd) -> Recurrence {
        Recurrence { first, weekdays: days.to_vec(), every_weeks: 1, end, holidays: vec![] }
    }

    #[test]
    fn a_weekly_series_keeps_its_local_time_across_the_october_clock_change() {
        let london = time_tz::timezones::db::europe::LONDON;
        let dates = weekly(date!(2026 - 10 - 17), &[Weekday::Saturday], SeriesEnd::Count(4)).dates().unwrap();
        assert_eq!(
            dates,
            vec![date!(2026 - 10 - 17), date!(2026 - 10 - 24), date!(2026 - 10 - 31), date!(2026 - 11 - 07)]
        );
        let instants: Vec<OffsetDateTime> =
            dates.iter().map(|d| local_instant(*d, time!(10:00), london)).collect();
        assert_eq!(instants[0], datetime!(2026-10-17 09:00 UTC));
        assert_eq!(instants[1], datetime!(2026-10-24 09:00 UTC));
        assert_eq!(instants[2], datetime!(2026-10-31 10:00 UTC));
        assert_eq!(instants[3], datetime!(2026-11-07 10:00 UTC));
    }

    #[test]
    fn holidays_are_skipped_and_until_is_inclusive() {
        let mut r = weekly(
            date!(2026 - 10 - 12),
            &[Weekday::Monday, Weekday::Wednesday],
            SeriesEnd::Until(date!(2026 - 11 - 02)),
        );
        r.holidays = vec![date!(2026 - 10 - 26), date!(2026 - 10 - 28)];
        let dates = r.dates().unwrap();
        assert_eq!(
            dates,
            vec![
                date!(2026 - 10 - 12),
                date!(2026 - 10 - 14),
                date!(2026 - 10 - 19),
                date!(2026 - 10 - 21),
                date!(2026 - 11 - 02)
            ]
        );
    }

    #[test]
    fn every_second_week_skips_the_weeks_between() {
        let r = Recurrence {
            every_weeks: 2,
            ..weekly(date!(2026 - 01 - 05), &[Weekday::Monday], SeriesEnd::Count(3))
        };
        assert_eq!(
            r.dates().unwrap(),
            vec![date!(2026 - 01 - 05), date!(2026 - 01 - 19), date!(2026 - 02 - 02)]
        );
    }

    #[test]
    fn a_series_starting_mid_week_begins_on_its_first_matching_day() {
        let r = weekly(date!(2026 - 01 - 07), &[Weekday::Monday, Weekday::Friday], SeriesEnd::Count(3));
        assert_eq!(
            r.dates().unwrap(),
            vec![date!(2026 - 01 - 09), date!(2026 - 01 - 12), date!(2026 - 01 - 16)]
        );
    }

    #[test]
    fn too_many_or_no_dates_are_refused() {
        let daily = Recurrence {
            weekdays: WEEKDAYS.iter().map(|(d, _, _)| *d).collect(),
            ..weekly(date!(2026 - 01 - 01), &[], SeriesEnd::Until(date!(2027 - 01 - 01)))
        };
        assert!(daily.dates().is_err());
        let mut only_holiday = weekly(date!(2026 - 01 - 05), &[Weekday::Monday], SeriesEnd::Count(1));
        only_holiday.holidays = vec![date!(2026 - 01 - 05)];
        assert!(only_holiday.dates().is_err());
    }

    #[test]
    fn the_stored_rule_names_the_zone_and_the_holidays() {
        let london = time_tz::timezones::db::europe::LONDON;
        let mut r = weekly(date!(2026 - 10 - 17), &[Weekday::Saturday], SeriesEnd::Count(4));
        r.holidays = vec![date!(2026 - 10 - 24)];
        assert_eq!(
            r.to_ical(time!(10:00), london),
            "DTSTART;TZID=Europe/London:20261017T100000\nRRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=SA;COUNT=4\n\
             EXDATE;TZID=Europe/London:20261024T100000"
        );
    }

    #[test]
    fn a_time_the_clocks_skip_moves_an_hour_later() {
        let london = time_tz::timezones::db::europe::LONDON;
        assert_eq!(
            local_instant(date!(2026 - 03 - 29), time!(01:30), london),
            datetime!(2026-03-29 01:30 UTC)
        );
    }

    #[test]
    fn an_edit_of_the_following_sessions_keeps_the_date() {
        let form = EditForm {
            date: "2026-10-17".into(),
            start_time: "16:00".into(),
            end_time: "17:00".into(),
            venue: "3".into(),
            capacity: "12".into(),
            scope: "following".into(),
        };
        let edit = form.parse(date!(2026 - 10 - 17)).ok();
        assert_eq!(edit.map(|e| (e.venue_id, e.capacity, e.following)), Some((VenueId(3), 12, true)));
        let moved = form.parse(date!(2026 - 10 - 18)).err().unwrap_or_default();
        assert!(moved.get("date").is_some());
        let backwards = EditForm { end_time: "15:00".into(), ..form };
        assert!(backwards.parse(date!(2026 - 10 - 17)).err().unwrap_or_default().get("end_time").is_some());
    }

    #[test]
    fn staffing_needs_one_trainer_per_ratio_and_a_lead() {
        assert_eq!(trainers_needed(0, Some(8)), 1);
        assert_eq!(trainers_needed(8, Some(8)), 1);
        assert_eq!(trainers_needed(9, Some(8)), 2);
        assert_eq!(trainers_needed(30, None), 1);
        assert_eq!(Staffing::of(2, 0, 0), Staffing::Unstaffed);
        assert_eq!(Staffing::of(2, 1, 1), Staffing::Short(1));
        assert_eq!(Staffing::of(1, 1, 0), Staffing::Short(1));
        assert_eq!(Staffing::of(2, 2, 1), Staffing::Full);
        assert_eq!(Staffing::of(2, 1, 1).label(), "short by 1");
    }
}
