//! Money back when places are cancelled (or moved to a cheaper session): an admin
//! cancelling a session refunds each booking's paid share of it; cancelling a booking
//! refunds the paid share of the places still before their cut-off (sessions already
//! held are not refunded), and the office may give more with a reason. Cash and bank
//! transfers are refunded in the cancelling transaction; card refunds are queued there
//! (`cancellation_refunds`, which also lists every such refund for finance with who
//! caused it) and sent to Stripe after it commits, each claimed once, so no row lock is
//! held over the HTTP call and no refund is sent or recorded twice. Never more than was
//! paid: the database keeps it.

use serde_json::json;
use sqlx::PgConnection;

pub use super::domain::Cause;
use super::{
    domain::{Method, QueuedRefundStatus},
    store,
};
use crate::{
    AppState, audit,
    auth::AdminRole,
    db::OnConstraint,
    error::AppResult,
    ids::{BookingId, CancellationRefundId},
    notifications::Email,
    web::{
        fmt,
        page::{PageRequest, paged},
    },
};

/// What a cancellation gave back: refunded now (offline) and queued for Stripe (card).
#[derive(Debug, Default)]
pub struct CancellationRefund {
    pub total_pence: i64,
    /// Package credits the cancelled places had used, given back.
    pub credits_returned: u64,
    pub card_refunds: Vec<i64>,
}

/// What a cancellation would give back, worked out exactly as [`refund_cancelled`]
/// does, for the page before the parent or the office confirms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quote {
    pub amount_pence: i64,
    pub credits: i64,
    /// Everything still paid and not yet refunded on the booking: the most the office
    /// may give back.
    pub paid_pence: i64,
}

struct Refundable {
    id: i64,
    method: Method,
    available_pence: i64,
}

/// The part of `net` that `part` of `whole` stands for, rounded down.
pub fn share_pence(net: i64, part: i64, whole: i64) -> i64 {
    if whole <= 0 || part <= 0 || net <= 0 { 0 } else { (net * part.min(whole)) / whole }
}

/// Splits `amount` over what each payment has left, newest payment first.
fn allocate(amount: i64, available: &[i64]) -> Vec<i64> {
    let mut left = amount;
    available
        .iter()
        .map(|a| {
            let take = left.min(*a).max(0);
            left -= take;
            take
        })
        .collect()
}

/// The booking's taken payments with what each has left to refund (less card refunds
/// already queued), newest first. Lock them first with [`lock_payments`] to act on it.
async fn refundable(conn: &mut PgConnection, booking_id: i64) -> sqlx::Result<Vec<Refundable>> {
    sqlx::query_as!(
        Refundable,
        r#"select p.id, p.method as "method: Method",
                  (p.amount_pence - p.refunded_pence - coalesce((
                      select sum(c.amount_pence) from cancellation_refunds c
                       where c.payment_id = p.id and c.status in ('pending', 'sending')), 0))::bigint
                      as "available_pence!"
             from payments p
            where p.booking_id = $1 and p.status in ('succeeded', 'partially_refunded')
            order by p.paid_at desc nulls last, p.id desc"#,
        booking_id
    )
    .fetch_all(conn)
    .await
}

/// Locks the booking's taken payments until the transaction ends. Read them afterwards
/// in a new statement: the snapshot of one statement would miss a refund committed
/// while it waited.
async fn lock_payments(conn: &mut PgConnection, booking_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "select 1 as locked from payments where booking_id = $1 and status in ('succeeded', 'partially_refunded')
         order by id for update",
        booking_id
    )
    .fetch_all(conn)
    .await?;
    Ok(())
}

