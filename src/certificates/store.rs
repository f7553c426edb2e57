//! The SQL of certificates: issuing, finding (by its holder, by number, for the office),
//! revoking, and the reminders' sweep.

use futures_util::stream::BoxStream;
use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use super::domain::Status;
use crate::web::page::{PageRequest, paged};

/// What a certificate records, copied when it is issued.
pub struct NewCertificate {
    pub number: String,
    pub result_id: i64,
    pub session_id: i64,
    pub activity_id: i64,
    pub child_id: i64,
    pub account_id: i64,
    pub learner_name: String,
    pub course_name: String,
    pub course_date: Date,
    pub issued_on: Date,
    pub expires_on: Date,
    pub trainer_name: String,
}

pub async fn insert(conn: &mut PgConnection, c: &NewCertificate) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "insert into certificates (number, result_id, session_id, activity_id, child_id, account_id, learner_name,
                                   course_name, course_date, issued_on, expires_on, trainer_name)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) returning id",
        c.number,
        c.result_id,
        c.session_id,
        c.activity_id,
        c.child_id,
        c.account_id,
        c.learner_name,
        c.course_name,
        c.course_date,
        c.issued_on,
        c.expires_on,
        c.trainer_name,
    )
    .fetch_one(conn)
    .await
}

/// The certificate a result has issued and not revoked, if any.
pub async fn live_for_result(conn: &mut PgConnection, result_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!("select id from certificates where result_id = $1 and revoked_at is null", result_id)
        .fetch_optional(conn)
        .await
}

#[derive(Clone, Debug)]
pub struct Certificate {
    pub id: i64,
    pub number: String,
    pub learner_name: String,
    pub course_name: String,
    pub course_date: Date,
    pub issued_on: Date,
    pub expires_on: Date,
    pub trainer_name: String,
    pub revoked_at: Option<OffsetDateTime>,
    pub revoked_reason: Option<String>,
    pub account_id: Option<i64>,
    pub activity_id: i64,
}

impl Certificate {
    pub fn status(&self, today: Date) -> Status {
        Status::on(today, self.expires_on, self.revoked_at.is_some())
    }
}

/// Any certificate, for the office.
pub async fn find(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Certificate>> {
    sqlx::query_as!(
        Certificate,
        "select id, number, learner_name, course_name, course_date, issued_on, expires_on, trainer_name,
                revoked_at, revoked_reason, account_id, activity_id
         from certificates where id = $1",
        id,
    )
    .fetch_optional(conn)
    .await
}

/// A certificate the account booked the place for (the learner's own account, or the
/// contact who named them as a delegate); anyone else's is None.
pub async fn find_for_account(
    conn: &mut PgConnection,
    account_id: i64,
    id: i64,
) -> sqlx::Result<Option<Certificate>> {
    sqlx::query_as!(
        Certificate,
        "select id, number, learner_name, course_name, course_date, issued_on, expires_on, trainer_name,
                revoked_at, revoked_reason, account_id, activity_id
         from certificates where id = $1 and account_id = $2",
        id,
        account_id,
    )
    .fetch_optional(conn)
    .await
}

/// A certificate by its number, for the public check.
pub async fn by_number(conn: &mut PgConnection, number: &str) -> sqlx::Result<Option<Certificate>> {
    sqlx::query_as!(
        Certificate,
        "select id, number, learner_name, course_name, course_date, issued_on, expires_on, trainer_name,
                revoked_at, revoked_reason, account_id, activity_id
         from certificates where number = $1",
        number,
    )
    .fetch_optional(conn)
    .await
}

/// One page of the account's certificates, newest first.
pub async fn page_for_account(
    conn: &mut PgConnection,
    account_id: i64,
    page: &PageRequest<Date>,
) -> sqlx::Result<Vec<Certificate>> {
    paged!(
        conn,
        page,
        Certificate,
        "select id, number, learner_name, course_name, course_date, issued_on, expires_on, trainer_name,
                revoked_at, revoked_reason, account_id, activity_id
         from certificates where account_id = $3",
        "issued_on",
        "id",
        account_id,
    )
}

/// The office's filters.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub status: Option<Status>,
    pub activity_id: Option<i64>,
    /// Valid and expiring within this many days.
    pub expiring_within: Option<i32>,
    /// A part of the learner's name, or a whole number.
    pub search: Option<String>,
    pub today: Option<Date>,
}

impl Filter {
    fn pattern(&self) -> Option<String> {
        self.search.as_ref().map(|s| {
            let escaped = s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            format!("%{escaped}%")
        })
    }

    fn number(&self) -> Option<String> {
        self.search.as_deref().and_then(super::domain::normalise)
    }
}

