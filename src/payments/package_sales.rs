//! Finance's side of packages sold: the sales and their refunds in the payments list
//! and its CSV, Stripe dashboard refunds reconciled, and refunding a purchase in part or
//! in full, withdrawing its unused credits. The database keeps refunds within what was
//! paid and never withdraws a credit already used (see 0015_package_refunds.sql).

use askama::Template;
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use futures_util::stream::BoxStream;
use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;
use tower_sessions::Session;

use super::{
    domain::{Method, PaymentStatus, PurchaseStatus},
    packages::PurchaseRow,
    store::{Search, Totals},
};
use crate::{
    AppState, audit,
    auth::{Admin, AdminRole},
    db::OnConstraint,
    error::{AppError, AppResult},
    ids::PackagePurchaseId,
    money::Money,
    notifications::Email,
    web::{
        FormErrors, PageContext, Path, csv,
        flash::{self, FlashKind},
        fmt,
        form::{render, render_with},
        page::{PageRequest, paged},
    },
};

const FINANCE: &[AdminRole] = &[AdminRole::Finance];

// Finance's filters as they apply to package sales, written out in each query below:
// the sale's date in the period, the status a payment would have (a paid sale reads
// `succeeded`, `partially_refunded` or `refunded`, as a booking payment would, so
// finance's status filter means the same for both), and an activity only when the
// package names it (a package for any activity belongs to none). A sale counts as made
// when paid, or (for a sale recorded before `paid_at` was kept) when created; sales sort
// by that date.

/// A paid package sale, for finance's list and its CSV.
#[derive(Clone, Debug)]
pub struct Sale {
    pub id: i64,
    pub parent_name: String,
    pub package: String,
    pub method: Option<Method>,
    pub status: PaymentStatus,
    pub currency: String,
    pub amount_pence: i32,
    pub refunded_pence: i32,
    pub reference: String,
    pub paid_at: OffsetDateTime,
}

impl Sale {
    /// What the sale still counts for in the totals: what was paid, less its refunds.
    pub fn net_pence(&self) -> i64 {
        i64::from(self.amount_pence) - i64::from(self.refunded_pence)
    }
}

/// One page of the package sales paid in the period, newest first.
pub async fn search_sales(
    conn: &mut PgConnection,
    search: &Search,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<Sale>> {
    paged!(
        conn,
        page,
        Sale,
        r#"select pp.id, u.name as parent_name, p.name as package, pp.method as "method: Method",
                case when pp.refunded_pence = 0 then 'succeeded'
                     when pp.refunded_pence < pp.amount_pence then 'partially_refunded' else 'refunded' end
                    as "status!: PaymentStatus",
                pp.currency, pp.amount_pence, pp.refunded_pence, pp.reference,
                coalesce(pp.paid_at, pp.created_at) as "paid_at!"
           from package_purchases pp join users u on u.id = pp.parent_id join packages p on p.id = pp.package_id
          where pp.status = 'paid'
            and ($3::timestamptz is null or coalesce(pp.paid_at, pp.created_at) >= $3)
            and ($4::timestamptz is null or coalesce(pp.paid_at, pp.created_at) < $4)
            and ($5::text is null or (case when pp.refunded_pence = 0 then 'succeeded'
                     when pp.refunded_pence < pp.amount_pence then 'partially_refunded' else 'refunded' end) = $5)
            and ($6::bigint is null or exists (select 1 from package_activities pa
                 where pa.package_id = pp.package_id and pa.activity_id = $6))"#,
        "coalesce(pp.paid_at, pp.created_at)",
        "pp.id",
        search.from,
        search.until,
        search.status.map(PaymentStatus::as_str),
        search.activity_id,
    )
}

/// Every sale [`search_sales`] finds, newest first, as the database yields them (the CSV).
pub fn export_sales<'c>(conn: &'c mut PgConnection, search: &Search) -> BoxStream<'c, sqlx::Result<Sale>> {
    sqlx::query_as!(
        Sale,
        r#"select pp.id, u.name as parent_name, p.name as package, pp.method as "method: Method",
                case when pp.refunded_pence = 0 then 'succeeded'
                     when pp.refunded_pence < pp.amount_pence then 'partially_refunded' else 'refunded' end
                    as "status!: PaymentStatus",
                pp.currency, pp.amount_pence, pp.refunded_pence, pp.reference,
                coalesce(pp.paid_at, pp.created_at) as "paid_at!"
           from package_purchases pp join users u on u.id = pp.parent_id join packages p on p.id = pp.package_id
          where pp.status = 'paid'
            and ($1::timestamptz is null or coalesce(pp.paid_at, pp.created_at) >= $1)
            and ($2::timestamptz is null or coalesce(pp.paid_at, pp.created_at) < $2)
            and ($3::text is null or (case when pp.refunded_pence = 0 then 'succeeded'
                     when pp.refunded_pence < pp.amount_pence then 'partially_refunded' else 'refunded' end) = $3)
            and ($4::bigint is null or exists (select 1 from package_activities pa
                 where pa.package_id = pp.package_id and pa.activity_id = $4))
          order by coalesce(pp.paid_at, pp.created_at) desc, pp.id desc"#,
        search.from,
        search.until,
        search.status.map(PaymentStatus::as_str),
        search.activity_id,
    )
    .fetch(conn)
}

