//! Timesheet rules: the weekly state machine, what a trainer types about time worked
//! (parsed once into instants in the provider's zone), a finance comment, and pay in
//! integer pence.

use serde::Deserialize;
use time::{Date, Duration, OffsetDateTime, Time, Weekday};
use time_tz::{PrimitiveDateTimeExt, Tz};

use super::week_of;
use crate::web::{FormErrors, date};

/// No single entry is longer than this: a longer one is a typing mistake.
pub const MAX_ENTRY_HOURS: i64 = 16;
/// How many weeks, counting this one, a trainer sees and may record time in.
pub const WEEKS_SHOWN: i64 = 12;
pub const MAX_REASON_CHARS: usize = 500;
pub const MAX_COMMENT_CHARS: usize = 2000;

/// A submitted week's state; a week never submitted has no timesheet at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum TimesheetStatus {
    Submitted,
    Approved,
    Returned,
}

impl TimesheetStatus {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "submitted" => Self::Submitted,
            "approved" => Self::Approved,
            "returned" => Self::Returned,
            _ => return None,
        })
    }

    /// The value in the database, the list's filter and the badge's class.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Approved => "approved",
            Self::Returned => "returned",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Submitted => "Submitted",
            Self::Approved => "Approved",
            Self::Returned => "Returned",
        }
    }

    /// The label of a week that may have no timesheet yet.
    pub fn label_of(status: Option<Self>) -> &'static str {
        status.map_or("Not submitted", Self::label)
    }

    /// A trainer may change a week's entries until it is submitted, and again once
    /// it is returned; never after approval.
    pub fn entries_editable(status: Option<Self>) -> bool {
        matches!(status, None | Some(Self::Returned))
    }

    /// A week can be (re)submitted when it is not waiting for a decision or decided.
    pub fn can_submit(status: Option<Self>) -> bool {
        Self::entries_editable(status)
    }

    /// Finance decides on submitted weeks only.
    pub fn can_decide(self) -> bool {
        matches!(self, Self::Submitted)
    }

    pub fn is_approved(self) -> bool {
        matches!(self, Self::Approved)
    }

    /// Why a week's time cannot change, in words for the trainer.
    pub fn locked_message(self) -> &'static str {
        match self {
            Self::Approved => "This week's timesheet is approved: its time can no longer change.",
            _ => "This week's timesheet is waiting for approval: its time can change only if it is returned.",
        }
    }
}

/// Where a time entry came from: a shift's check-out, or typed by the trainer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum EntrySource {
    Shift,
    Manual,
}

impl EntrySource {
    pub fn label(self) -> &'static str {
        match self {
            Self::Shift => "Shift",
            Self::Manual => "Added by hand",
        }
    }
}

/// How a submitted week's time changed, which sent it back to the trainer (the
/// trigger `time_entries_return_submitted_week` in 0016_timesheet_changed_after_submit.sql).
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ChangeAfterSubmit {
    Added,
    Changed,
    Removed,
}

impl ChangeAfterSubmit {
    pub fn label(self) -> &'static str {
        match self {
            Self::Added => "Time added",
            Self::Changed => "Time changed",
            Self::Removed => "Time removed",
        }
    }

    /// "a new time entry for Tue 24 Nov (check-out)", for the entry that started on
    /// `day` and came from `source`.
    pub fn describe(self, day: &str, source: EntrySource) -> String {
        match self {
            Self::Added => match source {
                EntrySource::Shift => format!("a new time entry for {day} (check-out)"),
                EntrySource::Manual => format!("a new time entry for {day} (added by hand)"),
            },
            Self::Changed => format!("the time entry for {day} was changed"),
            Self::Removed => format!("the time entry for {day} was removed"),
        }
    }

    /// What the trainer reads on the returned week.
    pub fn trainer_message(self, day: &str, source: EntrySource) -> String {
        format!(
            "Changed after you submitted it: {}. Check the week and submit it again.",
            self.describe(day, source)
        )
    }

    /// What finance reads on the returned timesheet.
    pub fn finance_message(self, day: &str, source: EntrySource) -> String {
        format!(
            "Returned to the trainer automatically: the time changed after it was submitted ({}). \
             It needs submitting again before it can be approved.",
            self.describe(day, source)
        )
    }
}

