//! The SQL of payments and refunds. "Never refund more than was paid" is kept by the
//! database (`payments_refunds_within_amount`, see 0010_payments.sql). Payments and
//! refunds are read through the views `payment_lines` and `refund_lines` (0027), one
//! column list for every literal query; a view's columns read as nullable, so those
//! that never are say so (`"id!"`).

use futures_util::stream::BoxStream;
use sqlx::PgConnection;

use super::domain::{DiscountKind, Method, PaymentStatus};
use crate::{
    ids::{BookingId, PaymentId, UserId},
    web::page::{PageRequest, paged},
};
use time::OffsetDateTime;

/// What a booking costs, what has been paid, and whether it still holds places.
#[derive(Clone, Debug)]
pub struct Balance {
    pub booking_id: i64,
    pub parent_id: i64,
    pub parent_name: String,
    pub parent_email: String,
    /// The booking keeps its places in its state (`BookingStatus::holds_places`).
    pub holds_places: bool,
    /// Its places are held while a card payment is made (`awaiting_payment`).
    pub awaiting_payment: bool,
    pub total_pence: i32,
    pub currency: String,
    pub paid_pence: i64,
    pub discount_pence: i64,
    pub activity: String,
}

impl Balance {
    /// Total − discount − paid + refunded for a booking that keeps its places; nothing
    /// otherwise.
    pub fn due_pence(&self) -> i64 {
        let owed = i64::from(self.total_pence) - self.discount_pence - self.paid_pence;
        if self.holds_places { owed.max(0) } else { 0 }
    }

    /// Places are held while a card payment is made.
    pub fn awaits_payment(&self) -> bool {
        self.awaiting_payment
    }
}

pub async fn balance(conn: &mut PgConnection, booking_id: BookingId) -> sqlx::Result<Option<Balance>> {
    // The states that keep places are `BookingStatus::holds_places`'s; what was paid is
    // what each payment still counts for: taken, less what was refunded.
    sqlx::query_as!(
        Balance,
        r#"select b.id as booking_id, b.parent_id, u.name as parent_name, u.email as parent_email,
                  b.status in ('awaiting_payment', 'pending', 'changes_requested', 'approved', 'completed')
                      as "holds_places!",
                  b.status = 'awaiting_payment' as "awaiting_payment!",
                  b.total_pence, b.currency,
                  coalesce((select sum(case when p.status in ('succeeded', 'partially_refunded', 'refunded')
                                            then p.amount_pence - p.refunded_pence else 0 end)
                              from payments p where p.booking_id = b.id), 0)::bigint as "paid_pence!",
                  coalesce((select d.amount_pence from booking_discounts d where d.booking_id = b.id), 0)::bigint
                      as "discount_pence!",
                  coalesce((select string_agg(distinct a.name, ', ')
                              from booking_participants bp
                              join sessions s on s.id = bp.session_id
                              join activities a on a.id = s.activity_id
                             where bp.booking_id = b.id), '') as "activity!"
             from bookings b join users u on u.id = b.parent_id
            where b.id = $1"#,
        booking_id.0
    )
    .fetch_optional(conn)
    .await
}

/// The balance with the booking locked until the transaction ends, so two payments
/// recorded at once cannot both fit in the same amount due.
pub async fn lock_balance(conn: &mut PgConnection, booking_id: BookingId) -> sqlx::Result<Option<Balance>> {
    // Lock first, then read in a new statement: one statement's subqueries keep the
    // snapshot from before the wait and would miss a payment committed meanwhile.
    sqlx::query!("select 1 as locked from bookings where id = $1 for update", booking_id.0)
        .fetch_all(&mut *conn)
        .await?;
    balance(conn, booking_id).await
}

pub struct NewOfflinePayment<'a> {
    pub booking_id: i64,
    pub amount_pence: i32,
    pub currency: &'a str,
    pub method: Method,
    pub reference: &'a str,
    pub recorded_by: i64,
}

/// Cash or bank transfer: taken the moment finance records it.
pub async fn insert_offline(conn: &mut PgConnection, new: &NewOfflinePayment<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "insert into payments (booking_id, amount_pence, currency, method, status, reference, recorded_by, paid_at)
         values ($1, $2, $3, $4, 'succeeded', $5, $6, now()) returning id",
        new.booking_id,
        new.amount_pence,
        new.currency,
        new.method.as_str(),
        new.reference,
        new.recorded_by
    )
    .fetch_one(conn)
    .await
}

