//! The register's SQL: who is booked, their flags and collectors, and the marks.

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use super::domain::AttendanceStatus;
use crate::ids::{ChildId, CollectorId, SessionId};

/// The session a register is for, if a trainer works it.
#[derive(Debug)]
pub struct RegisterSession {
    pub id: SessionId,
    pub activity: String,
    pub venue: String,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    /// Every child marked and every trainer out (see `complete_if_done`).
    pub completed: bool,
    /// A course for adults: its trainers record each learner's result.
    pub course: bool,
}

/// The session, if `trainer_id` holds a shift on it (now or worked); anyone else's is None.
pub async fn session_worked_by(
    conn: &mut PgConnection,
    trainer_id: i64,
    id: SessionId,
) -> sqlx::Result<Option<RegisterSession>> {
    sqlx::query_as!(
        RegisterSession,
        r#"select s.id as "id: SessionId", a.name as activity, v.name as venue, s.starts_at, s.ends_at,
                s.status = 'completed' as "completed!", a.audience <> 'children' as "course!"
         from sessions s
         join activities a on a.id = s.activity_id
         join venues v on v.id = s.venue_id
         where s.id = $1
           and exists (select 1 from shifts sh where sh.session_id = s.id and sh.trainer_id = $2
                       and sh.status in ('accepted', 'checked_in', 'checked_out'))"#,
        id.0,
        trainer_id,
    )
    .fetch_optional(conn)
    .await
}

#[derive(Debug)]
pub struct Booked {
    pub child_id: ChildId,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Option<Date>,
    pub photo_consent: bool,
    pub medical_notes: String,
    pub allergies: String,
    pub additional_needs: String,
    pub access_needs: String,
    pub dietary_needs: String,
    pub language_needs: String,
    pub other_needs: String,
    pub status: Option<AttendanceStatus>,
    pub collected_by: String,
    pub collection_note: String,
    pub flagged: bool,
    pub signed_out_at: Option<OffsetDateTime>,
}

/// Every child holding a place on the session, with the register's marks so far.
pub async fn booked(conn: &mut PgConnection, session_id: SessionId) -> sqlx::Result<Vec<Booked>> {
    sqlx::query_as!(
        Booked,
        r#"select c.id as "child_id: ChildId", c.first_name, c.last_name, c.date_of_birth, c.photo_consent,
                c.medical_notes, c.allergies, c.additional_needs, c.access_needs, c.dietary_needs,
                c.language_needs, c.other_needs, at.status as "status?: AttendanceStatus",
                coalesce(at.collected_by, '') as "collected_by!",
                coalesce(at.collection_note, '') as "collection_note!", coalesce(at.flagged, false) as "flagged!",
                at.signed_out_at as "signed_out_at?"
         from booking_participants p
         join bookings b on b.id = p.booking_id
         join children c on c.id = p.child_id
         left join attendance at on at.session_id = p.session_id and at.child_id = c.id
         where p.session_id = $1 and p.holds_place and b.status in ('approved', 'completed', 'pending', 'changes_requested')
         order by c.first_name, c.last_name"#,
        session_id.0,
    )
    .fetch_all(conn)
    .await
}

#[derive(Debug)]
pub struct Collector {
    pub id: CollectorId,
    pub child_id: ChildId,
    pub name: String,
    pub relationship: String,
}

pub async fn collectors(conn: &mut PgConnection, child_ids: &[ChildId]) -> sqlx::Result<Vec<Collector>> {
    let ids: Vec<i64> = child_ids.iter().map(|c| c.0).collect();
    sqlx::query_as!(
        Collector,
        r#"select id as "id: CollectorId", child_id as "child_id: ChildId", name, relationship
         from child_authorised_collectors
         where child_id = any($1) order by name"#,
        &ids,
    )
    .fetch_all(conn)
    .await
}

pub struct Mark {
    pub child_id: ChildId,
    pub status: AttendanceStatus,
    /// Who collected the child, if signed out; `authorised` when on the child's list.
    pub collected_by: Option<(String, bool)>,
    pub note: String,
}

/// Saves marks; a row's sign-in and sign-out times are set the first time only.
pub async fn save(
    conn: &mut PgConnection,
    session_id: SessionId,
    marked_by: i64,
    marks: &[Mark],
) -> sqlx::Result<()> {
    for mark in marks {
        let present = mark.status.is_present();
        let (collected_by, authorised) = mark.collected_by.clone().unwrap_or_default();
        let signed_out = mark.collected_by.is_some();
        sqlx::query!(
            "insert into attendance (session_id, child_id, status, signed_in_at, signed_out_at, collected_by,
                                     collector_authorised, collection_note, flagged, marked_by)
             values ($1, $2, $3, case when $4::boolean then now() end, case when $5::boolean then now() end, $6,
                     case when $5 then $7::boolean end, $8, $5 and not $7, $9)
             on conflict (session_id, child_id) do update set
                 status = excluded.status,
                 signed_in_at = coalesce(attendance.signed_in_at, excluded.signed_in_at),
                 signed_out_at = case when $5 then coalesce(attendance.signed_out_at, now()) end,
                 collected_by = excluded.collected_by,
                 collector_authorised = excluded.collector_authorised,
                 collection_note = excluded.collection_note,
                 flagged = excluded.flagged,
                 marked_by = excluded.marked_by",
            session_id.0,
            mark.child_id.0,
            mark.status as _,
            present,
            signed_out,
            &collected_by,
            authorised,
            &mark.note,
            marked_by,
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Completes the session once every booked child is marked and every trainer on it
/// has checked out. Returns whether it did.
pub async fn complete_if_done(conn: &mut PgConnection, session_id: SessionId) -> sqlx::Result<bool> {
    let done = sqlx::query_scalar!(
        r#"select not exists (select 1 from booking_participants p join bookings b on b.id = p.booking_id
                            left join attendance a on a.session_id = p.session_id and a.child_id = p.child_id
                            where p.session_id = $1 and p.holds_place and b.status = 'approved' and a.status is null)
            and not exists (select 1 from shifts where session_id = $1 and status in ('accepted', 'checked_in'))
            and exists (select 1 from shifts where session_id = $1 and status = 'checked_out') as "done!""#,
        session_id.0,
    )
    .fetch_one(&mut *conn)
    .await?;
    if done {
        sqlx::query!(
            "update sessions set status = 'completed' where id = $1 and status in ('scheduled', 'in_progress')",
            session_id.0,
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(done)
}