/// Pay for `minutes` at `rate_pence` an hour, rounded to the nearest penny (halves up).
/// Integer arithmetic only: rounding happens once, on the week's total.
pub fn pay_pence(minutes: i64, rate_pence: i64) -> i64 {
    (minutes * rate_pence + 30).div_euclid(60)
}

/// "7:05" for 425 minutes.
pub fn hours_minutes(minutes: i64) -> String {
    format!("{}:{:02}", minutes / 60, minutes % 60)
}

/// Hours as a decimal for payroll, to the nearest hundredth: 450 minutes → "7.50".
pub fn decimal_hours(minutes: i64) -> String {
    let hundredths = (minutes * 100 + 30).div_euclid(60);
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

/// Whole minutes worked between two instants (seconds of a check-in are dropped).
pub fn minutes_between(started_at: OffsetDateTime, ended_at: OffsetDateTime) -> i64 {
    (ended_at - started_at).whole_minutes().max(0)
}

/// A week as its Monday, from an address (`/trainer/timesheets/2026-11-23/submit`):
/// anything else does not name a week, so the path is a 404.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Week(Date);

impl Week {
    pub fn monday(self) -> Date {
        self.0
    }
}

impl TryFrom<String> for Week {
    type Error = &'static str;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        date::parse(&raw).filter(|d| d.weekday() == Weekday::Monday).map(Week).ok_or("not a week's Monday")
    }
}

/// A time of day from `<input type="time">`: `09:30`, perhaps with seconds.
pub fn parse_time(input: &str) -> Result<Time, &'static str> {
    let input = input.trim();
    if input.is_empty() {
        return Err("Enter a time, like 09:30.");
    }
    let mut parts = input.split(':');
    let number =
        |part: Option<&str>| part.filter(|p| (1..=2).contains(&p.len())).and_then(|p| p.parse::<u8>().ok());
    let (Some(hour), Some(minute)) = (number(parts.next()), number(parts.next())) else {
        return Err("Enter a time like 09:30.");
    };
    // Seconds, if the browser sends them, are ignored: time is kept to the minute.
    if parts.next().is_some_and(|s| s.parse::<u8>().is_err()) || parts.next().is_some() {
        return Err("Enter a time like 09:30.");
    }
    Time::from_hms(hour, minute, 0).map_err(|_| "Enter a real time, like 09:30.")
}

/// Why a trainer added or changed time: required, shown to the approver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let reason = input.trim();
        if reason.is_empty() {
            Err("Give a reason: your approver will read it.")
        } else if reason.chars().count() > MAX_REASON_CHARS {
            Err("Keep the reason under 500 characters.")
        } else {
            Ok(Self(reason.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What finance tells a trainer whose timesheet goes back: required.
pub fn parse_comment(input: &str) -> Result<String, &'static str> {
    let comment = input.trim();
    if comment.is_empty() {
        Err("Say what the trainer should change: they will read this.")
    } else if comment.chars().count() > MAX_COMMENT_CHARS {
        Err("Keep it under 2,000 characters.")
    } else {
        Ok(comment.to_owned())
    }
}

/// Finance's approval: the submission it saw, so a resubmission since is not approved
/// unseen.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ApproveForm {
    pub submitted_at: String,
}

/// Finance's return, with what the trainer should change.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReturnForm {
    pub comment: String,
}

/// What finance decides about a submitted timesheet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Approve the submission made at this instant (as the page carried it).
    Approve {
        seen: String,
    },
    Return {
        comment: String,
    },
}

impl Decision {
    pub fn to(&self) -> TimesheetStatus {
        match self {
            Self::Approve { .. } => TimesheetStatus::Approved,
            Self::Return { .. } => TimesheetStatus::Returned,
        }
    }

    pub fn comment(&self) -> Option<&str> {
        match self {
            Self::Approve { .. } => None,
            Self::Return { comment } => Some(comment),
        }
    }
}

impl ApproveForm {
    pub fn parse(&self) -> Decision {
        Decision::Approve { seen: self.submitted_at.trim().to_owned() }
    }
}