/// Package sales' figures over every page, in one round trip: [`Totals`] of the sales
/// `search` finds (every listed sale was paid, so all is taken), and how many refunds
/// of sales it finds and their sum.
pub async fn sale_summary(conn: &mut PgConnection, search: &Search) -> sqlx::Result<(Totals, i64, i64)> {
    let row = sqlx::query!(
        r#"with sold as (
                 select count(*) as count, coalesce(sum(pp.amount_pence), 0)::bigint as taken,
                        coalesce(sum(pp.refunded_pence), 0)::bigint as refunded,
                        coalesce(sum(pp.amount_pence - pp.refunded_pence), 0)::bigint as net
                   from package_purchases pp
                  where pp.status = 'paid'
                    and ($1::timestamptz is null or coalesce(pp.paid_at, pp.created_at) >= $1)
                    and ($2::timestamptz is null or coalesce(pp.paid_at, pp.created_at) < $2)
                    and ($3::text is null or (case when pp.refunded_pence = 0 then 'succeeded'
                             when pp.refunded_pence < pp.amount_pence then 'partially_refunded' else 'refunded' end) = $3)
                    and ($4::bigint is null or exists (select 1 from package_activities pa
                         where pa.package_id = pp.package_id and pa.activity_id = $4))),
             sale_refunded as (
                 select count(*) as count, coalesce(sum(f.amount_pence), 0)::bigint as pence
                   from package_purchase_refunds f
                   join package_purchases pp on pp.id = f.purchase_id
                  where f.failed_at is null
                    and ($1::timestamptz is null or f.created_at >= $1)
                    and ($2::timestamptz is null or f.created_at < $2)
                    and ($3::text is null or (case when pp.refunded_pence = 0 then 'succeeded'
                             when pp.refunded_pence < pp.amount_pence then 'partially_refunded' else 'refunded' end) = $3)
                    and ($4::bigint is null or exists (select 1 from package_activities pa
                         where pa.package_id = pp.package_id and pa.activity_id = $4)))
           select sold.count as "count!", sold.taken as "taken!", sold.refunded as "refunded!", sold.net as "net!",
                  sale_refunded.count as "refunds_count!", sale_refunded.pence as "refunds_pence!"
             from sold, sale_refunded"#,
        search.from,
        search.until,
        search.status.map(PaymentStatus::as_str),
        search.activity_id,
    )
    .fetch_one(conn)
    .await?;
    Ok((Totals::of(row.count, row.taken, row.refunded, row.net), row.refunds_count, row.refunds_pence))
}

