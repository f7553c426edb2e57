//! The SQL of inquiries, their replies and provisional holds.

use sqlx::PgConnection;
use time::OffsetDateTime;

use super::domain::{HoldStatus, InquiryStatus, NewInquiry};
use crate::{
    ids::{ActivityId, BookingId, HoldId, InquiryId, SessionId},
    web::page::{PageRequest, paged},
};

pub async fn insert(conn: &mut PgConnection, new: &NewInquiry) -> sqlx::Result<InquiryId> {
    sqlx::query_scalar!(
        r#"insert into inquiries (name, email, phone, activity_id, group_size, preferred_dates, message)
           values ($1, $2, $3, $4, $5, $6, $7) returning id as "id: InquiryId""#,
        new.name,
        new.email.as_str(),
        new.phone,
        new.course.map(|c| c.0),
        new.group_size,
        new.preferred_dates,
        new.message,
    )
    .fetch_one(conn)
    .await
}

/// The courses the public may ask about: every active one, by name.
pub struct Course {
    pub id: ActivityId,
    pub name: String,
}

pub async fn courses(conn: &mut PgConnection) -> sqlx::Result<Vec<Course>> {
    sqlx::query_as!(
        Course,
        r#"select id as "id: ActivityId", name from activities where is_active order by name, id"#
    )
    .fetch_all(conn)
    .await
}

/// An inquiry as the office's list shows it.
pub struct Listed {
    pub id: InquiryId,
    pub name: String,
    pub email: String,
    pub course: Option<String>,
    pub group_size: i32,
    pub status: InquiryStatus,
    pub created_at: OffsetDateTime,
    pub places_held: i64,
}

/// One page of inquiries, newest first, of one status or all (`inquiries_created` or
/// `inquiries_status_created`).
pub async fn page(
    conn: &mut PgConnection,
    page: &PageRequest<OffsetDateTime>,
    status: Option<InquiryStatus>,
) -> sqlx::Result<Vec<Listed>> {
    paged!(
        conn,
        page,
        Listed,
        r#"select i.id as "id: InquiryId", i.name, i.email, a.name as "course?", i.group_size,
                i.status as "status: InquiryStatus", i.created_at,
                (select coalesce(sum(h.places), 0) from provisional_holds h
                 where h.inquiry_id = i.id and h.status = 'held' and h.expires_at > now()) as "places_held!"
         from inquiries i
         left join activities a on a.id = i.activity_id
         where ($3::text is null or i.status = $3)"#,
        "i.created_at",
        "i.id",
        status.map(InquiryStatus::as_str),
    )
}

pub struct Inquiry {
    pub id: InquiryId,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub activity_id: Option<ActivityId>,
    pub course: Option<String>,
    pub group_size: i32,
    pub preferred_dates: String,
    pub message: String,
    pub status: InquiryStatus,
    pub created_at: OffsetDateTime,
}

pub async fn find(conn: &mut PgConnection, id: InquiryId) -> sqlx::Result<Option<Inquiry>> {
    sqlx::query_as!(
        Inquiry,
        r#"select i.id as "id: InquiryId", i.name, i.email, i.phone, i.activity_id as "activity_id: ActivityId",
                a.name as "course?", i.group_size, i.preferred_dates, i.message,
                i.status as "status: InquiryStatus", i.created_at
         from inquiries i left join activities a on a.id = i.activity_id
         where i.id = $1"#,
        id.0,
    )
    .fetch_optional(conn)
    .await
}

/// The inquiry's status, locked for a change.
pub async fn lock_status(conn: &mut PgConnection, id: InquiryId) -> sqlx::Result<Option<InquiryStatus>> {
    sqlx::query_scalar!(
        r#"select status as "status: InquiryStatus" from inquiries where id = $1 for update"#,
        id.0
    )
    .fetch_optional(conn)
    .await
}