impl ReturnForm {
    pub fn parse(&self) -> Result<Decision, &'static str> {
        parse_comment(&self.comment).map(|comment| Decision::Return { comment })
    }
}

/// The entry form as typed, kept to show again when something is wrong.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct EntryForm {
    pub date: String,
    pub start: String,
    pub end: String,
    pub reason: String,
}

/// A valid entry: real instants in order, at most 16 hours, in the past, in a week
/// the trainer can still see, with a reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryInput {
    pub started_at: OffsetDateTime,
    pub ended_at: OffsetDateTime,
    pub week_start: Date,
    pub reason: Reason,
}

/// The local wall-clock time on `date` as an instant; None in the hour the clocks skip.
fn local_instant(date: Date, time: Time, tz: &Tz) -> Option<OffsetDateTime> {
    date.with_time(time).assume_timezone(tz).take_first()
}

impl EntryForm {
    pub fn parse(&self, tz: &Tz, now: OffsetDateTime) -> Result<EntryInput, FormErrors> {
        let mut errors = FormErrors::default();
        let this_week = week_of(now, tz);
        let earliest = this_week - Duration::weeks(WEEKS_SHOWN - 1);
        let date = match date::parse(&self.date) {
            None if self.date.trim().is_empty() => {
                errors.add("date", "Enter the date you worked.");
                None
            }
            None => {
                errors.add("date", "Enter a real date, like 2026-11-23.");
                None
            }
            Some(d) if d < earliest => {
                errors.add("date", format!("Choose a date in the last {WEEKS_SHOWN} weeks."));
                None
            }
            Some(d) => Some(d),
        };
        let start = parse_time(&self.start).map_err(|m| errors.add("start", m)).ok();
        let end = parse_time(&self.end).map_err(|m| errors.add("end", m)).ok();
        let reason = Reason::parse(&self.reason).map_err(|m| errors.add("reason", m)).ok();
        let (Some(date), Some(start), Some(end), Some(reason)) = (date, start, end, reason) else {
            return Err(errors);
        };
        const SKIPPED: &str = "The clocks skip this time on that day; choose another.";
        let Some(started_at) = local_instant(date, start, tz) else {
            errors.add("start", SKIPPED);
            return Err(errors);
        };
        let Some(ended_at) = local_instant(date, end, tz) else {
            errors.add("end", SKIPPED);
            return Err(errors);
        };
        if ended_at <= started_at {
            errors.add("end", "The end must be after the start.");
        } else if ended_at - started_at > Duration::hours(MAX_ENTRY_HOURS) {
            errors.add("end", format!("An entry can be at most {MAX_ENTRY_HOURS} hours."));
        } else if ended_at > now {
            errors.add("end", "That time has not come yet: record time once it is worked.");
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(EntryInput { started_at, ended_at, week_start: week_of(started_at, tz), reason })
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime, time};

    use super::{TimesheetStatus::*, *};

    const LONDON: &Tz = time_tz::timezones::db::europe::LONDON;
    const NOW: OffsetDateTime = datetime!(2026-11-27 18:00 UTC);

    fn form(date: &str, start: &str, end: &str, reason: &str) -> EntryForm {
        EntryForm { date: date.into(), start: start.into(), end: end.into(), reason: reason.into() }
    }

    #[test]
    fn statuses_round_trip_and_unknown_ones_are_refused() {
        for s in [Submitted, Approved, Returned] {
            assert_eq!(TimesheetStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(TimesheetStatus::parse("paid"), None);
        assert_eq!(TimesheetStatus::label_of(None), "Not submitted");
    }

    #[test]
    fn a_week_is_editable_until_submitted_and_again_when_returned_but_never_once_approved() {
        assert!(TimesheetStatus::entries_editable(None));
        assert!(TimesheetStatus::entries_editable(Some(Returned)));
        assert!(!TimesheetStatus::entries_editable(Some(Submitted)));
        assert!(!TimesheetStatus::entries_editable(Some(Approved)));
        assert!(TimesheetStatus::can_submit(Some(Returned)), "a returned week may be resubmitted");
        assert!(!TimesheetStatus::can_submit(Some(Approved)));
        assert!(Submitted.can_decide());
        assert!(!Approved.can_decide() && !Returned.can_decide());
    }

    #[test]
    fn a_change_after_submitting_is_told_to_the_trainer_with_its_day_and_source() {
        let added = ChangeAfterSubmit::Added;
        assert_eq!(
            added.trainer_message("Tue 24 Nov", EntrySource::Shift),
            "Changed after you submitted it: a new time entry for Tue 24 Nov (check-out). \
             Check the week and submit it again."
        );
        assert!(added.describe("Tue 24 Nov", EntrySource::Manual).ends_with("(added by hand)"));
        assert_eq!(
            ChangeAfterSubmit::Removed.describe("Mon 23 Nov", EntrySource::Shift),
            "the time entry for Mon 23 Nov was removed"
        );
        assert!(
            ChangeAfterSubmit::Changed
                .finance_message("Wed 25 Nov", EntrySource::Shift)
                .contains("Wed 25 Nov")
        );
    }

    #[test]
    fn a_week_in_an_address_is_its_monday() {
        assert_eq!(Week::try_from("2026-11-23".to_owned()).map(Week::monday), Ok(date!(2026 - 11 - 23)));
        assert!(Week::try_from("2026-11-24".to_owned()).is_err(), "a Tuesday");
        assert!(Week::try_from("9999-12-27".to_owned()).is_err());
        assert!(Week::try_from("soon".to_owned()).is_err());
    }

    #[test]
    fn an_approval_carries_the_submission_seen_and_a_return_needs_its_comment() {
        let seen = ApproveForm { submitted_at: " 17 ".into() }.parse();
        assert_eq!(seen, Decision::Approve { seen: "17".into() });
        assert_eq!(seen.to(), Approved);
        assert_eq!(
            ReturnForm { comment: " ".into() }.parse(),
            Err("Say what the trainer should change: they will read this.")
        );
        let back = ReturnForm { comment: "Fix Tuesday".into() }.parse().unwrap();
        assert_eq!((back.to(), back.comment()), (Returned, Some("Fix Tuesday")));
    }

    #[test]
    fn pay_is_rounded_to_the_nearest_penny_once() {
        assert_eq!(pay_pence(60, 1250), 1250);
        assert_eq!(pay_pence(340, 1250), 7083, "7083.33p rounds down");
        assert_eq!(pay_pence(7, 1001), 117, "116.78p rounds up");
        assert_eq!(pay_pence(1, 30), 1, "a half penny rounds up");
        assert_eq!(pay_pence(0, 1500), 0);
        // Rounding per week, not per entry: 3 × 1 minute at £10.01 is 50p, not 3 × 17p.
        assert_eq!(pay_pence(3, 1001), 50);
    }

    #[test]
    fn hours_are_shown_as_hours_and_minutes_and_as_decimals() {
        assert_eq!(hours_minutes(425), "7:05");
        assert_eq!(hours_minutes(0), "0:00");
        assert_eq!(decimal_hours(450), "7.50");
        assert_eq!(decimal_hours(20), "0.33");
        assert_eq!(decimal_hours(50), "0.83");
        assert_eq!(decimal_hours(600), "10.00");
    }

    #[test]
    fn times_are_typed_as_hours_and_minutes() {
        assert_eq!(parse_time("09:30"), Ok(time!(09:30)));
        assert_eq!(parse_time("9:05"), Ok(time!(09:05)));
        assert_eq!(parse_time("17:45:00"), Ok(time!(17:45)));
        assert!(parse_time("").is_err());
        assert!(parse_time("25:00").is_err());
        assert!(parse_time("9.30").is_err());
        assert!(parse_time("09:30:00:00").is_err());
        assert!(parse_time("0930").is_err());
    }

    #[test]
    fn a_valid_entry_becomes_instants_in_its_local_week() {
        let entry = form("2026-11-23", "09:00", "12:30", " Forgot to check in ").parse(LONDON, NOW).unwrap();
        assert_eq!(entry.started_at, datetime!(2026-11-23 09:00 UTC));
        assert_eq!(entry.ended_at, datetime!(2026-11-23 12:30 UTC));
        assert_eq!(entry.week_start, date!(2026 - 11 - 23));
        assert_eq!(entry.reason.as_str(), "Forgot to check in");
        // In summer, London is an hour ahead of UTC.
        let summer =
            form("2026-07-05", "10:00", "11:00", "x").parse(LONDON, datetime!(2026-07-10 12:00 UTC)).unwrap();
        assert_eq!(summer.started_at, datetime!(2026-07-05 09:00 UTC));
        assert_eq!(summer.week_start, date!(2026 - 06 - 29));
    }

    #[test]
    fn an_entry_that_ends_before_it_starts_or_is_too_long_is_refused_by_the_end_time() {
        let errors = form("2026-11-23", "12:00", "09:00", "x").parse(LONDON, NOW).unwrap_err();
        assert_eq!(errors.get("end"), Some("The end must be after the start."));
        let errors = form("2026-11-23", "09:00", "09:00", "x").parse(LONDON, NOW).unwrap_err();
        assert_eq!(errors.get("end"), Some("The end must be after the start."));
        let errors = form("2026-11-23", "05:00", "21:01", "x").parse(LONDON, NOW).unwrap_err();
        assert_eq!(errors.get("end"), Some("An entry can be at most 16 hours."));
        assert!(
            form("2026-11-23", "05:00", "21:00", "x").parse(LONDON, NOW).is_ok(),
            "exactly 16 hours is fine"
        );
    }

    #[test]
    fn every_missing_answer_is_reported_by_its_field() {
        let errors = form("", "", "", "  ").parse(LONDON, NOW).unwrap_err();
        assert_eq!(errors.get("date"), Some("Enter the date you worked."));
        assert_eq!(errors.get("start"), Some("Enter a time, like 09:30."));
        assert_eq!(errors.get("end"), Some("Enter a time, like 09:30."));
        assert_eq!(errors.get("reason"), Some("Give a reason: your approver will read it."));
        let errors = form("2026-02-30", "09:00", "10:00", "x").parse(LONDON, NOW).unwrap_err();
        assert_eq!(errors.get("date"), Some("Enter a real date, like 2026-11-23."));
        let long = "x".repeat(MAX_REASON_CHARS + 1);
        let errors = form("2026-11-23", "09:00", "10:00", &long).parse(LONDON, NOW).unwrap_err();
        assert!(errors.get("reason").is_some());
    }

    #[test]
    fn time_not_yet_worked_or_too_long_ago_is_refused() {
        let errors = form("2026-11-27", "17:00", "19:00", "x").parse(LONDON, NOW).unwrap_err();
        assert!(errors.get("end").is_some_and(|m| m.contains("not come yet")));
        let errors = form("2026-08-30", "09:00", "10:00", "x").parse(LONDON, NOW).unwrap_err();
        assert_eq!(errors.get("date"), Some("Choose a date in the last 12 weeks."));
        assert!(form("2026-09-07", "09:00", "10:00", "x").parse(LONDON, NOW).is_ok(), "twelve weeks back");
    }

    #[test]
    fn an_entry_spanning_the_clock_change_counts_real_time() {
        // The clocks went back at 02:00 on Sunday 25 October 2026: 00:00–04:00 is 5 hours.
        let entry = form("2026-10-25", "00:00", "04:00", "x").parse(LONDON, NOW).unwrap();
        assert_eq!(minutes_between(entry.started_at, entry.ended_at), 300);
        // 01:30 on Sunday 29 March 2026 never happened in London.
        let errors = form("2026-03-29", "01:30", "03:00", "x").parse(LONDON, datetime!(2026-04-01 12:00 UTC));
        assert!(errors.unwrap_err().get("start").is_some());
    }

    #[test]
    fn a_return_needs_a_comment() {
        assert_eq!(parse_comment("  Wednesday ended at 16:00 "), Ok("Wednesday ended at 16:00".to_owned()));
        assert!(parse_comment("   ").is_err());
        assert!(parse_comment(&"x".repeat(MAX_COMMENT_CHARS + 1)).is_err());
    }
}
