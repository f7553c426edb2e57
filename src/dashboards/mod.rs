//! The three portals' home pages, each showing what its user came to see.

mod admin;
mod parent;
mod trainer;

use axum::{Router, routing::get};
use time::{Date, OffsetDateTime, Time};
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
