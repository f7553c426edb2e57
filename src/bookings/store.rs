//! The SQL of bookings. Capacity and "one place per child per session" are kept by
//! the database (see 0001_core.sql); this module turns their violations into
//! `PlaceRefused`s the pages can explain.

use futures_util::stream::BoxStream;
use sqlx::{PgConnection, types::Json};
use time::{Date, OffsetDateTime};

use super::domain::{BookingStatus, PlaceRefused};
use crate::states::SessionStatus;
use crate::{
    catalogue::domain::Audience,
    children::domain::ParticipantKind,
    db::OnConstraint,
    ids::{BookingId, ChildId, SeriesId, SessionId},
    web::page::{Order, PageRequest, paged},
};

/// A session as a parent sees it when booking.
#[derive(Clone, Debug)]
pub struct SessionInfo {
    pub id: SessionId,
    pub activity_id: i64,
    pub activity: String,
    pub description: String,
    pub venue: String,
    pub venue_address: String,
    pub series_id: Option<SeriesId>,
    pub series_name: Option<String>,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub capacity: i32,
    pub places_taken: i32,
    /// Places held for waitlist offers and for the office's provisional holds.
    pub places_offered: i32,
    pub price_pence: i32,
    pub min_age_years: Option<i32>,
    pub max_age_years: Option<i32>,
    pub booking_cutoff_hours: i32,
    pub cancellation_cutoff_hours: i32,
    pub requires_approval: bool,
    pub pay_at_booking: bool,
    pub status: SessionStatus,
    pub audience: Audience,
    /// A course's syllabus and certificate (months valid), shown to customers.
    pub syllabus: String,
    pub certificate_valid_months: Option<i32>,
}

impl SessionInfo {
    /// Places neither booked nor held (for a waitlist offer or by the office).
    pub fn places_left(&self) -> i32 {
        (self.capacity - self.places_taken - self.places_offered).max(0)
    }
}

#[derive(Default)]
pub struct SessionFilter {
    pub activity_id: Option<i64>,
    pub venue_id: Option<i64>,
    pub from: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
}

// The four queries of `SessionInfo` below share their column list, written out in each
// so every one stays a literal the compiler checks.

/// Scheduled sessions that have not started, soonest first.
pub async fn upcoming_sessions(
    conn: &mut PgConnection,
    filter: &SessionFilter,
) -> sqlx::Result<Vec<SessionInfo>> {
    sqlx::query_as!(
        SessionInfo,
        r#"select s.id as "id: SessionId", s.activity_id, a.name as activity, a.description, v.name as venue,
                v.address as venue_address, s.series_id as "series_id: SeriesId", se.name as "series_name?",
                s.starts_at, s.ends_at, s.capacity, s.places_taken,
                s.places_offered + session_places_held(s.id) as "places_offered!", s.price_pence,
                a.min_age_years, a.max_age_years, a.booking_cutoff_hours, a.cancellation_cutoff_hours,
                a.requires_approval, a.pay_at_booking, s.status as "status: SessionStatus",
                a.audience as "audience: Audience", a.syllabus, a.certificate_valid_months
         from sessions s
         join activities a on a.id = s.activity_id
         join venues v on v.id = s.venue_id
         left join series se on se.id = s.series_id
         where s.status = 'scheduled' and a.is_active and s.starts_at > now()
           and ($1::bigint is null or s.activity_id = $1)
           and ($2::bigint is null or s.venue_id = $2)
           and ($3::timestamptz is null or s.starts_at >= $3)
           and ($4::timestamptz is null or s.starts_at < $4)
         order by s.starts_at, s.id
         limit 500"#,
        filter.activity_id,
        filter.venue_id,
        filter.from,
        filter.until,
    )
    .fetch_all(conn)
    .await
}

/// Who the parent is browsing for: sessions a child of `born` is the right age for on
/// the day (in the provider's zone `zone`, as `domain::age_on` counts birthdays).
pub struct Suitable<'a> {
    pub born: Option<Date>,
    pub zone: &'a str,
}

/// One page of the single sessions (not in a series) on offer, soonest first: scheduled,
/// of an active activity, not started, matching `filter` and `suitable`.
pub async fn single_sessions(
    conn: &mut PgConnection,
    filter: &SessionFilter,
    suitable: &Suitable<'_>,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<SessionInfo>> {
    paged!(
        conn,
        page,
        SessionInfo,
        r#"select s.id as "id: SessionId", s.activity_id, a.name as activity, a.description, v.name as venue,
                v.address as venue_address, s.series_id as "series_id: SeriesId", se.name as "series_name?",
                s.starts_at, s.ends_at, s.capacity, s.places_taken,
                s.places_offered + session_places_held(s.id) as "places_offered!", s.price_pence,
                a.min_age_years, a.max_age_years, a.booking_cutoff_hours, a.cancellation_cutoff_hours,
                a.requires_approval, a.pay_at_booking, s.status as "status: SessionStatus",
                a.audience as "audience: Audience", a.syllabus, a.certificate_valid_months
         from sessions s
         join activities a on a.id = s.activity_id
         join venues v on v.id = s.venue_id
         left join series se on se.id = s.series_id
         where s.series_id is null and s.status = 'scheduled' and a.is_active and s.starts_at > now()
           and ($3::bigint is null or s.activity_id = $3)
           and ($4::bigint is null or s.venue_id = $4)
           and ($5::timestamptz is null or s.starts_at >= $5)
           and ($6::timestamptz is null or s.starts_at < $6)
           and ($7::date is null or (
                 select (a.min_age_years is null or age >= a.min_age_years)
                    and (a.max_age_years is null or age <= a.max_age_years)
                 from (select extract(year from day)::int - extract(year from $7::date)::int
                              - case when to_char(day, 'MMDD') >= to_char($7::date, 'MMDD') then 0 else 1 end as age
                       from (select (s.starts_at at time zone $8)::date as day) d) ages))"#,
        "s.starts_at",
        "s.id",
        filter.activity_id,
        filter.venue_id,
        filter.from,
        filter.until,
        suitable.born,
        suitable.zone,
    )
}

