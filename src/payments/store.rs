//! The SQL of payments and refunds. "Never refund more than was paid" is kept by the
//! database (`payments_refunds_within_amount`, see 0010_payments.sql).

use sqlx::{FromRow, PgConnection, Postgres, postgres::PgArguments, query::QueryAs};

use super::domain::{DiscountKind, Method, PaymentStatus};
use crate::{
    bookings::domain::BookingStatus,
    ids::{BookingId, PaymentId, UserId},
    web::page::{FETCH, PageRequest},
};
use time::OffsetDateTime;

/// Money a payment still counts for: taken, less what was refunded.
const NET_PAID: &str = "case when p.status in ('succeeded', 'partially_refunded', 'refunded')
                             then p.amount_pence - p.refunded_pence else 0 end";

const DISCOUNT: &str =
    "coalesce((select d.amount_pence from booking_discounts d where d.booking_id = b.id), 0)::bigint";

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
    pub discount_pence: i64,
    pub activity: String,
}

impl Balance {
    /// Total − discount − paid + refunded for a booking that keeps its places; nothing
    /// otherwise.
    pub fn due_pence(&self) -> i64 {
        let holds = self.booking_status().is_some_and(BookingStatus::holds_places);
        let owed = i64::from(self.total_pence) - self.discount_pence - self.paid_pence;
        if holds { owed.max(0) } else { 0 }
    }

    pub fn booking_status(&self) -> Option<BookingStatus> {
        BookingStatus::parse(&self.status)
    }

    /// Places are held while a card payment is made.
    pub fn awaits_payment(&self) -> bool {
        self.booking_status() == Some(BookingStatus::AwaitingPayment)
    }
}

fn balance_select() -> String {
    format!(
        "select b.id as booking_id, b.parent_id, u.name as parent_name, u.email as parent_email, b.status,
                b.total_pence, b.currency,
                coalesce((select sum({NET_PAID}) from payments p where p.booking_id = b.id), 0)::bigint
                    as paid_pence,
                {DISCOUNT} as discount_pence,
                {ACTIVITIES_OF_BOOKING} as activity
         from bookings b join users u on u.id = b.parent_id
         where b.id = $1"
    )
}

pub async fn balance(conn: &mut PgConnection, booking_id: BookingId) -> sqlx::Result<Option<Balance>> {
    sqlx::query_as(&balance_select()).bind(booking_id).fetch_optional(conn).await
}

/// The balance with the booking locked until the transaction ends, so two payments
/// recorded at once cannot both fit in the same amount due.
pub async fn lock_balance(conn: &mut PgConnection, booking_id: BookingId) -> sqlx::Result<Option<Balance>> {
    // Lock first, then read in a new statement: one statement's subqueries keep the
    // snapshot from before the wait and would miss a payment committed meanwhile.
    sqlx::query("select 1 from bookings where id = $1 for update")
        .bind(booking_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query_as(&balance_select()).bind(booking_id).fetch_optional(conn).await
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
    pub method: Method,
    pub status: PaymentStatus,
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
pub async fn for_parent(
    conn: &mut PgConnection,
    id: PaymentId,
    parent_id: UserId,
) -> sqlx::Result<Option<Payment>> {
    sqlx::query_as(&format!("{} where p.id = $1 and b.parent_id = $2", payment_select()))
        .bind(id)
        .bind(parent_id)
        .fetch_optional(conn)
        .await
}

pub async fn of_parent(conn: &mut PgConnection, parent_id: i64) -> sqlx::Result<Vec<Payment>> {
    sqlx::query_as(&format!(
        "{} where b.parent_id = $1 order by p.created_at desc, p.id desc",
        payment_select()
    ))
    .bind(parent_id)
    .fetch_all(conn)
    .await
}

pub async fn of_booking(conn: &mut PgConnection, booking_id: BookingId) -> sqlx::Result<Vec<Payment>> {
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
    pub method: Method,
    pub reason: String,
    pub recorded_by_name: Option<String>,
    pub created_at: OffsetDateTime,
    /// Stripe reported the refund failed: it no longer counts.
    pub failed_at: Option<OffsetDateTime>,
    pub failure_reason: Option<String>,
}

pub async fn refunds_of_payment(conn: &mut PgConnection, payment_id: i64) -> sqlx::Result<Vec<Refund>> {
    sqlx::query_as(&format!("{REFUND_SELECT} where f.payment_id = $1 order by f.created_at, f.id"))
        .bind(payment_id)
        .fetch_all(conn)
        .await
}

const REFUND_SELECT: &str = "
    select f.id, f.payment_id, p.booking_id, u.name as parent_name, f.amount_pence, p.currency, p.method,
           f.reason, r.name as recorded_by_name, f.created_at, f.failed_at, f.failure_reason
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
    pub status: Option<PaymentStatus>,
    pub activity_id: Option<i64>,
}

const BOOKING_HAS_ACTIVITY: &str = "($4::bigint is null or exists (
        select 1 from booking_participants bp join sessions s on s.id = bp.session_id
        where bp.booking_id = b.id and s.activity_id = $4))";