/// The paid share of the places on `sessions` (all places when None), out of `net`,
/// judged on the places the booking holds now (call before they are released).
async fn share_of(
    conn: &mut PgConnection,
    booking_id: i64,
    sessions: Option<&[i64]>,
    net: i64,
) -> sqlx::Result<i64> {
    let Some(sessions) = sessions else { return Ok(net) };
    let prices = sqlx::query!(
        r#"select coalesce(sum(price_pence) filter (where session_id = any($2)), 0)::bigint as "part!",
                  coalesce(sum(price_pence), 0)::bigint as "whole!"
             from booking_participants where booking_id = $1 and holds_place"#,
        booking_id,
        sessions
    )
    .fetch_one(conn)
    .await?;
    Ok(share_pence(net, prices.part, prices.whole))
}

/// What cancelling the places on `sessions` (everything when None) would give back now.
pub async fn quote(
    conn: &mut PgConnection,
    BookingId(booking_id): BookingId,
    sessions: Option<&[i64]>,
) -> sqlx::Result<Quote> {
    let net: i64 = refundable(&mut *conn, booking_id).await?.iter().map(|p| p.available_pence.max(0)).sum();
    Ok(Quote {
        amount_pence: share_of(&mut *conn, booking_id, sessions, net).await?,
        credits: super::packages::credits_to_return(conn, booking_id, sessions).await?,
        paid_pence: net,
    })
}

/// Refunds booking `booking_id` for a cancellation, inside the caller's transaction:
/// everything paid (`sessions` None), or the paid share of its places on `sessions`
/// (call before those places are released), and gives back the package credits those
/// places used. Emails the parent about money refunded. `actor_id` is None when
/// Portico itself acts (a lapsed hold, a payment that came too late).
pub async fn refund_cancelled(
    state: &AppState,
    conn: &mut PgConnection,
    BookingId(booking_id): BookingId,
    sessions: Option<&[i64]>,
    reason: &str,
    actor_id: Option<i64>,
) -> AppResult<CancellationRefund> {
    lock_payments(&mut *conn, booking_id).await?;
    let net: i64 = refundable(&mut *conn, booking_id).await?.iter().map(|p| p.available_pence.max(0)).sum();
    let amount = share_of(&mut *conn, booking_id, sessions, net).await?;
    let credits_returned =
        super::packages::return_credits(&mut *conn, booking_id, sessions, actor_id).await?;
    let mut done =
        refund_amount(state, conn, BookingId(booking_id), amount, reason, actor_id, Cause::Cancellation)
            .await?;
    done.credits_returned = credits_returned;
    Ok(done)
}

/// Refunds `amount` of what was paid for booking `booking_id` (never more than is left),
/// newest payment first, in the caller's transaction: cash and bank transfers recorded
/// now, card refunds queued for [`settle`]. Each is listed for finance with `actor_id`
/// and `cause`; the parent is emailed.
pub async fn refund_amount(
    state: &AppState,
    conn: &mut PgConnection,
    BookingId(booking_id): BookingId,
    amount: i64,
    reason: &str,
    actor_id: Option<i64>,
    cause: Cause,
) -> AppResult<CancellationRefund> {
    let mut done = CancellationRefund::default();
    if amount <= 0 {
        return Ok(done);
    }
    lock_payments(&mut *conn, booking_id).await?;
    let payments = refundable(&mut *conn, booking_id).await?;
    let available: Vec<i64> = payments.iter().map(|p| p.available_pence.max(0)).collect();
    for (payment, take) in payments.iter().zip(allocate(amount, &available)) {
        let Ok(take) = i32::try_from(take) else { continue };
        if take <= 0 {
            continue;
        }
        let queued =
            QueuedRefund { payment_id: payment.id, booking_id, amount_pence: take, reason, actor_id, cause };
        if let Method::Card = payment.method {
            done.card_refunds.push(queue_card_refund(&mut *conn, &queued).await?);
        } else {
            let new = store::NewRefund {
                payment_id: payment.id,
                amount_pence: take,
                reason,
                stripe_refund_id: None,
                recorded_by: actor_id,
            };
            let refund_id = store::insert_refund(&mut *conn, &new).await?;
            list_offline_refund(&mut *conn, &queued, refund_id).await?;
            audit::record(&mut *conn)
                .actor(actor_id)
                .action("payment.refunded")
                .entity("payment", payment.id)
                .after(json!({ "refund_id": refund_id, "amount_pence": take, "reason": reason,
                             "cancellation": true, "cause": cause.as_str() }))
                .await?;
        }
        done.total_pence += i64::from(take);
    }
    if done.total_pence > 0
        && let Some(balance) = store::balance(&mut *conn, BookingId(booking_id)).await?
    {
        let email = Email {
            to: balance.parent_email,
            subject: format!("Refund for booking #{booking_id}"),
            body: format!(
                "Hello {},\n\n{reason}\n\nWe are refunding you {} for booking #{booking_id}. Card refunds \
                 reach your account within a few days.\n\nYour payments: {}/parent/payments\n",
                balance.parent_name,
                fmt::pounds(done.total_pence),
                state.config.base_url,
            ),
        };
        state.outbox.queue(&mut *conn, &email).await?;
    }
    Ok(done)
}