/// Records a refund made in Stripe's dashboard against the package purchase paid with
/// `payment_intent`, once by its refund id, withdrawing no credits (finance decides
/// that on the purchase's page). A refund finance is making on that page holds the
/// purchase until it commits, so the `not exists` then sees its row. A refund the
/// books cannot take (more than was paid) is logged for a person and not recorded;
/// its own savepoint keeps the caller's transaction usable. True if recorded now.
pub async fn reconcile_stripe_refund(
    conn: &mut PgConnection,
    payment_intent: &str,
    refund_id: &str,
    amount_pence: i32,
) -> sqlx::Result<bool> {
    let mut savepoint = sqlx::Connection::begin(&mut *conn).await?;
    lock_by_intent(&mut savepoint, payment_intent).await?;
    let inserted = sqlx::query!(
        "insert into package_purchase_refunds (purchase_id, amount_pence, reason, stripe_refund_id)
         select pp.id, $3, 'Refunded in Stripe', $2 from package_purchases pp
          where pp.stripe_payment_intent_id = $1
            and not exists (select 1 from package_purchase_refunds where stripe_refund_id = $2)
          order by pp.id limit 1
         on conflict (stripe_refund_id) do nothing",
        payment_intent,
        refund_id,
        amount_pence,
    )
    .execute(&mut *savepoint)
    .await;
    match inserted.on_constraint(|name| Some(name.to_owned()))? {
        Ok(done) => {
            savepoint.commit().await?;
            Ok(done.rows_affected() == 1)
        }
        Err(constraint) => {
            savepoint.rollback().await?;
            tracing::error!(refund_id, constraint, "Stripe refund does not fit the package purchase");
            Ok(false)
        }
    }
}

/// A card refund Stripe reports failed or cancelled: marked once (the trigger gives the
/// money back to the purchase's books), or recorded failed if Stripe had not yet told us
/// of it. True if a counted refund was marked failed now.
pub async fn fail_stripe_refund(
    conn: &mut PgConnection,
    payment_intent: &str,
    refund_id: &str,
    amount_pence: i32,
    reason: &str,
) -> sqlx::Result<bool> {
    lock_by_intent(&mut *conn, payment_intent).await?;
    let failed = sqlx::query!(
        "update package_purchase_refunds set failed_at = now(), failure_reason = $2
          where stripe_refund_id = $1 and failed_at is null",
        refund_id,
        reason,
    )
    .execute(&mut *conn)
    .await?;
    if failed.rows_affected() == 1 {
        return Ok(true);
    }
    sqlx::query!(
        "insert into package_purchase_refunds
                (purchase_id, amount_pence, reason, stripe_refund_id, failed_at, failure_reason)
         select pp.id, $3, 'Refunded in Stripe', $2, now(), $4 from package_purchases pp
          where pp.stripe_payment_intent_id = $1
            and not exists (select 1 from package_purchase_refunds where stripe_refund_id = $2)
          order by pp.id limit 1
         on conflict (stripe_refund_id) do nothing",
        payment_intent,
        refund_id,
        amount_pence,
        reason,
    )
    .execute(conn)
    .await?;
    Ok(false)
}

/// Locks the package purchase paid with `payment_intent` until the transaction ends.
async fn lock_by_intent(conn: &mut PgConnection, payment_intent: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "select id from package_purchases where stripe_payment_intent_id = $1 for update",
        payment_intent,
    )
    .fetch_all(conn)
    .await?;
    Ok(())
}

// Refunds -------------------------------------------------------------------------------------

/// A purchase as finance refunds it: what was paid and refunded, and its credits left.
#[derive(Clone, Debug)]
struct Refundable {
    row: PurchaseRow,
    reference: String,
    paid_at: Option<OffsetDateTime>,
    stripe_payment_intent_id: Option<String>,
    credits_left: i32,
    expires_at: Option<OffsetDateTime>,
}

impl Refundable {
    /// Money that can still go back: only a paid purchase took any.
    fn refundable_pence(&self) -> i64 {
        let p = &self.row;
        match p.status {
            PurchaseStatus::Paid => i64::from(p.amount_pence) - i64::from(p.refunded_pence),
            PurchaseStatus::Pending | PurchaseStatus::Failed => 0,
        }
    }
}

