//! The SQL for trainers as the office sees them, their applications and time off.

use crate::{
    availability::domain::{TimeOffKind, TimeOffStatus},
    families::store::EMAIL_TAKEN_CONSTRAINT,
    ids::{ApplicationId, QualificationId, TimeOffRequestId, TrainerContactId, TrainerId, UserId},
    web::page::{PageRequest, paged},
};
use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use super::domain::{ApplicationStatus, Contact, Person, Profile, Qualification};

/// The constraint a new account's email breaks when another account has it.
pub const EMAIL_TAKEN: &str = EMAIL_TAKEN_CONSTRAINT;

#[derive(Clone, Debug)]
pub struct TrainerLine {
    pub id: TrainerId,
    pub name: String,
    pub email: String,
    pub is_active: bool,
    pub activities: String,
    pub next_expiry: Option<Date>,
    /// Where the trainer sorts (the list's cursor).
    pub sort_key: String,
}

/// One page of the trainers whose name or email contains `text`: active trainers first,
/// then by name, as one text key (`sort_key`) so a cursor can hold it.
pub async fn search(
    conn: &mut PgConnection,
    text: Option<&str>,
    page: &PageRequest<String>,
) -> sqlx::Result<Vec<TrainerLine>> {
    paged!(
        conn,
        page,
        TrainerLine,
        r#"select u.id as "id: TrainerId", u.name, u.email, u.is_active,
                  ((case when u.is_active then '0' else '1' end) || u.name) as "sort_key!",
                  coalesce((select string_agg(a.name, ', ' order by a.name) from activity_trainers at
                            join activities a on a.id = at.activity_id where at.trainer_id = u.id), '')
                      as "activities!",
                  (select min(q.expires_on) from trainer_qualifications q where q.trainer_id = u.id) as next_expiry
           from users u join trainer_profiles t on t.user_id = u.id
           where ($3::text is null or u.name ilike '%' || $3 || '%' or u.email ilike '%' || $3 || '%')"#,
        "((case when u.is_active then '0' else '1' end) || u.name)",
        "u.id",
        text,
    )
}

/// How many trainers [`search`] finds over every page.
pub async fn count(conn: &mut PgConnection, text: Option<&str>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from users u join trainer_profiles t on t.user_id = u.id
           where $1::text is null or u.name ilike '%' || $1 || '%' or u.email ilike '%' || $1 || '%'"#,
        text
    )
    .fetch_one(conn)
    .await
}

#[derive(Clone, Debug)]
pub struct TrainerRow {
    pub id: TrainerId,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub is_active: bool,
    pub bio: String,
    pub hourly_rate_pence: i32,
    pub can_travel: bool,
    pub max_travel_miles: Option<i32>,
}

pub async fn find(conn: &mut PgConnection, id: TrainerId) -> sqlx::Result<Option<TrainerRow>> {
    sqlx::query_as!(
        TrainerRow,
        r#"select u.id as "id: TrainerId", u.name, u.email, u.phone, u.is_active, t.bio, t.hourly_rate_pence,
                  t.can_travel, t.max_travel_miles
           from users u join trainer_profiles t on t.user_id = u.id where u.id = $1"#,
        id.0
    )
    .fetch_optional(conn)
    .await
}

pub async fn activity_ids(
    conn: &mut PgConnection,
    id: TrainerId,
) -> sqlx::Result<Vec<crate::ids::ActivityId>> {
    sqlx::query_scalar!(
        r#"select activity_id as "activity_id: crate::ids::ActivityId" from activity_trainers
           where trainer_id = $1 order by activity_id"#,
        id.0
    )
    .fetch_all(conn)
    .await
}

