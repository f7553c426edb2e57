//! The SQL of a trainer's shifts. Overlaps and time off are refused by the database
//! (`shifts_no_overlap_per_trainer`, `shifts_not_in_time_off`); this module turns
//! those refusals into outcomes the pages can explain.

use sqlx::{PgConnection, types::Json};
use time::OffsetDateTime;

use super::domain::{ShiftRole, ShiftStatus};
use crate::{
    db::OnConstraint,
    ids::{SessionId, ShiftId},
};

/// Also read as JSON, among the trainer dashboard's panels (`db::json`).
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Shift {
    pub id: ShiftId,
    pub session_id: SessionId,
    pub role: ShiftRole,
    pub status: ShiftStatus,
    pub activity: String,
    pub venue: String,
    pub address: String,
    pub postcode: String,
    #[serde(with = "crate::db::json::timestamp")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "crate::db::json::timestamp")]
    pub ends_at: OffsetDateTime,
    pub places_taken: i32,
    pub capacity: i32,
    #[serde(with = "crate::db::json::timestamp::option")]
    pub checked_in_at: Option<OffsetDateTime>,
    #[serde(with = "crate::db::json::timestamp::option")]
    pub checked_out_at: Option<OffsetDateTime>,
    pub late_minutes: Option<i32>,
    pub session_cancelled: bool,
}

/// The trainer's shifts in a window, and their calendar feed's token if they have one.
pub struct Window {
    pub shifts: Json<Vec<Shift>>,
    pub feed_token: Option<String>,
}

/// Shifts the trainer holds or has been offered, starting in [from, until), with the
/// trainer's calendar feed token in the same round trip (`db::json`). They are found by
/// their start (`shifts_trainer_starts`; `lower(during)` is the session's start, kept in
/// step by trigger), not by reading every shift the trainer ever had.
pub async fn for_trainer(
    conn: &mut PgConnection,
    trainer_id: i64,
    from: OffsetDateTime,
    until: OffsetDateTime,
) -> sqlx::Result<Window> {
    sqlx::query_as!(
        Window,
        r#"select coalesce((select json_agg(x order by x.starts_at, x.id) from (
                 select sh.id, sh.session_id, sh.role, sh.status, a.name as activity, v.name as venue, v.address,
                        v.postcode, s.starts_at, s.ends_at, s.places_taken, s.capacity, sh.checked_in_at,
                        sh.checked_out_at, sh.late_minutes, s.status = 'cancelled' as session_cancelled
                 from shifts sh
                 join sessions s on s.id = sh.session_id
                 join activities a on a.id = s.activity_id
                 join venues v on v.id = s.venue_id
                 where sh.trainer_id = $1
                   and sh.status in ('offered', 'accepted', 'checked_in', 'checked_out', 'no_show')
                   and lower(sh.during) >= $2 and lower(sh.during) < $3
                   and s.starts_at >= $2 and s.starts_at < $3) x), '[]') as "shifts!: Json<Vec<Shift>>",
                  (select token from calendar_feeds where user_id = $1) as "feed_token?""#,
        trainer_id,
        from,
        until,
    )
    .fetch_one(conn)
    .await
}

/// One of the trainer's own shifts (held, offered or done); anyone else's is None.
pub async fn own(conn: &mut PgConnection, trainer_id: i64, shift_id: ShiftId) -> sqlx::Result<Option<Shift>> {
    sqlx::query_as!(
        Shift,
        r#"select sh.id as "id: ShiftId", sh.session_id as "session_id: SessionId", sh.role as "role: ShiftRole",
                sh.status as "status: ShiftStatus", a.name as activity, v.name as venue, v.address, v.postcode,
                s.starts_at, s.ends_at, s.places_taken, s.capacity, sh.checked_in_at, sh.checked_out_at,
                sh.late_minutes, s.status = 'cancelled' as "session_cancelled!"
         from shifts sh
         join sessions s on s.id = sh.session_id
         join activities a on a.id = s.activity_id
         join venues v on v.id = s.venue_id
         where sh.id = $1 and sh.trainer_id = $2"#,
        shift_id.0,
        trainer_id,
    )
    .fetch_optional(conn)
    .await
}

/// Open shifts this trainer may take: qualified for the activity on the day (see
/// `trainer_qualified` in the migrations), free at that time, not on approved time
/// off, and not started. `tz` is the provider's zone, which dates the day.
pub async fn open_for(conn: &mut PgConnection, trainer_id: i64, tz: &str) -> sqlx::Result<Vec<Shift>> {
    sqlx::query_as!(
        Shift,
        r#"select sh.id as "id: ShiftId", sh.session_id as "session_id: SessionId", sh.role as "role: ShiftRole",
                sh.status as "status: ShiftStatus", a.name as activity, v.name as venue, v.address, v.postcode,
                s.starts_at, s.ends_at, s.places_taken, s.capacity, sh.checked_in_at, sh.checked_out_at,
                sh.late_minutes, s.status = 'cancelled' as "session_cancelled!"
         from shifts sh
         join sessions s on s.id = sh.session_id
         join activities a on a.id = s.activity_id
         join venues v on v.id = s.venue_id
         where sh.status = 'open' and s.status = 'scheduled' and s.starts_at > now()
           and trainer_qualified($1, s.activity_id, (s.starts_at at time zone $2)::date)
           and not exists (select 1 from shifts mine where mine.trainer_id = $1
                           and mine.status in ('accepted', 'checked_in', 'checked_out') and mine.during && sh.during)
           and not exists (select 1 from time_off_requests t where t.trainer_id = $1
                           and t.status = 'approved' and t.during && sh.during)
         order by s.starts_at, sh.id"#,
        trainer_id,
        tz,
    )
    .fetch_all(conn)
    .await
}

