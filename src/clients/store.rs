//! The SQL for clients and the trainers assigned to them.

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use crate::{
    ids::{ShiftId, UserId},
    shifts::domain::ShiftStatus,
    web::page::{PageRequest, paged},
};

#[derive(Clone, Debug)]
pub struct ClientRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub children: String,
    pub trainer_id: Option<i64>,
    pub trainer: Option<String>,
}

/// One page of the parents whose name or email contains `search`, by name.
pub async fn clients(
    conn: &mut PgConnection,
    search: &str,
    page: &PageRequest<String>,
) -> sqlx::Result<Vec<ClientRow>> {
    paged!(
        conn,
        page,
        ClientRow,
        r#"select u.id, u.name, u.email,
                  coalesce((select string_agg(c.first_name, ', ' order by c.first_name) from children c
                            where c.parent_id = u.id and c.archived_at is null), '') as "children!",
                  ca.trainer_id as "trainer_id?", t.name as "trainer?"
           from users u
           left join client_assignments ca on ca.parent_id = u.id and ca.ended_at is null
           left join users t on t.id = ca.trainer_id
           where u.role = 'parent'
             and ($3 = '' or u.name ilike '%' || $3 || '%' or u.email ilike '%' || $3 || '%')"#,
        "u.name",
        "u.id",
        search,
    )
}

/// How many parents [`clients`] finds over every page.
pub async fn count_clients(conn: &mut PgConnection, search: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from users u where u.role = 'parent'
             and ($1 = '' or u.name ilike '%' || $1 || '%' or u.email ilike '%' || $1 || '%')"#,
        search
    )
    .fetch_one(conn)
    .await
}

pub async fn client(conn: &mut PgConnection, id: UserId) -> sqlx::Result<Option<ClientRow>> {
    sqlx::query_as!(
        ClientRow,
        r#"select u.id, u.name, u.email,
                  coalesce((select string_agg(c.first_name, ', ' order by c.first_name) from children c
                            where c.parent_id = u.id and c.archived_at is null), '') as "children!",
                  ca.trainer_id as "trainer_id?", t.name as "trainer?"
           from users u
           left join client_assignments ca on ca.parent_id = u.id and ca.ended_at is null
           left join users t on t.id = ca.trainer_id
           where u.id = $1 and u.role = 'parent'"#,
        id.0
    )
    .fetch_optional(conn)
    .await
}

/// As `client`, locked for the rest of the transaction.
pub async fn client_locked(conn: &mut PgConnection, id: UserId) -> sqlx::Result<Option<ClientRow>> {
    sqlx::query_as!(
        ClientRow,
        r#"select u.id, u.name, u.email,
                  coalesce((select string_agg(c.first_name, ', ' order by c.first_name) from children c
                            where c.parent_id = u.id and c.archived_at is null), '') as "children!",
                  ca.trainer_id as "trainer_id?", t.name as "trainer?"
           from users u
           left join client_assignments ca on ca.parent_id = u.id and ca.ended_at is null
           left join users t on t.id = ca.trainer_id
           where u.id = $1 and u.role = 'parent' for update of u"#,
        id.0
    )
    .fetch_optional(conn)
    .await
}

#[derive(Clone, Debug)]
pub struct AssignmentRow {
    pub id: i64,
    pub trainer: String,
    pub assigned_at: OffsetDateTime,
    pub ended_at: Option<OffsetDateTime>,
    pub assigned_by: Option<String>,
    pub reason: String,
}

/// One page of a client's assignments, newest first (`client_assignments_parent_assigned`,
/// 0036_admin_lists.sql).
pub async fn history(
    conn: &mut PgConnection,
    parent_id: UserId,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<AssignmentRow>> {
    paged!(
        conn,
        page,
        AssignmentRow,
        r#"select ca.id, t.name as trainer, ca.assigned_at, ca.ended_at, b.name as "assigned_by?", ca.reason
           from client_assignments ca
           join users t on t.id = ca.trainer_id
           left join users b on b.id = ca.assigned_by
           where ca.parent_id = $3"#,
        "ca.assigned_at",
        "ca.id",
        parent_id.0
    )
}

#[derive(Clone, Debug)]
pub struct TrainerChoice {
    pub id: i64,
    pub name: String,
}

pub async fn active_trainers(conn: &mut PgConnection) -> sqlx::Result<Vec<TrainerChoice>> {
    sqlx::query_as!(
        TrainerChoice,
        "select u.id, u.name from users u join trainer_profiles t on t.user_id = u.id
         where u.is_active order by u.name"
    )
    .fetch_all(conn)
    .await
}

pub async fn is_active_trainer(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!(
        "select u.name from users u join trainer_profiles t on t.user_id = u.id where u.id = $1 and u.is_active",
        id
    )
    .fetch_optional(conn)
    .await
}

/// Ends the client's current assignment, if any, and starts one with `trainer_id`.
pub async fn assign(
    conn: &mut PgConnection,
    parent_id: UserId,
    trainer_id: i64,
    by: i64,
    reason: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update client_assignments set ended_at = now() where parent_id = $1 and ended_at is null",
        parent_id.0
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into client_assignments (parent_id, trainer_id, assigned_by, reason) values ($1, $2, $3, $4)",
        parent_id.0,
        trainer_id,
        by,
        reason
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Clone, Debug)]
pub struct FutureShift {
    pub shift_id: ShiftId,
    pub status: ShiftStatus,
    pub activity: String,
    pub starts_at: OffsetDateTime,
}

