//! The catalogue's filters, read from the query string: a course, a venue and a month.
//! Anything unusable is ignored (the page lists everything instead of failing), and
//! the links the page makes carry only the filters it understood.

use time::{Date, Month, OffsetDateTime};
use time_tz::Tz;

use crate::{
    clock,
    ids::{ActivityId, VenueId},
    web::form::Fields,
};

/// A calendar month, written `2027-01` in links.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CourseMonth {
    pub year: i32,
    pub month: Month,
}

impl CourseMonth {
    pub fn parse(raw: &str) -> Option<Self> {
        let (year, month) = raw.trim().split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        let year: i32 = year.parse().ok()?;
        let month = Month::try_from(month.parse::<u8>().ok()?).ok()?;
        crate::web::date::YEARS.contains(&year).then_some(Self { year, month })
    }

    pub fn of(date: Date) -> Self {
        Self { year: date.year(), month: date.month() }
    }

    pub fn first_day(self) -> Date {
        Date::from_calendar_date(self.year, self.month, 1).unwrap_or(Date::MIN)
    }

    pub fn next(self) -> Self {
        match self.month {
            Month::December => Self { year: self.year + 1, month: Month::January },
            m => Self { year: self.year, month: m.next() },
        }
    }

    /// From the first instant of the month to the first of the next, in `tz`.
    pub fn range(self, tz: &Tz) -> (OffsetDateTime, OffsetDateTime) {
        (clock::start_of_day(self.first_day(), tz), clock::start_of_day(self.next().first_day(), tz))
    }

    /// `2027-01`, as links carry it.
    pub fn key(self) -> String {
        format!("{:04}-{:02}", self.year, u8::from(self.month))
    }

    /// "January 2027".
    pub fn label(self) -> String {
        format!("{} {}", self.month, self.year)
    }
}

/// What the visitor narrowed the catalogue to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub course: Option<ActivityId>,
    pub venue: Option<VenueId>,
    pub month: Option<CourseMonth>,
}

impl Filter {
    pub fn from_query(query: &Fields) -> Self {
        Self {
            course: query.id("course").filter(|id| *id > 0).map(ActivityId),
            venue: query.id("venue").filter(|id| *id > 0).map(VenueId),
            month: query.get("month").and_then(CourseMonth::parse),
        }
    }

    /// The filters as a query string (`course=2&month=2027-01`), in one order, for the
    /// canonical link and the pager's links.
    pub fn query_string(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        if let Some(c) = self.course {
            out.append_pair("course", &c.to_string());
        }
        if let Some(v) = self.venue {
            out.append_pair("venue", &v.to_string());
        }
        if let Some(m) = self.month {
            out.append_pair("month", &m.key());
        }
        out.finish()
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The twelve months from `today`'s on, for the month filter.
pub fn months_from(today: Date) -> Vec<CourseMonth> {
    std::iter::successors(Some(CourseMonth::of(today)), |m| Some(m.next())).take(12).collect()
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn a_month_reads_and_writes_as_year_dash_month() {
        let m = CourseMonth::parse("2027-01").unwrap();
        assert_eq!((m.year, m.month), (2027, Month::January));
        assert_eq!(m.key(), "2027-01");
        assert_eq!(m.label(), "January 2027");
        for junk in ["2027-13", "2027-1", "27-01", "2027", "x-y", "9999-12", "2027-00", ""] {
            assert_eq!(CourseMonth::parse(junk), None, "{junk}");
        }
        assert_eq!(CourseMonth::parse("2026-12").unwrap().next().key(), "2027-01");
    }

    #[test]
    fn a_month_runs_from_local_midnight_to_local_midnight() {
        let london = time_tz::timezones::db::europe::LONDON;
        let (from, until) = CourseMonth::parse("2027-07").unwrap().range(london);
        assert_eq!(from, datetime!(2027-06-30 23:00 UTC));
        assert_eq!(until, datetime!(2027-07-31 23:00 UTC));
    }

    #[test]
    fn filters_keep_only_what_they_understood_in_one_order() {
        let query = Fields::parse(b"month=2027-02&junk=1&venue=x&course=3&after=1_2");
        let filter = Filter::from_query(&query);
        assert_eq!(filter.course, Some(ActivityId(3)));
        assert_eq!(filter.venue, None);
        assert_eq!(filter.query_string(), "course=3&month=2027-02");
        assert!(Filter::from_query(&Fields::parse(b"course=-1")).is_empty());
    }

    #[test]
    fn the_month_filter_offers_a_year_ahead() {
        let months = months_from(date!(2026 - 12 - 07));
        assert_eq!(months.len(), 12);
        assert_eq!(months[0].key(), "2026-12");
        assert_eq!(months[11].key(), "2027-11");
    }
}