/// A series on offer: its upcoming sessions that match the parent's filters, in one card.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct SeriesOffer {
    pub id: SeriesId,
    /// The series' name, or its first session's activity when it has none.
    pub name: String,
    pub activity: String,
    pub venue: String,
    #[serde(with = "crate::db::json::timestamp")]
    pub next: OffsetDateTime,
    pub dates: i64,
    pub price_pence: i32,
    /// Dates with no place left.
    pub full_dates: i64,
}

/// An activity on offer or a venue, for the filters.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct FilterChoice {
    pub is_activity: bool,
    pub id: i64,
    pub name: String,
}

/// What `/parent/sessions` shows besides the page of single sessions, read in one
/// round trip (see `db::json`).
pub struct BrowsePanels {
    /// The parent's children who can be booked, as `children_of` reads them.
    pub children: Json<Vec<Child>>,
    pub series: Json<Vec<SeriesOffer>>,
    /// The filters' activities (those on offer), then venues, each by name.
    pub choices: Json<Vec<FilterChoice>>,
}

/// The parent's children; the series with upcoming sessions matching `filter` and
/// suiting `child` (one of the parent's, else ignored), by name, each card told by its
/// first matching session; and the filters' choices.
pub async fn browse_panels(
    conn: &mut PgConnection,
    parent_id: i64,
    child: Option<i64>,
    filter: &SessionFilter,
    zone: &str,
) -> sqlx::Result<BrowsePanels> {
    sqlx::query_as!(
        BrowsePanels,
        r#"with born as (
             select (select date_of_birth from children
                     where id = $2 and parent_id = $1 and archived_at is null) as day)
           select
             coalesce((select json_agg(c order by c.kind <> 'self', c.kind = 'child', c.date_of_birth,
                                              c.first_name, c.id) from (
                 select id, kind, first_name, last_name, date_of_birth from children
                 where parent_id = $1 and archived_at is null) c), '[]')
               as "children!: Json<Vec<Child>>",
             coalesce((select json_agg(o order by o.name, o.id) from (
                 select s.series_id as id,
                        (array_agg(coalesce(se.name, a.name) order by s.starts_at, s.id))[1] as name,
                        (array_agg(a.name order by s.starts_at, s.id))[1] as activity,
                        (array_agg(v.name order by s.starts_at, s.id))[1] as venue,
                        min(s.starts_at) as next,
                        count(*) as dates,
                        (array_agg(s.price_pence order by s.starts_at, s.id))[1] as price_pence,
                        count(*) filter (where s.capacity - s.places_taken - s.places_offered
                                                 - session_places_held(s.id) <= 0) as full_dates
                 from sessions s
                 join activities a on a.id = s.activity_id
                 join venues v on v.id = s.venue_id
                 join series se on se.id = s.series_id
                 cross join born
                 where s.status = 'scheduled' and a.is_active and s.starts_at > now()
                   and ($3::bigint is null or s.activity_id = $3)
                   and ($4::bigint is null or s.venue_id = $4)
                   and ($5::timestamptz is null or s.starts_at >= $5)
                   and ($6::timestamptz is null or s.starts_at < $6)
                   and (born.day is null or (
                         select (a.min_age_years is null or age >= a.min_age_years)
                            and (a.max_age_years is null or age <= a.max_age_years)
                         from (select extract(year from day)::int - extract(year from born.day)::int
                                      - case when to_char(day, 'MMDD') >= to_char(born.day, 'MMDD') then 0 else 1 end
                                      as age
                               from (select (s.starts_at at time zone $7)::date as day) d) ages))
                 group by s.series_id) o), '[]')
               as "series!: Json<Vec<SeriesOffer>>",
             coalesce((select json_agg(f order by f.is_activity desc, f.name) from (
                 select true as is_activity, id, name from activities where is_active
                 union all
                 select false, id, name from venues) f), '[]')
               as "choices!: Json<Vec<FilterChoice>>""#,
        parent_id,
        child,
        filter.activity_id,
        filter.venue_id,
        filter.from,
        filter.until,
        zone,
    )
    .fetch_one(conn)
    .await
}

pub async fn session(conn: &mut PgConnection, id: SessionId) -> sqlx::Result<Option<SessionInfo>> {
    sqlx::query_as!(
        SessionInfo,
        r#"select s.id as "id: SessionId", s.activity_id, a.name as activity, a.description, v.name as venue,
                v.address as venue_address, s.series_id as "series_id: SeriesId", se.name as "series_name?",
                s.starts_at, s.ends_at, s.capacity, s.places_taken,
                s.places_offered + session_places_held(s.id) as "places_offered!", s.price_pence,
                a.min_age_years, a.max_age_years, a.booking_cutoff_hours, a.cancellation_cutoff_hours,
                a.requires_approval, a.pay_at_booking, s.status as "status: SessionStatus",
                a.audience as "audience: Audience", a.syllabus, a.certificate_valid_months
         from sessions s
         join activities a on a.id = s.activity_id
         join venues v on v.id = s.venue_id
         left join series se on se.id = s.series_id
         where s.id = $1"#,
        id.0
    )
    .fetch_optional(conn)
    .await
}

/// The series' sessions that have not started yet.
pub async fn remaining_in_series(
    conn: &mut PgConnection,
    series_id: SeriesId,
) -> sqlx::Result<Vec<SessionInfo>> {
    sqlx::query_as!(
        SessionInfo,
        r#"select s.id as "id: SessionId", s.activity_id, a.name as activity, a.description, v.name as venue,
                v.address as venue_address, s.series_id as "series_id: SeriesId", se.name as "series_name?",
                s.starts_at, s.ends_at, s.capacity, s.places_taken,
                s.places_offered + session_places_held(s.id) as "places_offered!", s.price_pence,
                a.min_age_years, a.max_age_years, a.booking_cutoff_hours, a.cancellation_cutoff_hours,
                a.requires_approval, a.pay_at_booking, s.status as "status: SessionStatus",
                a.audience as "audience: Audience", a.syllabus, a.certificate_valid_months
         from sessions s
         join activities a on a.id = s.activity_id
         join venues v on v.id = s.venue_id
         left join series se on se.id = s.series_id
         where s.series_id = $1 and s.status = 'scheduled' and s.starts_at > now()
         order by s.starts_at, s.id"#,
        series_id.0,
    )
    .fetch_all(conn)
    .await
}