async fn refundable(conn: &mut PgConnection, id: PackagePurchaseId) -> sqlx::Result<Option<Refundable>> {
    let found = sqlx::query!(
        r#"select pp.id, u.name as parent_name, u.email as parent_email, p.name as package, pp.credits,
                pp.amount_pence, pp.refunded_pence, pp.method as "method: Method",
                pp.status as "status: PurchaseStatus", pp.created_at,
                pp.reference, pp.paid_at, pp.stripe_payment_intent_id,
                coalesce(c.balance, 0) as "credits_left!", c.expires_at as "expires_at?"
           from package_purchases pp join users u on u.id = pp.parent_id join packages p on p.id = pp.package_id
           left join package_credits c on c.purchase_id = pp.id
          where pp.id = $1"#,
        id.0,
    )
    .fetch_optional(conn)
    .await?;
    Ok(found.map(|f| Refundable {
        row: PurchaseRow {
            id: f.id,
            parent_name: f.parent_name,
            parent_email: f.parent_email,
            package: f.package,
            credits: f.credits,
            amount_pence: f.amount_pence,
            refunded_pence: f.refunded_pence,
            method: f.method,
            status: f.status,
            created_at: f.created_at,
        },
        reference: f.reference,
        paid_at: f.paid_at,
        stripe_payment_intent_id: f.stripe_payment_intent_id,
        credits_left: f.credits_left,
        expires_at: f.expires_at,
    }))
}

/// The purchase with it and its credits locked until the transaction ends: refunds
/// at once take turns, and no booking uses a credit between the check and the refund.
/// Lock first, then read in a new statement that sees what was committed meanwhile.
async fn lock_refundable(conn: &mut PgConnection, id: PackagePurchaseId) -> sqlx::Result<Option<Refundable>> {
    sqlx::query!("select id from package_purchases where id = $1 for update", id.0)
        .fetch_all(&mut *conn)
        .await?;
    sqlx::query!("select id from package_credits where purchase_id = $1 for update", id.0)
        .fetch_all(&mut *conn)
        .await?;
    refundable(conn, id).await
}

#[derive(Clone, Debug)]
struct PurchaseRefund {
    amount_pence: i32,
    credits_withdrawn: i32,
    reason: String,
    stripe_refund_id: Option<String>,
    recorded_by_name: Option<String>,
    created_at: OffsetDateTime,
    failure_reason: Option<String>,
    failed_at: Option<OffsetDateTime>,
}

async fn refunds_of(conn: &mut PgConnection, purchase_id: i64) -> sqlx::Result<Vec<PurchaseRefund>> {
    sqlx::query_as!(
        PurchaseRefund,
        r#"select f.amount_pence, f.credits_withdrawn, f.reason, f.stripe_refund_id,
                r.name as "recorded_by_name?", f.created_at, f.failure_reason, f.failed_at
           from package_purchase_refunds f left join users r on r.id = f.recorded_by
          where f.purchase_id = $1
          order by f.created_at, f.id"#,
        purchase_id,
    )
    .fetch_all(conn)
    .await
}

struct NewRefund<'a> {
    purchase_id: PackagePurchaseId,
    amount: Money,
    credits_withdrawn: i32,
    reason: &'a str,
    stripe_refund_id: Option<&'a str>,
    recorded_by: i64,
}

/// The refund row; its trigger adds to `refunded_pence` and withdraws the credits.
async fn insert_refund(conn: &mut PgConnection, new: &NewRefund<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "insert into package_purchase_refunds
            (purchase_id, amount_pence, credits_withdrawn, reason, stripe_refund_id, recorded_by)
         values ($1, $2, $3, $4, $5, $6) returning id",
        new.purchase_id.0,
        new.amount.pence(),
        new.credits_withdrawn,
        new.reason,
        new.stripe_refund_id,
        new.recorded_by,
    )
    .fetch_one(conn)
    .await
}

/// What finance typed, kept as typed so a refused form comes back filled in; checked
/// against the locked purchase by [`check_refund`].
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct RefundForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    credits: String,
    #[serde(default)]
    reason: String,
}

