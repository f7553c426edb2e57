//! The booking state machine and the rules a booking must meet.

use std::fmt;

use time::{Date, Duration, OffsetDateTime};

use crate::ids::{ChildId, SeriesId, SessionId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Draft,
    /// Places held while the parent pays by card; lapses if the checkout expires.
    AwaitingPayment,
    Pending,
    ChangesRequested,
    Approved,
    Rejected,
    Cancelled,
    Completed,
    /// Not paid before its checkout expired: the places went back.
    Lapsed,
}

impl BookingStatus {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "draft" => Self::Draft,
            "awaiting_payment" => Self::AwaitingPayment,
            "pending" => Self::Pending,
            "changes_requested" => Self::ChangesRequested,
            "approved" => Self::Approved,
            "rejected" => Self::Rejected,
            "cancelled" => Self::Cancelled,
            "completed" => Self::Completed,
            "lapsed" => Self::Lapsed,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::AwaitingPayment => "awaiting_payment",
            Self::Pending => "pending",
            Self::ChangesRequested => "changes_requested",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
            Self::Completed => "completed",
            Self::Lapsed => "lapsed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "Draft",
            Self::AwaitingPayment => "Awaiting payment",
            Self::Pending => "Waiting for approval",
            Self::ChangesRequested => "Changes requested",
            Self::Approved => "Confirmed",
            Self::Rejected => "Rejected",
            Self::Cancelled => "Cancelled",
            Self::Completed => "Completed",
            Self::Lapsed => "Not paid in time",
        }
    }

    /// Whether the booking keeps its places in this state.
    pub fn holds_places(self) -> bool {
        matches!(
            self,
            Self::AwaitingPayment | Self::Pending | Self::ChangesRequested | Self::Approved | Self::Completed
        )
    }

    /// The transitions a user (or a payment) may make; anything else is refused. The
    /// office may confirm or reject a booking before it is paid; only an unpaid
    /// checkout makes it lapse, and a lapsed booking stays lapsed.
    pub fn can_become(self, next: Self) -> bool {
        use BookingStatus::*;
        matches!(
            (self, next),
            (Draft, Pending | Cancelled)
                | (AwaitingPayment, Pending | Approved | Rejected | Cancelled | Lapsed)
                | (Pending, Approved | Rejected | ChangesRequested | Cancelled)
                | (ChangesRequested, Pending | Approved | Rejected | Cancelled)
                | (Approved, Cancelled | Completed)
        )
    }
}

impl fmt::Display for BookingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the database refused a place: its named constraints, as the booking's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaceRefused {
    /// No place left on the session (`sessions_capacity_not_exceeded`).
    Full(SessionId),
    /// The child already holds a place on it (`booking_participants_one_per_child_session`).
    AlreadyBooked(SessionId, ChildId),
}

impl PlaceRefused {
    /// The refusal a violated constraint stands for, placing `(session, child)`.
    pub fn from_constraint(name: &str, session: SessionId, child: ChildId) -> Option<Self> {
        match name {
            "sessions_capacity_not_exceeded" => Some(Self::Full(session)),
            "booking_participants_one_per_child_session" => Some(Self::AlreadyBooked(session, child)),
            _ => None,
        }
    }
}

/// What a booking is for: one session, or a series' remaining dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Session(SessionId),
    Series(SeriesId),
}

impl Source {
    /// From a form or query naming `series` or `session` (a series wins).
    pub fn parse(fields: &crate::web::form::Fields) -> Option<Self> {
        Self::of(fields.id("series"), fields.id("session"))
    }

    /// From the ids of a series and of a session, either maybe given (a series wins).
    pub fn of(series: Option<i64>, session: Option<i64>) -> Option<Self> {
        match (series, session) {
            (Some(id), _) => Some(Self::Series(SeriesId(id))),
            (None, Some(id)) => Some(Self::Session(SessionId(id))),
            (None, None) => None,
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            Self::Session(_) => "session",
            Self::Series(_) => "series",
        }
    }

    pub fn id(self) -> i64 {
        match self {
            Self::Session(id) => id.0,
            Self::Series(id) => id.0,
        }
    }

    /// The page the parent chose it from.
    pub fn page(self) -> String {
        match self {
            Self::Session(id) => format!("/parent/sessions/{id}"),
            Self::Series(id) => format!("/parent/series/{id}"),
        }
    }
}

/// Whole years between `born` and `on`.
pub fn age_on(born: Date, on: Date) -> i32 {
    let had_birthday = (on.month() as u8, on.day()) >= (born.month() as u8, born.day());
    on.year() - born.year() - i32::from(!had_birthday)
}