/// Finance's filters over `payments p`, parameters `$1`–`$4` (bound by [`bind_search`]).
const PAYMENT_FILTERS: &str = "($1::timestamptz is null or p.created_at >= $1)
    and ($2::timestamptz is null or p.created_at < $2)
    and ($3::text is null or p.status = $3)
    and ($4::bigint is null or exists (
        select 1 from booking_participants bp join sessions s on s.id = bp.session_id
        where bp.booking_id = p.booking_id and s.activity_id = $4))";

/// Binds `search` as `$1`–`$4` of [`PAYMENT_FILTERS`] (and the package sales' own).
pub fn bind_search<'q, O>(
    query: QueryAs<'q, Postgres, O, PgArguments>,
    search: &Search,
) -> QueryAs<'q, Postgres, O, PgArguments> {
    query.bind(search.from).bind(search.until).bind(search.status).bind(search.activity_id)
}

/// One page of the payments made in the period (by when they were created), newest
/// first.
pub async fn search(
    conn: &mut PgConnection,
    search: &Search,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<Payment>> {
    let sql = format!(
        "{} where {PAYMENT_FILTERS} {} {} limit {FETCH}",
        payment_select(),
        page.condition("p.created_at", "p.id", 5),
        page.order("p.created_at", "p.id")
    );
    page.bind(bind_search(sqlx::query_as(&sql), search)).fetch_all(conn).await
}

/// The CSV's query: every payment [`search`] finds, newest first, for [`bind_search`].
pub fn export_sql() -> String {
    format!("{} where {PAYMENT_FILTERS} order by p.created_at desc, p.id desc", payment_select())
}

/// Money over every payment a search finds: what counts as taken, refunded, and net.
#[derive(Clone, Copy, Debug, Default, FromRow)]
pub struct Totals {
    pub count: i64,
    pub taken_pence: i64,
    pub refunded_pence: i64,
    pub net_pence: i64,
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

/// [`Totals`] of the payments `search` finds, summed by PostgreSQL: from the hourly
/// totals (migration 0025) when the period is whole hours and no activity is chosen,
/// which is every period the page's date fields give in whole-hour time zones.
pub async fn totals(conn: &mut PgConnection, search: &Search) -> sqlx::Result<Totals> {
    let whole_hours = [search.from, search.until].iter().flatten().all(|t| t.unix_timestamp() % 3600 == 0);
    if whole_hours && search.activity_id.is_none() {
        return sqlx::query_as(
            "select coalesce(sum(payments), 0)::bigint as count,
                    coalesce(sum(amount_pence) filter (where status in ('succeeded', 'partially_refunded', 'refunded')), 0)::bigint
                        as taken_pence,
                    coalesce(sum(refunded_pence), 0)::bigint as refunded_pence,
                    coalesce(sum(amount_pence - refunded_pence)
                             filter (where status in ('succeeded', 'partially_refunded', 'refunded')), 0)::bigint
                        as net_pence
             from payment_hour_totals
             where ($1::timestamptz is null or hour >= $1) and ($2::timestamptz is null or hour < $2)
               and ($3::text is null or status = $3)",
        )
        .bind(search.from)
        .bind(search.until)
        .bind(search.status)
        .fetch_one(conn)
        .await;
    }
    let sql = format!(
        "select count(*) as count,
                coalesce(sum(p.amount_pence) filter (where p.status in ('succeeded', 'partially_refunded', 'refunded')), 0)::bigint
                    as taken_pence,
                coalesce(sum(p.refunded_pence), 0)::bigint as refunded_pence,
                coalesce(sum({NET_PAID}), 0)::bigint as net_pence
         from payments p where {PAYMENT_FILTERS}"
    );
    bind_search(sqlx::query_as(&sql), search).fetch_one(conn).await
}

/// Refunds made in the period, on payments of the chosen activity; not those that
/// failed, which gave nothing back. The newest page's worth (the page shows the
/// newest of these and of package refunds; [`refunds_total`] counts them all).
pub async fn search_refunds(conn: &mut PgConnection, search: &Search) -> sqlx::Result<Vec<Refund>> {
    let sql = format!(
        "{REFUND_SELECT}
         where f.failed_at is null
           and ($1::timestamptz is null or f.created_at >= $1)
           and ($2::timestamptz is null or f.created_at < $2)
           and ($3::text is null or p.status = $3)
           and {BOOKING_HAS_ACTIVITY}
         order by f.created_at desc, f.id desc
         limit {FETCH}"
    );
    bind_search(sqlx::query_as(&sql), search).fetch_all(conn).await
}

/// How many refunds of booking payments [`search_refunds`] would find, and their sum.
pub async fn refunds_total(conn: &mut PgConnection, search: &Search) -> sqlx::Result<(i64, i64)> {
    let sql = "select count(*), coalesce(sum(f.amount_pence), 0)::bigint
         from refunds f join payments p on p.id = f.payment_id
         where f.failed_at is null
           and ($1::timestamptz is null or f.created_at >= $1)
           and ($2::timestamptz is null or f.created_at < $2)
           and ($3::text is null or p.status = $3)
           and ($4::bigint is null or exists (
               select 1 from booking_participants bp join sessions s on s.id = bp.session_id
               where bp.booking_id = p.booking_id and s.activity_id = $4))";
    bind_search(sqlx::query_as(sql), search).fetch_one(conn).await
}

/// Bookings that keep their places and are not fully paid, parameter `$1` the activity.
fn outstanding_from() -> String {
    format!(
        "(select b.id as booking_id, b.parent_id, u.name as parent_name, u.email as parent_email, b.status,
                 b.total_pence, b.currency, b.paid_pence,
                 {DISCOUNT} as discount_pence,
                 b.created_at
          from bookings b join users u on u.id = b.parent_id
          where b.status in ('pending', 'changes_requested', 'approved', 'completed')
            and b.paid_pence < b.total_pence
            and ($1::bigint is null or exists (
                select 1 from booking_participants bp join sessions s on s.id = bp.session_id
                where bp.booking_id = b.id and s.activity_id = $1))
         ) balances
         where paid_pence + discount_pence < total_pence"
    )
}

/// A booking owed money, with when it was made (the list's order).
#[derive(Clone, Debug, FromRow)]
pub struct Owed {
    #[sqlx(flatten)]
    pub balance: Balance,
    pub created_at: OffsetDateTime,
}

/// One page of the bookings still owed money, oldest first.
pub async fn outstanding(
    conn: &mut PgConnection,
    activity_id: Option<i64>,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<Owed>> {
    let sql = format!(
        "select balances.*,
                coalesce((select string_agg(distinct a.name, ', ')
                          from booking_participants bp
                          join sessions s on s.id = bp.session_id
                          join activities a on a.id = s.activity_id
                          where bp.booking_id = balances.booking_id), '') as activity
         from {} {} {} limit {FETCH}",
        outstanding_from(),
        page.condition("created_at", "booking_id", 2),
        page.order("created_at", "booking_id")
    );
    page.bind(sqlx::query_as(&sql).bind(activity_id)).fetch_all(conn).await
}

/// How many bookings are owed money and how much, over every page: only the bookings
/// not paid in full are read, through their partial index (`bookings_owed_created`,
/// with `paid_pence` kept by trigger, migration 0025).
pub async fn outstanding_total(
    conn: &mut PgConnection,
    activity_id: Option<i64>,
) -> sqlx::Result<(i64, i64)> {
    sqlx::query_as(
        "select count(*), coalesce(sum(owed), 0)::bigint from (
            select b.total_pence - b.paid_pence - coalesce(d.amount_pence, 0) as owed
            from bookings b
            left join booking_discounts d on d.booking_id = b.id
            where b.status in ('pending', 'changes_requested', 'approved', 'completed')
              and b.paid_pence < b.total_pence
              and ($1::bigint is null or exists (
                  select 1 from booking_participants bp join sessions s on s.id = bp.session_id
                  where bp.booking_id = b.id and s.activity_id = $1))
         ) owing
         where owed > 0",
    )
    .bind(activity_id)
    .fetch_one(conn)
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

/// A Checkout Session of a booking that Stripe has not yet reported paid or expired.
#[derive(Clone, Debug, FromRow)]
pub struct OpenCheckout {
    pub session_id: String,
    pub url: Option<String>,
    pub amount_pence: i32,
    /// Young enough to send the parent back to (Stripe's sessions last 24 hours at most).
    pub reusable: bool,
}

/// The booking's card payments still waiting on Stripe, newest first.
pub async fn open_checkouts(conn: &mut PgConnection, booking_id: i64) -> sqlx::Result<Vec<OpenCheckout>> {
    sqlx::query_as(
        "select stripe_checkout_session_id as session_id, stripe_checkout_url as url, amount_pence,
                created_at > now() - interval '23 hours' as reusable
           from payments
          where booking_id = $1 and method = 'card' and status = 'pending'
            and stripe_checkout_session_id is not null
          order by created_at desc, id desc",
    )
    .bind(booking_id)
    .fetch_all(conn)
    .await
}

/// The booking a Checkout Session pays for.
pub async fn booking_of_checkout(conn: &mut PgConnection, session_id: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("select booking_id from payments where stripe_checkout_session_id = $1")
        .bind(session_id)
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
    sqlx::query_scalar(
        "insert into payments (booking_id, amount_pence, currency, method, status, stripe_checkout_session_id,
                               stripe_checkout_url, recorded_by)
         values ($1, $2, $3, 'card', 'pending', $4, $5, $6) returning id",
    )
    .bind(new.booking_id)
    .bind(new.amount_pence)
    .bind(new.currency)
    .bind(new.session_id)
    .bind(new.url)
    .bind(new.recorded_by)
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
    sqlx::query_scalar(
        "update payments
            set status = 'succeeded', paid_at = now(),
                stripe_payment_intent_id = coalesce($2, stripe_payment_intent_id)
          where stripe_checkout_session_id = $1 and status in ('pending', 'failed')
          returning id",
    )
    .bind(session_id)
    .bind(payment_intent)
    .fetch_optional(conn)
    .await
}

/// An expired or failed session: its payment fails, unless it was already taken.
pub async fn fail_checkout(conn: &mut PgConnection, session_id: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "update payments set status = 'failed'
          where stripe_checkout_session_id = $1 and status = 'pending' returning id",
    )
    .bind(session_id)
    .fetch_optional(conn)
    .await
}