impl RefundForm {
    /// The reason as kept: trimmed, at most 500 characters.
    fn reason(&self) -> String {
        self.reason.trim().chars().take(500).collect()
    }
}

/// A refund that fits the purchase as it stood when checked.
#[derive(Debug)]
struct ValidRefund {
    amount: Money,
    credits: i32,
}

fn over_refund_message(refundable_pence: i64) -> String {
    if refundable_pence <= 0 {
        "Nothing is left to refund on this purchase.".to_owned()
    } else {
        format!("At most {} can be refunded.", fmt::pounds(refundable_pence))
    }
}

fn too_many_credits_message(credits_left: i32) -> String {
    match credits_left {
        ..=0 => "No unused credits are left to withdraw; used credits cannot be.".to_owned(),
        1 => "Only 1 unused credit is left; withdraw at most that.".to_owned(),
        n => format!("Only {n} unused credits are left; withdraw at most that."),
    }
}

/// Checks the form against the purchase: an amount in pounds no more than is left to
/// refund, a whole number of credits no more than are unused, and a reason.
fn check_refund(purchase: &Refundable, typed: &RefundForm) -> Result<ValidRefund, FormErrors> {
    let mut errors = FormErrors::default();
    let amount = Money::parse_positive(&typed.amount).map_err(|m| errors.add("amount", m)).ok();
    if let Some(a) = amount
        && i64::from(a.pence()) > purchase.refundable_pence()
    {
        errors.add("amount", over_refund_message(purchase.refundable_pence()));
    }
    let credits = match typed.credits.trim().parse::<i32>() {
        Ok(n @ 0..) => Some(n),
        _ => {
            errors.add("credits", "Enter how many credits to withdraw, 0 for none.");
            None
        }
    };
    if let Some(n) = credits
        && n > purchase.credits_left
    {
        errors.add("credits", too_many_credits_message(purchase.credits_left));
    }
    if typed.reason.trim().is_empty() {
        errors.add("reason", "Give a reason for the refund.");
    }
    match (amount, credits) {
        (Some(amount), Some(credits)) if errors.is_empty() => Ok(ValidRefund { amount, credits }),
        _ => Err(errors),
    }
}

/// What a refund the database refused is wrong in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Raced {
    Amount,
    Credits,
}

impl Raced {
    fn field(self) -> &'static str {
        match self {
            Raced::Amount => "amount",
            Raced::Credits => "credits",
        }
    }

    /// The same words as the checks above, for a refund that raced past them.
    fn message(self, purchase: &Refundable) -> String {
        match self {
            Raced::Amount => over_refund_message(purchase.refundable_pence()),
            Raced::Credits => too_many_credits_message(purchase.credits_left),
        }
    }
}

/// What a refund the database refused is wrong in, by the constraint's name.
fn constraint_field(constraint: &str) -> Option<Raced> {
    match constraint {
        "package_purchases_refunds_within_amount" | "package_purchase_refunds_purchase_paid" => {
            Some(Raced::Amount)
        }
        "package_credits_balance_not_negative" | "package_purchase_refunds_credits_exist" => {
            Some(Raced::Credits)
        }
        _ => None,
    }
}

pub struct PurchaseRefundLine {
    pub date: String,
    pub amount: String,
    pub credits: i32,
    pub reason: String,
    pub by: String,
    /// Why Stripe could not make it, if it failed.
    pub failed: Option<String>,
}

#[derive(Template)]
#[template(path = "payments/package_purchase.html")]
pub struct PurchasePage {
    pub ctx: PageContext,
    pub id: i64,
    pub parent: String,
    pub package: String,
    pub status: String,
    pub bought: String,
    pub paid: String,
    pub method: String,
    pub reference: String,
    pub credits: i32,
    pub credits_left: i32,
    pub expires: String,
    pub amount_paid: String,
    pub refunded: String,
    pub refundable: String,
    pub refunds: Vec<PurchaseRefundLine>,
    pub can_refund: bool,
    pub is_card: bool,
    pub amount: String,
    pub credits_field: String,
    pub reason: String,
    pub errors: FormErrors,
}