pub async fn sessions_by_id(conn: &mut PgConnection, ids: &[SessionId]) -> sqlx::Result<Vec<SessionInfo>> {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    sqlx::query_as!(
        SessionInfo,
        r#"select s.id as "id: SessionId", s.activity_id, a.name as activity, a.description, v.name as venue,
                v.address as venue_address, s.series_id as "series_id: SeriesId", se.name as "series_name?",
                s.starts_at, s.ends_at, s.capacity, s.places_taken,
                s.places_offered + session_places_held(s.id) as "places_offered!", s.price_pence,
                a.min_age_years, a.max_age_years, a.booking_cutoff_hours, a.cancellation_cutoff_hours,
                a.requires_approval, a.pay_at_booking, s.status as "status: SessionStatus",
                a.audience as "audience: Audience", a.syllabus, a.certificate_valid_months
         from sessions s
         join activities a on a.id = s.activity_id
         join venues v on v.id = s.venue_id
         left join series se on se.id = s.series_id
         where s.id = any($1) order by s.starts_at, s.id"#,
        &ids,
    )
    .fetch_all(conn)
    .await
}

/// A participant the account may book: a child, the account holder, a delegate.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Child {
    pub id: ChildId,
    pub kind: ParticipantKind,
    pub first_name: String,
    pub last_name: String,
    /// Always there for a child (a check constraint); optional for adults.
    #[serde(with = "crate::db::json::date::option")]
    pub date_of_birth: Option<Date>,
}

/// The account's participants who can be booked (not archived): the account holder,
/// delegates, then children, eldest first.
pub async fn children_of(conn: &mut PgConnection, parent_id: i64) -> sqlx::Result<Vec<Child>> {
    sqlx::query_as!(
        Child,
        r#"select id as "id: ChildId", kind as "kind: ParticipantKind", first_name, last_name, date_of_birth
         from children
         where parent_id = $1 and archived_at is null
         order by kind <> 'self', kind = 'child', date_of_birth, first_name, id"#,
        parent_id,
    )
    .fetch_all(conn)
    .await
}

/// (session, child) pairs already holding a place, among `session_ids`.
pub async fn places_held(
    conn: &mut PgConnection,
    session_ids: &[SessionId],
    child_ids: &[ChildId],
) -> sqlx::Result<Vec<(SessionId, ChildId)>> {
    let sessions: Vec<i64> = session_ids.iter().map(|id| id.0).collect();
    let children: Vec<i64> = child_ids.iter().map(|id| id.0).collect();
    let rows = sqlx::query!(
        r#"select session_id as "session_id: SessionId", child_id as "child_id: ChildId"
         from booking_participants
         where holds_place and session_id = any($1) and child_id = any($2)"#,
        &sessions,
        &children,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.session_id, r.child_id)).collect())
}

pub struct NewItem {
    pub session_id: SessionId,
    pub child_id: ChildId,
    pub price_pence: i32,
}

/// Creates a booking with its places and its first history row, or says which place
/// the database refused. Items are taken in session order so that concurrent bookings
/// lock sessions in the same order. `payment_due_by` is when an `AwaitingPayment`
/// booking's hold ends.
pub async fn create(
    conn: &mut PgConnection,
    parent_id: i64,
    created_by: i64,
    (status, payment_due_by): (BookingStatus, Option<OffsetDateTime>),
    items: &mut [NewItem],
    note: &str,
) -> sqlx::Result<Result<BookingId, PlaceRefused>> {
    items.sort_by_key(|i| (i.session_id, i.child_id));
    let total: i64 = items.iter().map(|i| i64::from(i.price_pence)).sum();
    let total =
        i32::try_from(total).map_err(|_| sqlx::Error::Protocol("booking total out of range".into()))?;
    let booking_id = sqlx::query_scalar!(
        r#"insert into bookings (parent_id, status, total_pence, created_by, notes, payment_due_by)
         values ($1, $2, $3, $4, $5, $6) returning id as "id: BookingId""#,
        parent_id,
        status as _,
        total,
        created_by,
        note,
        payment_due_by,
    )
    .fetch_one(&mut *conn)
    .await?;
    for item in items.iter() {
        let inserted = sqlx::query!(
            "insert into booking_participants (booking_id, session_id, child_id, price_pence, holds_place)
             values ($1, $2, $3, $4, $5)",
            booking_id.0,
            item.session_id.0,
            item.child_id.0,
            item.price_pence,
            status.holds_places(),
        )
        .execute(&mut *conn)
        .await
        .on_constraint(|name| PlaceRefused::from_constraint(name, item.session_id, item.child_id))?;
        if let Err(refused) = inserted {
            return Ok(Err(refused));
        }
    }
    record_change(conn, booking_id, None, status, Some(created_by), note).await?;
    Ok(Ok(booking_id))
}

pub async fn record_change(
    conn: &mut PgConnection,
    booking_id: BookingId,
    from: Option<BookingStatus>,
    to: BookingStatus,
    by: Option<i64>,
    reason: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into booking_status_changes (booking_id, from_status, to_status, changed_by, reason)
         values ($1, $2, $3, $4, $5)",
        booking_id.0,
        from as _,
        to as _,
        by,
        reason,
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Clone, Debug)]
pub struct Booking {
    pub id: BookingId,
    pub parent_id: i64,
    pub parent_name: String,
    pub parent_email: String,
    pub status: BookingStatus,
    pub total_pence: i32,
    pub notes: String,
    pub created_at: OffsetDateTime,
    pub created_by_admin: bool,
    /// When the places of a booking awaiting payment go back.
    pub payment_due_by: Option<OffsetDateTime>,
}

// The two queries of `Booking` share their column list, written out in each.