pub async fn update_profile(conn: &mut PgConnection, id: TrainerId, p: &Profile) -> sqlx::Result<()> {
    let activities: Vec<i64> = p.activities.iter().map(|a| a.0).collect();
    sqlx::query!(
        "update trainer_profiles set bio = $2, hourly_rate_pence = $3, can_travel = $4, max_travel_miles = $5
         where user_id = $1",
        id.0,
        p.bio,
        p.hourly_rate.pence(),
        p.can_travel,
        p.max_travel_miles
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "delete from activity_trainers where trainer_id = $1 and not (activity_id = any($2))",
        id.0,
        &activities
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into activity_trainers (activity_id, trainer_id)
         select a.id, $1 from activities a where a.id = any($2) on conflict do nothing",
        id.0,
        &activities
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Clone, Debug)]
pub struct QualificationRow {
    pub id: QualificationId,
    pub name: String,
    pub reference: String,
    pub expires_on: Option<Date>,
}

pub async fn qualifications(conn: &mut PgConnection, id: TrainerId) -> sqlx::Result<Vec<QualificationRow>> {
    sqlx::query_as!(
        QualificationRow,
        r#"select id as "id: QualificationId", name, reference, expires_on from trainer_qualifications
           where trainer_id = $1
           order by expires_on nulls last, name"#,
        id.0
    )
    .fetch_all(conn)
    .await
}

pub async fn add_qualification(
    conn: &mut PgConnection,
    id: TrainerId,
    q: &Qualification,
) -> sqlx::Result<QualificationId> {
    sqlx::query_scalar!(
        r#"insert into trainer_qualifications (trainer_id, name, reference, expires_on) values ($1, $2, $3, $4)
           returning id as "id: QualificationId""#,
        id.0,
        q.name,
        q.reference,
        q.expires_on
    )
    .fetch_one(conn)
    .await
}

pub async fn remove_qualification(
    conn: &mut PgConnection,
    id: TrainerId,
    qualification_id: QualificationId,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "delete from trainer_qualifications where id = $2 and trainer_id = $1",
        id.0,
        qualification_id.0
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Clone, Debug)]
pub struct ContactRow {
    pub id: TrainerContactId,
    pub name: String,
    pub relationship: String,
    pub phone: String,
}

pub async fn contacts(conn: &mut PgConnection, id: TrainerId) -> sqlx::Result<Vec<ContactRow>> {
    sqlx::query_as!(
        ContactRow,
        r#"select id as "id: TrainerContactId", name, relationship, phone from trainer_emergency_contacts
           where trainer_id = $1 order by id"#,
        id.0
    )
    .fetch_all(conn)
    .await
}

pub async fn add_contact(
    conn: &mut PgConnection,
    id: TrainerId,
    c: &Contact,
) -> sqlx::Result<TrainerContactId> {
    sqlx::query_scalar!(
        r#"insert into trainer_emergency_contacts (trainer_id, name, relationship, phone) values ($1, $2, $3, $4)
           returning id as "id: TrainerContactId""#,
        id.0,
        c.name.as_str(),
        c.relationship,
        c.phone.as_str()
    )
    .fetch_one(conn)
    .await
}

pub async fn remove_contact(
    conn: &mut PgConnection,
    id: TrainerId,
    contact_id: TrainerContactId,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "delete from trainer_emergency_contacts where id = $2 and trainer_id = $1",
        id.0,
        contact_id.0
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Clone, Debug)]
pub struct NoteRow {
    pub id: i64,
    pub body: String,
    pub author: Option<String>,
    pub created_at: OffsetDateTime,
}

/// One page of the trainer's internal notes, newest first.
pub async fn notes(
    conn: &mut PgConnection,
    id: TrainerId,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<NoteRow>> {
    paged!(
        conn,
        page,
        NoteRow,
        r#"select n.id, n.body, u.name as "author?", n.created_at
           from trainer_notes n left join users u on u.id = n.author_id
           where n.trainer_id = $3"#,
        "n.created_at",
        "n.id",
        id.0,
    )
}

pub async fn add_note(
    conn: &mut PgConnection,
    id: TrainerId,
    author_id: UserId,
    body: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "insert into trainer_notes (trainer_id, author_id, body) values ($1, $2, $3) returning id",
        id.0,
        author_id.0,
        body
    )
    .fetch_one(conn)
    .await
}

