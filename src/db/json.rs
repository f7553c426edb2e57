//! Several short lists in one round trip.
//!
//! A page that shows a few small panels (a dashboard) reads each as a JSON array in
//! one query, one column per panel (`coalesce(json_agg(x order by …), '[]')`), decoded
//! by serde into the same row structs a query of its own would fill:
//! `"children!: Json<Vec<ChildRow>>"`. One statement instead of one per panel: each
//! round trip costs the app and PostgreSQL more than the panel's rows do.
//!
//! PostgreSQL writes a `timestamptz` in JSON as RFC 3339 (the connection's zone is UTC)
//! and a `date` as `YYYY-MM-DD`; the row structs' fields say so with
//! `#[serde(with = "crate::db::json::timestamp")]` (or `::option`) and `…::date`.

pub use time::serde::rfc3339 as timestamp;

time::serde::format_description!(pub date, Date, "[year]-[month]-[day]");

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use time::{
        Date, OffsetDateTime,
        macros::{date, datetime},
    };

    #[derive(Deserialize)]
    struct Row {
        #[serde(with = "super::timestamp")]
        at: OffsetDateTime,
        #[serde(with = "super::timestamp::option")]
        until: Option<OffsetDateTime>,
        #[serde(with = "super::date")]
        on: Date,
    }

    #[test]
    fn reads_what_postgresql_writes() {
        let json = r#"[{"at": "2026-12-07T21:38:27.123456+00:00", "until": null, "on": "2026-02-29"}]"#;
        assert!(serde_json::from_str::<Vec<Row>>(json).is_err(), "2026 has no 29 February");
        let json = r#"[{"at": "2026-12-07T21:38:27.123456+00:00", "until": "2026-12-08T09:00:00+00:00", "on": "2016-02-29"}]"#;
        let rows: Vec<Row> = serde_json::from_str(json).unwrap();
        assert_eq!(rows[0].at, datetime!(2026-12-07 21:38:27.123456 UTC));
        assert_eq!(rows[0].until, Some(datetime!(2026-12-08 09:00 UTC)));
        assert_eq!(rows[0].on, date!(2016 - 02 - 29));
    }
}