/// Records a webhook event; false if it was handled before (or is being handled now:
/// the unique key makes a concurrent duplicate wait, then find it).
pub async fn record_event(conn: &mut PgConnection, event_id: &str, event_type: &str) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "insert into stripe_events (event_id, event_type) values ($1, $2) on conflict (event_id) do nothing",
    )
    .bind(event_id)
    .bind(event_type)
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

pub async fn by_id(conn: &mut PgConnection, id: PaymentId) -> sqlx::Result<Option<Payment>> {
    sqlx::query_as(&format!("{} where p.id = $1", payment_select())).bind(id).fetch_optional(conn).await
}

/// The payment of a Checkout Session, only if it is `parent_id`'s.
pub async fn by_checkout_for_parent(
    conn: &mut PgConnection,
    session_id: &str,
    parent_id: i64,
) -> sqlx::Result<Option<Payment>> {
    sqlx::query_as(&format!(
        "{} where p.stripe_checkout_session_id = $1 and b.parent_id = $2",
        payment_select()
    ))
    .bind(session_id)
    .bind(parent_id)
    .fetch_optional(conn)
    .await
}

/// A payment with its row locked, so a refund decided on it cannot race another.
pub async fn lock(conn: &mut PgConnection, id: PaymentId) -> sqlx::Result<Option<Payment>> {
    sqlx::query("select 1 from payments where id = $1 for update").bind(id).execute(&mut *conn).await?;
    by_id(conn, id).await
}