/// The booking, if it belongs to `parent_id`: another family's booking is "not found".
pub async fn for_parent(
    conn: &mut PgConnection,
    id: BookingId,
    parent_id: i64,
) -> sqlx::Result<Option<Booking>> {
    sqlx::query_as!(
        Booking,
        r#"select b.id as "id: BookingId", b.parent_id, u.name as parent_name, u.email as parent_email,
                b.status as "status: BookingStatus", b.total_pence, b.notes, b.created_at,
                coalesce(cb.role = 'admin', false) as "created_by_admin!", b.payment_due_by
         from bookings b
         join users u on u.id = b.parent_id
         left join users cb on cb.id = b.created_by
         where b.id = $1 and b.parent_id = $2"#,
        id.0,
        parent_id,
    )
    .fetch_optional(conn)
    .await
}

pub async fn find(conn: &mut PgConnection, id: BookingId) -> sqlx::Result<Option<Booking>> {
    sqlx::query_as!(
        Booking,
        r#"select b.id as "id: BookingId", b.parent_id, u.name as parent_name, u.email as parent_email,
                b.status as "status: BookingStatus", b.total_pence, b.notes, b.created_at,
                coalesce(cb.role = 'admin', false) as "created_by_admin!", b.payment_due_by
         from bookings b
         join users u on u.id = b.parent_id
         left join users cb on cb.id = b.created_by
         where b.id = $1"#,
        id.0,
    )
    .fetch_optional(conn)
    .await
}

/// Locks the booking row for a status change.
pub async fn lock_status(conn: &mut PgConnection, id: BookingId) -> sqlx::Result<Option<BookingStatus>> {
    sqlx::query_scalar!(
        r#"select status as "status: BookingStatus" from bookings where id = $1 for update"#,
        id.0
    )
    .fetch_optional(conn)
    .await
}

/// Moves a locked booking to `to`, releasing its places for sessions that have not
/// started when it no longer holds them, and records the change. Returns the sessions
/// whose places were released.
pub async fn change_status(
    conn: &mut PgConnection,
    id: BookingId,
    from: BookingStatus,
    to: BookingStatus,
    by: Option<i64>,
    reason: &str,
) -> sqlx::Result<Vec<SessionId>> {
    sqlx::query!("update bookings set status = $2 where id = $1", id.0, to as _).execute(&mut *conn).await?;
    let mut released = Vec::new();
    if from.holds_places() && !to.holds_places() {
        released = sqlx::query_scalar!(
            r#"update booking_participants p set holds_place = false
             from sessions s
             where s.id = p.session_id and p.booking_id = $1 and p.holds_place and s.starts_at > now()
             returning p.session_id as "session_id: SessionId""#,
            id.0,
        )
        .fetch_all(&mut *conn)
        .await?;
    }
    record_change(conn, id, Some(from), to, by, reason).await?;
    Ok(released)
}

/// Whether any session of the booking needs the office's approval.
pub async fn requires_approval(conn: &mut PgConnection, booking_id: BookingId) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select coalesce(bool_or(a.requires_approval), false) as "requires_approval!"
           from booking_participants p
           join sessions s on s.id = p.session_id
           join activities a on a.id = s.activity_id
          where p.booking_id = $1"#,
        booking_id.0,
    )
    .fetch_one(conn)
    .await
}

/// Takes the places of a draft's participants; capacity and the one-place-per-child
/// rule apply exactly as for a new booking (the statement does not say which place, so
/// the refusal names none: ids 0).
pub async fn take_places(
    conn: &mut PgConnection,
    booking_id: BookingId,
) -> sqlx::Result<Result<(), PlaceRefused>> {
    sqlx::query!(
        "update booking_participants set holds_place = true where booking_id = $1 and not holds_place",
        booking_id.0,
    )
    .execute(conn)
    .await
    .map(drop)
    .on_constraint(|name| PlaceRefused::from_constraint(name, SessionId(0), ChildId(0)))
}

/// Prices a draft's places at their sessions' prices today (a draft uses no credits)
/// and sets the booking's total to match. Returns the total before and after.
pub async fn reprice(conn: &mut PgConnection, booking_id: BookingId) -> sqlx::Result<(i64, i64)> {
    let was = sqlx::query_scalar!("select total_pence from bookings where id = $1", booking_id.0)
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query!(
        "update booking_participants p set price_pence = s.price_pence
           from sessions s where s.id = p.session_id and p.booking_id = $1 and p.price_pence <> s.price_pence",
        booking_id.0,
    )
    .execute(&mut *conn)
    .await?;
    let now = sqlx::query_scalar!(
        "update bookings set total_pence = (
             select coalesce(sum(price_pence), 0)::int from booking_participants where booking_id = $1)
          where id = $1 returning total_pence",
        booking_id.0,
    )
    .fetch_one(conn)
    .await?;
    Ok((i64::from(was), i64::from(now)))
}

/// Changes a booking's total by `change` pence (a place moved to a dearer or cheaper
/// session); returns the new total.
pub async fn adjust_total(conn: &mut PgConnection, booking_id: BookingId, change: i64) -> sqlx::Result<i64> {
    let change =
        i32::try_from(change).map_err(|_| sqlx::Error::Protocol("price change out of range".into()))?;
    let total = sqlx::query_scalar!(
        "update bookings set total_pence = total_pence + $2::int where id = $1 returning total_pence",
        booking_id.0,
        change,
    )
    .fetch_one(conn)
    .await?;
    Ok(i64::from(total))
}

/// Gives up a booked place (to move it); returns the participant row and its price.
pub async fn release_place(
    conn: &mut PgConnection,
    id: BookingId,
    session: SessionId,
    child: ChildId,
) -> sqlx::Result<Option<(i64, i32)>> {
    let row = sqlx::query!(
        "update booking_participants set holds_place = false
         where booking_id = $1 and session_id = $2 and child_id = $3 and holds_place
         returning id, price_pence",
        id.0,
        session.0,
        child.0,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.id, r.price_pence)))
}

/// Adds a place to a booking, unless the session is full or the child already on it.
pub async fn add_place(
    conn: &mut PgConnection,
    id: BookingId,
    session: SessionId,
    child: ChildId,
    price_pence: i32,
) -> sqlx::Result<Result<(), PlaceRefused>> {
    sqlx::query!(
        "insert into booking_participants (booking_id, session_id, child_id, price_pence) values ($1, $2, $3, $4)",
        id.0,
        session.0,
        child.0,
        price_pence,
    )
    .execute(conn)
    .await
    .map(drop)
    .on_constraint(|name| PlaceRefused::from_constraint(name, session, child))
}

