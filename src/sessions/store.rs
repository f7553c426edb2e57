//! The SQL for the admin calendar: sessions with their staffing, series, edits and
//! cancellation.

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use crate::states::SessionStatus;
use crate::{
    ids::{SeriesId, SessionId, VenueId},
    web::page::{PageRequest, paged},
};

#[derive(Clone, Debug)]
pub struct CalendarRow {
    pub id: SessionId,
    pub activity: String,
    pub venue: String,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub capacity: i32,
    pub places_taken: i32,
    pub status: SessionStatus,
    pub children_per_trainer: Option<i32>,
    pub staffed: i64,
    pub leads: i64,
    pub trainers: String,
}

#[derive(Default)]
pub struct CalendarFilter {
    pub venue_id: Option<i64>,
    pub activity_id: Option<i64>,
    pub trainer_id: Option<i64>,
}

pub async fn calendar(
    conn: &mut PgConnection,
    from: OffsetDateTime,
    until: OffsetDateTime,
    filter: &CalendarFilter,
) -> sqlx::Result<Vec<CalendarRow>> {
    // Held shifts: the exclusion constraint's set (accepted, checked in or out).
    sqlx::query_as!(
        CalendarRow,
        r#"select s.id as "id: SessionId", a.name as activity, v.name as venue, s.starts_at, s.ends_at,
                s.capacity, s.places_taken, s.status as "status: SessionStatus", a.children_per_trainer,
                count(sh.id) filter (where sh.status in ('accepted', 'checked_in', 'checked_out')) as "staffed!",
                count(sh.id) filter (where sh.status in ('accepted', 'checked_in', 'checked_out')
                                     and sh.role = 'lead') as "leads!",
                coalesce(string_agg(u.name, ', ' order by u.name)
                         filter (where sh.status in ('accepted', 'checked_in', 'checked_out')), '') as "trainers!"
         from sessions s
         join activities a on a.id = s.activity_id
         join venues v on v.id = s.venue_id
         left join shifts sh on sh.session_id = s.id
         left join users u on u.id = sh.trainer_id
         where s.starts_at >= $1 and s.starts_at < $2
           and ($3::bigint is null or s.venue_id = $3)
           and ($4::bigint is null or s.activity_id = $4)
           and ($5::bigint is null or exists (select 1 from shifts f where f.session_id = s.id
                                              and f.trainer_id = $5 and f.status <> 'cancelled'))
         group by s.id, a.name, v.name, a.children_per_trainer
         order by s.starts_at, a.name"#,
        from,
        until,
        filter.venue_id,
        filter.activity_id,
        filter.trainer_id,
    )
    .fetch_all(conn)
    .await
}

/// Most sessions the week view shows on one day; the rest are in the day's list.
pub const WEEK_DAY_LIMIT: i64 = 12;

/// The day view: one page (see `web::page`) of the sessions starting in [from, until),
/// by start time.
pub async fn day_page(
    conn: &mut PgConnection,
    page: &PageRequest<OffsetDateTime>,
    from: OffsetDateTime,
    until: OffsetDateTime,
    filter: &CalendarFilter,
) -> sqlx::Result<Vec<CalendarRow>> {
    paged!(
        conn,
        page,
        CalendarRow,
        r#"select s.id as "id: SessionId", a.name as activity, v.name as venue, s.starts_at, s.ends_at,
                s.capacity, s.places_taken, s.status as "status: SessionStatus", a.children_per_trainer,
                st.staffed as "staffed!", st.leads as "leads!", st.trainers as "trainers!"
         from sessions s
         join activities a on a.id = s.activity_id
         join venues v on v.id = s.venue_id
         cross join lateral (
             select count(*) as staffed, count(*) filter (where sh.role = 'lead') as leads,
                    coalesce(string_agg(u.name, ', ' order by u.name), '') as trainers
             from shifts sh join users u on u.id = sh.trainer_id
             where sh.session_id = s.id and sh.status in ('accepted', 'checked_in', 'checked_out')) st
         where s.starts_at >= $3 and s.starts_at < $4
           and ($5::bigint is null or s.venue_id = $5)
           and ($6::bigint is null or s.activity_id = $6)
           and ($7::bigint is null or exists (select 1 from shifts f where f.session_id = s.id
                                              and f.trainer_id = $7 and f.status <> 'cancelled'))"#,
        "s.starts_at",
        "s.id",
        from,
        until,
        filter.venue_id,
        filter.activity_id,
        filter.trainer_id,
    )
}

