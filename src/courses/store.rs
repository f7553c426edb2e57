//! The catalogue's SQL: every query reads `public_course_sessions`, the one view that
//! decides which sessions the public may book.

use sqlx::PgConnection;
use time::OffsetDateTime;

use crate::{
    ids::{ActivityId, SessionId, VenueId},
    web::page::{PageRequest, paged},
};

/// A bookable session as the public sees it.
pub struct CourseSession {
    pub id: SessionId,
    pub activity_id: ActivityId,
    pub course: String,
    pub description: String,
    pub venue: String,
    pub venue_address: String,
    pub venue_postcode: String,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub price_pence: i32,
    pub currency: String,
    pub capacity: i32,
    pub places_left: i32,
}

/// Filters already turned into values the query takes.
pub struct Narrowed {
    pub course: Option<ActivityId>,
    pub venue: Option<VenueId>,
    pub from: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
}

/// One page of bookable sessions, soonest first (the sessions' `(starts_at, id)` index,
/// or the course's or venue's when one is chosen).
pub async fn page(
    conn: &mut PgConnection,
    page: &PageRequest<OffsetDateTime>,
    filter: &Narrowed,
) -> sqlx::Result<Vec<CourseSession>> {
    paged!(
        conn,
        page,
        CourseSession,
        r#"select c.id as "id!: SessionId", c.activity_id as "activity_id!: ActivityId", c.course as "course!",
                c.description as "description!", c.venue as "venue!", c.venue_address as "venue_address!",
                c.venue_postcode as "venue_postcode!", c.starts_at as "starts_at!", c.ends_at as "ends_at!",
                c.price_pence as "price_pence!", c.currency as "currency!", c.capacity as "capacity!",
                c.places_left as "places_left!"
         from public_course_sessions c
         where ($3::bigint is null or c.activity_id = $3)
           and ($4::bigint is null or c.venue_id = $4)
           and ($5::timestamptz is null or c.starts_at >= $5)
           and ($6::timestamptz is null or c.starts_at < $6)"#,
        "c.starts_at",
        "c.id",
        filter.course.map(|c| c.0),
        filter.venue.map(|v| v.0),
        filter.from,
        filter.until,
    )
}

/// One bookable session, or `None` (past, cancelled, closed, or no such session).
pub async fn find(conn: &mut PgConnection, id: SessionId) -> sqlx::Result<Option<CourseSession>> {
    sqlx::query_as!(
        CourseSession,
        r#"select c.id as "id!: SessionId", c.activity_id as "activity_id!: ActivityId", c.course as "course!",
                c.description as "description!", c.venue as "venue!", c.venue_address as "venue_address!",
                c.venue_postcode as "venue_postcode!", c.starts_at as "starts_at!", c.ends_at as "ends_at!",
                c.price_pence as "price_pence!", c.currency as "currency!", c.capacity as "capacity!",
                c.places_left as "places_left!"
         from public_course_sessions c where c.id = $1"#,
        id.0,
    )
    .fetch_optional(conn)
    .await
}

/// A course or venue the filters offer.
pub struct FilterOption {
    pub kind: String,
    pub id: i64,
    pub name: String,
}

/// The courses and the venues with a bookable session, by name, in one query: a
/// handful of rows, each found through the sessions' course or venue index.
pub async fn filter_options(conn: &mut PgConnection) -> sqlx::Result<Vec<FilterOption>> {
    sqlx::query_as!(
        FilterOption,
        r#"select 'course' as "kind!", a.id as "id!", a.name as "name!" from activities a
           where a.is_active and exists (select 1 from public_course_sessions c where c.activity_id = a.id)
           union all
           select 'venue', v.id, v.name from venues v
           where exists (select 1 from public_course_sessions c where c.venue_id = v.id)
           order by 1, 3"#,
    )
    .fetch_all(conn)
    .await
}