/// Whether the place used a package credit (and has not had it back).
pub async fn used_credit(conn: &mut PgConnection, participant_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from package_credit_movements m where m.participant_id = $1 and m.kind = 'use')
            and not exists (select 1 from package_credit_movements m where m.participant_id = $1 and m.kind = 'return')
            as "used!""#,
        participant_id,
    )
    .fetch_one(conn)
    .await
}

#[derive(Clone, Debug)]
pub struct Participant {
    pub session_id: SessionId,
    pub activity_id: i64,
    pub child_id: ChildId,
    pub child_name: String,
    pub date_of_birth: Option<Date>,
    pub medical: String,
    pub activity: String,
    pub venue: String,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub price_pence: i32,
    pub holds_place: bool,
    pub cancellation_cutoff_hours: i32,
}

pub async fn participants(conn: &mut PgConnection, booking_id: BookingId) -> sqlx::Result<Vec<Participant>> {
    sqlx::query_as!(
        Participant,
        r#"select p.session_id as "session_id: SessionId", s.activity_id, p.child_id as "child_id: ChildId",
                c.first_name || ' ' || c.last_name as "child_name!", c.date_of_birth,
                concat_ws('; ', nullif(c.allergies, ''), nullif(c.medical_notes, ''), nullif(c.additional_needs, ''))
                    as "medical!",
                a.name as activity, v.name as venue, s.starts_at, s.ends_at, p.price_pence, p.holds_place,
                a.cancellation_cutoff_hours
         from booking_participants p
         join children c on c.id = p.child_id
         join sessions s on s.id = p.session_id
         join activities a on a.id = s.activity_id
         join venues v on v.id = s.venue_id
         where p.booking_id = $1
         order by s.starts_at, c.first_name"#,
        booking_id.0,
    )
    .fetch_all(conn)
    .await
}

#[derive(Clone, Debug)]
pub struct Change {
    pub from_status: Option<BookingStatus>,
    pub to_status: BookingStatus,
    pub by_name: Option<String>,
    pub reason: String,
    pub created_at: OffsetDateTime,
}

pub async fn history(conn: &mut PgConnection, booking_id: BookingId) -> sqlx::Result<Vec<Change>> {
    sqlx::query_as!(
        Change,
        r#"select h.from_status as "from_status: BookingStatus", h.to_status as "to_status: BookingStatus",
                u.name as "by_name?", h.reason, h.created_at
         from booking_status_changes h left join users u on u.id = h.changed_by
         where h.booking_id = $1 order by h.created_at, h.id"#,
        booking_id.0,
    )
    .fetch_all(conn)
    .await
}

/// A line in a list of bookings: who, what, when it starts. (A family's own list reads
/// its lines as JSON, with the calendar link in the same round trip: `db::json`.)
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Summary {
    pub id: BookingId,
    pub parent_name: String,
    pub status: BookingStatus,
    pub total_pence: i32,
    #[serde(with = "crate::db::json::timestamp")]
    pub created_at: OffsetDateTime,
    pub children: String,
    pub activity: String,
    #[serde(with = "crate::db::json::timestamp::option")]
    pub first_start: Option<OffsetDateTime>,
    pub sessions: i64,
    pub medical_flags: bool,
    #[serde(with = "crate::db::json::date::option")]
    pub youngest_dob: Option<Date>,
}

/// A family's page of bookings, and their calendar feed's token if they have one.
struct ParentPage {
    lines: Json<Vec<Summary>>,
    feed_token: Option<String>,
}

/// A line of the office's list with, on every line, how many bookings the search
/// finds over every page (up to [`COUNT_CAP`] + 1): the count rides along with the
/// page rather than costing a round trip of its own.
#[derive(Clone, Debug)]
pub struct Found {
    pub id: BookingId,
    pub parent_name: String,
    pub status: BookingStatus,
    pub total_pence: i32,
    pub created_at: OffsetDateTime,
    pub children: String,
    pub activity: String,
    pub first_start: Option<OffsetDateTime>,
    pub sessions: i64,
    pub medical_flags: bool,
    pub youngest_dob: Option<Date>,
    pub found: i64,
}

impl Found {
    fn summary(self) -> Summary {
        let Found {
            id,
            parent_name,
            status,
            total_pence,
            created_at,
            children,
            activity,
            first_start,
            sessions,
            medical_flags,
            youngest_dob,
            found: _,
        } = self;
        Summary {
            id,
            parent_name,
            status,
            total_pence,
            created_at,
            children,
            activity,
            first_start,
            sessions,
            medical_flags,
            youngest_dob,
        }
    }
}

/// The office's search. Each filter is a condition on the booking itself (an `exists`
/// for its children, sessions and activities), so a page reads bookings in index order
/// and stops at 51.
#[derive(Default)]
pub struct Search {
    pub status: Option<BookingStatus>,
    pub text: Option<String>,
    pub from: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    /// Oldest first (the approval queue) rather than newest first.
    pub oldest_first: bool,
}

