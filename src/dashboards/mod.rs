//! The three portals' home pages, each showing what its user came to see.

mod admin;
mod parent;
mod trainer;

use axum::{Router, routing::get};
use time::{Date, Duration, OffsetDateTime, Time};
use time_tz::{OffsetDateTimeExt, PrimitiveDateTimeExt, Tz};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/parent", get(parent::show))
        .route("/trainer", get(trainer::show))
        .route("/admin", get(admin::show))
}

/// Today's date where the provider is.
fn local_today(tz: &Tz) -> Date {
    OffsetDateTime::now_utc().to_timezone(tz).date()
}

/// The instant local midnight starts `date` (the first, if the clocks repeat an hour).
pub(crate) fn start_of_day(date: Date, tz: &Tz) -> OffsetDateTime {
    let midnight = date.with_time(Time::MIDNIGHT);
    midnight.assume_timezone(tz).take_first().unwrap_or_else(|| midnight.assume_utc())
}

/// Monday..next Monday of the week containing `date`, as instants.
fn week_bounds(date: Date, tz: &Tz) -> (OffsetDateTime, OffsetDateTime) {
    let monday = date - Duration::days(i64::from(date.weekday().number_days_from_monday()));
    (start_of_day(monday, tz), start_of_day(monday + Duration::days(7), tz))
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn a_week_runs_from_local_monday_midnight_across_the_clock_change() {
        let london = time_tz::timezones::db::europe::LONDON;
        // The clocks went back on Sunday 25 October 2026.
        let (from, to) = week_bounds(date!(2026 - 10 - 22), london);
        assert_eq!(from, datetime!(2026-10-18 23:00 UTC));
        assert_eq!(to, datetime!(2026-10-26 00:00 UTC));
    }
}