/// A session of the month or week: its day, its place in the day (1 for the first),
/// and what its staffing needs, for the counts; the sessions a view lists also carry
/// what their entry shows (`shown`).
#[derive(Clone, Debug)]
pub struct DayFacts {
    pub day: Date,
    pub status: SessionStatus,
    pub places_taken: i32,
    pub children_per_trainer: Option<i32>,
    pub staffed: i64,
    pub leads: i64,
    pub shown: Option<CalendarRow>,
}

struct DayRow {
    id: SessionId,
    day: Date,
    nth: i64,
    status: SessionStatus,
    places_taken: i32,
    capacity: i32,
    children_per_trainer: Option<i32>,
    staffed: i64,
    leads: i64,
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
    activity: String,
    venue: String,
    trainers: String,
}

/// Every session starting in [from, until), dated in `tz` (the provider's zone, by
/// name), by start, in one statement: each day's first `per_day` (the week view's
/// [`WEEK_DAY_LIMIT`]; none for the month) come with their trainers' names, the rest
/// with only what counting needs, so a month of a large provider stays small.
pub async fn days(
    conn: &mut PgConnection,
    from: OffsetDateTime,
    until: OffsetDateTime,
    tz: &str,
    filter: &CalendarFilter,
    per_day: i64,
) -> sqlx::Result<Vec<DayFacts>> {
    let rows = sqlx::query_as!(
        DayRow,
        r#"select d.id as "id!: SessionId", d.day as "day!", d.nth as "nth!", d.status as "status!: SessionStatus",
                d.places_taken as "places_taken!", d.capacity as "capacity!", d.children_per_trainer,
                d.staffed as "staffed!", d.leads as "leads!", d.starts_at as "starts_at!", d.ends_at as "ends_at!",
                d.activity as "activity!", d.venue as "venue!",
                case when d.nth <= $7 then
                    (select coalesce(string_agg(u.name, ', ' order by u.name), '')
                       from shifts sh join users u on u.id = sh.trainer_id
                      where sh.session_id = d.id and sh.status in ('accepted', 'checked_in', 'checked_out'))
                else '' end as "trainers!"
         from (
             select s.id, (s.starts_at at time zone $6)::date as day,
                    row_number() over (partition by (s.starts_at at time zone $6)::date
                                       order by s.starts_at, s.id) as nth,
                    s.status, s.places_taken, s.capacity, a.children_per_trainer, st.staffed, st.leads,
                    s.starts_at, s.ends_at, a.name as activity, v.name as venue
             from sessions s
             join activities a on a.id = s.activity_id
             join venues v on v.id = s.venue_id
             cross join lateral (
                 select count(*) as staffed, count(*) filter (where sh.role = 'lead') as leads
                 from shifts sh
                 where sh.session_id = s.id and sh.status in ('accepted', 'checked_in', 'checked_out')) st
             where s.starts_at >= $1 and s.starts_at < $2
               and ($3::bigint is null or s.venue_id = $3)
               and ($4::bigint is null or s.activity_id = $4)
               and ($5::bigint is null or exists (select 1 from shifts f where f.session_id = s.id
                                                  and f.trainer_id = $5 and f.status <> 'cancelled'))
         ) d
         order by d.starts_at, d.activity, d.id"#,
        from,
        until,
        filter.venue_id,
        filter.activity_id,
        filter.trainer_id,
        tz,
        per_day,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| DayFacts {
            day: r.day,
            status: r.status,
            places_taken: r.places_taken,
            children_per_trainer: r.children_per_trainer,
            staffed: r.staffed,
            leads: r.leads,
            shown: (r.nth <= per_day).then_some(CalendarRow {
                id: r.id,
                activity: r.activity,
                venue: r.venue,
                starts_at: r.starts_at,
                ends_at: r.ends_at,
                capacity: r.capacity,
                places_taken: r.places_taken,
                status: r.status,
                children_per_trainer: r.children_per_trainer,
                staffed: r.staffed,
                leads: r.leads,
                trainers: r.trainers,
            }),
        })
        .collect())
}