impl Search {
    fn pattern(&self) -> Option<String> {
        self.text
            .as_ref()
            .map(|t| format!("%{}%", t.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")))
    }

    pub fn order(&self) -> Order {
        if self.oldest_first { Order::Ascending } else { Order::Descending }
    }
}

// The queries below spell out the same line of a booking (its parent, and a lateral
// aggregate of its children, activities and sessions) and the search's filters, so
// each stays one literal. In a page, the lateral runs only for the 51 bookings the
// index scan stops at.

/// One page of the bookings `search` finds, newest first (the approval queue oldest
/// first), or read backwards for `Previous`; with how many it finds in all. A chosen
/// status and none are two literal queries, so neither's plan is a compromise between
/// the two. With no text or dates the count is the one the triggers keep per status
/// (`booking_status_counts`, 0037_booking_status_counts.sql), a few rows; else the
/// bookings found are counted, up to [`COUNT_CAP`] + 1.
pub async fn search(
    conn: &mut PgConnection,
    search: &Search,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<(Vec<Summary>, i64)> {
    let rows = match search.status {
        Some(status) => with_status(conn, search, status, page).await?,
        None => any_status(conn, search, page).await?,
    };
    let found = match rows.first() {
        Some(row) => row.found,
        // An empty page (nothing found, or a page past the end whose rows were
        // deleted) counts on its own.
        None => count(conn, search).await?,
    };
    Ok((rows.into_iter().map(Found::summary).collect(), found))
}

/// [`search`]'s page when a status is chosen.
async fn with_status(
    conn: &mut PgConnection,
    search: &Search,
    status: BookingStatus,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<Found>> {
    paged!(
        &mut *conn,
        page,
        Found,
        r#"select b.id as "id: BookingId", u.name as parent_name, b.status as "status: BookingStatus",
                b.total_pence, b.created_at,
                coalesce(agg.children, '') as "children!", coalesce(agg.activity, '') as "activity!",
                agg.first_start, agg.sessions as "sessions!", coalesce(agg.medical_flags, false) as "medical_flags!",
                agg.youngest_dob,
                case when $4::text is null and $5::timestamptz is null and $6::timestamptz is null
                     then least((select coalesce(sum(k.bookings), 0)::bigint from booking_status_counts k where k.status = $3), 10001)
                     else (select count(*) from (
                         select 1 from bookings b
                         where b.status = $3
                   and ($4::text is null
                        or exists (select 1 from users u where u.id = b.parent_id and (u.name ilike $4 or u.email ilike $4))
                        or exists (select 1 from booking_participants p
                                   join children c on c.id = p.child_id
                                   join sessions s on s.id = p.session_id
                                   join activities a on a.id = s.activity_id
                                   where p.booking_id = b.id
                                     and (c.first_name || ' ' || c.last_name ilike $4 or a.name ilike $4)))
                   and ($5::timestamptz is null or exists (select 1 from booking_participants p join sessions s on s.id = p.session_id
                                                           where p.booking_id = b.id and s.starts_at >= $5))
                   and ($6::timestamptz is null or exists (select 1 from booking_participants p join sessions s on s.id = p.session_id
                                                           where p.booking_id = b.id and s.starts_at < $6))
                         limit 10001) capped) end as "found!"
         from bookings b
         join users u on u.id = b.parent_id
         cross join lateral (
             select string_agg(distinct c.first_name || ' ' || c.last_name, ', ') as children,
                    string_agg(distinct a.name, ', ') as activity,
                    min(s.starts_at) as first_start,
                    count(distinct p.session_id) as sessions,
                    bool_or(c.allergies <> '' or c.medical_notes <> '' or c.additional_needs <> '') as medical_flags,
                    max(c.date_of_birth) as youngest_dob
             from booking_participants p
             join children c on c.id = p.child_id
             join sessions s on s.id = p.session_id
             join activities a on a.id = s.activity_id
             where p.booking_id = b.id) agg
         where b.status = $3
           and ($4::text is null
                or exists (select 1 from users u where u.id = b.parent_id and (u.name ilike $4 or u.email ilike $4))
                or exists (select 1 from booking_participants p
                           join children c on c.id = p.child_id
                           join sessions s on s.id = p.session_id
                           join activities a on a.id = s.activity_id
                           where p.booking_id = b.id
                             and (c.first_name || ' ' || c.last_name ilike $4 or a.name ilike $4)))
           and ($5::timestamptz is null or exists (select 1 from booking_participants p join sessions s on s.id = p.session_id
                                                   where p.booking_id = b.id and s.starts_at >= $5))
           and ($6::timestamptz is null or exists (select 1 from booking_participants p join sessions s on s.id = p.session_id
                                                   where p.booking_id = b.id and s.starts_at < $6))"#,
        "b.created_at",
        "b.id",
        status.as_str(),
        search.pattern(),
        search.from,
        search.until,
    )
}

/// [`search`]'s page over every status.
async fn any_status(
    conn: &mut PgConnection,
    search: &Search,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<Found>> {
    paged!(
        &mut *conn,
        page,
        Found,
        r#"select b.id as "id: BookingId", u.name as parent_name, b.status as "status: BookingStatus",
                b.total_pence, b.created_at,
                coalesce(agg.children, '') as "children!", coalesce(agg.activity, '') as "activity!",
                agg.first_start, agg.sessions as "sessions!", coalesce(agg.medical_flags, false) as "medical_flags!",
                agg.youngest_dob,
                case when $3::text is null and $4::timestamptz is null and $5::timestamptz is null
                     then least((select coalesce(sum(k.bookings), 0)::bigint from booking_status_counts k), 10001)
                     else (select count(*) from (
                         select 1 from bookings b
                         where ($3::text is null
                        or exists (select 1 from users u where u.id = b.parent_id and (u.name ilike $3 or u.email ilike $3))
                        or exists (select 1 from booking_participants p
                                   join children c on c.id = p.child_id
                                   join sessions s on s.id = p.session_id
                                   join activities a on a.id = s.activity_id
                                   where p.booking_id = b.id
                                     and (c.first_name || ' ' || c.last_name ilike $3 or a.name ilike $3)))
                   and ($4::timestamptz is null or exists (select 1 from booking_participants p join sessions s on s.id = p.session_id
                                                           where p.booking_id = b.id and s.starts_at >= $4))
                   and ($5::timestamptz is null or exists (select 1 from booking_participants p join sessions s on s.id = p.session_id
                                                           where p.booking_id = b.id and s.starts_at < $5))
                         limit 10001) capped) end as "found!"
         from bookings b
         join users u on u.id = b.parent_id
         cross join lateral (
             select string_agg(distinct c.first_name || ' ' || c.last_name, ', ') as children,
                    string_agg(distinct a.name, ', ') as activity,
                    min(s.starts_at) as first_start,
                    count(distinct p.session_id) as sessions,
                    bool_or(c.allergies <> '' or c.medical_notes <> '' or c.additional_needs <> '') as medical_flags,
                    max(c.date_of_birth) as youngest_dob
             from booking_participants p
             join children c on c.id = p.child_id
             join sessions s on s.id = p.session_id
             join activities a on a.id = s.activity_id
             where p.booking_id = b.id) agg
         where ($3::text is null
                or exists (select 1 from users u where u.id = b.parent_id and (u.name ilike $3 or u.email ilike $3))
                or exists (select 1 from booking_participants p
                           join children c on c.id = p.child_id
                           join sessions s on s.id = p.session_id
                           join activities a on a.id = s.activity_id
                           where p.booking_id = b.id
                             and (c.first_name || ' ' || c.last_name ilike $3 or a.name ilike $3)))
           and ($4::timestamptz is null or exists (select 1 from booking_participants p join sessions s on s.id = p.session_id
                                                   where p.booking_id = b.id and s.starts_at >= $4))
           and ($5::timestamptz is null or exists (select 1 from booking_participants p join sessions s on s.id = p.session_id
                                                   where p.booking_id = b.id and s.starts_at < $5))"#,
        "b.created_at",
        "b.id",
        search.pattern(),
        search.from,
        search.until,
    )
}

/// One page of a family's own bookings, newest first (or read back for `Previous`).
/// The page's 51 bookings are picked first, in the family's index, and only they are
/// described: written so, the plan PostgreSQL caches for the statement after five runs
/// (a generic one, blind to how many bookings this family has) still describes 51
/// bookings rather than every booking of the family and then sorting (10 ms rather
/// than 1 ms for the demo family's 157 on a tenth of the large dataset). The family's
/// calendar feed token (if they have one) comes in the same round trip.
pub async fn of_parent(
    conn: &mut PgConnection,
    parent_id: i64,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<(Vec<Summary>, Option<String>)> {
    let found = if page.descending() {
        sqlx::query_as!(
            ParentPage,
            r#"with picked as (
             select b.id, b.parent_id, b.status, b.total_pence, b.created_at from bookings b
             where b.parent_id = $3 and (b.created_at, b.id) < ($1, $2)
             order by b.created_at desc, b.id desc limit 51)
         select coalesce((select json_agg(l order by l.created_at desc, l.id desc) from (
             select b.id, u.name as parent_name, b.status, b.total_pence, b.created_at,
                    coalesce(agg.children, '') as children, coalesce(agg.activity, '') as activity,
                    agg.first_start, agg.sessions, coalesce(agg.medical_flags, false) as medical_flags,
                    agg.youngest_dob
             from picked b
             join users u on u.id = b.parent_id
             cross join lateral (
                 select string_agg(distinct c.first_name || ' ' || c.last_name, ', ') as children,
                        string_agg(distinct a.name, ', ') as activity,
                        min(s.starts_at) as first_start,
                        count(distinct p.session_id) as sessions,
                        bool_or(c.allergies <> '' or c.medical_notes <> '' or c.additional_needs <> '') as medical_flags,
                        max(c.date_of_birth) as youngest_dob
                 from booking_participants p
                 join children c on c.id = p.child_id
                 join sessions s on s.id = p.session_id
                 join activities a on a.id = s.activity_id
                 where p.booking_id = b.id) agg) l), '[]') as "lines!: Json<Vec<Summary>>",
                (select token from calendar_feeds where user_id = $3) as "feed_token?""#,
            page.key(),
            page.id(),
            parent_id,
        )
        .fetch_one(conn)
        .await?
    } else {
        sqlx::query_as!(
            ParentPage,
            r#"with picked as (
             select b.id, b.parent_id, b.status, b.total_pence, b.created_at from bookings b
             where b.parent_id = $3 and (b.created_at, b.id) > ($1, $2)
             order by b.created_at, b.id limit 51)
         select coalesce((select json_agg(l order by l.created_at, l.id) from (
             select b.id, u.name as parent_name, b.status, b.total_pence, b.created_at,
                    coalesce(agg.children, '') as children, coalesce(agg.activity, '') as activity,
                    agg.first_start, agg.sessions, coalesce(agg.medical_flags, false) as medical_flags,
                    agg.youngest_dob
             from picked b
             join users u on u.id = b.parent_id
             cross join lateral (
                 select string_agg(distinct c.first_name || ' ' || c.last_name, ', ') as children,
                        string_agg(distinct a.name, ', ') as activity,
                        min(s.starts_at) as first_start,
                        count(distinct p.session_id) as sessions,
                        bool_or(c.allergies <> '' or c.medical_notes <> '' or c.additional_needs <> '') as medical_flags,
                        max(c.date_of_birth) as youngest_dob
                 from booking_participants p
                 join children c on c.id = p.child_id
                 join sessions s on s.id = p.session_id
                 join activities a on a.id = s.activity_id
                 where p.booking_id = b.id) agg) l), '[]') as "lines!: Json<Vec<Summary>>",
                (select token from calendar_feeds where user_id = $3) as "feed_token?""#,
            page.key(),
            page.id(),
            parent_id,
        )
        .fetch_one(conn)
        .await?
    };
    Ok((found.lines.0, found.feed_token))
}

/// Counting stops past this many: "more than 10,000" tells the office as much as an
/// exact figure, and counting a million bookings on every view costs ~0.3 s.
pub const COUNT_CAP: i64 = 10_000;

/// How many bookings `search` finds, over every page, up to [`COUNT_CAP`] + 1 (the
/// limit written out so the query stays one literal).
async fn count(conn: &mut PgConnection, search: &Search) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from (
             select 1 from bookings b
             where ($1::text is null or b.status = $1)
               and ($2::text is null
                    or exists (select 1 from users u where u.id = b.parent_id and (u.name ilike $2 or u.email ilike $2))
                    or exists (select 1 from booking_participants p
                               join children c on c.id = p.child_id
                               join sessions s on s.id = p.session_id
                               join activities a on a.id = s.activity_id
                               where p.booking_id = b.id
                                 and (c.first_name || ' ' || c.last_name ilike $2 or a.name ilike $2)))
               and ($3::timestamptz is null or exists (select 1 from booking_participants p join sessions s on s.id = p.session_id
                                                       where p.booking_id = b.id and s.starts_at >= $3))
               and ($4::timestamptz is null or exists (select 1 from booking_participants p join sessions s on s.id = p.session_id
                                                       where p.booking_id = b.id and s.starts_at < $4))
             limit 10001) capped"#,
        search.status.map(BookingStatus::as_str),
        search.pattern(),
        search.from,
        search.until,
    )
    .fetch_one(conn)
    .await
}

/// How many bookings are in `status`, from the counts the triggers keep (0037).
pub async fn count_in(conn: &mut PgConnection, status: BookingStatus) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select coalesce(sum(bookings), 0)::bigint as "n!" from booking_status_counts where status = $1"#,
        status.as_str()
    )
    .fetch_one(conn)
    .await
}

