//! Packages sold and used: a parent buys an active package (card through Checkout, or
//! paid at the office and recorded by finance); once paid it is a `package_credits`
//! balance that booking places of the activities it covers can use, one credit a place,
//! returned when the place is cancelled in time. Every change is a row of the
//! append-only `package_credit_movements`; the balance never goes negative (a check).
//! Finance's list of sales and their refunds is in `package_sales`; the pages are in
//! `package_pages`.

use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;

use super::{
    checkout::{self, NewCheckout},
    domain::{Method, PurchaseStatus},
};
use crate::{
    AppState, audit,
    auth::User,
    error::AppResult,
    ids::{BookingId, PackageId, PackagePurchaseId},
    notifications::Email,
    web::page::{PageRequest, paged},
};

#[derive(Clone, Debug)]
pub struct Offer {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// None: a term's package, its credits counted when bought.
    pub credits: Option<i32>,
    pub price_pence: i32,
    pub currency: String,
    pub valid_days: i32,
    pub activities: String,
}

/// The packages on sale, by name.
pub async fn offers(conn: &mut PgConnection) -> sqlx::Result<Vec<Offer>> {
    sqlx::query_as!(
        Offer,
        r#"select p.id, p.name, p.description, p.credits, p.price_pence, p.currency, p.valid_days,
                coalesce((select string_agg(a.name, ', ' order by a.name) from package_activities pa
                          join activities a on a.id = pa.activity_id where pa.package_id = p.id), '')
                    as "activities!"
           from packages p where p.is_active order by p.name, p.id"#
    )
    .fetch_all(conn)
    .await
}

/// One package on sale (the same columns as [`offers`]).
async fn offer(conn: &mut PgConnection, id: PackageId) -> sqlx::Result<Option<Offer>> {
    sqlx::query_as!(
        Offer,
        r#"select p.id, p.name, p.description, p.credits, p.price_pence, p.currency, p.valid_days,
                coalesce((select string_agg(a.name, ', ' order by a.name) from package_activities pa
                          join activities a on a.id = pa.activity_id where pa.package_id = p.id), '')
                    as "activities!"
           from packages p where p.id = $1 and p.is_active"#,
        id.0,
    )
    .fetch_optional(conn)
    .await
}

/// How many credits a package gives: its N, or for a term the sessions of its
/// activities still to come.
async fn credits_of(conn: &mut PgConnection, offer: &Offer) -> sqlx::Result<i64> {
    if let Some(credits) = offer.credits {
        return Ok(i64::from(credits));
    }
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from sessions s join package_activities pa on pa.activity_id = s.activity_id
          where pa.package_id = $1 and s.status = 'scheduled' and s.starts_at > now()"#,
        offer.id,
    )
    .fetch_one(conn)
    .await
}

#[derive(Clone, Debug)]
pub struct CreditRow {
    pub id: i64,
    pub package: String,
    pub balance: i32,
    pub expires_at: OffsetDateTime,
    pub activity_ids: Vec<i64>,
}

/// The parent's usable credits (left and not expired), soonest to expire first.
pub async fn credits_left(conn: &mut PgConnection, parent_id: i64) -> sqlx::Result<Vec<CreditRow>> {
    sqlx::query_as!(
        CreditRow,
        r#"select c.id, p.name as package, c.balance, c.expires_at,
                array(select pa.activity_id from package_activities pa where pa.package_id = c.package_id)
                    as "activity_ids!"
           from package_credits c join packages p on p.id = c.package_id
          where c.parent_id = $1 and c.balance > 0 and c.expires_at > now()
          order by c.expires_at, c.id"#,
        parent_id,
    )
    .fetch_all(conn)
    .await
}

/// Total credits left, for the parent's home page.
pub async fn total_left(conn: &mut PgConnection, parent_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select coalesce(sum(balance), 0)::bigint as "total!" from package_credits
          where parent_id = $1 and balance > 0 and expires_at > now()"#,
        parent_id,
    )
    .fetch_one(conn)
    .await
}

fn covers(credit: &CreditRow, activity_id: i64) -> bool {
    credit.activity_ids.is_empty() || credit.activity_ids.contains(&activity_id)
}

/// Credits `parent_id` could use on places of these activities (for the review page).
pub async fn usable_for(conn: &mut PgConnection, parent_id: i64, activity_ids: &[i64]) -> sqlx::Result<i64> {
    let credits = credits_left(conn, parent_id).await?;
    Ok(credits
        .iter()
        .filter(|c| activity_ids.iter().any(|a| covers(c, *a)))
        .map(|c| i64::from(c.balance))
        .sum())
}