#[derive(Clone, Debug)]
pub struct Payment {
    pub id: i64,
    pub booking_id: i64,
    pub parent_id: i64,
    pub parent_name: String,
    pub parent_email: String,
    pub amount_pence: i32,
    pub refunded_pence: i32,
    pub currency: String,
    pub method: Method,
    pub status: PaymentStatus,
    pub reference: String,
    pub recorded_by_name: Option<String>,
    pub activity: String,
    pub paid_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

/// One payment, only if it belongs to `parent_id`'s family.
pub async fn for_parent(
    conn: &mut PgConnection,
    id: PaymentId,
    parent_id: UserId,
) -> sqlx::Result<Option<Payment>> {
    sqlx::query_as!(
        Payment,
        r#"select id as "id!", booking_id as "booking_id!", parent_id as "parent_id!", parent_name as "parent_name!",
                  parent_email as "parent_email!", amount_pence as "amount_pence!", refunded_pence as "refunded_pence!",
                  currency as "currency!", method as "method!: Method", status as "status!: PaymentStatus",
                  reference as "reference!", recorded_by_name, activity as "activity!", paid_at,
                  created_at as "created_at!"
             from payment_lines where id = $1 and parent_id = $2"#,
        id.0,
        parent_id.0
    )
    .fetch_optional(conn)
    .await
}

/// One page of a family's payments, newest first.
pub async fn of_parent(
    conn: &mut PgConnection,
    parent_id: i64,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<Payment>> {
    paged!(
        conn,
        page,
        Payment,
        r#"select id as "id!", booking_id as "booking_id!", parent_id as "parent_id!", parent_name as "parent_name!",
                  parent_email as "parent_email!", amount_pence as "amount_pence!", refunded_pence as "refunded_pence!",
                  currency as "currency!", method as "method!: Method", status as "status!: PaymentStatus",
                  reference as "reference!", recorded_by_name, activity as "activity!", paid_at,
                  created_at as "created_at!"
             from payment_lines where parent_id = $3"#,
        "created_at",
        "id",
        parent_id
    )
}

pub async fn of_booking(conn: &mut PgConnection, booking_id: BookingId) -> sqlx::Result<Vec<Payment>> {
    sqlx::query_as!(
        Payment,
        r#"select id as "id!", booking_id as "booking_id!", parent_id as "parent_id!", parent_name as "parent_name!",
                  parent_email as "parent_email!", amount_pence as "amount_pence!", refunded_pence as "refunded_pence!",
                  currency as "currency!", method as "method!: Method", status as "status!: PaymentStatus",
                  reference as "reference!", recorded_by_name, activity as "activity!", paid_at,
                  created_at as "created_at!"
             from payment_lines where booking_id = $1 order by created_at, id"#,
        booking_id.0
    )
    .fetch_all(conn)
    .await
}

#[derive(Clone, Debug)]
pub struct Refund {
    pub id: i64,
    pub payment_id: i64,
    pub booking_id: i64,
    pub parent_name: String,
    pub amount_pence: i32,
    pub currency: String,
    pub method: Method,
    pub reason: String,
    pub recorded_by_name: Option<String>,
    pub created_at: OffsetDateTime,
    /// Stripe reported the refund failed: it no longer counts.
    pub failed_at: Option<OffsetDateTime>,
    pub failure_reason: Option<String>,
}

pub async fn refunds_of_payment(conn: &mut PgConnection, payment_id: i64) -> sqlx::Result<Vec<Refund>> {
    sqlx::query_as!(
        Refund,
        r#"select id as "id!", payment_id as "payment_id!", booking_id as "booking_id!", parent_name as "parent_name!",
                  amount_pence as "amount_pence!", currency as "currency!", method as "method!: Method",
                  reason as "reason!", recorded_by_name, created_at as "created_at!", failed_at, failure_reason
             from refund_lines where payment_id = $1 order by created_at, id"#,
        payment_id
    )
    .fetch_all(conn)
    .await
}

/// The finance list's filters, shared by the page and its CSV.
#[derive(Default)]
pub struct Search {
    pub from: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    pub status: Option<PaymentStatus>,
    pub activity_id: Option<i64>,
}

impl Search {
    /// Whether the hourly totals (migration 0025) answer for the payments: the period is
    /// whole hours (every period the page's date fields give in whole-hour time zones)
    /// and no activity is chosen.
    fn reads_hourly_totals(&self) -> bool {
        let whole_hours = [self.from, self.until].iter().flatten().all(|t| t.unix_timestamp() % 3600 == 0);
        whole_hours && self.activity_id.is_none()
    }
}

/// One page of the payments made in the period (by when they were created), newest
/// first.
pub async fn search(
    conn: &mut PgConnection,
    search: &Search,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<Payment>> {
    paged!(
        conn,
        page,
        Payment,
        r#"select id as "id!", booking_id as "booking_id!", parent_id as "parent_id!", parent_name as "parent_name!",
                  parent_email as "parent_email!", amount_pence as "amount_pence!", refunded_pence as "refunded_pence!",
                  currency as "currency!", method as "method!: Method", status as "status!: PaymentStatus",
                  reference as "reference!", recorded_by_name, activity as "activity!", paid_at,
                  created_at as "created_at!"
             from payment_lines l
            where ($3::timestamptz is null or created_at >= $3)
              and ($4::timestamptz is null or created_at < $4)
              and ($5::text is null or status = $5)
              and ($6::bigint is null or exists (
                  select 1 from booking_participants bp join sessions s on s.id = bp.session_id
                   where bp.booking_id = l.booking_id and s.activity_id = $6))"#,
        "created_at",
        "id",
        search.from,
        search.until,
        search.status.map(PaymentStatus::as_str),
        search.activity_id
    )
}

/// The CSV's rows: every payment [`search`] finds, newest first, as the database
/// yields them.
pub fn export<'c>(conn: &'c mut PgConnection, search: &Search) -> BoxStream<'c, sqlx::Result<Payment>> {
    sqlx::query_as!(
        Payment,
        r#"select id as "id!", booking_id as "booking_id!", parent_id as "parent_id!", parent_name as "parent_name!",
                  parent_email as "parent_email!", amount_pence as "amount_pence!", refunded_pence as "refunded_pence!",
                  currency as "currency!", method as "method!: Method", status as "status!: PaymentStatus",
                  reference as "reference!", recorded_by_name, activity as "activity!", paid_at,
                  created_at as "created_at!"
             from payment_lines l
            where ($1::timestamptz is null or created_at >= $1)
              and ($2::timestamptz is null or created_at < $2)
              and ($3::text is null or status = $3)
              and ($4::bigint is null or exists (
                  select 1 from booking_participants bp join sessions s on s.id = bp.session_id
                   where bp.booking_id = l.booking_id and s.activity_id = $4))
            order by created_at desc, id desc"#,
        search.from,
        search.until,
        search.status.map(PaymentStatus::as_str),
        search.activity_id
    )
    .fetch(conn)
}

/// Money over every payment a search finds: what counts as taken, refunded, and net.
#[derive(Clone, Copy, Debug, Default)]
pub struct Totals {
    pub count: i64,
    pub taken_pence: i64,
    pub refunded_pence: i64,
    pub net_pence: i64,
}

impl Totals {
    pub(super) fn of(count: i64, taken_pence: i64, refunded_pence: i64, net_pence: i64) -> Totals {
        Totals { count, taken_pence, refunded_pence, net_pence }
    }
}

impl std::ops::Add for Totals {
    type Output = Totals;

