//! Time worked and weekly timesheets: entries from check-in/out or by hand, submitted
//! by the trainer, approved or returned by finance, exported for payroll.

use time::{Date, Duration, OffsetDateTime};
use time_tz::{OffsetDateTimeExt, Tz};

/// The local Monday of the week `at` falls in: the week a time entry belongs to.
pub fn week_of(at: OffsetDateTime, tz: &Tz) -> Date {
    let date = at.to_timezone(tz).date();
    date - Duration::days(i64::from(date.weekday().number_days_from_monday()))
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn an_entry_belongs_to_its_local_week() {
        let london = time_tz::timezones::db::europe::LONDON;
        assert_eq!(week_of(datetime!(2026-11-23 09:00 UTC), london), date!(2026 - 11 - 23));
        assert_eq!(week_of(datetime!(2026-11-29 23:30 UTC), london), date!(2026 - 11 - 23));
        // 23:30 UTC on Sunday 28 June is already Monday in London (BST).
        assert_eq!(week_of(datetime!(2026-06-28 23:30 UTC), london), date!(2026 - 06 - 29));
    }
}