#[derive(Clone, Debug)]
pub struct SessionRow {
    pub id: SessionId,
    pub activity_id: i64,
    pub activity: String,
    pub venue_id: VenueId,
    pub venue: String,
    pub series_id: Option<SeriesId>,
    pub series_name: Option<String>,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub capacity: i32,
    pub places_taken: i32,
    pub price_pence: i32,
    pub status: SessionStatus,
    pub notes: String,
    pub children_per_trainer: Option<i32>,
}

pub async fn find(conn: &mut PgConnection, id: SessionId) -> sqlx::Result<Option<SessionRow>> {
    sqlx::query_as!(
        SessionRow,
        r#"select s.id as "id: SessionId", s.activity_id, a.name as activity, s.venue_id as "venue_id: VenueId",
                v.name as venue, s.series_id as "series_id: SeriesId", se.name as "series_name?", s.starts_at,
                s.ends_at, s.capacity, s.places_taken, s.price_pence, s.status as "status: SessionStatus", s.notes,
                a.children_per_trainer
         from sessions s
         join activities a on a.id = s.activity_id
         join venues v on v.id = s.venue_id
         left join series se on se.id = s.series_id
         where s.id = $1"#,
        id.0,
    )
    .fetch_optional(conn)
    .await
}

/// As `find`, locking the session for the rest of the transaction.
pub async fn find_locked(conn: &mut PgConnection, id: SessionId) -> sqlx::Result<Option<SessionRow>> {
    sqlx::query_as!(
        SessionRow,
        r#"select s.id as "id: SessionId", s.activity_id, a.name as activity, s.venue_id as "venue_id: VenueId",
                v.name as venue, s.series_id as "series_id: SeriesId", se.name as "series_name?", s.starts_at,
                s.ends_at, s.capacity, s.places_taken, s.price_pence, s.status as "status: SessionStatus", s.notes,
                a.children_per_trainer
         from sessions s
         join activities a on a.id = s.activity_id
         join venues v on v.id = s.venue_id
         left join series se on se.id = s.series_id
         where s.id = $1
         for update of s"#,
        id.0,
    )
    .fetch_optional(conn)
    .await
}

#[derive(Clone, Debug)]
pub struct NewSession {
    pub activity_id: i64,
    pub venue_id: i64,
    pub series_id: Option<SeriesId>,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub capacity: i32,
    pub price_pence: i32,
    pub notes: String,
}

pub async fn insert_session(conn: &mut PgConnection, s: &NewSession) -> sqlx::Result<SessionId> {
    sqlx::query_scalar!(
        r#"insert into sessions (activity_id, venue_id, series_id, starts_at, ends_at, capacity, price_pence, notes)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning id as "id: SessionId""#,
        s.activity_id,
        s.venue_id,
        s.series_id.map(i64::from),
        s.starts_at,
        s.ends_at,
        s.capacity,
        s.price_pence,
        &s.notes,
    )
    .fetch_one(conn)
    .await
}

pub async fn insert_series(
    conn: &mut PgConnection,
    activity_id: i64,
    venue_id: i64,
    name: &str,
    rule: &str,
) -> sqlx::Result<SeriesId> {
    sqlx::query_scalar!(
        r#"insert into series (activity_id, venue_id, name, recurrence_rule) values ($1, $2, $3, $4)
         returning id as "id: SeriesId""#,
        activity_id,
        venue_id,
        name,
        rule,
    )
    .fetch_one(conn)
    .await
}

/// How many sessions an edit of "this and all following" would change.
pub async fn following_count(conn: &mut PgConnection, session: &SessionRow) -> sqlx::Result<i64> {
    let Some(series) = session.series_id else { return Ok(1) };
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from sessions where series_id = $1 and starts_at >= $2 and status = $3"#,
        series.0,
        session.starts_at,
        SessionStatus::Scheduled as _,
    )
    .fetch_one(conn)
    .await
}