/// The shifts `trainer_id` holds or is offered on future scheduled sessions that the
/// client's children hold places on, locked, in time order.
pub async fn shifts_for_client(
    conn: &mut PgConnection,
    parent_id: UserId,
    trainer_id: i64,
) -> sqlx::Result<Vec<FutureShift>> {
    sqlx::query_as!(
        FutureShift,
        r#"select sh.id as "shift_id: ShiftId", sh.status as "status: ShiftStatus", a.name as activity, s.starts_at
           from shifts sh
           join sessions s on s.id = sh.session_id
           join activities a on a.id = s.activity_id
           where sh.trainer_id = $2 and sh.status in ('offered', 'accepted')
             and s.status = 'scheduled' and s.starts_at > now()
             and exists (select 1 from booking_participants bp
                         join children c on c.id = bp.child_id
                         where bp.session_id = s.id and bp.holds_place and c.parent_id = $1)
           order by s.starts_at, sh.id
           for update of sh"#,
        parent_id.0,
        trainer_id
    )
    .fetch_all(conn)
    .await
}

/// Moves a shift to `trainer_id` if they are qualified for its activity on the
/// session's day in `tz` (see `trainer_qualified` in the migrations); false if not.
/// The database still refuses an overlapping shift or approved time off.
pub async fn move_shift_if_qualified(
    conn: &mut PgConnection,
    shift_id: ShiftId,
    trainer_id: i64,
    tz: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update shifts sh set trainer_id = $2, assignment_note = ''
         from sessions s
         where sh.id = $1 and s.id = sh.session_id
           and trainer_qualified($2, s.activity_id, (s.starts_at at time zone $3)::date)",
        shift_id.0,
        trainer_id,
        tz
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Why a trainer is not qualified for a shift: the same two tests as
/// `trainer_qualified`, spelled out.
#[derive(Clone, Debug)]
pub struct QualificationGaps {
    /// The session's day in the provider's zone, the day qualifications must last to.
    pub day: Date,
    /// Linked to the activity in activity_trainers.
    pub approved: bool,
    /// Required qualifications the trainer does not hold at all.
    pub missing: Vec<String>,
    /// Required qualifications the trainer holds, but none in date on the day.
    pub expired: Vec<String>,
}

pub async fn qualification_gaps(
    conn: &mut PgConnection,
    shift_id: ShiftId,
    trainer_id: i64,
    tz: &str,
) -> sqlx::Result<QualificationGaps> {
    sqlx::query_as!(
        QualificationGaps,
        r#"select d.day as "day!",
                  exists (select 1 from activity_trainers at
                          where at.activity_id = s.activity_id and at.trainer_id = $2) as "approved!",
                  array(select q.name from activity_required_qualifications q
                        where q.activity_id = s.activity_id
                          and not exists (select 1 from trainer_qualifications tq
                                          where tq.trainer_id = $2 and lower(tq.name) = lower(q.name))
                        order by q.name) as "missing!",
                  array(select q.name from activity_required_qualifications q
                        where q.activity_id = s.activity_id
                          and exists (select 1 from trainer_qualifications tq
                                      where tq.trainer_id = $2 and lower(tq.name) = lower(q.name))
                          and not exists (select 1 from trainer_qualifications tq
                                          where tq.trainer_id = $2 and lower(tq.name) = lower(q.name)
                                            and (tq.expires_on is null or tq.expires_on >= d.day))
                        order by q.name) as "expired!"
           from shifts sh
           join sessions s on s.id = sh.session_id
           cross join lateral (select (s.starts_at at time zone $3)::date as day) d
           where sh.id = $1"#,
        shift_id.0,
        trainer_id,
        tz
    )
    .fetch_one(conn)
    .await
}

#[derive(Clone, Debug)]
pub struct TrainerClient {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub assigned_at: OffsetDateTime,
}

/// One page of the clients currently assigned to a trainer, by name (a trainer's
/// current assignments are few, read through `client_assignments_trainer`).
pub async fn clients_of(
    conn: &mut PgConnection,
    trainer_id: i64,
    page: &PageRequest<String>,
) -> sqlx::Result<Vec<TrainerClient>> {
    paged!(
        conn,
        page,
        TrainerClient,
        "select u.id, u.name, u.email, ca.assigned_at
         from client_assignments ca join users u on u.id = ca.parent_id
         where ca.trainer_id = $3 and ca.ended_at is null",
        "u.name",
        "u.id",
        trainer_id
    )
}

pub async fn email_of(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!("select email from users where id = $1", user_id).fetch_optional(conn).await
}
