//! Packages sold and used: a parent buys an active package (card through Checkout, or
//! paid at the office and recorded by finance); once paid it is a `package_credits`
//! balance that booking places of the activities it covers can use, one credit a place,
//! returned when the place is cancelled in time. Every change is a row of the
//! append-only `package_credit_movements`; the balance never goes negative (a check).
//! Finance's list of sales and their refunds is in `package_sales`.

use askama::Template;
use axum::{
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
};
use serde_json::json;
use sqlx::{FromRow, PgConnection};
use time::OffsetDateTime;
use tower_sessions::Session;

use super::checkout::{self, NewCheckout};
use crate::{
    AppState, audit,
    auth::{Admin, AdminRole, Parent},
    bookings::parse_id,
    error::{AppError, AppResult},
    notifications::Email,
    web::{
        PageContext,
        flash::{self, FlashKind},
        fmt,
        form::{Fields, QueryFields, render},
    },
};

const FINANCE: &[AdminRole] = &[AdminRole::Finance];

// The SQL -------------------------------------------------------------------------------------

#[derive(Clone, Debug, FromRow)]
pub struct Offer {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub kind: String,
    pub credits: Option<i32>,
    pub price_pence: i32,
    pub currency: String,
    pub valid_days: i32,
    pub activities: String,
}

const OFFER_SELECT: &str = "select p.id, p.name, p.description, p.kind, p.credits, p.price_pence, p.currency,
        p.valid_days,
        coalesce((select string_agg(a.name, ', ' order by a.name) from package_activities pa
                  join activities a on a.id = pa.activity_id where pa.package_id = p.id), '') as activities
   from packages p";

async fn offers(conn: &mut PgConnection) -> sqlx::Result<Vec<Offer>> {
    sqlx::query_as(&format!("{OFFER_SELECT} where p.is_active order by p.name, p.id")).fetch_all(conn).await
}