/// This session and the later scheduled ones of its series, locked, in order.
pub async fn this_and_following(
    conn: &mut PgConnection,
    session: &SessionRow,
) -> sqlx::Result<Vec<SessionRow>> {
    let Some(series_id) = session.series_id else {
        return Ok(find_locked(conn, session.id).await?.into_iter().collect());
    };
    sqlx::query_as!(
        SessionRow,
        r#"select s.id as "id: SessionId", s.activity_id, a.name as activity, s.venue_id as "venue_id: VenueId",
                v.name as venue, s.series_id as "series_id: SeriesId", se.name as "series_name?", s.starts_at,
                s.ends_at, s.capacity, s.places_taken, s.price_pence, s.status as "status: SessionStatus", s.notes,
                a.children_per_trainer
         from sessions s
         join activities a on a.id = s.activity_id
         join venues v on v.id = s.venue_id
         left join series se on se.id = s.series_id
         where s.series_id = $1 and s.starts_at >= $2 and s.status = $3
         order by s.starts_at
         for update of s"#,
        series_id.0,
        session.starts_at,
        SessionStatus::Scheduled as _,
    )
    .fetch_all(conn)
    .await
}

pub async fn update_session(
    conn: &mut PgConnection,
    id: SessionId,
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
    venue_id: VenueId,
    capacity: i32,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update sessions set starts_at = $2, ends_at = $3, venue_id = $4, capacity = $5 where id = $1",
        id.0,
        starts_at,
        ends_at,
        venue_id.0,
        capacity,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_cancelled(conn: &mut PgConnection, id: SessionId) -> sqlx::Result<()> {
    sqlx::query!("update sessions set status = $2 where id = $1", id.0, SessionStatus::Cancelled as _)
        .execute(conn)
        .await?;
    Ok(())
}

/// Bookings holding a place on the session, and whether that is their only session
/// still to come (then the whole booking is cancelled; otherwise only this place).
#[derive(Clone, Debug)]
pub struct BookingOnSession {
    pub booking_id: i64,
    pub only_this_session: bool,
    pub parent_email: String,
    pub parent_name: String,
}

pub async fn bookings_on(
    conn: &mut PgConnection,
    session_id: SessionId,
) -> sqlx::Result<Vec<BookingOnSession>> {
    sqlx::query_as!(
        BookingOnSession,
        r#"select b.id as booking_id, u.email as parent_email, u.name as parent_name,
                not exists (select 1 from booking_participants o join sessions os on os.id = o.session_id
                            where o.booking_id = b.id and o.holds_place and o.session_id <> $1
                              and os.starts_at > now()) as "only_this_session!"
         from bookings b join users u on u.id = b.parent_id
         where exists (select 1 from booking_participants p where p.booking_id = b.id
                       and p.session_id = $1 and p.holds_place)
         order by b.id"#,
        session_id.0,
    )
    .fetch_all(conn)
    .await
}

/// Frees one booking's places on one session (its other sessions stay booked).
pub async fn release_places(
    conn: &mut PgConnection,
    booking_id: i64,
    session_id: SessionId,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update booking_participants set holds_place = false
         where booking_id = $1 and session_id = $2 and holds_place",
        booking_id,
        session_id.0,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends the session's waitlist: nobody can be offered a place on a cancelled session.
pub async fn close_waitlist(conn: &mut PgConnection, session_id: SessionId) -> sqlx::Result<()> {
    sqlx::query!(
        "update waitlist_entries set status = 'withdrawn'
         where session_id = $1 and status in ('waiting', 'offered')",
        session_id.0,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("update sessions set places_offered = 0 where id = $1", session_id.0).execute(conn).await?;
    Ok(())
}

#[derive(Clone, Debug)]
pub struct CancelledShift {
    pub trainer_email: Option<String>,
    pub trainer_name: Option<String>,
}

/// Cancels every shift of the session not yet worked; returns those that had a trainer.
pub async fn cancel_shifts(
    conn: &mut PgConnection,
    session_id: SessionId,
) -> sqlx::Result<Vec<CancelledShift>> {
    sqlx::query_as!(
        CancelledShift,
        r#"with cancelled as (
             update shifts set status = 'cancelled'
             where session_id = $1 and status in ('open', 'offered', 'accepted')
             returning trainer_id, status)
         select u.email as "trainer_email?", u.name as "trainer_name?"
         from cancelled c left join users u on u.id = c.trainer_id"#,
        session_id.0,
    )
    .fetch_all(conn)
    .await
}

/// A trainer holding or offered a shift on a session.
#[derive(Clone, Debug)]
pub struct ShiftHolder {
    pub trainer_id: i64,
    pub email: String,
    pub name: String,
}

pub async fn shift_holders(conn: &mut PgConnection, session_id: SessionId) -> sqlx::Result<Vec<ShiftHolder>> {
    sqlx::query_as!(
        ShiftHolder,
        "select distinct u.id as trainer_id, u.email, u.name
         from shifts sh join users u on u.id = sh.trainer_id
         where sh.session_id = $1 and sh.status in ('offered', 'accepted')
         order by u.id",
        session_id.0,
    )
    .fetch_all(conn)
    .await
}

pub async fn venue_name(conn: &mut PgConnection, id: VenueId) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!("select name from venues where id = $1", id.0).fetch_optional(conn).await
}

#[derive(Clone, Debug)]
pub struct Choice {
    pub id: i64,
    pub name: String,
}

/// The calendar's filters' choices: active venues, activities and trainers, each by name.
pub struct FilterChoices {
    pub venues: Vec<Choice>,
    pub activities: Vec<Choice>,
    pub trainers: Vec<Choice>,
}

/// [`FilterChoices`] in one round trip.
pub async fn filter_choices(conn: &mut PgConnection) -> sqlx::Result<FilterChoices> {
    let rows = sqlx::query!(
        r#"select kind as "kind!", id as "id!", name as "name!" from (
             select 1 as kind, id, name from venues where is_active
             union all select 2, id, name from activities where is_active
             union all select 3, u.id, u.name from users u join trainer_profiles t on t.user_id = u.id
                        where u.is_active) c
           order by kind, name"#
    )
    .fetch_all(conn)
    .await?;
    let mut choices = FilterChoices { venues: Vec::new(), activities: Vec::new(), trainers: Vec::new() };
    for r in rows {
        let list = match r.kind {
            1 => &mut choices.venues,
            2 => &mut choices.activities,
            _ => &mut choices.trainers,
        };
        list.push(Choice { id: r.id, name: r.name });
    }
    Ok(choices)
}