    fn add(self, other: Totals) -> Totals {
        Totals {
            count: self.count + other.count,
            taken_pence: self.taken_pence + other.taken_pence,
            refunded_pence: self.refunded_pence + other.refunded_pence,
            net_pence: self.net_pence + other.net_pence,
        }
    }
}

/// Finance's figures over every page, read in one round trip: [`Totals`] of the
/// payments `search` finds, the refunds of booking payments it finds (how many, how
/// much), and what bookings still owe (how many, how much).
#[derive(Clone, Copy, Debug, Default)]
pub struct Summary {
    pub paid: Totals,
    pub refunds_count: i64,
    pub refunds_pence: i64,
    pub owed_count: i64,
    pub owed_pence: i64,
}

/// [`Summary`] of `search`, summed by PostgreSQL in one statement whose parts the
/// parameters choose (a part a parameter rules out is not run: PostgreSQL tests such a
/// condition once, before reading anything). Payments come from the hourly totals when
/// [`Search::reads_hourly_totals`], else from the payments; what is owed over
/// every activity is the running total the triggers keep (`owed_changes`, migration
/// 0027), a few rows; for one activity only the bookings not paid in full are read,
/// through their partial index (`bookings_owed_created`, migration 0025).
pub async fn summary(conn: &mut PgConnection, search: &Search) -> sqlx::Result<Summary> {
    let row = sqlx::query!(
        r#"with hourly as (
               select coalesce(sum(payments), 0)::bigint as count,
                      coalesce(sum(amount_pence) filter (where status in ('succeeded', 'partially_refunded', 'refunded')), 0)::bigint
                          as taken,
                      coalesce(sum(refunded_pence), 0)::bigint as refunded,
                      coalesce(sum(amount_pence - refunded_pence)
                               filter (where status in ('succeeded', 'partially_refunded', 'refunded')), 0)::bigint
                          as net
                 from payment_hour_totals
                where $5 and ($1::timestamptz is null or hour >= $1) and ($2::timestamptz is null or hour < $2)
                  and ($3::text is null or status = $3)),
           exact as (
               select count(*) as count,
                      coalesce(sum(p.amount_pence) filter (where p.status in ('succeeded', 'partially_refunded', 'refunded')), 0)::bigint
                          as taken,
                      coalesce(sum(p.refunded_pence), 0)::bigint as refunded,
                      coalesce(sum(p.amount_pence - p.refunded_pence)
                               filter (where p.status in ('succeeded', 'partially_refunded', 'refunded')), 0)::bigint
                          as net
                 from payments p
                where not $5
                  and ($1::timestamptz is null or p.created_at >= $1)
                  and ($2::timestamptz is null or p.created_at < $2)
                  and ($3::text is null or p.status = $3)
                  and ($4::bigint is null or exists (
                      select 1 from booking_participants bp join sessions s on s.id = bp.session_id
                       where bp.booking_id = p.booking_id and s.activity_id = $4))),
           paid as (select * from hourly where $5 union all select * from exact where not $5),
           refunded as (
               select count(*) as count, coalesce(sum(f.amount_pence), 0)::bigint as pence
                 from refunds f
                where f.failed_at is null
                  and ($1::timestamptz is null or f.created_at >= $1)
                  and ($2::timestamptz is null or f.created_at < $2)
                  and (($3::text is null and $4::bigint is null) or exists (
                      select 1 from payments p
                       where p.id = f.payment_id and ($3::text is null or p.status = $3)
                         and ($4::bigint is null or exists (
                             select 1 from booking_participants bp join sessions s on s.id = bp.session_id
                              where bp.booking_id = p.booking_id and s.activity_id = $4))))),
           owed_everywhere as (
               select coalesce(sum(bookings), 0)::bigint as count, coalesce(sum(owed_pence), 0)::bigint as pence
                 from owed_changes where $4::bigint is null),
           owed_for_activity as (
               select count(*) as count, coalesce(sum(owed), 0)::bigint as pence from (
                   select b.total_pence - b.paid_pence - coalesce(d.amount_pence, 0) as owed
                     from bookings b
                     left join booking_discounts d on d.booking_id = b.id
                    where $4::bigint is not null
                      and b.status in ('pending', 'changes_requested', 'approved', 'completed')
                      and b.paid_pence < b.total_pence
                      and exists (
                          select 1 from booking_participants bp join sessions s on s.id = bp.session_id
                           where bp.booking_id = b.id and s.activity_id = $4)) owing
                where owed > 0),
           owed as (select * from owed_everywhere where $4::bigint is null
                    union all select * from owed_for_activity where $4::bigint is not null)
           select paid.count as "count!", paid.taken as "taken!", paid.refunded as "refunded!", paid.net as "net!",
                  refunded.count as "refunds_count!", refunded.pence as "refunds_pence!",
                  owed.count as "owed_count!", owed.pence as "owed_pence!"
             from paid, refunded, owed"#,
        search.from,
        search.until,
        search.status.map(PaymentStatus::as_str),
        search.activity_id,
        search.reads_hourly_totals()
    )
    .fetch_one(conn)
    .await?;
    Ok(Summary {
        paid: Totals::of(row.count, row.taken, row.refunded, row.net),
        refunds_count: row.refunds_count,
        refunds_pence: row.refunds_pence,
        owed_count: row.owed_count,
        owed_pence: row.owed_pence,
    })
}