/// Folds the kept counts' rows into one per status, so reading them stays a few rows:
/// one statement, so a reader sees the rows before or after, never half (as
/// `payments::store::fold_owed_changes`).
pub async fn fold_status_counts(pool: &sqlx::PgPool) -> sqlx::Result<()> {
    sqlx::query!(
        "with folded as (delete from booking_status_counts returning status, bookings)
         insert into booking_status_counts (status, bookings)
         select status, sum(bookings) from folded group by status having sum(bookings) <> 0"
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Every booking `search` finds, in the list's order, as the database yields them: the
/// CSV streams them row by row, so memory stays flat however many.
pub fn export<'c>(conn: &'c mut PgConnection, search: &Search) -> BoxStream<'c, sqlx::Result<Summary>> {
    if search.oldest_first { export_oldest_first(conn, search) } else { export_newest_first(conn, search) }
}

/// The approval queue's CSV: oldest first.
fn export_oldest_first<'c>(
    conn: &'c mut PgConnection,
    search: &Search,
) -> BoxStream<'c, sqlx::Result<Summary>> {
    sqlx::query_as!(
        Summary,
        r#"select b.id as "id: BookingId", u.name as parent_name, b.status as "status: BookingStatus",
            b.total_pence, b.created_at,
            coalesce(agg.children, '') as "children!", coalesce(agg.activity, '') as "activity!",
            agg.first_start, agg.sessions as "sessions!", coalesce(agg.medical_flags, false) as "medical_flags!",
            agg.youngest_dob
     from bookings b
     join users u on u.id = b.parent_id
     cross join lateral (
         select string_agg(distinct c.first_name || ' ' || c.last_name, ', ') as children,
                string_agg(distinct a.name, ', ') as activity,
                min(s.starts_at) as first_start,
                count(distinct p.session_id) as sessions,
                bool_or(c.allergies <> '' or c.medical_notes <> '' or c.additional_needs <> '') as medical_flags,
                max(c.date_of_birth) as youngest_dob
         from booking_participants p
         join children c on c.id = p.child_id
         join sessions s on s.id = p.session_id
         join activities a on a.id = s.activity_id
         where p.booking_id = b.id) agg
     where ($1::text is null or b.status = $1)
       and ($2::text is null
            or exists (select 1 from users u where u.id = b.parent_id and (u.name ilike $2 or u.email ilike $2))
            or exists (select 1 from booking_participants p
                       join children c on c.id = p.child_id
                       join sessions s on s.id = p.session_id
                       join activities a on a.id = s.activity_id
                       where p.booking_id = b.id
                         and (c.first_name || ' ' || c.last_name ilike $2 or a.name ilike $2)))
       and ($3::timestamptz is null or exists (select 1 from booking_participants p join sessions s on s.id = p.session_id
                                               where p.booking_id = b.id and s.starts_at >= $3))
       and ($4::timestamptz is null or exists (select 1 from booking_participants p join sessions s on s.id = p.session_id
                                               where p.booking_id = b.id and s.starts_at < $4))
     order by b.created_at, b.id"#,
        search.status.map(BookingStatus::as_str),
        search.pattern(),
        search.from,
        search.until,
    )
    .fetch(conn)
}

