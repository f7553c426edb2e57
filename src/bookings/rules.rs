//! The rules a place must meet, shared by every way in: the review page, `Book`, and
//! submitting a draft (which may be days old); and which places a cancellation gives
//! back.

use time::OffsetDateTime;
use time_tz::OffsetDateTimeExt;

use super::{
    domain,
    store::{Child, Participant, SessionInfo},
};

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
    let age = domain::age_on(child.date_of_birth, s.starts_at.to_timezone(tz).date());
    if s.status != "scheduled" {
        Some("Cancelled".to_owned())
    } else if !domain::booking_open(s.starts_at, s.booking_cutoff_hours, now) {
        Some("Booking closed".to_owned())
    } else if already_booked {
        Some("Already booked".to_owned())
    } else if let Some(p) = domain::age_problem(age, s.min_age_years, s.max_age_years) {
        Some(format!("{} {p}", child.first_name))
    } else if s.places_left() <= taken {
        Some("Full".to_owned())
    } else {
        None
    }
}

/// The sessions whose places a cancellation now gives back (money and credits): places
/// still held, not yet started and still before their cancellation cut-off. Sessions
/// already delivered, or too close to cancel, are not refunded.
pub fn refundable_sessions(participants: &[Participant], now: OffsetDateTime) -> Vec<i64> {
    let mut ids: Vec<i64> = participants
        .iter()
        .filter(|p| p.holds_place && domain::cancellation_open(p.starts_at, p.cancellation_cutoff_hours, now))
        .map(|p| p.session_id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    fn place(session_id: i64, starts_at: OffsetDateTime, holds_place: bool) -> Participant {
        Participant {
            session_id,
            activity_id: 1,
            child_id: 1,
            child_name: "Maya Test".into(),
            date_of_birth: date!(2019 - 01 - 01),
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
        assert_eq!(refundable_sessions(&places, now), vec![3]);
    }
}
