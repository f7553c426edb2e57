//! The SQL of payments and refunds. "Never refund more than was paid" is kept by the
//! database (`payments_refunds_within_amount`, see 0010_payments.sql).

use sqlx::{FromRow, PgConnection};
use time::OffsetDateTime;

/// Money a payment still counts for: taken, less what was refunded.
const NET_PAID: &str = "case when p.status in ('succeeded', 'partially_refunded', 'refunded')
                             then p.amount_pence - p.refunded_pence else 0 end";

const ACTIVITIES_OF_BOOKING: &str = "coalesce((select string_agg(distinct a.name, ', ')
        from booking_participants bp
        join sessions s on s.id = bp.session_id
        join activities a on a.id = s.activity_id
        where bp.booking_id = b.id), '')";

/// What a booking costs, what has been paid, and whether it still holds places.
#[derive(Clone, Debug, FromRow)]
pub struct Balance {
    pub booking_id: i64,
    pub parent_id: i64,
    pub parent_name: String,
    pub parent_email: String,
    pub status: String,
    pub total_pence: i32,
    pub currency: String,
    pub paid_pence: i64,
    pub activity: String,
}

impl Balance {
    /// Total − paid + refunded for a booking that keeps its places; nothing otherwise.
    pub fn due_pence(&self) -> i64 {
        let holds = crate::bookings::domain::BookingStatus::parse(&self.status).is_some_and(|s| s.holds_places());
        if holds { (i64::from(self.total_pence) - self.paid_pence).max(0) } else { 0 }
    }
}

fn balance_select(lock: bool) -> String {
    format!(
        "select b.id as booking_id, b.parent_id, u.name as parent_name, u.email as parent_email, b.status,
                b.total_pence, b.currency,
                coalesce((select sum({NET_PAID}) from payments p where p.booking_id = b.id), 0)::bigint
                    as paid_pence,
                {ACTIVITIES_OF_BOOKING} as activity
         from bookings b join users u on u.id = b.parent_id
         where b.id = $1 {}",
        if lock { "for update of b" } else { "" }
    )
}

pub async fn balance(conn: &mut PgConnection, booking_id: i64) -> sqlx::Result<Option<Balance>> {
    sqlx::query_as(&balance_select(false)).bind(booking_id).fetch_optional(conn).await
}

/// The balance with the booking locked until the transaction ends, so two payments
/// recorded at once cannot both fit in the same amount due.
pub async fn lock_balance(conn: &mut PgConnection, booking_id: i64) -> sqlx::Result<Option<Balance>> {
    sqlx::query_as(&balance_select(true)).bind(booking_id).fetch_optional(conn).await
}

pub struct NewOfflinePayment<'a> {
    pub booking_id: i64,
    pub amount_pence: i32,
    pub currency: &'a str,
    pub method: &'a str,
    pub reference: &'a str,
    pub recorded_by: i64,
}

/// Cash or bank transfer: taken the moment finance records it.
pub async fn insert_offline(conn: &mut PgConnection, new: &NewOfflinePayment<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into payments (booking_id, amount_pence, currency, method, status, reference, recorded_by, paid_at)
         values ($1, $2, $3, $4, 'succeeded', $5, $6, now()) returning id",
    )
    .bind(new.booking_id)
    .bind(new.amount_pence)
    .bind(new.currency)
    .bind(new.method)
    .bind(new.reference)
    .bind(new.recorded_by)
    .fetch_one(conn)
    .await
}