/// Deactivates the trainer's account and turns their future shifts into open shifts.
/// Returns how many shifts were opened.
pub async fn deactivate(conn: &mut PgConnection, id: TrainerId) -> sqlx::Result<u64> {
    sqlx::query!("update users set is_active = false where id = $1 and role = 'trainer'", id.0)
        .execute(&mut *conn)
        .await?;
    let opened = sqlx::query!(
        "update shifts sh set status = 'open', trainer_id = null, assignment_note = ''
         from sessions s
         where s.id = sh.session_id and sh.trainer_id = $1 and s.starts_at > now()
           and sh.status in ('offered', 'accepted')",
        id.0
    )
    .execute(conn)
    .await?;
    Ok(opened.rows_affected())
}

pub async fn reactivate(conn: &mut PgConnection, id: TrainerId) -> sqlx::Result<()> {
    sqlx::query!("update users set is_active = true where id = $1 and role = 'trainer'", id.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// Inserts an active trainer with a profile; fails with `users_email_key` when taken.
pub async fn insert_trainer(
    conn: &mut PgConnection,
    person: &Person,
    password_hash: &str,
) -> sqlx::Result<TrainerId> {
    let id = sqlx::query_scalar!(
        r#"insert into users (email, name, phone, role, password_hash) values ($1, $2, $3, 'trainer', $4)
           returning id as "id: TrainerId""#,
        person.email.as_str(),
        person.name.as_str(),
        person.phone.as_ref().map(|p| p.as_str()),
        password_hash
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!("insert into trainer_profiles (user_id, bio) values ($1, $2)", id.0, person.experience)
        .execute(conn)
        .await?;
    Ok(id)
}

// Applications ----------------------------------------------------------------------------

pub async fn insert_application(conn: &mut PgConnection, person: &Person) -> sqlx::Result<ApplicationId> {
    sqlx::query_scalar!(
        r#"insert into trainer_applications (name, email, phone, experience, qualifications)
           values ($1, $2, $3, $4, $5) returning id as "id: ApplicationId""#,
        person.name.as_str(),
        person.email.as_str(),
        person.phone.as_ref().map_or("", |p| p.as_str()),
        person.experience,
        person.qualifications
    )
    .fetch_one(conn)
    .await
}

#[derive(Clone, Debug)]
pub struct ApplicationRow {
    pub id: ApplicationId,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub experience: String,
    pub qualifications: String,
    pub status: ApplicationStatus,
    pub decision_reason: String,
    pub user_id: Option<TrainerId>,
    pub created_at: OffsetDateTime,
    /// The first earlier application with the same email, or the same name and phone:
    /// a form sent twice, or by a script. Only the office's list reads it.
    pub duplicate_of: Option<i64>,
}

/// One page of the pending applications, oldest first. Phones compare by their digits,
/// names without case or outer spaces (the `duplicate_of` mark).
pub async fn pending_applications(
    conn: &mut PgConnection,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<ApplicationRow>> {
    paged!(
        conn,
        page,
        ApplicationRow,
        r#"select t.id as "id: ApplicationId", t.name, t.email, t.phone, t.experience, t.qualifications,
                  t.status as "status: ApplicationStatus", t.decision_reason, t.user_id as "user_id: TrainerId",
                  t.created_at,
                  (select min(o.id) from trainer_applications o
                   where o.id < t.id
                     and (o.email = t.email
                          or (lower(btrim(o.name)) = lower(btrim(t.name))
                              and regexp_replace(t.phone, '[^0-9]', '', 'g') <> ''
                              and regexp_replace(o.phone, '[^0-9]', '', 'g')
                                  = regexp_replace(t.phone, '[^0-9]', '', 'g')))) as duplicate_of
           from trainer_applications t
           where t.status = 'pending'"#,
        "t.created_at",
        "t.id",
    )
}

/// One page of the applications decided in the last 60 days, oldest first, marked as
/// [`pending_applications`] marks them.
pub async fn decided_applications(
    conn: &mut PgConnection,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<ApplicationRow>> {
    paged!(
        conn,
        page,
        ApplicationRow,
        r#"select t.id as "id: ApplicationId", t.name, t.email, t.phone, t.experience, t.qualifications,
                  t.status as "status: ApplicationStatus", t.decision_reason, t.user_id as "user_id: TrainerId",
                  t.created_at,
                  (select min(o.id) from trainer_applications o
                   where o.id < t.id
                     and (o.email = t.email
                          or (lower(btrim(o.name)) = lower(btrim(t.name))
                              and regexp_replace(t.phone, '[^0-9]', '', 'g') <> ''
                              and regexp_replace(o.phone, '[^0-9]', '', 'g')
                                  = regexp_replace(t.phone, '[^0-9]', '', 'g')))) as duplicate_of
           from trainer_applications t
           where t.status <> 'pending' and t.updated_at > now() - interval '60 days'"#,
        "t.created_at",
        "t.id",
    )
}

/// A pending application, locked so two admins cannot both decide it.
pub async fn lock_pending(
    conn: &mut PgConnection,
    id: ApplicationId,
) -> sqlx::Result<Option<ApplicationRow>> {
    sqlx::query_as!(
        ApplicationRow,
        r#"select id as "id: ApplicationId", name, email, phone, experience, qualifications,
                  status as "status: ApplicationStatus", decision_reason, user_id as "user_id: TrainerId",
                  created_at, null::bigint as duplicate_of
           from trainer_applications
           where id = $1 and status = $2 for update"#,
        id.0,
        ApplicationStatus::Pending as _
    )
    .fetch_optional(conn)
    .await
}

pub async fn application_exists(conn: &mut PgConnection, id: ApplicationId) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from trainer_applications where id = $1) as "exists!""#,
        id.0
    )
    .fetch_one(conn)
    .await
}

pub async fn decide(
    conn: &mut PgConnection,
    id: ApplicationId,
    status: ApplicationStatus,
    by: UserId,
    reason: &str,
    user_id: Option<TrainerId>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update trainer_applications set status = $2, decided_by = $3, decided_at = now(), decision_reason = $4,
                user_id = $5
         where id = $1",
        id.0,
        status as _,
        by.0,
        reason,
        user_id.map(i64::from)
    )
    .execute(conn)
    .await?;
    Ok(())
}

// Time off ----------------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct TimeOffRow {
    pub id: TimeOffRequestId,
    pub trainer_id: TrainerId,
    pub trainer: String,
    pub email: String,
    pub kind: TimeOffKind,
    /// Every request has both (`time_off_requests_bounded`).
    pub starts: OffsetDateTime,
    pub ends: OffsetDateTime,
    pub reason: String,
    pub status: TimeOffStatus,
    pub clashes: i64,
}