pub async fn activity_choices(conn: &mut PgConnection) -> sqlx::Result<Vec<Choice>> {
    sqlx::query_as!(Choice, "select id, name from activities where is_active order by name")
        .fetch_all(conn)
        .await
}

pub async fn venue_choices(conn: &mut PgConnection) -> sqlx::Result<Vec<Choice>> {
    sqlx::query_as!(Choice, "select id, name from venues where is_active order by name").fetch_all(conn).await
}

pub async fn trainer_choices(conn: &mut PgConnection) -> sqlx::Result<Vec<Choice>> {
    sqlx::query_as!(
        Choice,
        "select u.id, u.name from users u join trainer_profiles t on t.user_id = u.id
         where u.is_active order by u.name",
    )
    .fetch_all(conn)
    .await
}

#[derive(Clone, Debug)]
pub struct ActivityDefaults {
    pub default_duration_minutes: i32,
    pub default_capacity: i32,
    pub price_pence: i32,
    pub is_active: bool,
}

pub async fn activity_defaults(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<ActivityDefaults>> {
    sqlx::query_as!(
        ActivityDefaults,
        "select default_duration_minutes, default_capacity, price_pence, is_active from activities where id = $1",
        id,
    )
    .fetch_optional(conn)
    .await
}

pub async fn venue_is_active(conn: &mut PgConnection, id: VenueId) -> sqlx::Result<bool> {
    Ok(sqlx::query_scalar!("select is_active from venues where id = $1", id.0)
        .fetch_optional(conn)
        .await?
        .unwrap_or(false))
}