/// One page of every certificate `filter` finds, newest first.
pub async fn page(
    conn: &mut PgConnection,
    filter: &Filter,
    page: &PageRequest<Date>,
) -> sqlx::Result<Vec<Certificate>> {
    paged!(
        conn,
        page,
        Certificate,
        "select id, number, learner_name, course_name, course_date, issued_on, expires_on, trainer_name,
                revoked_at, revoked_reason, account_id, activity_id
         from certificates
         where ($3::text is null
                or ($3 = 'revoked' and revoked_at is not null)
                or ($3 = 'valid' and revoked_at is null and expires_on >= $4::date)
                or ($3 = 'expired' and revoked_at is null and expires_on < $4::date))
           and ($5::bigint is null or activity_id = $5)
           and ($6::int is null or (revoked_at is null and expires_on >= $4::date and expires_on <= $4::date + $6::int))
           and ($7::text is null or learner_name ilike $7 or number = $8)",
        "issued_on",
        "id",
        filter.status.map(Status::key),
        filter.today,
        filter.activity_id,
        filter.expiring_within,
        filter.pattern(),
        filter.number(),
    )
}

/// Every certificate `filter` finds, newest first, as the database yields them (the CSV).
pub fn export<'c>(conn: &'c mut PgConnection, filter: &Filter) -> BoxStream<'c, sqlx::Result<Certificate>> {
    sqlx::query_as!(
        Certificate,
        "select id, number, learner_name, course_name, course_date, issued_on, expires_on, trainer_name,
                revoked_at, revoked_reason, account_id, activity_id
         from certificates
         where ($1::text is null
                or ($1 = 'revoked' and revoked_at is not null)
                or ($1 = 'valid' and revoked_at is null and expires_on >= $2::date)
                or ($1 = 'expired' and revoked_at is null and expires_on < $2::date))
           and ($3::bigint is null or activity_id = $3)
           and ($4::int is null or (revoked_at is null and expires_on >= $2::date and expires_on <= $2::date + $4::int))
           and ($5::text is null or learner_name ilike $5 or number = $6)
         order by issued_on desc, id desc",
        filter.status.map(Status::key),
        filter.today,
        filter.activity_id,
        filter.expiring_within,
        filter.pattern(),
        filter.number(),
    )
    .fetch(conn)
}

/// Revokes a certificate not yet revoked; false if there was none to revoke.
pub async fn revoke(conn: &mut PgConnection, id: i64, by: i64, reason: &str) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update certificates set revoked_at = now(), revoked_reason = $3, revoked_by = $2
         where id = $1 and revoked_at is null",
        id,
        by,
        reason,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A certificate due a reminder, with where it goes.
pub struct Due {
    pub id: i64,
    pub learner_name: String,
    pub course_name: String,
    pub expires_on: Date,
    pub activity_id: i64,
    pub email: Option<String>,
}

/// How many reminders one read takes: the first run on a large provider finds every
/// certificate already inside the window, so they are read a batch at a time.
pub const REMINDER_BATCH: i64 = 500;

/// Up to `REMINDER_BATCH` live certificates expiring within `days` of `today` whose
/// reminder for `days` has not gone, locked (others skip them) so each is reminded once.
pub async fn due_reminders(conn: &mut PgConnection, today: Date, days: i32) -> sqlx::Result<Vec<Due>> {
    sqlx::query_as!(
        Due,
        r#"select c.id, c.learner_name, c.course_name, c.expires_on, c.activity_id,
                coalesce(p.email, u.email) as "email?"
         from certificates c
         left join children p on p.id = c.child_id
         left join users u on u.id = c.account_id
         where c.revoked_at is null and c.expires_on >= $1 and c.expires_on <= $1 + $2::int
           and (case when $2 = 30 then c.reminded_30_at else c.reminded_90_at end) is null
         order by c.expires_on, c.id
         limit $3
         for update of c skip locked"#,
        today,
        days,
        REMINDER_BATCH,
    )
    .fetch_all(conn)
    .await
}

/// Marks the reminder for `days` sent. A 30-day reminder also marks the 90-day one, so a
/// certificate first seen inside 30 days gets one email, not two.
pub async fn mark_reminded(conn: &mut PgConnection, id: i64, days: i32) -> sqlx::Result<()> {
    sqlx::query!(
        "update certificates
         set reminded_90_at = coalesce(reminded_90_at, now()),
             reminded_30_at = case when $2 = 30 then now() else reminded_30_at end
         where id = $1",
        id,
        days,
    )
    .execute(conn)
    .await?;
    Ok(())
}