/// The page with its form filled in for a full refund of the unused credits.
async fn purchase_page(state: &AppState, ctx: PageContext, id: PackagePurchaseId) -> AppResult<PurchasePage> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let p = refundable(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let refunds = refunds_of(&mut conn, id.0)
        .await?
        .into_iter()
        .map(|r| PurchaseRefundLine {
            date: fmt::day_time(r.created_at, tz),
            amount: fmt::pounds(i64::from(r.amount_pence)),
            credits: r.credits_withdrawn,
            reason: r.reason,
            by: r
                .recorded_by_name
                .unwrap_or_else(|| if r.stripe_refund_id.is_some() { "Stripe" } else { "—" }.to_owned()),
            failed: r.failed_at.map(|_| r.failure_reason.unwrap_or_default()),
        })
        .collect();
    let refundable = p.refundable_pence();
    let row = &p.row;
    Ok(PurchasePage {
        ctx,
        id: row.id,
        parent: format!("{} ({})", row.parent_name, row.parent_email),
        package: row.package.clone(),
        status: row.status.label(row.amount_pence, row.refunded_pence).to_owned(),
        bought: fmt::day_time(row.created_at, tz),
        paid: p.paid_at.map(|t| fmt::day_time(t, tz)).unwrap_or_default(),
        method: row.method.map_or("—", Method::label).to_owned(),
        reference: p.reference.clone(),
        credits: row.credits,
        credits_left: p.credits_left,
        expires: p.expires_at.map(|t| fmt::day_time(t, tz)).unwrap_or_default(),
        amount_paid: fmt::pounds(i64::from(row.amount_pence)),
        refunded: fmt::pounds(i64::from(row.refunded_pence)),
        refundable: fmt::pounds(refundable),
        refunds,
        can_refund: refundable > 0,
        is_card: row.method == Some(Method::Card),
        amount: if refundable > 0 { csv::decimal_pounds(refundable) } else { String::new() },
        credits_field: p.credits_left.max(0).to_string(),
        reason: String::new(),
        errors: FormErrors::default(),
    })
}

/// `GET /admin/payments/packages/{id}`: one package purchase, its credits and refunds,
/// and the `Refund` form.
pub async fn purchase(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    Path(id): Path<PackagePurchaseId>,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    render(&purchase_page(&state, ctx, id).await?)
}

/// The form again, as typed, with `errors` and a 422; nothing was written.
async fn refused(
    state: &AppState,
    ctx: PageContext,
    id: PackagePurchaseId,
    typed: RefundForm,
    errors: FormErrors,
) -> AppResult<Response> {
    let mut page = purchase_page(state, ctx, id).await?;
    page.amount = typed.amount;
    page.credits_field = typed.credits;
    page.reason = typed.reason;
    page.errors = errors;
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// For a card purchase, gives the money back through Stripe before anything is
/// written, with the purchase still locked. `Err` is the message for finance when it
/// cannot (then nothing is refunded).
async fn refund_by_card(
    state: &AppState,
    purchase: &Refundable,
    amount: Money,
) -> Result<Option<String>, &'static str> {
    if purchase.row.method != Some(Method::Card) {
        return Ok(None);
    }
    let (Some(stripe), Some(intent)) = (state.stripe.as_ref(), purchase.stripe_payment_intent_id.as_deref())
    else {
        return Err("This card purchase cannot be refunded here: Stripe is not set up for it.");
    };
    match stripe.refund_package_purchase(intent, i64::from(amount.pence()), purchase.row.id).await {
        Ok(refund) => Ok(Some(refund.id)),
        Err(err) => {
            tracing::error!(error = ?err, purchase_id = purchase.row.id, "Stripe refund of a package failed");
            Err("Stripe did not accept the refund; nothing was refunded. Please try again.")
        }
    }
}