/// A refund a cancellation or a move owes, from one payment.
pub struct QueuedRefund<'a> {
    pub payment_id: i64,
    pub booking_id: i64,
    pub amount_pence: i32,
    pub reason: &'a str,
    pub actor_id: Option<i64>,
    pub cause: Cause,
}

/// Queues a card refund, to send with [`settle`] once the caller's transaction has
/// committed.
pub async fn queue_card_refund(conn: &mut PgConnection, r: &QueuedRefund<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "insert into cancellation_refunds (payment_id, booking_id, amount_pence, reason, requested_by, cause)
         values ($1, $2, $3, $4, $5, $6) returning id",
        r.payment_id,
        r.booking_id,
        r.amount_pence,
        r.reason,
        r.actor_id,
        r.cause as _
    )
    .fetch_one(conn)
    .await
}

/// A cash or bank-transfer refund already recorded, on finance's list beside the card
/// ones (done from the start, so it is never sent anywhere).
async fn list_offline_refund(
    conn: &mut PgConnection,
    r: &QueuedRefund<'_>,
    refund_id: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into cancellation_refunds
             (payment_id, booking_id, amount_pence, reason, requested_by, cause, status, refund_id)
         values ($1, $2, $3, $4, $5, $6, 'done', $7)",
        r.payment_id,
        r.booking_id,
        r.amount_pence,
        r.reason,
        r.actor_id,
        r.cause as _,
        refund_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A refund a cancellation or a move caused, as finance's list shows it.
pub struct CausedRefund {
    pub id: i64,
    pub booking_id: i64,
    pub payment_id: i64,
    pub method: Method,
    pub amount_pence: i32,
    pub reason: String,
    pub status: QueuedRefundStatus,
    pub cause: Cause,
    pub parent_name: String,
    pub requested_by_name: Option<String>,
    pub requested_by_role: Option<AdminRole>,
    pub created_at: time::OffsetDateTime,
}

/// One page of the refunds that staff caused by cancelling (or moving) places, made in
/// the period, newest first.
pub async fn caused_by_staff(
    conn: &mut PgConnection,
    from: Option<time::OffsetDateTime>,
    until: Option<time::OffsetDateTime>,
    page: &PageRequest<time::OffsetDateTime>,
) -> sqlx::Result<Vec<CausedRefund>> {
    paged!(
        conn,
        page,
        CausedRefund,
        r#"select c.id, c.booking_id, c.payment_id, p.method as "method: Method", c.amount_pence, c.reason,
                  c.status as "status: QueuedRefundStatus", c.cause as "cause: Cause",
                  pu.name as parent_name, u.name as "requested_by_name?",
                  u.admin_role as "requested_by_role?: AdminRole", c.created_at
             from cancellation_refunds c
             join payments p on p.id = c.payment_id
             join bookings b on b.id = c.booking_id
             join users pu on pu.id = b.parent_id
             join users u on u.id = c.requested_by
            where u.role = 'admin'
              and ($3::timestamptz is null or c.created_at >= $3)
              and ($4::timestamptz is null or c.created_at < $4)"#,
        "c.created_at",
        "c.id",
        from,
        until
    )
}

struct Claimed {
    payment_id: i64,
    amount_pence: i32,
    reason: String,
    intent: Option<String>,
}

/// Sends queued card refunds to Stripe, after the cancelling transaction committed.
/// A failure is kept on the row (`failed`, with the error) for finance to follow up;
/// it never undoes the cancellation.
pub async fn settle(state: &AppState, ids: &[i64]) {
    for id in ids {
        if let Err(err) = settle_one(state, *id).await {
            tracing::error!(error = ?err, cancellation_refund = id, "Could not settle a cancellation refund");
        }
    }
}

/// A card refund Stripe refused, for finance to see and retry.
pub struct FailedRefund {
    pub id: i64,
    pub booking_id: i64,
    pub amount_pence: i32,
    pub last_error: Option<String>,
    pub created_at: time::OffsetDateTime,
}

/// One page of the card refunds Stripe refused, oldest first.
pub async fn failed(
    conn: &mut PgConnection,
    page: &PageRequest<time::OffsetDateTime>,
) -> sqlx::Result<Vec<FailedRefund>> {
    paged!(
        conn,
        page,
        FailedRefund,
        "select id, booking_id, amount_pence, last_error, created_at from cancellation_refunds
          where status = 'failed'",
        "created_at",
        "id"
    )
}

/// Whether a card refund is still one Stripe refused.
pub async fn is_failed(conn: &mut PgConnection, id: CancellationRefundId) -> sqlx::Result<bool> {
    let failed = sqlx::query_scalar!(
        r#"select exists (select 1 from cancellation_refunds where id = $1 and status = 'failed') as "failed!""#,
        id.0
    )
    .fetch_one(conn)
    .await?;
    Ok(failed)
}

/// A cancellation refund Stripe made and then reported failed: back on finance's list
/// of refunds Stripe refused, to retry.
pub async fn reopen_failed(conn: &mut PgConnection, refund_id: i64, reason: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "update cancellation_refunds
            set status = 'failed', refund_id = null, last_error = 'Stripe reported the refund failed: ' || $2
          where refund_id = $1 and status = 'done'",
        refund_id,
        reason
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Puts a failed card refund back in the queue, with its audit row, in the caller's
/// transaction; returns whether it was there to retry. [`settle`] it after commit.
pub async fn retry(conn: &mut PgConnection, id: CancellationRefundId, actor_id: i64) -> AppResult<bool> {
    let requeued = sqlx::query!(
        "update cancellation_refunds set status = 'pending', next_try_at = null where id = $1 and status = 'failed'",
        id.0
    )
    .execute(&mut *conn)
    .await?;
    if requeued.rows_affected() == 0 {
        return Ok(false);
    }
    audit::record(&mut *conn)
        .by(actor_id)
        .action("payment.refund_retried")
        .entity("cancellation_refund", id.0)
        .await?;
    Ok(true)
}

/// How many times a refund Stripe refused is tried again by itself (see migration 0043).
pub const AUTOMATIC_RETRIES: i32 = 4;

async fn fail(state: &AppState, id: i64, error: &str) -> AppResult<()> {
    sqlx::query!(
        "update cancellation_refunds
            set status = 'failed', last_error = $2, attempts = attempts + 1,
                next_try_at = case when attempts < $3
                                   then now() + interval '5 minutes' * power(4, attempts) end
          where id = $1",
        id,
        error,
        AUTOMATIC_RETRIES,
    )
    .execute(&state.pool)
    .await?;
    Ok(())
}

/// Sends again the refunds Stripe refused whose wait is over (the every-minute sweep);
/// returns how many were tried.
pub async fn retry_due(state: &AppState) -> AppResult<usize> {
    let due = sqlx::query_scalar!(
        "update cancellation_refunds set status = 'pending', next_try_at = null
          where status = 'failed' and next_try_at <= now() returning id"
    )
    .fetch_all(&state.pool)
    .await?;
    settle(state, &due).await;
    Ok(due.len())
}

async fn settle_one(state: &AppState, id: i64) -> AppResult<()> {
    // Claimed in its own short statement: a second caller finds it no longer pending.
    let claimed = sqlx::query_as!(
        Claimed,
        "update cancellation_refunds c set status = 'sending'
           from payments p
          where c.id = $1 and c.status = 'pending' and p.id = c.payment_id
         returning c.payment_id, c.amount_pence, c.reason, p.stripe_payment_intent_id as intent",
        id
    )
    .fetch_optional(&state.pool)
    .await?;
    let Some(claimed) = claimed else { return Ok(()) };
    let (Some(stripe), Some(intent)) = (state.stripe.as_ref(), claimed.intent.as_deref()) else {
        return fail(state, id, "Stripe is not set up for this card payment").await;
    };
    let refund = match stripe.refund(intent, i64::from(claimed.amount_pence), claimed.payment_id).await {
        Ok(refund) => refund,
        Err(err) => {
            tracing::error!(error = ?err, "Stripe refund for a cancellation failed");
            return fail(state, id, &format!("{err:#}")).await;
        }
    };
    let mut tx = state.pool.begin().await?;
    // The payment first, as the webhook does: if Stripe's echo of this refund is being
    // recorded right now, we wait for it and then find its row rather than add another.
    sqlx::query!("select 1 as locked from payments where id = $1 for update", claimed.payment_id)
        .fetch_all(&mut *tx)
        .await?;
    let inserted: Result<Option<i64>, String> = sqlx::query_scalar!(
        "insert into refunds (payment_id, amount_pence, reason, stripe_refund_id)
         select $1, $2, $3, $4 where not exists (select 1 from refunds where stripe_refund_id = $4)
         on conflict (stripe_refund_id) do nothing returning id",
        claimed.payment_id,
        claimed.amount_pence,
        claimed.reason,
        refund.id
    )
    .fetch_optional(&mut *tx)
    .await
    .on_constraint(|name| Some(name.to_owned()))?;
    let inserted = match inserted {
        Ok(inserted) => inserted,
        Err(constraint) => {
            tx.rollback().await?;
            tracing::warn!(constraint, "A cancellation refund does not fit its payment");
            let message = format!("Stripe refunded it ({}) but it does not fit the payment", refund.id);
            return fail(state, id, &message).await;
        }
    };
    let refund_id = match inserted {
        Some(refund_id) => refund_id,
        None => {
            sqlx::query_scalar!("select id from refunds where stripe_refund_id = $1", refund.id)
                .fetch_one(&mut *tx)
                .await?
        }
    };
    sqlx::query!(
        "update cancellation_refunds set status = 'done', refund_id = $2, last_error = null where id = $1",
        id,
        refund_id
    )
    .execute(&mut *tx)
    .await?;
    audit::record(&mut tx)
        .action("payment.refunded")
        .entity("payment", claimed.payment_id)
        .after(
            json!({ "refund_id": refund_id, "amount_pence": claimed.amount_pence, "reason": claimed.reason,
                     "stripe_refund_id": refund.id, "cancellation_refund_id": id }),
        )
        .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_round_down_and_never_exceed_what_is_left() {
        assert_eq!(share_pence(1300, 650, 1300), 650);
        assert_eq!(share_pence(500, 650, 1300), 250);
        assert_eq!(share_pence(1000, 1, 3), 333);
        assert_eq!(share_pence(1000, 5, 3), 1000);
        assert_eq!(share_pence(1000, 0, 3), 0);
        assert_eq!(share_pence(0, 1, 3), 0);
    }

    #[test]
    fn allocation_takes_the_newest_payment_first() {
        assert_eq!(allocate(700, &[500, 400]), vec![500, 200]);
        assert_eq!(allocate(300, &[500, 400]), vec![300, 0]);
        assert_eq!(allocate(2000, &[500, 400]), vec![500, 400]);
    }
}