#[derive(Debug, PartialEq, Eq)]
pub enum Take {
    Taken,
    /// Someone else was first, or it is no longer open to this trainer.
    Gone,
    Overlaps,
    OnTimeOff,
}

/// Takes an open shift, or accepts one offered to this trainer. The `where` clause
/// makes the first request win: a second finds the row no longer open.
pub async fn take(
    conn: &mut PgConnection,
    trainer_id: i64,
    shift_id: ShiftId,
    tz: &str,
) -> sqlx::Result<Take> {
    let result = sqlx::query!(
        "update shifts sh set trainer_id = $1, status = 'accepted'
         from sessions s
         where sh.id = $2 and s.id = sh.session_id and s.status = 'scheduled' and s.starts_at > now()
           and ((sh.status = 'open' and trainer_qualified($1, s.activity_id, (s.starts_at at time zone $3)::date))
                or (sh.status = 'offered' and sh.trainer_id = $1))",
        trainer_id,
        shift_id.0,
        tz,
    )
    .execute(conn)
    .await
    .on_constraint(|name| match name {
        "shifts_no_overlap_per_trainer" => Some(Take::Overlaps),
        "shifts_not_in_time_off" => Some(Take::OnTimeOff),
        _ => None,
    })?;
    Ok(match result {
        Ok(done) if done.rows_affected() == 1 => Take::Taken,
        Ok(_) => Take::Gone,
        Err(refused) => refused,
    })
}

/// Declines an offer: the shift goes back to being open for others.
pub async fn decline(
    conn: &mut PgConnection,
    trainer_id: i64,
    shift_id: ShiftId,
    reason: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update shifts set status = 'open', trainer_id = null, decline_reason = $3
         where id = $1 and trainer_id = $2 and status = 'offered'",
        shift_id.0,
        trainer_id,
        reason,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug)]
pub struct Teammate {
    pub name: String,
    pub role: ShiftRole,
    pub status: ShiftStatus,
}

/// The other trainers on the session.
pub async fn team(
    conn: &mut PgConnection,
    session_id: SessionId,
    except_shift: ShiftId,
) -> sqlx::Result<Vec<Teammate>> {
    sqlx::query_as!(
        Teammate,
        r#"select coalesce(u.name, 'Open shift') as "name!", sh.role as "role: ShiftRole",
                sh.status as "status: ShiftStatus"
         from shifts sh left join users u on u.id = sh.trainer_id
         where sh.session_id = $1 and sh.id <> $2 and sh.status not in ('cancelled', 'declined')
         order by sh.role, u.name"#,
        session_id.0,
        except_shift.0,
    )
    .fetch_all(conn)
    .await
}

/// Whether the trainer works this session (holds a shift on it, now or done).
pub async fn works_session(
    conn: &mut PgConnection,
    trainer_id: i64,
    session_id: SessionId,
) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from shifts where session_id = $1 and trainer_id = $2
                       and status in ('accepted', 'checked_in', 'checked_out')) as "works!""#,
        session_id.0,
        trainer_id,
    )
    .fetch_one(conn)
    .await
}

#[derive(Debug, PartialEq, Eq)]
pub enum CheckIn {
    /// Checked in; minutes after the start (0 when on time or early).
    Done { late_minutes: i32 },
    /// Check-in opens an hour before the start and closes at the end.
    OutsideWindow,
    /// Not this trainer's accepted shift (or already checked in).
    NotAllowed,
}

pub async fn check_in(
    conn: &mut PgConnection,
    trainer_id: i64,
    shift_id: ShiftId,
    location: Option<(f64, f64)>,
) -> sqlx::Result<CheckIn> {
    let window = sqlx::query_scalar!(
        r#"select now() between s.starts_at - interval '1 hour' and s.ends_at as "in_window!"
         from shifts sh join sessions s on s.id = sh.session_id
         where sh.id = $1 and sh.trainer_id = $2 and sh.status = 'accepted' for update of sh"#,
        shift_id.0,
        trainer_id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    match window {
        None => return Ok(CheckIn::NotAllowed),
        Some(false) => return Ok(CheckIn::OutsideWindow),
        Some(true) => {}
    }
    let late_minutes = sqlx::query_scalar!(
        r#"update shifts sh set status = 'checked_in', checked_in_at = now(),
                late_minutes = greatest(0, floor(extract(epoch from now() - s.starts_at) / 60))::int,
                check_in_latitude = $3::float8::numeric(9, 6), check_in_longitude = $4::float8::numeric(9, 6)
         from sessions s
         where sh.id = $1 and s.id = sh.session_id and sh.trainer_id = $2
         returning sh.late_minutes as "late_minutes!""#,
        shift_id.0,
        trainer_id,
        location.map(|l| l.0),
        location.map(|l| l.1),
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(CheckIn::Done { late_minutes })
}

/// Checks out of a checked-in shift; returns the worked interval.
pub async fn check_out(
    conn: &mut PgConnection,
    trainer_id: i64,
    shift_id: ShiftId,
) -> sqlx::Result<Option<(SessionId, OffsetDateTime, OffsetDateTime)>> {
    let row = sqlx::query!(
        r#"update shifts set status = 'checked_out', checked_out_at = greatest(now(), checked_in_at + interval '1 second')
         where id = $1 and trainer_id = $2 and status = 'checked_in'
         returning session_id as "session_id: SessionId", checked_in_at as "checked_in_at!",
                   checked_out_at as "checked_out_at!""#,
        shift_id.0,
        trainer_id,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.session_id, r.checked_in_at, r.checked_out_at)))
}