#[derive(Clone, Debug, FromRow)]
pub struct Payment {
    pub id: i64,
    pub booking_id: i64,
    pub parent_id: i64,
    pub parent_name: String,
    pub parent_email: String,
    pub amount_pence: i32,
    pub refunded_pence: i32,
    pub currency: String,
    pub method: String,
    pub status: String,
    pub reference: String,
    pub recorded_by_name: Option<String>,
    pub activity: String,
    pub paid_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

fn payment_select() -> String {
    format!(
        "select p.id, p.booking_id, b.parent_id, u.name as parent_name, u.email as parent_email,
                p.amount_pence, p.refunded_pence, p.currency, p.method, p.status, p.reference,
                r.name as recorded_by_name, {ACTIVITIES_OF_BOOKING} as activity, p.paid_at, p.created_at
         from payments p
         join bookings b on b.id = p.booking_id
         join users u on u.id = b.parent_id
         left join users r on r.id = p.recorded_by"
    )
}

/// One payment, only if it belongs to `parent_id`'s family.
pub async fn for_parent(conn: &mut PgConnection, id: i64, parent_id: i64) -> sqlx::Result<Option<Payment>> {
    sqlx::query_as(&format!("{} where p.id = $1 and b.parent_id = $2", payment_select()))
        .bind(id)
        .bind(parent_id)
        .fetch_optional(conn)
        .await
}

pub async fn of_parent(conn: &mut PgConnection, parent_id: i64) -> sqlx::Result<Vec<Payment>> {
    sqlx::query_as(&format!("{} where b.parent_id = $1 order by p.created_at desc, p.id desc", payment_select()))
        .bind(parent_id)
        .fetch_all(conn)
        .await
}

pub async fn of_booking(conn: &mut PgConnection, booking_id: i64) -> sqlx::Result<Vec<Payment>> {
    sqlx::query_as(&format!("{} where p.booking_id = $1 order by p.created_at, p.id", payment_select()))
        .bind(booking_id)
        .fetch_all(conn)
        .await
}

#[derive(Clone, Debug, FromRow)]
pub struct Refund {
    pub id: i64,
    pub payment_id: i64,
    pub booking_id: i64,
    pub parent_name: String,
    pub amount_pence: i32,
    pub currency: String,
    pub method: String,
    pub reason: String,
    pub recorded_by_name: Option<String>,
    pub created_at: OffsetDateTime,
}

pub async fn refunds_of_payment(conn: &mut PgConnection, payment_id: i64) -> sqlx::Result<Vec<Refund>> {
    sqlx::query_as(&format!("{REFUND_SELECT} where f.payment_id = $1 order by f.created_at, f.id"))
        .bind(payment_id)
        .fetch_all(conn)
        .await
}

const REFUND_SELECT: &str = "
    select f.id, f.payment_id, p.booking_id, u.name as parent_name, f.amount_pence, p.currency, p.method,
           f.reason, r.name as recorded_by_name, f.created_at
    from refunds f
    join payments p on p.id = f.payment_id
    join bookings b on b.id = p.booking_id
    join users u on u.id = b.parent_id
    left join users r on r.id = f.recorded_by";

/// The finance list's filters, shared by the page and its CSV.
#[derive(Default)]
pub struct Search {
    pub from: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    pub status: Option<String>,
    pub activity_id: Option<i64>,
}

const BOOKING_HAS_ACTIVITY: &str = "($4::bigint is null or exists (
        select 1 from booking_participants bp join sessions s on s.id = bp.session_id
        where bp.booking_id = b.id and s.activity_id = $4))";

/// Payments made in the period (by when they were created), newest first.
pub async fn search(conn: &mut PgConnection, search: &Search) -> sqlx::Result<Vec<Payment>> {
    sqlx::query_as(&format!(
        "{} where ($1::timestamptz is null or p.created_at >= $1)
              and ($2::timestamptz is null or p.created_at < $2)
              and ($3::text is null or p.status = $3)
              and {BOOKING_HAS_ACTIVITY}
         order by p.created_at desc, p.id desc
         limit 2000",
        payment_select()
    ))
    .bind(search.from)
    .bind(search.until)
    .bind(search.status.as_deref())
    .bind(search.activity_id)
    .fetch_all(conn)
    .await
}

/// Refunds made in the period, on payments of the chosen activity.
pub async fn search_refunds(conn: &mut PgConnection, search: &Search) -> sqlx::Result<Vec<Refund>> {
    sqlx::query_as(&format!(
        "{REFUND_SELECT}
         where ($1::timestamptz is null or f.created_at >= $1)
           and ($2::timestamptz is null or f.created_at < $2)
           and ($3::text is null or p.status = $3)
           and {BOOKING_HAS_ACTIVITY}
         order by f.created_at desc, f.id desc
         limit 2000"
    ))
    .bind(search.from)
    .bind(search.until)
    .bind(search.status.as_deref())
    .bind(search.activity_id)
    .fetch_all(conn)
    .await
}

/// Bookings that keep their places and are not fully paid, oldest first.
pub async fn outstanding(conn: &mut PgConnection, activity_id: Option<i64>) -> sqlx::Result<Vec<Balance>> {
    sqlx::query_as(&format!(
        "select * from (
            select b.id as booking_id, b.parent_id, u.name as parent_name, u.email as parent_email, b.status,
                   b.total_pence, b.currency,
                   coalesce((select sum({NET_PAID}) from payments p where p.booking_id = b.id), 0)::bigint
                       as paid_pence,
                   {ACTIVITIES_OF_BOOKING} as activity, b.created_at
            from bookings b join users u on u.id = b.parent_id
            where b.status in ('pending', 'changes_requested', 'approved', 'completed')
              and ($1::bigint is null or exists (
                  select 1 from booking_participants bp join sessions s on s.id = bp.session_id
                  where bp.booking_id = b.id and s.activity_id = $1))
         ) balances
         where paid_pence < total_pence
         order by created_at, booking_id
         limit 2000"
    ))
    .bind(activity_id)
    .fetch_all(conn)
    .await
}

#[derive(Clone, Debug, FromRow)]
pub struct ActivityChoice {
    pub id: i64,
    pub name: String,
}

pub async fn activities(conn: &mut PgConnection) -> sqlx::Result<Vec<ActivityChoice>> {
    sqlx::query_as("select id, name from activities order by name, id").fetch_all(conn).await
}