/// A refund on finance's list: of a booking payment (`payment_id`, `booking_id`) or of
/// a package sale (`purchase_id`, `package`).
#[derive(Clone, Debug)]
pub struct ListedRefund {
    /// The list's key after the date: a booking payment's refund's id, or minus a
    /// package sale's refund's id, so the two kinds page together without a clash.
    pub key: i64,
    pub payment_id: Option<i64>,
    pub booking_id: Option<i64>,
    pub purchase_id: Option<i64>,
    pub package: Option<String>,
    pub parent_name: String,
    pub method: Option<Method>,
    pub amount_pence: i32,
    pub reason: String,
    pub recorded_by_name: Option<String>,
    pub created_at: OffsetDateTime,
}

/// One page of the refunds of booking payments and of package sales made in the
/// period, newest first (or read back for `Previous`); not those that failed, which
/// gave nothing back. [`summary`] counts them all.
pub async fn refunds(
    conn: &mut PgConnection,
    search: &Search,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<ListedRefund>> {
    if page.descending() {
        refunds_down(conn, search, page).await
    } else {
        refunds_up(conn, search, page).await
    }
}

// The two halves each take their page's 51 from their own index (`refunds_created`;
// `package_purchase_refunds_created_key`, 0036_admin_lists.sql, on the negated id),
// and the 51 of the 102 that come first make the page: written as one `paged!` query,
// PostgreSQL joins every refund before sorting (120 ms on the large dataset).

/// [`refunds`], newest first from the cursor.
async fn refunds_down(
    conn: &mut PgConnection,
    search: &Search,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<ListedRefund>> {
    sqlx::query_as!(
        ListedRefund,
        r#"select key as "key!", payment_id, booking_id, purchase_id, package, parent_name as "parent_name!",
                  method as "method: Method", amount_pence as "amount_pence!", reason as "reason!",
                  recorded_by_name, created_at as "created_at!"
             from ((select f.id as key, f.payment_id, p.booking_id, null::bigint as purchase_id,
                           null::text as package, u.name as parent_name, p.method, f.amount_pence, f.reason,
                           r.name as recorded_by_name, f.created_at
                      from refunds f
                      join payments p on p.id = f.payment_id
                      join bookings b on b.id = p.booking_id
                      join users u on u.id = b.parent_id
                      left join users r on r.id = f.recorded_by
                     where f.failed_at is null and (f.created_at, f.id) < ($1, $2)
                       and ($3::timestamptz is null or f.created_at >= $3)
                       and ($4::timestamptz is null or f.created_at < $4)
                       and ($5::text is null or p.status = $5)
                       and ($6::bigint is null or exists (
                           select 1 from booking_participants bp join sessions s on s.id = bp.session_id
                            where bp.booking_id = p.booking_id and s.activity_id = $6))
                     order by f.created_at desc, f.id desc limit 51)
                   union all
                   (select -f.id, null, null, f.purchase_id, k.name, u.name, pp.method, f.amount_pence, f.reason,
                           r.name, f.created_at
                      from package_purchase_refunds f
                      join package_purchases pp on pp.id = f.purchase_id
                      join users u on u.id = pp.parent_id
                      join packages k on k.id = pp.package_id
                      left join users r on r.id = f.recorded_by
                     where f.failed_at is null and (f.created_at, -f.id) < ($1, $2)
                       and ($3::timestamptz is null or f.created_at >= $3)
                       and ($4::timestamptz is null or f.created_at < $4)
                       and ($5::text is null or (case when pp.refunded_pence = 0 then 'succeeded'
                                when pp.refunded_pence < pp.amount_pence then 'partially_refunded' else 'refunded' end) = $5)
                       and ($6::bigint is null or exists (select 1 from package_activities pa
                            where pa.package_id = pp.package_id and pa.activity_id = $6))
                     order by f.created_at desc, -f.id desc limit 51)) l
            order by created_at desc, key desc limit 51"#,
        page.key(),
        page.id(),
        search.from,
        search.until,
        search.status.map(PaymentStatus::as_str),
        search.activity_id
    )
    .fetch_all(conn)
    .await
}

/// [`refunds`], oldest first from the cursor (going back).
async fn refunds_up(
    conn: &mut PgConnection,
    search: &Search,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<ListedRefund>> {
    sqlx::query_as!(
        ListedRefund,
        r#"select key as "key!", payment_id, booking_id, purchase_id, package, parent_name as "parent_name!",
                  method as "method: Method", amount_pence as "amount_pence!", reason as "reason!",
                  recorded_by_name, created_at as "created_at!"
             from ((select f.id as key, f.payment_id, p.booking_id, null::bigint as purchase_id,
                           null::text as package, u.name as parent_name, p.method, f.amount_pence, f.reason,
                           r.name as recorded_by_name, f.created_at
                      from refunds f
                      join payments p on p.id = f.payment_id
                      join bookings b on b.id = p.booking_id
                      join users u on u.id = b.parent_id
                      left join users r on r.id = f.recorded_by
                     where f.failed_at is null and (f.created_at, f.id) > ($1, $2)
                       and ($3::timestamptz is null or f.created_at >= $3)
                       and ($4::timestamptz is null or f.created_at < $4)
                       and ($5::text is null or p.status = $5)
                       and ($6::bigint is null or exists (
                           select 1 from booking_participants bp join sessions s on s.id = bp.session_id
                            where bp.booking_id = p.booking_id and s.activity_id = $6))
                     order by f.created_at, f.id limit 51)
                   union all
                   (select -f.id, null, null, f.purchase_id, k.name, u.name, pp.method, f.amount_pence, f.reason,
                           r.name, f.created_at
                      from package_purchase_refunds f
                      join package_purchases pp on pp.id = f.purchase_id
                      join users u on u.id = pp.parent_id
                      join packages k on k.id = pp.package_id
                      left join users r on r.id = f.recorded_by
                     where f.failed_at is null and (f.created_at, -f.id) > ($1, $2)
                       and ($3::timestamptz is null or f.created_at >= $3)
                       and ($4::timestamptz is null or f.created_at < $4)
                       and ($5::text is null or (case when pp.refunded_pence = 0 then 'succeeded'
                                when pp.refunded_pence < pp.amount_pence then 'partially_refunded' else 'refunded' end) = $5)
                       and ($6::bigint is null or exists (select 1 from package_activities pa
                            where pa.package_id = pp.package_id and pa.activity_id = $6))
                     order by f.created_at, -f.id limit 51)) l
            order by created_at, key limit 51"#,
        page.key(),
        page.id(),
        search.from,
        search.until,
        search.status.map(PaymentStatus::as_str),
        search.activity_id
    )
    .fetch_all(conn)
    .await
}

/// A booking owed money, with when it was made (the list's order).
#[derive(Clone, Debug)]
pub struct Owed {
    pub balance: Balance,
    pub created_at: OffsetDateTime,
}

/// A row of the outstanding list as read.
struct OwedRow {
    booking_id: i64,
    parent_id: i64,
    parent_name: String,
    parent_email: String,
    total_pence: i32,
    currency: String,
    paid_pence: i64,
    discount_pence: i64,
    activity: String,
    created_at: OffsetDateTime,
}

impl From<OwedRow> for Owed {
    fn from(r: OwedRow) -> Owed {
        Owed {
            balance: Balance {
                booking_id: r.booking_id,
                parent_id: r.parent_id,
                parent_name: r.parent_name,
                parent_email: r.parent_email,
                holds_places: true,
                awaiting_payment: false,
                total_pence: r.total_pence,
                currency: r.currency,
                paid_pence: r.paid_pence,
                discount_pence: r.discount_pence,
                activity: r.activity,
            },
            created_at: r.created_at,
        }
    }
}

/// One page of the bookings still owed money (those that keep their places and are
/// not paid in full), oldest first.
pub async fn outstanding(
    conn: &mut PgConnection,
    activity_id: Option<i64>,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<Owed>> {
    let rows = paged!(
        conn,
        page,
        OwedRow,
        r#"select booking_id as "booking_id!", parent_id as "parent_id!", parent_name as "parent_name!",
                  parent_email as "parent_email!", total_pence as "total_pence!", currency as "currency!",
                  paid_pence as "paid_pence!", discount_pence as "discount_pence!",
                  coalesce((select string_agg(distinct a.name, ', ')
                              from booking_participants bp
                              join sessions s on s.id = bp.session_id
                              join activities a on a.id = s.activity_id
                             where bp.booking_id = balances.booking_id), '') as "activity!",
                  created_at as "created_at!"
             from (select b.id as booking_id, b.parent_id, u.name as parent_name, u.email as parent_email,
                          b.total_pence, b.currency, b.paid_pence,
                          coalesce((select d.amount_pence from booking_discounts d where d.booking_id = b.id), 0)::bigint
                              as discount_pence,
                          b.created_at
                     from bookings b join users u on u.id = b.parent_id
                    where b.status in ('pending', 'changes_requested', 'approved', 'completed')
                      and b.paid_pence < b.total_pence
                      and ($3::bigint is null or exists (
                          select 1 from booking_participants bp join sessions s on s.id = bp.session_id
                           where bp.booking_id = b.id and s.activity_id = $3))
                  ) balances
            where paid_pence + discount_pence < total_pence"#,
        "created_at",
        "booking_id",
        activity_id
    )?;
    Ok(rows.into_iter().map(Owed::from).collect())
}

/// Folds the running total's rows into one, so reading it stays a few rows: one
/// statement, so a reader sees the rows before or after, never half. Concurrent folds
/// each take only rows no other has (a deleted row is skipped once its deleter commits).
pub async fn fold_owed_changes(pool: &sqlx::PgPool) -> sqlx::Result<()> {
    sqlx::query!(
        "with folded as (delete from owed_changes returning bookings, owed_pence)
         insert into owed_changes (bookings, owed_pence)
         select sum(bookings), sum(owed_pence) from folded having count(*) > 0"
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub struct ActivityChoice {
    pub id: i64,
    pub name: String,
}

pub async fn activities(conn: &mut PgConnection) -> sqlx::Result<Vec<ActivityChoice>> {
    sqlx::query_as!(ActivityChoice, "select id, name from activities order by name, id").fetch_all(conn).await
}

/// A Checkout Session of a booking that Stripe has not yet reported paid or expired.
#[derive(Clone, Debug)]
pub struct OpenCheckout {
    pub session_id: String,
    pub url: Option<String>,
    pub amount_pence: i32,
    /// Young enough to send the parent back to (Stripe's sessions last 24 hours at most).
    pub reusable: bool,
}

/// The booking's card payments still waiting on Stripe, newest first.
pub async fn open_checkouts(conn: &mut PgConnection, booking_id: i64) -> sqlx::Result<Vec<OpenCheckout>> {
    sqlx::query_as!(
        OpenCheckout,
        r#"select stripe_checkout_session_id as "session_id!", stripe_checkout_url as url, amount_pence,
                  created_at > now() - interval '23 hours' as "reusable!"
             from payments
            where booking_id = $1 and method = 'card' and status = 'pending'
              and stripe_checkout_session_id is not null
            order by created_at desc, id desc"#,
        booking_id
    )
    .fetch_all(conn)
    .await
}

/// The booking a Checkout Session pays for.
pub async fn booking_of_checkout(conn: &mut PgConnection, session_id: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!("select booking_id from payments where stripe_checkout_session_id = $1", session_id)
        .fetch_optional(conn)
        .await
}

pub struct NewCardPayment<'a> {
    pub booking_id: i64,
    pub amount_pence: i32,
    pub currency: &'a str,
    pub session_id: &'a str,
    pub url: &'a str,
    pub recorded_by: i64,
}

/// A card payment waiting for Stripe to say it was taken.
pub async fn insert_card(conn: &mut PgConnection, new: &NewCardPayment<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "insert into payments (booking_id, amount_pence, currency, method, status, stripe_checkout_session_id,
                               stripe_checkout_url, recorded_by)
         values ($1, $2, $3, 'card', 'pending', $4, $5, $6) returning id",
        new.booking_id,
        new.amount_pence,
        new.currency,
        new.session_id,
        new.url,
        new.recorded_by
    )
    .fetch_one(conn)
    .await
}

/// Marks the session's payment taken, once: concurrent callers queue on the row and
/// only the first finds it still pending (or failed). Returns the payment if this call
/// did it.
pub async fn fulfil_checkout(
    conn: &mut PgConnection,
    session_id: &str,
    payment_intent: Option<&str>,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "update payments
            set status = 'succeeded', paid_at = now(),
                stripe_payment_intent_id = coalesce($2, stripe_payment_intent_id)
          where stripe_checkout_session_id = $1 and status in ('pending', 'failed')
          returning id",
        session_id,
        payment_intent
    )
    .fetch_optional(conn)
    .await
}

/// An expired or failed session: its payment fails, unless it was already taken.
pub async fn fail_checkout(conn: &mut PgConnection, session_id: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "update payments set status = 'failed'
          where stripe_checkout_session_id = $1 and status = 'pending' returning id",
        session_id
    )
    .fetch_optional(conn)
    .await
}

/// Records a webhook event; false if it was handled before (or is being handled now:
/// the unique key makes a concurrent duplicate wait, then find it).
pub async fn record_event(conn: &mut PgConnection, event_id: &str, event_type: &str) -> sqlx::Result<bool> {
    let inserted = sqlx::query!(
        "insert into stripe_events (event_id, event_type) values ($1, $2) on conflict (event_id) do nothing",
        event_id,
        event_type
    )
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

pub async fn by_id(conn: &mut PgConnection, id: PaymentId) -> sqlx::Result<Option<Payment>> {
    sqlx::query_as!(
        Payment,
        r#"select id as "id!", booking_id as "booking_id!", parent_id as "parent_id!", parent_name as "parent_name!",
                  parent_email as "parent_email!", amount_pence as "amount_pence!", refunded_pence as "refunded_pence!",
                  currency as "currency!", method as "method!: Method", status as "status!: PaymentStatus",
                  reference as "reference!", recorded_by_name, activity as "activity!", paid_at,
                  created_at as "created_at!"
             from payment_lines where id = $1"#,
        id.0
    )
    .fetch_optional(conn)
    .await
}

/// The payment of a Checkout Session, only if it is `parent_id`'s.
pub async fn by_checkout_for_parent(
    conn: &mut PgConnection,
    session_id: &str,
    parent_id: i64,
) -> sqlx::Result<Option<Payment>> {
    sqlx::query_as!(
        Payment,
        r#"select id as "id!", booking_id as "booking_id!", parent_id as "parent_id!", parent_name as "parent_name!",
                  parent_email as "parent_email!", amount_pence as "amount_pence!", refunded_pence as "refunded_pence!",
                  currency as "currency!", method as "method!: Method", status as "status!: PaymentStatus",
                  reference as "reference!", recorded_by_name, activity as "activity!", paid_at,
                  created_at as "created_at!"
             from payment_lines where stripe_checkout_session_id = $1 and parent_id = $2"#,
        session_id,
        parent_id
    )
    .fetch_optional(conn)
    .await
}

/// A payment with its row locked, so a refund decided on it cannot race another.
pub async fn lock(conn: &mut PgConnection, id: PaymentId) -> sqlx::Result<Option<Payment>> {
    sqlx::query!("select 1 as locked from payments where id = $1 for update", id.0)
        .fetch_all(&mut *conn)
        .await?;
    by_id(conn, id).await
}

pub async fn payment_intent(conn: &mut PgConnection, id: PaymentId) -> sqlx::Result<Option<String>> {
    let intent = sqlx::query_scalar!("select stripe_payment_intent_id from payments where id = $1", id.0)
        .fetch_optional(conn)
        .await?;
    Ok(intent.flatten())
}

pub struct NewRefund<'a> {
    pub payment_id: i64,
    pub amount_pence: i32,
    pub reason: &'a str,
    pub stripe_refund_id: Option<&'a str>,
    pub recorded_by: Option<i64>,
}

/// Records a refund; the trigger adds it to the payment, and the database refuses it
/// (`payments_refunds_within_amount`) if it would exceed what was paid.
pub async fn insert_refund(conn: &mut PgConnection, new: &NewRefund<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "insert into refunds (payment_id, amount_pence, reason, stripe_refund_id, recorded_by)
         values ($1, $2, $3, $4, $5) returning id",
        new.payment_id,
        new.amount_pence,
        new.reason,
        new.stripe_refund_id,
        new.recorded_by
    )
    .fetch_one(conn)
    .await
}