async fn offer(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Offer>> {
    sqlx::query_as(&format!("{OFFER_SELECT} where p.id = $1 and p.is_active"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// How many credits a package gives: its N, or for a term the sessions of its
/// activities still to come.
async fn credits_of(conn: &mut PgConnection, offer: &Offer) -> sqlx::Result<i64> {
    if let Some(credits) = offer.credits {
        return Ok(i64::from(credits));
    }
    sqlx::query_scalar(
        "select count(*) from sessions s join package_activities pa on pa.activity_id = s.activity_id
          where pa.package_id = $1 and s.status = 'scheduled' and s.starts_at > now()",
    )
    .bind(offer.id)
    .fetch_one(conn)
    .await
}

#[derive(Clone, Debug, FromRow)]
pub struct CreditRow {
    pub id: i64,
    pub package: String,
    pub balance: i32,
    pub expires_at: OffsetDateTime,
    pub activity_ids: Vec<i64>,
}

/// The parent's usable credits (left and not expired), soonest to expire first.
pub async fn credits_left(conn: &mut PgConnection, parent_id: i64) -> sqlx::Result<Vec<CreditRow>> {
    sqlx::query_as(
        "select c.id, p.name as package, c.balance, c.expires_at,
                array(select pa.activity_id from package_activities pa where pa.package_id = c.package_id)
                    as activity_ids
           from package_credits c join packages p on p.id = c.package_id
          where c.parent_id = $1 and c.balance > 0 and c.expires_at > now()
          order by c.expires_at, c.id",
    )
    .bind(parent_id)
    .fetch_all(conn)
    .await
}

/// Total credits left, for the parent's home page.
pub async fn total_left(conn: &mut PgConnection, parent_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select coalesce(sum(balance), 0)::bigint from package_credits
          where parent_id = $1 and balance > 0 and expires_at > now()",
    )
    .bind(parent_id)
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
    sqlx::query("select 1 from package_credits where parent_id = $1 order by id for update")
        .bind(parent_id)
        .execute(&mut *conn)
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
    booking_id: i64,
    uses: &[CreditUse],
    actor_id: i64,
) -> sqlx::Result<()> {
    for u in uses {
        sqlx::query(
            "insert into package_credit_movements (package_credit_id, change, kind, booking_id, participant_id, created_by)
             select $1, -1, 'use', $2, bp.id, $5 from booking_participants bp
              where bp.booking_id = $2 and bp.session_id = $3 and bp.child_id = $4",
        )
        .bind(u.credit_id)
        .bind(booking_id)
        .bind(u.session_id)
        .bind(u.child_id)
        .bind(actor_id)
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
    let returned = sqlx::query(
        "insert into package_credit_movements (package_credit_id, change, kind, booking_id, participant_id, created_by)
         select m.package_credit_id, 1, 'return', $1, m.participant_id, $3
           from package_credit_movements m join booking_participants bp on bp.id = m.participant_id
          where bp.booking_id = $1 and ($2::bigint[] is null or bp.session_id = any($2)) and m.kind = 'use'
          order by m.package_credit_id
         on conflict (participant_id, kind) where participant_id is not null do nothing",
    )
    .bind(booking_id)
    .bind(sessions)
    .bind(actor_id)
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
    sqlx::query_scalar(
        "select count(*) from package_credit_movements m join booking_participants bp on bp.id = m.participant_id
          where bp.booking_id = $1 and ($2::bigint[] is null or bp.session_id = any($2)) and m.kind = 'use'
            and not exists (select 1 from package_credit_movements r
                             where r.participant_id = m.participant_id and r.kind = 'return')",
    )
    .bind(booking_id)
    .bind(sessions)
    .fetch_one(conn)
    .await
}

/// Marks a pending purchase paid and turns it into credits, once: concurrent callers
/// queue on the row and only the first finds it unpaid. Returns the parent's email
/// to send, if this call did it.
async fn grant(
    conn: &mut PgConnection,
    purchase_id: i64,
    method: &str,
    reference: &str,
    recorded_by: Option<i64>,
    payment_intent: Option<&str>,
) -> sqlx::Result<Option<(String, String, String, i32)>> {
    let paid: Option<(i64, i64, i32)> = sqlx::query_as(
        "update package_purchases
            set status = 'paid', method = $2, reference = $3, recorded_by = coalesce($4, recorded_by),
                stripe_payment_intent_id = coalesce($5, stripe_payment_intent_id), paid_at = now()
          where id = $1 and status in ('pending', 'failed')
         returning parent_id, package_id, credits",
    )
    .bind(purchase_id)
    .bind(method)
    .bind(reference)
    .bind(recorded_by)
    .bind(payment_intent)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((parent_id, package_id, credits)) = paid else { return Ok(None) };
    let credit_id: i64 = sqlx::query_scalar(
        "insert into package_credits (purchase_id, parent_id, package_id, expires_at)
         select $1, $2, p.id, now() + make_interval(days => p.valid_days) from packages p where p.id = $3
         returning id",
    )
    .bind(purchase_id)
    .bind(parent_id)
    .bind(package_id)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "insert into package_credit_movements (package_credit_id, change, kind, created_by)
         values ($1, $2, 'purchase', $3)",
    )
    .bind(credit_id)
    .bind(credits)
    .bind(recorded_by)
    .execute(&mut *conn)
    .await?;
    let (email, name, package): (String, String, String) = sqlx::query_as(
        "select u.email, u.name, p.name from users u, packages p where u.id = $1 and p.id = $2",
    )
    .bind(parent_id)
    .bind(package_id)
    .fetch_one(conn)
    .await?;
    Ok(Some((email, name, package, credits)))
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
    let purchase: Option<i64> =
        sqlx::query_scalar("select id from package_purchases where stripe_checkout_session_id = $1")
            .bind(session_id)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(purchase_id) = purchase
        && let Some(granted) = grant(conn, purchase_id, "card", "", None, payment_intent).await?
    {
        state.outbox.queue(conn, &credits_email(state, granted)).await?;
    }
    Ok(())
}

/// An expired Checkout Session for a package: its purchase fails unless it was paid.
pub async fn fail_checkout(conn: &mut PgConnection, session_id: &str) -> sqlx::Result<()> {
    sqlx::query(
        "update package_purchases set status = 'failed'
          where stripe_checkout_session_id = $1 and status = 'pending'",
    )
    .bind(session_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A package purchase with who bought it and what, as finance's and the parent's lists
/// show it; finance's refund page reads more of it (`package_sales`).
#[derive(Clone, Debug, FromRow)]
pub(super) struct PurchaseRow {
    pub(super) id: i64,
    pub(super) parent_name: String,
    pub(super) parent_email: String,
    pub(super) package: String,
    pub(super) credits: i32,
    pub(super) amount_pence: i32,
    pub(super) refunded_pence: i32,
    pub(super) method: Option<String>,
    pub(super) status: String,
    pub(super) created_at: OffsetDateTime,
}

/// The columns of a [`PurchaseRow`], from [`PURCHASE_FROM`].
pub(super) const PURCHASE_COLUMNS: &str = "pp.id, u.name as parent_name, u.email as parent_email,
        p.name as package, pp.credits, pp.amount_pence, pp.refunded_pence, pp.method, pp.status, pp.created_at";

/// A purchase `pp` with its parent `u` and package `p`.
pub(super) const PURCHASE_FROM: &str =
    "package_purchases pp join users u on u.id = pp.parent_id join packages p on p.id = pp.package_id";

// Pages ---------------------------------------------------------------------------------------

pub struct OfferLine {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub holds: String,
    pub price: String,
    pub activities: String,
}

pub struct CreditLine {
    pub package: String,
    pub balance: i32,
    pub expires: String,
}

pub struct PurchaseLine {
    pub id: i64,
    pub date: String,
    pub who: String,
    pub package: String,
    pub credits: i32,
    pub amount: String,
    pub method: String,
    pub status: String,
    /// The stored status (`paid` even when refunded): what the sales page acts on.
    pub status_key: String,
    pub refunded: Option<String>,
}

/// A purchase's state in words. A refund keeps the status `paid` (granting and the
/// sales page rely on it), so "refunded" is read from the amount refunded.
pub(super) fn status_label(status: &str, amount_pence: i32, refunded_pence: i32) -> &'static str {
    match status {
        "paid" if refunded_pence > 0 && refunded_pence >= amount_pence => "Refunded",
        "paid" if refunded_pence > 0 => "Partly refunded",
        "paid" => "Paid",
        "failed" => "Not paid",
        _ => "Waiting for payment",
    }
}

fn purchase_line(p: PurchaseRow, tz: &time_tz::Tz) -> PurchaseLine {
    PurchaseLine {
        id: p.id,
        date: fmt::day_time(p.created_at, tz),
        who: format!("{} ({})", p.parent_name, p.parent_email),
        package: p.package,
        credits: p.credits,
        amount: fmt::pounds(i64::from(p.amount_pence)),
        method: p.method.as_deref().map(super::domain::method_label).unwrap_or("—").to_owned(),
        status: status_label(&p.status, p.amount_pence, p.refunded_pence).to_owned(),
        status_key: p.status,
        refunded: (p.refunded_pence > 0).then(|| fmt::pounds(i64::from(p.refunded_pence))),
    }
}

#[derive(Template)]
#[template(path = "payments/packages.html")]
pub struct ParentPage {
    pub ctx: PageContext,
    pub offers: Vec<OfferLine>,
    pub credits: Vec<CreditLine>,
    pub purchases: Vec<PurchaseLine>,
    pub card_payments: bool,
}

/// `GET /parent/packages`: what can be bought, credits left, purchases.
pub async fn index(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let offers = offers(&mut conn)
        .await?
        .into_iter()
        .map(|o| OfferLine {
            id: o.id,
            holds: match o.credits {
                Some(n) => format!("{n} session{}", if n == 1 { "" } else { "s" }),
                None => "The term's sessions".to_owned(),
            },
            price: fmt::pounds(i64::from(o.price_pence)),
            activities: if o.activities.is_empty() { "Any activity".to_owned() } else { o.activities },
            name: o.name,
            description: o.description,
        })
        .collect();
    let credits = credits_left(&mut conn, parent.id)
        .await?
        .into_iter()
        .map(|c| CreditLine {
            package: c.package,
            balance: c.balance,
            expires: fmt::day_time(c.expires_at, tz),
        })
        .collect();
    let purchases: Vec<PurchaseRow> = sqlx::query_as(&format!(
        "select {PURCHASE_COLUMNS} from {PURCHASE_FROM}
          where pp.parent_id = $1 order by pp.created_at desc, pp.id desc"
    ))
    .bind(parent.id)
    .fetch_all(&mut *conn)
    .await?;
    let purchases = purchases.into_iter().map(|p| purchase_line(p, tz)).collect();
    render(&ParentPage { ctx, offers, credits, purchases, card_payments: state.stripe.is_some() })
}

/// `POST /parent/packages/{id}/buy`: a pending purchase, paid by card through Checkout
/// when Stripe is set up, otherwise at the office (finance records it).
pub async fn buy(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let back = "/parent/packages";
    let mut tx = state.pool.begin().await?;
    let offer = offer(&mut tx, parse_id(&id)?).await?.ok_or(AppError::NotFound)?;
    let credits = credits_of(&mut tx, &offer).await?;
    let Ok(credits @ 1..) = i32::try_from(credits) else {
        flash::push(&session, FlashKind::Error, "This package has no sessions to use yet.").await?;
        return Ok(Redirect::to(back).into_response());
    };
    let purchase_id: i64 = sqlx::query_scalar(
        "insert into package_purchases (parent_id, package_id, credits, amount_pence, currency)
         values ($1, $2, $3, $4, $5) returning id",
    )
    .bind(parent.id)
    .bind(offer.id)
    .bind(credits)
    .bind(offer.price_pence)
    .bind(&offer.currency)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(&mut tx)
        .by(parent.id)
        .action("package.bought")
        .entity("package_purchase", purchase_id)
        .after(json!({ "package_id": offer.id, "credits": credits, "amount_pence": offer.price_pence }))
        .await?;
    let Some(stripe) = state.stripe.as_ref().filter(|_| offer.price_pence > 0) else {
        if offer.price_pence == 0 {
            if let Some(granted) = grant(&mut tx, purchase_id, "cash", "free", None, None).await? {
                state.outbox.queue(&mut tx, &credits_email(&state, granted)).await?;
            }
            tx.commit().await?;
            flash::push(&session, FlashKind::Success, "Your credits are ready to use.").await?;
        } else {
            tx.commit().await?;
            let message = "Package ordered. Pay the office by cash or bank transfer; your credits appear once \
                           we have recorded it.";
            flash::push(&session, FlashKind::Success, message).await?;
        }
        return Ok(Redirect::to(back).into_response());
    };
    let base = &state.config.base_url;
    let created = stripe
        .create_checkout(&NewCheckout {
            booking_id: 0,
            amount_pence: i64::from(offer.price_pence),
            currency: &offer.currency,
            description: &format!("Package: {}", offer.name),
            customer_email: &parent.email,
            success_url: &format!("{base}/parent/packages/success?session_id={{CHECKOUT_SESSION_ID}}"),
            cancel_url: &format!("{base}{back}"),
            expires_at: None,
        })
        .await;
    let (session_id, url) = match created {
        Ok(checkout::CheckoutSession { id, url: Some(url), .. }) => (id, url),
        Ok(_) | Err(_) => {
            if let Err(err) = created {
                tracing::error!(error = ?err, "Stripe Checkout Session for a package not created");
            }
            tx.rollback().await?;
            let message =
                "We could not start the card payment just now. Please try again, or pay the office.";
            flash::push(&session, FlashKind::Error, message).await?;
            return Ok(Redirect::to(back).into_response());
        }
    };
    sqlx::query(
        "update package_purchases set method = 'card', stripe_checkout_session_id = $2, stripe_checkout_url = $3
          where id = $1",
    )
    .bind(purchase_id)
    .bind(&session_id)
    .bind(&url)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&url).into_response())
}

/// Where Stripe sends the parent back after paying for a package.
pub async fn success(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    let session_id = query.get("session_id").ok_or(AppError::NotFound)?;
    let status: String = sqlx::query_scalar(
        "select status from package_purchases where stripe_checkout_session_id = $1 and parent_id = $2",
    )
    .bind(session_id)
    .bind(parent.id)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let mut paid = status == "paid";
    if !paid && let Some(stripe) = state.stripe.as_ref() {
        match stripe.checkout_session(session_id).await {
            Ok(checkout) if checkout.payment_status.as_deref() == Some("paid") => {
                let mut tx = state.pool.begin().await?;
                fulfil_checkout(&state, &mut tx, session_id, checkout.payment_intent.as_deref()).await?;
                tx.commit().await?;
                paid = true;
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = ?err, "Stripe Checkout Session not read"),
        }
    }
    let (kind, message) = if paid {
        (FlashKind::Success, "Thank you: your payment has been received and your credits are ready.")
    } else {
        (FlashKind::Info, "Thank you: we are confirming your payment; your credits appear shortly.")
    };
    flash::push(&session, kind, message).await?;
    Ok(Redirect::to("/parent/packages").into_response())
}

#[derive(Template)]
#[template(path = "payments/package_sales.html")]
pub struct SalesPage {
    pub ctx: PageContext,
    pub purchases: Vec<PurchaseLine>,
}

/// `GET /admin/package-sales`: packages bought, the unpaid first.
pub async fn sales(State(state): State<AppState>, admin: Admin, ctx: PageContext) -> AppResult<Response> {
    admin.require(FINANCE)?;
    let tz = state.config.timezone;
    let rows: Vec<PurchaseRow> = sqlx::query_as(&format!(
        "select {PURCHASE_COLUMNS} from {PURCHASE_FROM}
          order by pp.status = 'paid', pp.created_at desc, pp.id desc limit 2000"
    ))
    .fetch_all(&state.pool)
    .await?;
    render(&SalesPage { ctx, purchases: rows.into_iter().map(|p| purchase_line(p, tz)).collect() })
}

/// `POST /admin/package-sales/{id}/paid`: finance records a cash or bank transfer
/// payment for a purchase, which grants its credits (once).
pub async fn record_paid(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    let id = parse_id(&id)?;
    let method = match form.get("method") {
        Some(m @ ("cash" | "bank_transfer")) => m.to_owned(),
        _ => {
            flash::push(&session, FlashKind::Error, "Choose cash or bank transfer.").await?;
            return Ok(Redirect::to("/admin/package-sales").into_response());
        }
    };
    let reference: String = form.get("reference").unwrap_or_default().trim().chars().take(200).collect();
    let mut tx = state.pool.begin().await?;
    let granted = grant(&mut tx, id, &method, &reference, Some(admin.0.id), None).await?;
    let Some(granted) = granted else {
        tx.rollback().await?;
        flash::push(&session, FlashKind::Error, "This package is already paid (or does not exist).").await?;
        return Ok(Redirect::to("/admin/package-sales").into_response());
    };
    audit::record(&mut tx)
        .by(admin.0.id)
        .action("package.paid")
        .entity("package_purchase", id)
        .before(json!({ "status": "pending" }))
        .after(json!({ "status": "paid", "method": method, "reference": reference, "credits": granted.3 }))
        .await?;
    state.outbox.queue(&mut tx, &credits_email(&state, granted)).await?;
    flash::done(tx, &session, format!("Package purchase #{id} recorded as paid."), "/admin/package-sales")
        .await
}