pub async fn payment_intent(conn: &mut PgConnection, id: PaymentId) -> sqlx::Result<Option<String>> {
    let intent: Option<Option<String>> =
        sqlx::query_scalar("select stripe_payment_intent_id from payments where id = $1")
            .bind(id)
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
    sqlx::query_scalar(
        "insert into refunds (payment_id, amount_pence, reason, stripe_refund_id, recorded_by)
         values ($1, $2, $3, $4, $5) returning id",
    )
    .bind(new.payment_id)
    .bind(new.amount_pence)
    .bind(new.reason)
    .bind(new.stripe_refund_id)
    .bind(new.recorded_by)
    .fetch_one(conn)
    .await
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
    sqlx::query("select 1 from payments where stripe_payment_intent_id = $1 for update")
        .bind(payment_intent)
        .execute(&mut *conn)
        .await?;
    let inserted = sqlx::query(
        "insert into refunds (payment_id, amount_pence, reason, stripe_refund_id)
         select p.id, $3, 'Refunded in Stripe', $2 from payments p
          where p.stripe_payment_intent_id = $1
            and not exists (select 1 from refunds where stripe_refund_id = $2)
         on conflict (stripe_refund_id) do nothing",
    )
    .bind(payment_intent)
    .bind(stripe_refund_id)
    .bind(amount_pence)
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
    sqlx::query("select 1 from payments where stripe_payment_intent_id = $1 for update")
        .bind(payment_intent)
        .execute(&mut *conn)
        .await?;
    let failed: Option<i64> = sqlx::query_scalar(
        "update refunds set failed_at = now(), failure_reason = $2
          where stripe_refund_id = $1 and failed_at is null returning id",
    )
    .bind(stripe_refund_id)
    .bind(reason)
    .fetch_optional(&mut *conn)
    .await?;
    if failed.is_none() {
        sqlx::query(
            "insert into refunds (payment_id, amount_pence, reason, stripe_refund_id, failed_at, failure_reason)
             select p.id, $3, 'Refunded in Stripe', $2, now(), $4 from payments p
              where p.stripe_payment_intent_id = $1
                and not exists (select 1 from refunds where stripe_refund_id = $2)
             on conflict (stripe_refund_id) do nothing",
        )
        .bind(payment_intent)
        .bind(stripe_refund_id)
        .bind(amount_pence)
        .bind(reason)
        .execute(&mut *conn)
        .await?;
    }
    Ok(failed)
}