/// The list's CSV: newest first.
fn export_newest_first<'c>(
    conn: &'c mut PgConnection,
    search: &Search,
) -> BoxStream<'c, sqlx::Result<Summary>> {
    sqlx::query_as!(
        Summary,
        r#"select b.id as "id: BookingId", u.name as parent_name, b.status as "status: BookingStatus",
            b.total_pence, b.created_at,
            coalesce(agg.children, '') as "children!", coalesce(agg.activity, '') as "activity!",
            agg.first_start, agg.sessions as "sessions!", coalesce(agg.medical_flags, false) as "medical_flags!",
            agg.youngest_dob
     from bookings b
     join users u on u.id = b.parent_id
     cross join lateral (
         select string_agg(distinct c.first_name || ' ' || c.last_name, ', ') as children,
                string_agg(distinct a.name, ', ') as activity,
                min(s.starts_at) as first_start,
                count(distinct p.session_id) as sessions,
                bool_or(c.allergies <> '' or c.medical_notes <> '' or c.additional_needs <> '') as medical_flags,
                max(c.date_of_birth) as youngest_dob
         from booking_participants p
         join children c on c.id = p.child_id
         join sessions s on s.id = p.session_id
         join activities a on a.id = s.activity_id
         where p.booking_id = b.id) agg
     where ($1::text is null or b.status = $1)
       and ($2::text is null
            or exists (select 1 from users u where u.id = b.parent_id and (u.name ilike $2 or u.email ilike $2))
            or exists (select 1 from booking_participants p
                       join children c on c.id = p.child_id
                       join sessions s on s.id = p.session_id
                       join activities a on a.id = s.activity_id
                       where p.booking_id = b.id
                         and (c.first_name || ' ' || c.last_name ilike $2 or a.name ilike $2)))
       and ($3::timestamptz is null or exists (select 1 from booking_participants p join sessions s on s.id = p.session_id
                                               where p.booking_id = b.id and s.starts_at >= $3))
       and ($4::timestamptz is null or exists (select 1 from booking_participants p join sessions s on s.id = p.session_id
                                               where p.booking_id = b.id and s.starts_at < $4))
     order by b.created_at desc, b.id desc"#,
        search.status.map(BookingStatus::as_str),
        search.pattern(),
        search.from,
        search.until,
    )
    .fetch(conn)
}