/// Why a package refund was not made; nothing was written.
#[derive(Debug)]
pub enum PurchaseRefundRefused {
    /// The form does not fit the purchase: the errors by field.
    Invalid(FormErrors),
    /// Stripe could not make it.
    Stripe(&'static str),
}

/// Refunds a package purchase in the caller's transaction: checked with the purchase
/// and its credits locked, sent to Stripe for a card, then recorded with the credits
/// withdrawn, its audit row and the parent's email. None if there is no such purchase.
pub async fn refund_purchase(
    state: &AppState,
    conn: &mut PgConnection,
    by: i64,
    id: PackagePurchaseId,
    typed: &RefundForm,
) -> AppResult<Option<Result<(Money, i32), PurchaseRefundRefused>>> {
    let Some(purchase) = lock_refundable(&mut *conn, id).await? else { return Ok(None) };
    let valid = match check_refund(&purchase, typed) {
        Ok(valid) => valid,
        Err(errors) => return Ok(Some(Err(PurchaseRefundRefused::Invalid(errors)))),
    };
    let stripe_refund = match refund_by_card(state, &purchase, valid.amount).await {
        Ok(stripe_refund) => stripe_refund,
        Err(message) => return Ok(Some(Err(PurchaseRefundRefused::Stripe(message)))),
    };
    let reason = typed.reason();
    let new = NewRefund {
        purchase_id: id,
        amount: valid.amount,
        credits_withdrawn: valid.credits,
        reason: &reason,
        stripe_refund_id: stripe_refund.as_deref(),
        recorded_by: by,
    };
    // A savepoint, so the purchase can be read again for the message if it is refused.
    let mut savepoint = sqlx::Connection::begin(&mut *conn).await?;
    let inserted = insert_refund(&mut savepoint, &new).await.on_constraint(constraint_field)?;
    let refund_id = match inserted {
        Ok(refund_id) => {
            savepoint.commit().await?;
            refund_id
        }
        Err(field) => {
            savepoint.rollback().await?;
            // Not reached while the locks hold; if it is, the card refund needs a person.
            if let Some(stripe_refund) = &stripe_refund {
                tracing::error!(
                    stripe_refund,
                    purchase_id = id.0,
                    "Stripe refunded a package we did not record"
                );
            }
            let fresh = refundable(&mut *conn, id).await?.ok_or(AppError::NotFound)?;
            let mut errors = FormErrors::default();
            errors.add(field.field(), field.message(&fresh));
            return Ok(Some(Err(PurchaseRefundRefused::Invalid(errors))));
        }
    };
    audit::record(&mut *conn)
        .by(by)
        .action("package_purchase.refunded")
        .entity("package_purchase", id.0)
        .before(
            json!({ "refunded_pence": purchase.row.refunded_pence, "credits_left": purchase.credits_left }),
        )
        .after(json!({
            "refund_id": refund_id,
            "amount_pence": valid.amount.pence(),
            "credits_withdrawn": valid.credits,
            "reason": reason,
            "stripe_refund_id": stripe_refund,
        }))
        .await?;
    state.outbox.queue(&mut *conn, &refund_email(state, &purchase, &valid, &reason)).await?;
    Ok(Some(Ok((valid.amount, valid.credits))))
}

/// `Refund` on a package purchase.
pub async fn refund(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<PackagePurchaseId>,
    axum::Form(typed): axum::Form<RefundForm>,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    let page = format!("/admin/payments/packages/{id}");
    let mut tx = state.pool.begin().await?;
    let refunded =
        refund_purchase(&state, &mut tx, admin.0.id.0, id, &typed).await?.ok_or(AppError::NotFound)?;
    match refunded {
        Ok((amount, credits)) => {
            let message =
                format!("Refunded {amount} of package purchase #{id}; {credits} credit(s) withdrawn.");
            flash::done(tx, &session, message, &page).await
        }
        Err(PurchaseRefundRefused::Invalid(errors)) => {
            tx.rollback().await?;
            refused(&state, ctx, id, typed, errors).await
        }
        Err(PurchaseRefundRefused::Stripe(message)) => {
            tx.rollback().await?;
            flash::push(&session, FlashKind::Error, message).await?;
            Ok(Redirect::to(&page).into_response())
        }
    }
}

/// Tells the parent what came back and what credits went with it.
fn refund_email(state: &AppState, purchase: &Refundable, refund: &ValidRefund, reason: &str) -> Email {
    let p = &purchase.row;
    let credits = match refund.credits {
        0 => String::new(),
        1 => " 1 unused credit has been taken off your balance.".to_owned(),
        n => format!(" {n} unused credits have been taken off your balance."),
    };
    let card = if p.method == Some(Method::Card) {
        " Card refunds reach your account within a few days."
    } else {
        ""
    };
    Email {
        to: p.parent_email.clone(),
        subject: format!("Refund for your {}", p.package),
        body: format!(
            "Hello {},\n\nWe have refunded you {} for {}.{credits}{card}\n\nReason: {reason}\n\nYour packages: {}/parent/packages\n",
            p.parent_name, refund.amount, p.package, state.config.base_url,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paid(amount_pence: i32, refunded_pence: i32, credits_left: i32) -> Refundable {
        Refundable {
            row: PurchaseRow {
                id: 1,
                parent_name: "Sam".into(),
                parent_email: "sam@example.com".into(),
                package: "Five sessions".into(),
                credits: 5,
                amount_pence,
                refunded_pence,
                method: Some(Method::Cash),
                status: PurchaseStatus::Paid,
                created_at: OffsetDateTime::UNIX_EPOCH,
            },
            reference: String::new(),
            paid_at: None,
            stripe_payment_intent_id: None,
            credits_left,
            expires_at: None,
        }
    }

    fn typed(amount: &str, credits: &str, reason: &str) -> RefundForm {
        RefundForm { amount: amount.into(), credits: credits.into(), reason: reason.into() }
    }

    #[test]
    fn a_refund_within_what_is_left_is_accepted() {
        let valid = check_refund(&paid(2500, 1000, 3), &typed("15.00", "3", "Moved away")).unwrap();
        assert_eq!((valid.amount.pence(), valid.credits), (1500, 3));
        assert!(check_refund(&paid(2500, 0, 0), &typed("1", "0", "Goodwill")).is_ok());
    }

    #[test]
    fn more_money_or_credits_than_are_left_are_refused_with_a_message_each() {
        let errors = check_refund(&paid(2500, 1000, 2), &typed("15.01", "3", "Moved away")).unwrap_err();
        assert_eq!(errors.get("amount"), Some("At most £15.00 can be refunded."));
        assert_eq!(errors.get("credits"), Some("Only 2 unused credits are left; withdraw at most that."));
        let errors = check_refund(&paid(2500, 2500, 0), &typed("1", "1", "Again")).unwrap_err();
        assert_eq!(errors.get("amount"), Some("Nothing is left to refund on this purchase."));
        assert!(errors.get("credits").is_some_and(|m| m.starts_with("No unused credits")));
    }

    #[test]
    fn unreadable_credits_and_a_missing_reason_are_refused() {
        for credits in ["", "-1", "two", "1.5"] {
            let errors = check_refund(&paid(2500, 0, 5), &typed("1", credits, " ")).unwrap_err();
            assert!(errors.get("credits").is_some(), "{credits:?}");
            assert_eq!(errors.get("reason"), Some("Give a reason for the refund."));
        }
    }

    #[test]
    fn an_unpaid_purchase_has_nothing_to_refund() {
        let mut pending = paid(2500, 0, 0);
        pending.row.status = PurchaseStatus::Pending;
        assert_eq!(pending.refundable_pence(), 0);
    }

    #[test]
    fn a_raced_refund_gets_the_same_words_as_a_checked_one() {
        let p = paid(2500, 2500, 0);
        let raced = constraint_field("package_purchases_refunds_within_amount").unwrap();
        assert_eq!(
            (raced.field(), raced.message(&p).as_str()),
            ("amount", "Nothing is left to refund on this purchase.")
        );
        assert_eq!(constraint_field("package_credits_balance_not_negative"), Some(Raced::Credits));
        assert!(constraint_field("something_else").is_none());
    }
}