/// Gives a discount code's use back from a booking that never went ahead (its
/// payment did not come), so another family may use it. True if there was one.
pub async fn release_discount(conn: &mut PgConnection, booking_id: i64) -> sqlx::Result<bool> {
    let released = sqlx::query(
        "with released as (delete from booking_discounts where booking_id = $1 returning discount_code_id)
         update discount_codes d set times_used = d.times_used - 1
           from released r where d.id = r.discount_code_id",
    )
    .bind(booking_id)
    .execute(conn)
    .await?;
    Ok(released.rows_affected() == 1)
}

#[derive(Clone, Debug, FromRow)]
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

const CODE_SELECT: &str = "select id, code, kind, percent_off, amount_off_pence, valid_from, valid_until,
        usage_limit, times_used, activity_ids, active from discount_codes";

pub async fn discount_codes(conn: &mut PgConnection) -> sqlx::Result<Vec<DiscountCode>> {
    sqlx::query_as(&format!("{CODE_SELECT} order by created_at desc, id desc")).fetch_all(conn).await
}

pub async fn discount_code_by_code(
    conn: &mut PgConnection,
    code: &str,
) -> sqlx::Result<Option<DiscountCode>> {
    sqlx::query_as(&format!("{CODE_SELECT} where code = $1")).bind(code).fetch_optional(conn).await
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
    sqlx::query_scalar(
        "insert into discount_codes (code, kind, percent_off, amount_off_pence, valid_from, valid_until,
                                     usage_limit, activity_ids, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
    )
    .bind(new.code)
    .bind(new.kind)
    .bind(new.percent_off)
    .bind(new.amount_off_pence)
    .bind(new.valid_from)
    .bind(new.valid_until)
    .bind(new.usage_limit)
    .bind(new.activity_ids)
    .bind(new.created_by)
    .fetch_one(conn)
    .await
}

