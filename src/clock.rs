//! Dates and times in the provider's time zone: where a day starts and ends.

use time::{Date, OffsetDateTime, Time};
use time_tz::{PrimitiveDateTimeExt, Tz};

/// The first instant of `date` in `tz` (the earlier one when clocks go back; midnight
/// UTC in the impossible case of a zone that skips midnight entirely).
pub fn start_of_day(date: Date, tz: &Tz) -> OffsetDateTime {
    let midnight = date.with_time(Time::MIDNIGHT);
    midnight.assume_timezone(tz).take_first().unwrap_or_else(|| midnight.assume_utc())
}

/// Today's date in `tz`.
pub fn today(tz: &Tz) -> Date {
    use time_tz::OffsetDateTimeExt;
    OffsetDateTime::now_utc().to_timezone(tz).date()
}