/// A place that will use a credit: which session and child, from which balance.
pub struct CreditUse {
    pub session_id: i64,
    pub child_id: i64,
    pub credit_id: i64,
}

/// Chooses credits for places (session, child, activity) in the caller's transaction,
/// with the parent's balances locked until it ends, so concurrent bookings take them in
/// turn: each place of a covered activity gets one while any is left.
pub async fn choose_credits(
    conn: &mut PgConnection,
    parent_id: i64,
    places: &[(i64, i64, i64)],
) -> sqlx::Result<Vec<CreditUse>> {
    // Lock first, then read in a new statement that sees what was committed meanwhile.
    sqlx::query!("select id from package_credits where parent_id = $1 order by id for update", parent_id)
        .fetch_all(&mut *conn)
        .await?;
    let mut credits = credits_left(conn, parent_id).await?;
    let mut uses = Vec::new();
    for (session_id, child_id, activity_id) in places {
        if let Some(credit) = credits.iter_mut().find(|c| c.balance > 0 && covers(c, *activity_id)) {
            credit.balance -= 1;
            uses.push(CreditUse { session_id: *session_id, child_id: *child_id, credit_id: credit.id });
        }
    }
    Ok(uses)
}

/// Records the chosen credits against the booking's places (−1 each).
pub async fn record_uses(
    conn: &mut PgConnection,
    booking_id: BookingId,
    uses: &[CreditUse],
    actor_id: i64,
) -> sqlx::Result<()> {
    for u in uses {
        sqlx::query!(
            "insert into package_credit_movements (package_credit_id, change, kind, booking_id, participant_id, created_by)
             select $1, -1, 'use', $2, bp.id, $5 from booking_participants bp
              where bp.booking_id = $2 and bp.session_id = $3 and bp.child_id = $4",
            u.credit_id,
            booking_id.0,
            u.session_id,
            u.child_id,
            actor_id,
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Gives back the credits the booking's places used (all, or those on `sessions`),
/// each once. Returns how many came back.
pub async fn return_credits(
    conn: &mut PgConnection,
    booking_id: i64,
    sessions: Option<&[i64]>,
    actor_id: Option<i64>,
) -> sqlx::Result<u64> {
    let returned = sqlx::query!(
        "insert into package_credit_movements (package_credit_id, change, kind, booking_id, participant_id, created_by)
         select m.package_credit_id, 1, 'return', $1, m.participant_id, $3
           from package_credit_movements m join booking_participants bp on bp.id = m.participant_id
          where bp.booking_id = $1 and ($2::bigint[] is null or bp.session_id = any($2)) and m.kind = 'use'
          order by m.package_credit_id
         on conflict (participant_id, kind) where participant_id is not null do nothing",
        booking_id,
        sessions,
        actor_id,
    )
    .execute(conn)
    .await?;
    Ok(returned.rows_affected())
}

/// How many credits [`return_credits`] would give back now.
pub async fn credits_to_return(
    conn: &mut PgConnection,
    booking_id: i64,
    sessions: Option<&[i64]>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from package_credit_movements m join booking_participants bp on bp.id = m.participant_id
          where bp.booking_id = $1 and ($2::bigint[] is null or bp.session_id = any($2)) and m.kind = 'use'
            and not exists (select 1 from package_credit_movements r
                             where r.participant_id = m.participant_id and r.kind = 'return')"#,
        booking_id,
        sessions,
    )
    .fetch_one(conn)
    .await
}

/// Marks a pending purchase paid and turns it into credits, once: concurrent callers
/// queue on the row and only the first finds it unpaid. Returns the parent's email
/// to send, if this call did it.
async fn grant(
    conn: &mut PgConnection,
    purchase_id: i64,
    method: Method,
    reference: &str,
    recorded_by: Option<i64>,
    payment_intent: Option<&str>,
) -> sqlx::Result<Option<(String, String, String, i32)>> {
    let paid = sqlx::query!(
        "update package_purchases
            set status = 'paid', method = $2, reference = $3, recorded_by = coalesce($4, recorded_by),
                stripe_payment_intent_id = coalesce($5, stripe_payment_intent_id), paid_at = now()
          where id = $1 and status in ('pending', 'failed')
         returning parent_id, package_id, credits",
        purchase_id,
        method as _,
        reference,
        recorded_by,
        payment_intent,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(paid) = paid else { return Ok(None) };
    let credit_id = sqlx::query_scalar!(
        "insert into package_credits (purchase_id, parent_id, package_id, expires_at)
         select $1, $2, p.id, now() + make_interval(days => p.valid_days) from packages p where p.id = $3
         returning id",
        purchase_id,
        paid.parent_id,
        paid.package_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into package_credit_movements (package_credit_id, change, kind, created_by)
         values ($1, $2, 'purchase', $3)",
        credit_id,
        paid.credits,
        recorded_by,
    )
    .execute(&mut *conn)
    .await?;
    let to = sqlx::query!(
        r#"select u.email, u.name, p.name as package from users u, packages p where u.id = $1 and p.id = $2"#,
        paid.parent_id,
        paid.package_id,
    )
    .fetch_one(conn)
    .await?;
    Ok(Some((to.email, to.name, to.package, paid.credits)))
}

fn credits_email(state: &AppState, (to, name, package, credits): (String, String, String, i32)) -> Email {
    Email {
        to,
        subject: format!("Your {package} package is ready"),
        body: format!(
            "Hello {name},\n\nThank you: your payment for {package} has been received and {credits} credit(s) \
             are ready to use when you book.\n\nYour packages: {}/parent/packages\n",
            state.config.base_url
        ),
    }
}

/// A paid Checkout Session for a package (from the webhook or the success page).
pub async fn fulfil_checkout(
    state: &AppState,
    conn: &mut PgConnection,
    session_id: &str,
    payment_intent: Option<&str>,
) -> AppResult<()> {
    let purchase = sqlx::query_scalar!(
        "select id from package_purchases where stripe_checkout_session_id = $1",
        session_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(purchase_id) = purchase
        && let Some(granted) = grant(conn, purchase_id, Method::Card, "", None, payment_intent).await?
    {
        state.outbox.queue(conn, &credits_email(state, granted)).await?;
    }
    Ok(())
}

/// An expired Checkout Session for a package: its purchase fails unless it was paid.
pub async fn fail_checkout(conn: &mut PgConnection, session_id: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "update package_purchases set status = 'failed'
          where stripe_checkout_session_id = $1 and status = 'pending'",
        session_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A package purchase with who bought it and what, as finance's and the parent's lists
/// show it; finance's refund page reads more of it (`package_sales`).
#[derive(Clone, Debug)]
pub(super) struct PurchaseRow {
    pub(super) id: i64,
    pub(super) parent_name: String,
    pub(super) parent_email: String,
    pub(super) package: String,
    pub(super) credits: i32,
    pub(super) amount_pence: i32,
    pub(super) refunded_pence: i32,
    pub(super) method: Option<Method>,
    pub(super) status: PurchaseStatus,
    pub(super) created_at: OffsetDateTime,
}

/// One page of the purchases of `parent_id`, newest first (`package_purchases_parent_created`,
/// 0036_admin_lists.sql).
pub(super) async fn purchases_of(
    conn: &mut PgConnection,
    parent_id: i64,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<PurchaseRow>> {
    paged!(
        conn,
        page,
        PurchaseRow,
        r#"select pp.id, u.name as parent_name, u.email as parent_email, p.name as package, pp.credits,
                pp.amount_pence, pp.refunded_pence, pp.method as "method: Method",
                pp.status as "status: PurchaseStatus", pp.created_at
           from package_purchases pp join users u on u.id = pp.parent_id join packages p on p.id = pp.package_id
          where pp.parent_id = $3"#,
        "pp.created_at",
        "pp.id",
        parent_id,
    )
}

/// One page of the purchases still to be paid (pending, or a card payment that failed),
/// newest first, for finance's `Record paid`.
pub(super) async fn unpaid_purchases(
    conn: &mut PgConnection,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<PurchaseRow>> {
    paged!(
        conn,
        page,
        PurchaseRow,
        r#"select pp.id, u.name as parent_name, u.email as parent_email, p.name as package, pp.credits,
                pp.amount_pence, pp.refunded_pence, pp.method as "method: Method",
                pp.status as "status: PurchaseStatus", pp.created_at
           from package_purchases pp join users u on u.id = pp.parent_id join packages p on p.id = pp.package_id
          where pp.status <> 'paid'"#,
        "pp.created_at",
        "pp.id",
    )
}

/// One page of the paid purchases, newest first.
pub(super) async fn paid_purchases(
    conn: &mut PgConnection,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<PurchaseRow>> {
    paged!(
        conn,
        page,
        PurchaseRow,
        r#"select pp.id, u.name as parent_name, u.email as parent_email, p.name as package, pp.credits,
                pp.amount_pence, pp.refunded_pence, pp.method as "method: Method",
                pp.status as "status: PurchaseStatus", pp.created_at
           from package_purchases pp join users u on u.id = pp.parent_id join packages p on p.id = pp.package_id
          where pp.status = 'paid'"#,
        "pp.created_at",
        "pp.id",
    )
}

/// The state of the purchase a Checkout Session pays for, if it is `parent_id`'s.
pub(super) async fn status_of_checkout(
    conn: &mut PgConnection,
    session_id: &str,
    parent_id: i64,
) -> sqlx::Result<Option<PurchaseStatus>> {
    sqlx::query_scalar!(
        r#"select status as "status: PurchaseStatus" from package_purchases
          where stripe_checkout_session_id = $1 and parent_id = $2"#,
        session_id,
        parent_id,
    )
    .fetch_optional(conn)
    .await
}

/// What became of a parent buying a package.
#[derive(Debug, PartialEq, Eq)]
pub enum Bought {
    /// A free package: its credits are ready.
    Free,
    /// To be paid at the office; finance records it.
    AtOffice,
    /// Off to Stripe's page at this address.
    Checkout(String),
    /// A term package with no sessions left to use: nothing was bought (roll back).
    NoSessions,
    /// Stripe could not start the payment: nothing was bought (roll back).
    CardFailed,
}

/// A parent buys an active package, in the caller's transaction: a pending purchase
/// with its audit row, granted at once if free, paid by card through Checkout when
/// Stripe is set up, otherwise at the office. None if the package is not on sale.
pub async fn buy(
    state: &AppState,
    conn: &mut PgConnection,
    parent: &User,
    offer_id: PackageId,
) -> AppResult<Option<Bought>> {
    let Some(offer) = offer(&mut *conn, offer_id).await? else { return Ok(None) };
    let Ok(credits @ 1..) = i32::try_from(credits_of(&mut *conn, &offer).await?) else {
        return Ok(Some(Bought::NoSessions));
    };
    let purchase_id = sqlx::query_scalar!(
        "insert into package_purchases (parent_id, package_id, credits, amount_pence, currency)
         values ($1, $2, $3, $4, $5) returning id",
        parent.id.0,
        offer.id,
        credits,
        offer.price_pence,
        &offer.currency,
    )
    .fetch_one(&mut *conn)
    .await?;
    audit::record(&mut *conn)
        .by(parent.id)
        .action("package.bought")
        .entity("package_purchase", purchase_id)
        .after(json!({ "package_id": offer.id, "credits": credits, "amount_pence": offer.price_pence }))
        .await?;
    if offer.price_pence == 0 {
        if let Some(granted) = grant(&mut *conn, purchase_id, Method::Cash, "free", None, None).await? {
            state.outbox.queue(&mut *conn, &credits_email(state, granted)).await?;
        }
        return Ok(Some(Bought::Free));
    }
    let Some(stripe) = state.stripe.as_ref() else { return Ok(Some(Bought::AtOffice)) };
    let base = &state.config.base_url;
    let created = stripe
        .create_checkout(&NewCheckout {
            booking_id: 0,
            amount_pence: i64::from(offer.price_pence),
            currency: &offer.currency,
            description: &format!("Package: {}", offer.name),
            customer_email: &parent.email,
            success_url: &format!("{base}/parent/packages/success?session_id={{CHECKOUT_SESSION_ID}}"),
            cancel_url: &format!("{base}/parent/packages"),
            expires_at: None,
        })
        .await;
    let (session_id, url) = match created {
        Ok(checkout::CheckoutSession { id, url: Some(url), .. }) => (id, url),
        Ok(_) => return Ok(Some(Bought::CardFailed)),
        Err(err) => {
            tracing::error!(error = ?err, "Stripe Checkout Session for a package not created");
            return Ok(Some(Bought::CardFailed));
        }
    };
    sqlx::query!(
        "update package_purchases set method = 'card', stripe_checkout_session_id = $2, stripe_checkout_url = $3
          where id = $1",
        purchase_id,
        &session_id,
        &url,
    )
    .execute(&mut *conn)
    .await?;
    Ok(Some(Bought::Checkout(url)))
}

/// Finance records a cash or bank-transfer payment for a purchase, which grants its
/// credits once, with the audit row and the parent's email; false if it was already
/// paid (or does not exist).
pub async fn record_paid(
    state: &AppState,
    conn: &mut PgConnection,
    by: i64,
    id: PackagePurchaseId,
    method: Method,
    reference: &str,
) -> AppResult<bool> {
    let Some(granted) = grant(&mut *conn, id.0, method, reference, Some(by), None).await? else {
        return Ok(false);
    };
    audit::record(&mut *conn)
        .by(by)
        .action("package.paid")
        .entity("package_purchase", id.0)
        .before(json!({ "status": PurchaseStatus::Pending.as_str() }))
        .after(json!({ "status": PurchaseStatus::Paid.as_str(), "method": method.as_str(),
                       "reference": reference, "credits": granted.3 }))
        .await?;
    state.outbox.queue(&mut *conn, &credits_email(state, granted)).await?;
    Ok(true)
}
