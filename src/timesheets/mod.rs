//! Time worked and weekly timesheets: entries from check-in/out or by hand, submitted
//! by the trainer, approved or returned by finance, exported for payroll.

mod actions;
mod admin;
pub mod domain;
pub mod store;
mod trainer;

use axum::{
    Router,
    routing::{get, post},
};
use time::{Date, Duration, OffsetDateTime, macros::format_description};
use time_tz::{OffsetDateTimeExt, Tz};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/trainer/timesheets", get(trainer::index))
        .route("/trainer/timesheets/entries/new", get(trainer::new_form).post(trainer::create))
        .route("/trainer/timesheets/entries/{id}/edit", get(trainer::edit_form).post(trainer::update))
        .route("/trainer/timesheets/{week}/submit", post(trainer::submit))
        .route("/admin/timesheets", get(admin::index))
        .route("/admin/timesheets.csv", get(admin::export))
        .route("/admin/timesheets/{id}", get(admin::show))
        .route("/admin/timesheets/{id}/approve", post(admin::approve))
        .route("/admin/timesheets/{id}/return", post(admin::return_timesheet))
}

/// The local Monday of the week `at` falls in: the week a time entry belongs to.
pub fn week_of(at: OffsetDateTime, tz: &Tz) -> Date {
    let date = at.to_timezone(tz).date();
    date - Duration::days(i64::from(date.weekday().number_days_from_monday()))
}

/// "Mon 23 Nov 2026": how a week is named on every page and email.
fn week_label(week: Date) -> String {
    week.format(format_description!("[weekday repr:short] [day padding:none] [month repr:short] [year]"))
        .unwrap_or_default()
}

/// "Mon 23 Nov" in `tz`: the day an entry was worked.
fn entry_day(at: OffsetDateTime, tz: &Tz) -> String {
    at.to_timezone(tz)
        .format(format_description!("[weekday repr:short] [day padding:none] [month repr:short]"))
        .unwrap_or_default()
}

/// How an entry came about, for the trainer and the approver.
fn source_label(entry: &store::Entry) -> String {
    let shift = domain::EntrySource::Shift.label();
    match (entry.source, entry.reason.is_empty(), &entry.activity) {
        (domain::EntrySource::Manual, _, _) => domain::EntrySource::Manual.label().to_owned(),
        (domain::EntrySource::Shift, true, Some(activity)) => format!("{shift}: {activity}"),
        (domain::EntrySource::Shift, true, None) => shift.to_owned(),
        (domain::EntrySource::Shift, false, Some(activity)) => format!("{shift}: {activity}, adjusted"),
        (domain::EntrySource::Shift, false, None) => format!("{shift}, adjusted"),
    }
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

    #[test]
    fn weeks_and_days_are_named_in_the_providers_zone() {
        let london = time_tz::timezones::db::europe::LONDON;
        assert_eq!(week_label(date!(2026 - 11 - 23)), "Mon 23 Nov 2026");
        assert_eq!(entry_day(datetime!(2026-06-28 23:30 UTC), london), "Mon 29 Jun");
    }
}