/// Locks the payment a Stripe payment intent belongs to (if one does) until the
/// transaction ends.
async fn lock_by_intent(conn: &mut PgConnection, payment_intent: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "select 1 as locked from payments where stripe_payment_intent_id = $1 for update",
        payment_intent
    )
    .fetch_all(conn)
    .await?;
    Ok(())
}

/// A refund made in Stripe (ours echoed back, or one made in Stripe's dashboard),
/// recorded once by its Stripe id. Returns whether it was new.
pub async fn reconcile_stripe_refund(
    conn: &mut PgConnection,
    payment_intent: &str,
    stripe_refund_id: &str,
    amount_pence: i32,
) -> sqlx::Result<bool> {
    // The payment first: a refund finance is making through Stripe right now holds it,
    // and once that commits the `not exists` below sees its row (no deadlock on the
    // unique key, no double count).
    lock_by_intent(&mut *conn, payment_intent).await?;
    let inserted = sqlx::query!(
        "insert into refunds (payment_id, amount_pence, reason, stripe_refund_id)
         select p.id, $3, 'Refunded in Stripe', $2 from payments p
          where p.stripe_payment_intent_id = $1
            and not exists (select 1 from refunds where stripe_refund_id = $2)
         on conflict (stripe_refund_id) do nothing",
        payment_intent,
        stripe_refund_id,
        amount_pence
    )
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// A card refund Stripe reports failed or cancelled: marked once, and the trigger puts
/// its amount back on the payment. One Stripe has not yet told us of is recorded failed
/// from the start, so its `created` echo arriving later counts nothing. Returns the
/// refund's id if this call marked a counted refund failed.
pub async fn fail_stripe_refund(
    conn: &mut PgConnection,
    payment_intent: &str,
    stripe_refund_id: &str,
    amount_pence: i32,
    reason: &str,
) -> sqlx::Result<Option<i64>> {
    // The payment first, in the same order as recording a refund.
    lock_by_intent(&mut *conn, payment_intent).await?;
    let failed = sqlx::query_scalar!(
        "update refunds set failed_at = now(), failure_reason = $2
          where stripe_refund_id = $1 and failed_at is null returning id",
        stripe_refund_id,
        reason
    )
    .fetch_optional(&mut *conn)
    .await?;
    if failed.is_none() {
        sqlx::query!(
            "insert into refunds (payment_id, amount_pence, reason, stripe_refund_id, failed_at, failure_reason)
             select p.id, $3, 'Refunded in Stripe', $2, now(), $4 from payments p
              where p.stripe_payment_intent_id = $1
                and not exists (select 1 from refunds where stripe_refund_id = $2)
             on conflict (stripe_refund_id) do nothing",
            payment_intent,
            stripe_refund_id,
            amount_pence,
            reason
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(failed)
}

/// Gives a discount code's use back from a booking that never went ahead (its
/// payment did not come), so another family may use it. True if there was one.
pub async fn release_discount(conn: &mut PgConnection, booking_id: i64) -> sqlx::Result<bool> {
    let released = sqlx::query!(
        "with released as (delete from booking_discounts where booking_id = $1 returning discount_code_id)
         update discount_codes d set times_used = d.times_used - 1
           from released r where d.id = r.discount_code_id",
        booking_id
    )
    .execute(conn)
    .await?;
    Ok(released.rows_affected() == 1)
}

#[derive(Clone, Debug)]
pub struct DiscountCode {
    pub id: i64,
    pub code: String,
    pub kind: DiscountKind,
    pub percent_off: Option<i32>,
    pub amount_off_pence: Option<i32>,
    pub valid_from: Option<time::Date>,
    pub valid_until: Option<time::Date>,
    pub usage_limit: Option<i32>,
    pub times_used: i32,
    pub activity_ids: Vec<i64>,
    pub active: bool,
}

pub async fn discount_code_by_code(
    conn: &mut PgConnection,
    code: &str,
) -> sqlx::Result<Option<DiscountCode>> {
    sqlx::query_as!(
        DiscountCode,
        r#"select id, code, kind as "kind: DiscountKind", percent_off, amount_off_pence, valid_from, valid_until,
                  usage_limit, times_used, activity_ids, active
             from discount_codes where code = $1"#,
        code
    )
    .fetch_optional(conn)
    .await
}

pub struct NewDiscountCode<'a> {
    pub code: &'a str,
    pub kind: DiscountKind,
    pub percent_off: Option<i32>,
    pub amount_off_pence: Option<i32>,
    pub valid_from: Option<time::Date>,
    pub valid_until: Option<time::Date>,
    pub usage_limit: Option<i32>,
    pub activity_ids: &'a [i64],
    pub created_by: i64,
}

pub async fn insert_discount_code(conn: &mut PgConnection, new: &NewDiscountCode<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "insert into discount_codes (code, kind, percent_off, amount_off_pence, valid_from, valid_until,
                                     usage_limit, activity_ids, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
        new.code,
        new.kind as _,
        new.percent_off,
        new.amount_off_pence,
        new.valid_from,
        new.valid_until,
        new.usage_limit,
        new.activity_ids,
        new.created_by
    )
    .fetch_one(conn)
    .await
}

/// Counts a family's discount-code guess and says whether it may be tried: at most
/// `limit` wrong guesses in an hour. Counting and checking are one statement, so
/// concurrent guesses queue on the family's row and each sees the ones before it.
pub async fn count_discount_attempt(pool: &sqlx::PgPool, parent_id: i64, limit: i32) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"insert into discount_code_attempts as a (parent_id, window_started_at, attempts, successes)
           values ($1, now(), 1, 0)
           on conflict (parent_id) do update set
               window_started_at = case when a.window_started_at <= now() - interval '1 hour'
                                        then now() else a.window_started_at end,
               attempts = case when a.window_started_at <= now() - interval '1 hour'
                               then 1 else a.attempts + 1 end,
               successes = case when a.window_started_at <= now() - interval '1 hour'
                                then 0 else a.successes end
           returning attempts - successes <= $2 as "allowed!""#,
        parent_id,
        limit
    )
    .fetch_one(pool)
    .await
}