/// One page of the requests waiting for a decision, by when they start. The clashes
/// count the shifts a request overlaps that the trainer holds or is offered.
pub async fn pending_time_off(
    conn: &mut PgConnection,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<TimeOffRow>> {
    paged!(
        conn,
        page,
        TimeOffRow,
        r#"select r.id as "id: TimeOffRequestId", r.trainer_id as "trainer_id: TrainerId", u.name as trainer,
                  u.email, r.kind as "kind: TimeOffKind", lower(r.during) as "starts!", upper(r.during) as "ends!",
                  r.reason, r.status as "status: TimeOffStatus",
                  (select count(*) from shifts s where s.trainer_id = r.trainer_id
                     and s.status in ('accepted', 'offered') and s.during && r.during) as "clashes!"
           from time_off_requests r join users u on u.id = r.trainer_id
           where r.status = 'pending'"#,
        "lower(r.during)",
        "r.id",
    )
}

/// One page of the requests decided in the last 30 days, by when they start.
pub async fn decided_time_off(
    conn: &mut PgConnection,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<TimeOffRow>> {
    paged!(
        conn,
        page,
        TimeOffRow,
        r#"select r.id as "id: TimeOffRequestId", r.trainer_id as "trainer_id: TrainerId", u.name as trainer,
                  u.email, r.kind as "kind: TimeOffKind", lower(r.during) as "starts!", upper(r.during) as "ends!",
                  r.reason, r.status as "status: TimeOffStatus",
                  (select count(*) from shifts s where s.trainer_id = r.trainer_id
                     and s.status in ('accepted', 'offered') and s.during && r.during) as "clashes!"
           from time_off_requests r join users u on u.id = r.trainer_id
           where r.status in ('approved', 'declined') and r.decided_at > now() - interval '30 days'"#,
        "lower(r.during)",
        "r.id",
    )
}

pub async fn lock_pending_time_off(
    conn: &mut PgConnection,
    id: TimeOffRequestId,
) -> sqlx::Result<Option<TimeOffRow>> {
    sqlx::query_as!(
        TimeOffRow,
        r#"select r.id as "id: TimeOffRequestId", r.trainer_id as "trainer_id: TrainerId", u.name as trainer,
                  u.email, r.kind as "kind: TimeOffKind", lower(r.during) as "starts!", upper(r.during) as "ends!",
                  r.reason, r.status as "status: TimeOffStatus",
                  (select count(*) from shifts s where s.trainer_id = r.trainer_id
                     and s.status in ('accepted', 'offered') and s.during && r.during) as "clashes!"
           from time_off_requests r join users u on u.id = r.trainer_id
           where r.id = $1 and r.status = $2 for update of r"#,
        id.0,
        TimeOffStatus::Pending as _
    )
    .fetch_optional(conn)
    .await
}

pub async fn time_off_exists(conn: &mut PgConnection, id: TimeOffRequestId) -> sqlx::Result<bool> {
    sqlx::query_scalar!(r#"select exists (select 1 from time_off_requests where id = $1) as "exists!""#, id.0)
        .fetch_one(conn)
        .await
}

#[derive(Clone, Debug)]
pub struct OpenedShift {
    pub shift_id: crate::ids::ShiftId,
    pub activity: String,
    pub starts_at: OffsetDateTime,
}

/// Turns the trainer's accepted and offered shifts overlapping the request into open
/// shifts (the `time_off_clear_of_shifts` trigger needs them gone before approval).
pub async fn open_clashing_shifts(
    conn: &mut PgConnection,
    request_id: TimeOffRequestId,
) -> sqlx::Result<Vec<OpenedShift>> {
    sqlx::query_as!(
        OpenedShift,
        r#"with opened as (
               update shifts sh set status = 'open', trainer_id = null, assignment_note = ''
               from time_off_requests r
               where r.id = $1 and sh.trainer_id = r.trainer_id and sh.status in ('accepted', 'offered')
                 and sh.during && r.during
               returning sh.id, sh.session_id)
           select o.id as "shift_id!: crate::ids::ShiftId", a.name as "activity!", s.starts_at as "starts_at!"
           from opened o join sessions s on s.id = o.session_id join activities a on a.id = s.activity_id
           order by s.starts_at"#,
        request_id.0
    )
    .fetch_all(conn)
    .await
}

pub async fn decide_time_off(
    conn: &mut PgConnection,
    id: TimeOffRequestId,
    status: TimeOffStatus,
    by: UserId,
    note: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update time_off_requests set status = $2, decided_by = $3, decided_at = now(), decision_note = $4
         where id = $1",
        id.0,
        status as _,
        by.0,
        note
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Coordinators and owners, who hear about staffing changes.
pub async fn coordinator_emails(conn: &mut PgConnection) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        "select email from users where role = 'admin' and admin_role in ('owner', 'coordinator') and is_active
         order by email"
    )
    .fetch_all(conn)
    .await
}
