//! The rules a place must meet, shared by every way in: the review page, `Book`, and
//! submitting a draft (which may be days old); and which places a cancellation gives
//! back.

use time::OffsetDateTime;
use time_tz::OffsetDateTimeExt;

use super::{
    domain::{self, BookingStatus},
    store::{Child, Participant, SessionInfo},
};
use crate::{ids::SessionId, states::SessionStatus};

/// Why `child` cannot take a place on `s` now, in words for the parent, or None.
/// `already_booked`: the child holds a place on it in another booking; `taken`: places
/// this booking takes on `s` before this child's.
pub fn place_problem(
    s: &SessionInfo,
    child: &Child,
    already_booked: bool,
    taken: i32,
    now: OffsetDateTime,
    tz: &time_tz::Tz,
) -> Option<String> {
    let bookable = match s.status {
        SessionStatus::Scheduled => true,
        SessionStatus::InProgress | SessionStatus::Completed | SessionStatus::Cancelled => false,
    };
    if !bookable {
        Some("Cancelled".to_owned())
    } else if !domain::booking_open(s.starts_at, s.booking_cutoff_hours, now) {
        Some("Booking closed".to_owned())
    } else if already_booked {
        Some("Already booked".to_owned())
    } else if let Some(p) = attendee_problem(s, child, tz) {
        Some(p)
    } else if s.places_left() <= taken {
        Some("Full".to_owned())
    } else {
        None
    }
}

/// Why `child` may not attend `s` at all, whatever the places: a child on an adults'
/// session or an adult on a children's, or outside the activity's ages.
pub fn attendee_problem(s: &SessionInfo, child: &Child, tz: &time_tz::Tz) -> Option<String> {
    let name = &child.first_name;
    if child.kind.is_adult() && !s.audience.admits_adults() {
        return Some(format!("{name} cannot come: this is for children"));
    }
    if !child.kind.is_adult() && !s.audience.admits_children() {
        return Some(format!("{name} cannot come: this is for adults"));
    }
    let Some(born) = child.date_of_birth else {
        // An adult with no date of birth: over 18, but of an unknown age beyond that.
        let limited = s.max_age_years.is_some() || s.min_age_years.is_some_and(|min| min > 18);
        return limited.then(|| format!("{name} needs a date of birth for this activity's age limits"));
    };
    let age = domain::age_on(born, s.starts_at.to_timezone(tz).date());
    domain::age_problem(age, s.min_age_years, s.max_age_years).map(|p| format!("{name} {p}"))
}

/// The sessions whose places a cancellation now gives back (money and credits): places
/// still held, not yet started and still before their cancellation cut-off. Sessions
/// already delivered, or too close to cancel, are not refunded.
pub fn refundable_sessions(participants: &[Participant], now: OffsetDateTime) -> Vec<SessionId> {
    let mut ids: Vec<SessionId> = participants
        .iter()
        .filter(|p| p.holds_place && domain::cancellation_open(p.starts_at, p.cancellation_cutoff_hours, now))
        .map(|p| p.session_id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Whether the parent may still cancel a booking in `status` with these places;
/// if not, why not (None: the state allows no cancelling at all).
pub fn cancellation(
    status: BookingStatus,
    participants: &[Participant],
    now: OffsetDateTime,
    tz: &time_tz::Tz,
) -> Result<(), Option<String>> {
    if !status.can_become(BookingStatus::Cancelled) {
        return Err(None);
    }
    let next = participants.iter().filter(|p| p.holds_place && p.starts_at > now).min_by_key(|p| p.starts_at);
    match next {
        None => Err(Some("Every session in this booking has started, so it cannot be cancelled.".into())),
        Some(p) if !domain::cancellation_open(p.starts_at, p.cancellation_cutoff_hours, now) => {
            Err(Some(format!(
                "Cancelling closed {} hours before the next session ({}). Contact the office if you cannot come.",
                p.cancellation_cutoff_hours,
                crate::web::fmt::day_time(p.starts_at, tz)
            )))
        }
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    fn place(session_id: i64, starts_at: OffsetDateTime, holds_place: bool) -> Participant {
        Participant {
            session_id: SessionId(session_id),
            activity_id: 1,
            child_id: crate::ids::ChildId(1),
            child_name: "Maya Test".into(),
            date_of_birth: Some(date!(2019 - 01 - 01)),
            medical: String::new(),
            activity: "Football".into(),
            venue: "Hall".into(),
            starts_at,
            ends_at: starts_at + time::Duration::hours(1),
            price_pence: 650,
            holds_place,
            cancellation_cutoff_hours: 24,
        }
    }

    #[test]
    fn only_places_still_before_their_cut_off_are_refunded() {
        let now = datetime!(2026-11-29 12:00 UTC);
        let places = [
            place(1, datetime!(2026-11-22 10:00 UTC), true), // held last week
            place(2, datetime!(2026-11-30 10:00 UTC), true), // tomorrow: past the 24-hour cut-off
            place(3, datetime!(2026-12-06 10:00 UTC), true), // next week
            place(4, datetime!(2026-12-13 10:00 UTC), false), // moved away
            place(3, datetime!(2026-12-06 10:00 UTC), true), // a second child on it
        ];
        assert_eq!(refundable_sessions(&places, now), vec![SessionId(3)]);
    }
}
