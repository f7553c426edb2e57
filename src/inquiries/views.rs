//! A hold as the office's pages show it (the inquiry's and the session's).

use time::OffsetDateTime;

use super::store::Hold;
use crate::web::fmt;

pub struct HoldLine {
    pub hold: Hold,
    pub when: String,
    pub until: String,
    /// Held and not expired: its places count against capacity.
    pub counts: bool,
}

impl HoldLine {
    pub fn of(hold: Hold, tz: &time_tz::Tz, now: OffsetDateTime) -> Self {
        Self {
            when: fmt::day_time(hold.starts_at, tz),
            until: fmt::day_time(hold.expires_at, tz),
            counts: hold.counts(now),
            hold,
        }
    }
}