/// Why a child cannot be booked onto a session, in words for the parent.
pub fn age_problem(age: i32, min: Option<i32>, max: Option<i32>) -> Option<String> {
    match (min, max) {
        (Some(min), _) if age < min => Some(format!("is {age}; this is for ages {}", range(min, max))),
        (_, Some(max)) if age > max => {
            Some(format!("is {age}; this is for ages {}", range(min.unwrap_or(0), Some(max))))
        }
        _ => None,
    }
}

fn range(min: i32, max: Option<i32>) -> String {
    match max {
        Some(max) => format!("{min}–{max}"),
        None => format!("{min} and over"),
    }
}

/// Bookings close `cutoff_hours` before the start.
pub fn booking_open(starts_at: OffsetDateTime, cutoff_hours: i32, now: OffsetDateTime) -> bool {
    now < starts_at - Duration::hours(i64::from(cutoff_hours))
}

/// A parent may cancel until `cutoff_hours` before the start.
pub fn cancellation_open(starts_at: OffsetDateTime, cutoff_hours: i32, now: OffsetDateTime) -> bool {
    now < starts_at - Duration::hours(i64::from(cutoff_hours))
}

/// A reason or message an admin must give: trimmed, not empty, not a novel.
pub fn parse_reason(input: &str) -> Result<String, &'static str> {
    let reason = input.trim();
    if reason.is_empty() {
        Err("Give a reason: the parent will read it.")
    } else if reason.chars().count() > 2000 {
        Err("Keep it under 2,000 characters.")
    } else {
        Ok(reason.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::{BookingStatus::*, *};

    #[test]
    fn statuses_round_trip_and_unknown_ones_are_refused() {
        for s in [
            Draft,
            AwaitingPayment,
            Pending,
            ChangesRequested,
            Approved,
            Rejected,
            Cancelled,
            Completed,
            Lapsed,
        ] {
            assert_eq!(BookingStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(BookingStatus::parse("approved; drop table"), None);
    }

    #[test]
    fn only_sensible_transitions_are_allowed() {
        assert!(Pending.can_become(Approved));
        assert!(Pending.can_become(ChangesRequested));
        assert!(ChangesRequested.can_become(Pending));
        assert!(Approved.can_become(Cancelled));
        assert!(!Rejected.can_become(Approved), "a rejection is final");
        assert!(!Cancelled.can_become(Pending));
        assert!(!Approved.can_become(Pending));
        assert!(!Completed.can_become(Cancelled));
        assert!(AwaitingPayment.can_become(Lapsed) && AwaitingPayment.can_become(Pending));
        assert!(!Pending.can_become(Lapsed), "only an unpaid checkout lapses");
        assert!(!Lapsed.can_become(Pending) && !Lapsed.can_become(Approved), "a lapse is final");
    }

    #[test]
    fn places_are_held_while_the_booking_stands() {
        assert!(Pending.holds_places() && Approved.holds_places() && ChangesRequested.holds_places());
        assert!(!Draft.holds_places() && !Rejected.holds_places() && !Cancelled.holds_places());
        assert!(AwaitingPayment.holds_places() && !Lapsed.holds_places());
    }

    #[test]
    fn age_limits_explain_themselves() {
        assert_eq!(age_problem(4, Some(5), Some(8)).as_deref(), Some("is 4; this is for ages 5–8"));
        assert_eq!(age_problem(9, Some(5), Some(8)).as_deref(), Some("is 9; this is for ages 5–8"));
        assert_eq!(age_problem(8, Some(5), Some(8)), None);
        assert_eq!(age_problem(30, Some(16), None), None);
        assert_eq!(age_on(date!(2019 - 11 - 23), date!(2026 - 11 - 22)), 6);
    }

    #[test]
    fn cut_offs_close_booking_and_cancelling_in_time() {
        let start = datetime!(2026-11-28 10:00 UTC);
        assert!(booking_open(start, 2, datetime!(2026-11-28 07:59 UTC)));
        assert!(!booking_open(start, 2, datetime!(2026-11-28 08:00 UTC)));
        assert!(!booking_open(start, 0, start), "never after the start");
        assert!(cancellation_open(start, 24, datetime!(2026-11-27 09:59 UTC)));
        assert!(!cancellation_open(start, 24, datetime!(2026-11-27 10:00 UTC)));
    }

    #[test]
    fn only_the_place_constraints_become_refusals() {
        let (s, c) = (SessionId(3), ChildId(4));
        assert_eq!(
            PlaceRefused::from_constraint("sessions_capacity_not_exceeded", s, c),
            Some(PlaceRefused::Full(s))
        );
        assert_eq!(
            PlaceRefused::from_constraint("booking_participants_one_per_child_session", s, c),
            Some(PlaceRefused::AlreadyBooked(s, c))
        );
        assert_eq!(PlaceRefused::from_constraint("bookings_status_known", s, c), None);
    }

    #[test]
    fn reasons_are_required() {
        assert!(parse_reason("   ").is_err());
        assert_eq!(parse_reason("  Full that week ").unwrap(), "Full that week");
    }
}