pub async fn set_status(
    conn: &mut PgConnection,
    id: InquiryId,
    to: InquiryStatus,
    by: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update inquiries set status = $2,
                answered_at = case when $2 = 'answered' then coalesce(answered_at, now()) else answered_at end,
                closed_at = case when $2 = 'closed' then now() else closed_at end,
                closed_by = case when $2 = 'closed' then $3 else closed_by end
         where id = $1",
        id.0,
        to.as_str(),
        by,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub struct Reply {
    pub author: Option<String>,
    pub body: String,
    pub created_at: OffsetDateTime,
}

pub async fn insert_reply(
    conn: &mut PgConnection,
    id: InquiryId,
    author: i64,
    body: &str,
    outbox_email_id: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into inquiry_replies (inquiry_id, author_id, body, outbox_email_id) values ($1, $2, $3, $4)",
        id.0,
        author,
        body,
        outbox_email_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The replies, oldest first (an inquiry has a few).
pub async fn replies(conn: &mut PgConnection, id: InquiryId) -> sqlx::Result<Vec<Reply>> {
    sqlx::query_as!(
        Reply,
        r#"select u.name as "author?", r.body, r.created_at
           from inquiry_replies r left join users u on u.id = r.author_id
           where r.inquiry_id = $1 order by r.id"#,
        id.0,
    )
    .fetch_all(conn)
    .await
}

// Provisional holds --------------------------------------------------------------------

/// A hold as the inquiry's and the session's pages list it.
pub struct Hold {
    pub id: HoldId,
    pub session_id: SessionId,
    pub inquiry_id: Option<InquiryId>,
    pub course: String,
    pub starts_at: OffsetDateTime,
    pub places: i32,
    pub held_for: String,
    pub expires_at: OffsetDateTime,
    pub status: HoldStatus,
    pub booking_id: Option<BookingId>,
}

impl Hold {
    /// Held and not yet expired: it counts against the session's capacity.
    pub fn counts(&self, now: OffsetDateTime) -> bool {
        self.status == HoldStatus::Held && self.expires_at > now
    }
}

/// The holds placed from an inquiry, newest first (an inquiry has a few).
pub async fn holds_of_inquiry(conn: &mut PgConnection, id: InquiryId) -> sqlx::Result<Vec<Hold>> {
    sqlx::query_as!(
        Hold,
        r#"select h.id as "id: HoldId", h.session_id as "session_id: SessionId",
                h.inquiry_id as "inquiry_id: InquiryId", a.name as course, s.starts_at, h.places, h.held_for,
                h.expires_at, h.status as "status: HoldStatus", h.booking_id as "booking_id: BookingId"
           from provisional_holds h
           join sessions s on s.id = h.session_id
           join activities a on a.id = s.activity_id
           where h.inquiry_id = $1 order by h.id desc"#,
        id.0,
    )
    .fetch_all(conn)
    .await
}

/// The holds on a session that still count (`provisional_holds_session`).
pub async fn holds_on_session(conn: &mut PgConnection, id: SessionId) -> sqlx::Result<Vec<Hold>> {
    sqlx::query_as!(
        Hold,
        r#"select h.id as "id: HoldId", h.session_id as "session_id: SessionId",
                h.inquiry_id as "inquiry_id: InquiryId", a.name as course, s.starts_at, h.places, h.held_for,
                h.expires_at, h.status as "status: HoldStatus", h.booking_id as "booking_id: BookingId"
           from provisional_holds h
           join sessions s on s.id = h.session_id
           join activities a on a.id = s.activity_id
           where h.session_id = $1 and h.status = 'held' and h.expires_at > now() order by h.expires_at, h.id"#,
        id.0,
    )
    .fetch_all(conn)
    .await
}

/// Inserts a hold; the `provisional_holds_fit` trigger refuses one that does not fit
/// (`provisional_holds_within_capacity`).
pub async fn insert_hold(
    conn: &mut PgConnection,
    session: SessionId,
    inquiry: Option<InquiryId>,
    places: i32,
    lasts: time::Duration,
    held_for: &str,
    by: i64,
) -> sqlx::Result<HoldId> {
    sqlx::query_scalar!(
        r#"insert into provisional_holds (session_id, inquiry_id, places, expires_at, held_for, created_by)
           values ($1, $2, $3, now() + $4::bigint * interval '1 second', $5, $6) returning id as "id: HoldId""#,
        session.0,
        inquiry.map(|i| i.0),
        places,
        lasts.whole_seconds(),
        held_for,
        by,
    )
    .fetch_one(conn)
    .await
}

/// The hold, locked for a change; `None` when there is no such hold.
pub async fn lock_hold(conn: &mut PgConnection, id: HoldId) -> sqlx::Result<Option<Hold>> {
    sqlx::query_as!(
        Hold,
        r#"select h.id as "id: HoldId", h.session_id as "session_id: SessionId",
                h.inquiry_id as "inquiry_id: InquiryId", a.name as course, s.starts_at, h.places, h.held_for,
                h.expires_at, h.status as "status: HoldStatus", h.booking_id as "booking_id: BookingId"
           from provisional_holds h
           join sessions s on s.id = h.session_id
           join activities a on a.id = s.activity_id
           where h.id = $1
           for update of h"#,
        id.0,
    )
    .fetch_optional(conn)
    .await
}

/// Ends a held hold as `to` (released, converted or lapsed).
pub async fn end_hold(
    conn: &mut PgConnection,
    id: HoldId,
    to: HoldStatus,
    by: Option<i64>,
    booking: Option<BookingId>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update provisional_holds set status = $2, ended_at = now(), ended_by = $3, booking_id = $4
         where id = $1 and status = 'held'",
        id.0,
        to.as_str(),
        by,
        booking.map(|b| b.0),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the booking a converted hold became.
pub async fn end_hold_booking(conn: &mut PgConnection, id: HoldId, booking: BookingId) -> sqlx::Result<()> {
    sqlx::query!("update provisional_holds set booking_id = $2 where id = $1", id.0, booking.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks every expired hold `lapsed` (they already stopped counting when they
/// expired), skipping any another process is changing; returns what it marked.
pub async fn lapse_expired(conn: &mut PgConnection) -> sqlx::Result<Vec<(HoldId, SessionId, i32)>> {
    let rows = sqlx::query!(
        r#"update provisional_holds h set status = 'lapsed', ended_at = now()
           where h.id in (select id from provisional_holds
                          where status = 'held' and expires_at <= now()
                          order by expires_at limit 500 for update skip locked)
           returning h.id as "id: HoldId", h.session_id as "session_id: SessionId", h.places"#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.session_id, r.places)).collect())
}

/// The dates a hold from an inquiry may be placed on: the course's bookable sessions
/// (or every course's, for "any"), soonest first, at most 100.
pub struct HoldChoice {
    pub id: SessionId,
    pub course: String,
    pub venue: String,
    pub starts_at: OffsetDateTime,
    pub places_left: i32,
}

pub async fn hold_choices(
    conn: &mut PgConnection,
    course: Option<ActivityId>,
) -> sqlx::Result<Vec<HoldChoice>> {
    sqlx::query_as!(
        HoldChoice,
        r#"select c.id as "id!: SessionId", c.course as "course!", c.venue as "venue!", c.starts_at as "starts_at!",
                c.places_left as "places_left!"
           from public_course_sessions c
           where ($1::bigint is null or c.activity_id = $1)
           order by c.starts_at, c.id limit 100"#,
        course.map(|c| c.0),
    )
    .fetch_all(conn)
    .await
}

/// Whether places may be held on the session now: scheduled and not started. `None`
/// when there is no such session.
pub async fn session_holdable(conn: &mut PgConnection, id: SessionId) -> sqlx::Result<Option<bool>> {
    sqlx::query_scalar!(
        r#"select (status = 'scheduled' and starts_at > now()) as "holdable!" from sessions where id = $1"#,
        id.0
    )
    .fetch_optional(conn)
    .await
}