/// Counts a family's discount-code guess and says whether it may be tried: at most
/// `limit` wrong guesses in an hour. Counting and checking are one statement, so
/// concurrent guesses queue on the family's row and each sees the ones before it.
pub async fn count_discount_attempt(pool: &sqlx::PgPool, parent_id: i64, limit: i32) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "insert into discount_code_attempts as a (parent_id, window_started_at, attempts, successes)
         values ($1, now(), 1, 0)
         on conflict (parent_id) do update set
             window_started_at = case when a.window_started_at <= now() - interval '1 hour'
                                      then now() else a.window_started_at end,
             attempts = case when a.window_started_at <= now() - interval '1 hour'
                             then 1 else a.attempts + 1 end,
             successes = case when a.window_started_at <= now() - interval '1 hour'
                              then 0 else a.successes end
         returning attempts - successes <= $2",
    )
    .bind(parent_id)
    .bind(limit)
    .fetch_one(pool)
    .await
}

/// A code that worked is not a wrong guess: it gives its attempt back.
pub async fn count_discount_success(pool: &sqlx::PgPool, parent_id: i64) -> sqlx::Result<()> {
    sqlx::query(
        "update discount_code_attempts set successes = least(successes + 1, attempts) where parent_id = $1",
    )
    .bind(parent_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Takes one use of the code if any is left: the check and the increment are one
/// statement, so concurrent users queue on the row and the limit is never passed.
pub async fn take_discount_use(conn: &mut PgConnection, code_id: i64) -> sqlx::Result<bool> {
    let taken = sqlx::query(
        "update discount_codes set times_used = times_used + 1
          where id = $1 and active and (usage_limit is null or times_used < usage_limit)",
    )
    .bind(code_id)
    .execute(conn)
    .await?;
    Ok(taken.rows_affected() == 1)
}

pub async fn booking_activity_ids(conn: &mut PgConnection, booking_id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "select distinct s.activity_id from booking_participants bp join sessions s on s.id = bp.session_id
          where bp.booking_id = $1 and bp.holds_place",
    )
    .bind(booking_id)
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
    let inserted = sqlx::query(
        "insert into booking_discounts (booking_id, discount_code_id, amount_pence, applied_by)
         values ($1, $2, $3, $4) on conflict (booking_id) do nothing",
    )
    .bind(booking_id)
    .bind(code_id)
    .bind(amount_pence)
    .bind(applied_by)
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}
