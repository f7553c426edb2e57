//! Times in the provider's time zone, and money in pounds, for display.

use time::{OffsetDateTime, macros::format_description};
use time_tz::{OffsetDateTimeExt, Tz};

/// "Sat 28 Nov, 10:00" in `tz`.
pub fn day_time(at: OffsetDateTime, tz: &Tz) -> String {
    let local = at.to_timezone(tz);
    local
        .format(format_description!(
            "[weekday repr:short] [day padding:none] [month repr:short], [hour]:[minute]"
        ))
        .unwrap_or_default()
}

/// "10:00" in `tz`.
pub fn time_of_day(at: OffsetDateTime, tz: &Tz) -> String {
    at.to_timezone(tz).format(format_description!("[hour]:[minute]")).unwrap_or_default()
}

/// "Saturday 28 November" in `tz`.
pub fn long_date(at: OffsetDateTime, tz: &Tz) -> String {
    at.to_timezone(tz)
        .format(format_description!("[weekday] [day padding:none] [month repr:long]"))
        .unwrap_or_default()
}

/// "£6.50" from pence; money is integer pence everywhere else.
pub fn pounds(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let pence = pence.unsigned_abs();
    format!("{sign}£{}.{:02}", pence / 100, pence % 100)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn pounds_are_exact() {
        assert_eq!(pounds(650), "£6.50");
        assert_eq!(pounds(5), "£0.05");
        assert_eq!(pounds(-1999), "-£19.99");
    }

    #[test]
    fn times_are_shown_in_the_providers_zone_across_the_clock_change() {
        let london = time_tz::timezones::db::europe::LONDON;
        assert_eq!(day_time(datetime!(2026-07-04 09:00 UTC), london), "Sat 4 Jul, 10:00");
        assert_eq!(day_time(datetime!(2026-11-28 10:00 UTC), london), "Sat 28 Nov, 10:00");
    }
}