/// A code that worked is not a wrong guess: it gives its attempt back.
pub async fn count_discount_success(pool: &sqlx::PgPool, parent_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "update discount_code_attempts set successes = least(successes + 1, attempts) where parent_id = $1",
        parent_id
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Takes one use of the code if any is left: the check and the increment are one
/// statement, so concurrent users queue on the row and the limit is never passed.
pub async fn take_discount_use(conn: &mut PgConnection, code_id: i64) -> sqlx::Result<bool> {
    let taken = sqlx::query!(
        "update discount_codes set times_used = times_used + 1
          where id = $1 and active and (usage_limit is null or times_used < usage_limit)",
        code_id
    )
    .execute(conn)
    .await?;
    Ok(taken.rows_affected() == 1)
}

pub async fn booking_activity_ids(conn: &mut PgConnection, booking_id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!(
        "select distinct s.activity_id from booking_participants bp join sessions s on s.id = bp.session_id
          where bp.booking_id = $1 and bp.holds_place",
        booking_id
    )
    .fetch_all(conn)
    .await
}

/// Records the discount on the booking; false if the booking already has one.
pub async fn insert_booking_discount(
    conn: &mut PgConnection,
    booking_id: i64,
    code_id: i64,
    amount_pence: i32,
    applied_by: i64,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query!(
        "insert into booking_discounts (booking_id, discount_code_id, amount_pence, applied_by)
         values ($1, $2, $3, $4) on conflict (booking_id) do nothing",
        booking_id,
        code_id,
        amount_pence,
        applied_by
    )
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}
