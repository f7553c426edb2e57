//! Finance's side: booking payments and package sales, refunds and outstanding balances
//! with their totals, the CSV of the same, and recording a cash or bank-transfer payment
//! against a booking.

use askama::Template;
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use time::{Date, Duration};
use tower_sessions::Session;

use super::{
    actions::{self, OfflinePaymentForm},
    domain::{Choice, Method, PaymentStatus},
    package_sales, store,
};
use crate::{
    AppState,
    auth::{Admin, AdminRole},
    error::{AppError, AppResult},
    ids::{BookingId, CancellationRefundId},
    web::{
        FormErrors, PageContext, Path, csv,
        flash::{self, FlashKind},
        fmt,
        form::{Fields, QueryFields, render, render_with},
        page::{Cursor, Order, Page, PageRequest, Pager},
    },
};
use futures_util::TryStreamExt;

/// Money is finance's (and the owner's); everyone else gets 403.
const FINANCE: &[AdminRole] = &[AdminRole::Finance];

fn parse_date(raw: Option<&str>) -> Option<Date> {
    raw.and_then(crate::web::date::parse)
}

/// The search the list page and the CSV share, from the query string.
fn search_from(query: &Fields, tz: &time_tz::Tz) -> store::Search {
    store::Search {
        from: parse_date(query.get("from")).map(|d| crate::clock::start_of_day(d, tz)),
        until: parse_date(query.get("to")).map(|d| crate::clock::start_of_day(d + Duration::days(1), tz)),
        status: query.get("status").and_then(PaymentStatus::parse),
        activity_id: query.id("activity"),
    }
}

/// What a payment still counts for in the totals: taken money less its refunds.
fn net_pence(p: &store::Payment) -> i64 {
    if p.status.is_taken() { i64::from(p.amount_pence) - i64::from(p.refunded_pence) } else { 0 }
}

pub struct PaymentLine {
    pub id: i64,
    pub booking_id: i64,
    pub date: String,
    pub parent: String,
    pub activity: String,
    pub method: &'static str,
    pub status: &'static str,
    /// The stored status, for the badge's style.
    pub status_key: &'static str,
    pub amount: String,
    pub refunded: String,
    pub net: String,
}

/// A refund of a booking payment (`booking_id` and `payment_id`) or of a package sale
/// (`purchase_id` and `package`).
pub struct RefundLine {
    pub payment_id: Option<i64>,
    pub booking_id: Option<i64>,
    pub purchase_id: Option<i64>,
    pub package: String,
    pub date: String,
    pub parent: String,
    pub method: String,
    pub amount: String,
    pub reason: String,
    pub by: String,
}

pub struct OutstandingLine {
    pub booking_id: i64,
    pub parent: String,
    pub activity: String,
    pub total: String,
    pub paid: String,
    pub due: String,
}

#[derive(Template)]
#[template(path = "payments/admin_index.html")]
pub struct IndexPage {
    pub ctx: PageContext,
    pub from: String,
    pub to: String,
    pub statuses: Vec<Choice>,
    pub activities: Vec<Choice>,
    pub payments: Vec<PaymentLine>,
    pub payments_pager: Pager,
    /// How many booking payments match, over every page.
    pub payments_count: i64,
    pub total_taken: String,
    pub total_refunded: String,
    pub total_net: String,
    pub refunds: Vec<RefundLine>,
    pub refunds_pager: Pager,
    pub refunds_total: String,
    /// How many refunds match, over every page.
    pub refunds_count: i64,
    pub outstanding: Vec<OutstandingLine>,
    pub outstanding_pager: Pager,
    pub outstanding_count: i64,
    pub outstanding_total: String,
    pub failed_refunds: Vec<FailedRefundLine>,
    pub package_sales: Vec<PackageSaleLine>,
    pub package_sales_pager: Pager,
    pub package_sales_count: i64,
    pub package_sales_total: String,
    /// Refunds staff caused by cancelling or moving places: who, why; a page of them.
    pub caused_refunds: Vec<CausedRefundLine>,
    pub caused_pager: Pager,
    pub failed_pager: Pager,
}

pub struct CausedRefundLine {
    pub booking_id: i64,
    pub payment_id: i64,
    pub date: String,
    pub parent: String,
    pub method: String,
    pub amount: String,
    pub state: &'static str,
    pub by: String,
    pub cause: &'static str,
    pub reason: String,
}

/// One page of the refunds caused by staff, newest first.
async fn caused_refunds(
    conn: &mut sqlx::PgConnection,
    search: &store::Search,
    query: &Fields,
    tz: &time_tz::Tz,
) -> sqlx::Result<Page<CausedRefundLine>> {
    let page = PageRequest::named(query, Order::Descending, "caused_after", "caused_before");
    let rows = super::cancellation::caused_by_staff(conn, search.from, search.until, &page).await?;
    let rows = page.finish(rows, |r| Cursor::new(r.created_at, r.id), "/admin/payments", query);
    Ok(rows.map(|r| CausedRefundLine {
        booking_id: r.booking_id,
        payment_id: r.payment_id,
        date: fmt::day_time(r.created_at, tz),
        parent: r.parent_name,
        method: r.method.label().to_owned(),
        amount: fmt::pounds(i64::from(r.amount_pence)),
        state: r.status.label(),
        by: match (r.requested_by_name, r.requested_by_role) {
            (Some(name), Some(role)) => format!("{name} ({})", role.label().to_lowercase()),
            (Some(name), None) => name,
            _ => String::new(),
        },
        cause: r.cause.label(),
        reason: r.reason,
    }))
}

pub struct FailedRefundLine {
    pub id: i64,
    pub booking_id: i64,
    pub amount: String,
    pub error: String,
}

pub struct PackageSaleLine {
    pub id: i64,
    pub date: String,
    pub parent: String,
    pub package: String,
    pub method: String,
    pub status: String,
    pub amount: String,
    pub refunded: Option<String>,
}

fn sale_line(s: &package_sales::Sale, tz: &time_tz::Tz) -> PackageSaleLine {
    PackageSaleLine {
        id: s.id,
        date: fmt::day_time(s.paid_at, tz),
        parent: s.parent_name.clone(),
        package: s.package.clone(),
        method: s.method.map(Method::label).unwrap_or_default().to_owned(),
        status: s.status.label().to_owned(),
        amount: fmt::pounds(i64::from(s.amount_pence)),
        refunded: (s.refunded_pence > 0).then(|| fmt::pounds(i64::from(s.refunded_pence))),
    }
}

fn refund_line(r: store::ListedRefund, tz: &time_tz::Tz) -> RefundLine {
    RefundLine {
        payment_id: r.payment_id,
        booking_id: r.booking_id,
        purchase_id: r.purchase_id,
        package: r.package.unwrap_or_default(),
        date: fmt::day_time(r.created_at, tz),
        parent: r.parent_name,
        method: r.method.map(Method::label).unwrap_or_default().to_owned(),
        amount: fmt::pounds(i64::from(r.amount_pence)),
        reason: r.reason,
        by: r.recorded_by_name.unwrap_or_default(),
    }
}

/// One page of the refunds of booking payments and of package sales made in the
/// period, newest first ([`store::Summary`] counts and sums them all).
async fn refunds_page(
    conn: &mut sqlx::PgConnection,
    search: &store::Search,
    query: &Fields,
    tz: &time_tz::Tz,
) -> sqlx::Result<Page<RefundLine>> {
    let page = PageRequest::named(query, Order::Descending, "refunds_after", "refunds_before");
    let rows = store::refunds(conn, search, &page).await?;
    let rows = page.finish(rows, |r| Cursor::new(r.created_at, r.key), "/admin/payments", query);
    Ok(rows.map(|r| refund_line(r, tz)))
}

fn payment_line(p: &store::Payment, tz: &time_tz::Tz) -> PaymentLine {
    PaymentLine {
        id: p.id,
        booking_id: p.booking_id,
        date: fmt::day_time(p.created_at, tz),
        parent: p.parent_name.clone(),
        activity: p.activity.clone(),
        method: p.method.label(),
        status: p.status.label(),
        status_key: p.status.as_str(),
        amount: fmt::pounds(i64::from(p.amount_pence)),
        refunded: fmt::pounds(i64::from(p.refunded_pence)),
        net: fmt::pounds(net_pence(p)),
    }
}

fn outstanding_line(b: &store::Balance) -> OutstandingLine {
    OutstandingLine {
        booking_id: b.booking_id,
        parent: b.parent_name.clone(),
        activity: b.activity.clone(),
        total: fmt::pounds(i64::from(b.total_pence)),
        paid: fmt::pounds(b.paid_pence),
        due: fmt::pounds(b.due_pence()),
    }
}

fn status_choices(chosen: Option<PaymentStatus>) -> Vec<Choice> {
    PaymentStatus::ALL
        .iter()
        .map(|s| Choice { value: s.as_str().into(), label: s.label().into(), selected: chosen == Some(*s) })
        .collect()
}

async fn activity_choices(conn: &mut sqlx::PgConnection, chosen: Option<i64>) -> sqlx::Result<Vec<Choice>> {
    Ok(store::activities(conn)
        .await?
        .into_iter()
        .map(|a| Choice { value: a.id.to_string(), label: a.name, selected: Some(a.id) == chosen })
        .collect())
}

/// One page of the card refunds Stripe refused, oldest first.
async fn failed_refunds(
    conn: &mut sqlx::PgConnection,
    query: &Fields,
) -> sqlx::Result<Page<FailedRefundLine>> {
    let page = PageRequest::named(query, Order::Ascending, "failed_after", "failed_before");
    let rows = super::cancellation::failed(conn, &page).await?;
    let rows = page.finish(rows, |f| Cursor::new(f.created_at, f.id), "/admin/payments", query);
    Ok(rows.map(|f| FailedRefundLine {
        id: f.id,
        booking_id: f.booking_id,
        amount: fmt::pounds(i64::from(f.amount_pence)),
        error: f.last_error.unwrap_or_default(),
    }))
}

pub async fn index(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    let tz = state.config.timezone;
    let search = search_from(&query, tz);
    let payments_page = PageRequest::from_query(&query, Order::Descending);
    let sales_page = PageRequest::named(&query, Order::Descending, "sales_after", "sales_before");
    let owed_page = PageRequest::named(&query, Order::Ascending, "owed_after", "owed_before");
    let mut conn = state.pool.acquire().await?;
    let payments = store::search(&mut conn, &search, &payments_page).await?;
    let payments =
        payments_page.finish(payments, |p| Cursor::new(p.created_at, p.id), "/admin/payments", &query);
    let sales = package_sales::search_sales(&mut conn, &search, &sales_page).await?;
    let sales = sales_page.finish(sales, |s| Cursor::new(s.paid_at, s.id), "/admin/payments", &query);
    let summary = store::summary(&mut conn, &search).await?;
    let (sold, sold_refunds, sold_refunds_pence) = package_sales::sale_summary(&mut conn, &search).await?;
    let paid = summary.paid;
    let all = paid + sold;
    let refunds = refunds_page(&mut conn, &search, &query, tz).await?;
    let outstanding = store::outstanding(&mut conn, search.activity_id, &owed_page).await?;
    let outstanding = owed_page.finish(
        outstanding,
        |o| Cursor::new(o.created_at, o.balance.booking_id),
        "/admin/payments",
        &query,
    );
    let caused = caused_refunds(&mut conn, &search, &query, tz).await?;
    let failed = failed_refunds(&mut conn, &query).await?;
    render(&IndexPage {
        ctx,
        from: parse_date(query.get("from")).map(|d| d.to_string()).unwrap_or_default(),
        to: parse_date(query.get("to")).map(|d| d.to_string()).unwrap_or_default(),
        statuses: status_choices(search.status),
        activities: activity_choices(&mut conn, search.activity_id).await?,
        payments: payments.rows.iter().map(|p| payment_line(p, tz)).collect(),
        payments_pager: payments.pager,
        payments_count: paid.count,
        total_taken: fmt::pounds(all.taken_pence),
        total_refunded: fmt::pounds(all.refunded_pence),
        total_net: fmt::pounds(all.net_pence),
        refunds: refunds.rows,
        refunds_pager: refunds.pager,
        refunds_total: fmt::pounds(summary.refunds_pence + sold_refunds_pence),
        refunds_count: summary.refunds_count + sold_refunds,
        outstanding: outstanding.rows.iter().map(|o| outstanding_line(&o.balance)).collect(),
        outstanding_pager: outstanding.pager,
        outstanding_count: summary.owed_count,
        outstanding_total: fmt::pounds(summary.owed_pence),
        failed_refunds: failed.rows,
        failed_pager: failed.pager,
        package_sales: sales.rows.iter().map(|s| sale_line(s, tz)).collect(),
        package_sales_pager: sales.pager,
        package_sales_count: sold.count,
        package_sales_total: fmt::pounds(sold.taken_pence),
        caused_refunds: caused.rows,
        caused_pager: caused.pager,
    })
}

/// `Retry refund`: sends a card refund Stripe refused once more.
pub async fn retry_refund(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(id): Path<CancellationRefundId>,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    let mut tx = state.pool.begin().await?;
    if !super::cancellation::retry(&mut tx, id, admin.0.id.0).await? {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    super::cancellation::settle(&state, &[id.0]).await;
    let still_failed = super::cancellation::is_failed(&mut *state.pool.acquire().await?, id).await?;
    let (kind, message) = if still_failed {
        (FlashKind::Error, "Stripe refused the refund again; see the error below.")
    } else {
        (FlashKind::Success, "Refund sent.")
    };
    flash::push(&session, kind, message).await?;
    Ok(Redirect::to("/admin/payments").into_response())
}

/// The CSV's columns. `kind` and the package columns come last so the earlier ones
/// keep their places for spreadsheets made before package sales were in it.
const CSV_HEADER: [&str; 15] = [
    "Payment",
    "Date",
    "Booking",
    "Parent",
    "Activity",
    "Method",
    "Status",
    "Currency",
    "Amount (£)",
    "Refunded (£)",
    "Net (£)",
    "Reference",
    "Kind",
    "Package purchase",
    "Package",
];

fn payment_row(p: &store::Payment, tz: &time_tz::Tz) -> Vec<String> {
    vec![
        p.id.to_string(),
        csv::date_time(p.created_at, tz),
        p.booking_id.to_string(),
        csv::cell(&p.parent_name),
        csv::cell(&p.activity),
        p.method.label().to_owned(),
        p.status.label().to_owned(),
        p.currency.clone(),
        csv::decimal_pounds(i64::from(p.amount_pence)),
        csv::decimal_pounds(i64::from(p.refunded_pence)),
        csv::decimal_pounds(net_pence(p)),
        csv::cell(&p.reference),
        "booking payment".into(),
        String::new(),
        String::new(),
    ]
}

fn sale_row(s: &package_sales::Sale, tz: &time_tz::Tz) -> Vec<String> {
    vec![
        String::new(),
        csv::date_time(s.paid_at, tz),
        String::new(),
        csv::cell(&s.parent_name),
        String::new(),
        s.method.map(Method::label).unwrap_or_default().to_owned(),
        s.status.label().to_owned(),
        s.currency.clone(),
        csv::decimal_pounds(i64::from(s.amount_pence)),
        csv::decimal_pounds(i64::from(s.refunded_pence)),
        csv::decimal_pounds(s.net_pence()),
        csv::cell(&s.reference),
        "package sale".into(),
        s.id.to_string(),
        csv::cell(&s.package),
    ]
}

/// `Export CSV`: the booking payments and package sales the current filters show, with
/// a totals row that matches the page's.
pub async fn export(
    State(state): State<AppState>,
    admin: Admin,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    let tz = state.config.timezone;
    let search = search_from(&query, tz);
    let pool = state.pool.clone();
    Ok(csv::stream("payments.csv", &CSV_HEADER, move |mut sink| async move {
        // One snapshot for the rows and the totals row, so they agree however busy
        // the books are while the file is read.
        let mut tx = crate::db::long_read(&pool).await?;
        sqlx::query!("set transaction isolation level repeatable read, read only").execute(&mut *tx).await?;
        let mut payments = store::export(&mut tx, &search);
        while let Some(p) = payments.try_next().await? {
            sink.record(payment_row(&p, tz)).await?;
        }
        drop(payments);
        let mut sales = package_sales::export_sales(&mut tx, &search);
        while let Some(s) = sales.try_next().await? {
            sink.record(sale_row(&s, tz)).await?;
        }
        drop(sales);
        let all = store::summary(&mut tx, &search).await?.paid
            + package_sales::sale_summary(&mut tx, &search).await?.0;
        tx.commit().await?;
        let mut total_row = vec![String::new(); CSV_HEADER.len()];
        total_row[0] = "total".into();
        total_row[8] = csv::decimal_pounds(all.taken_pence);
        total_row[9] = csv::decimal_pounds(all.refunded_pence);
        total_row[10] = csv::decimal_pounds(all.net_pence);
        sink.record(total_row).await?;
        Ok(sink)
    })?)
}

pub struct BookingSummary {
    pub id: i64,
    pub parent: String,
    pub activity: String,
    pub total: String,
    pub paid: String,
    pub due: String,
}

#[derive(Template)]
#[template(path = "payments/new.html")]
pub struct NewPage {
    pub ctx: PageContext,
    pub booking: Option<BookingSummary>,
    pub booking_field: String,
    pub amount: String,
    pub methods: Vec<Choice>,
    pub reference: String,
    pub errors: FormErrors,
}

fn summary(b: &store::Balance) -> BookingSummary {
    BookingSummary {
        id: b.booking_id,
        parent: b.parent_name.clone(),
        activity: b.activity.clone(),
        total: fmt::pounds(i64::from(b.total_pence)),
        paid: fmt::pounds(b.paid_pence),
        due: fmt::pounds(b.due_pence()),
    }
}

fn method_choices(selected: &str) -> Vec<Choice> {
    let chosen = Method::parse_offline(selected);
    Method::OFFLINE
        .iter()
        .map(|m| Choice { value: m.as_str().into(), label: m.label().into(), selected: chosen == Some(*m) })
        .collect()
}

/// The form to record a cash or bank-transfer payment, for `?booking=` if given.
pub async fn new(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    let mut conn = state.pool.acquire().await?;
    let balance = match query.id("booking") {
        Some(id) => store::balance(&mut conn, BookingId(id)).await?,
        None => None,
    };
    render(&NewPage {
        ctx,
        booking_field: balance.as_ref().map(|b| b.booking_id.to_string()).unwrap_or_default(),
        amount: balance
            .as_ref()
            .filter(|b| b.due_pence() > 0)
            .map(|b| csv::decimal_pounds(b.due_pence()))
            .unwrap_or_default(),
        booking: balance.as_ref().map(summary),
        methods: method_choices(""),
        reference: String::new(),
        errors: FormErrors::default(),
    })
}

/// The form again, as typed, with the booking it names if there is one; a 422.
async fn refused(
    state: &AppState,
    ctx: PageContext,
    typed: OfflinePaymentForm,
    errors: FormErrors,
) -> AppResult<Response> {
    let balance = match typed.booking_id() {
        Some(id) => store::balance(&mut *state.pool.acquire().await?, id).await?,
        None => None,
    };
    let page = NewPage {
        ctx,
        booking: balance.as_ref().map(summary),
        methods: method_choices(&typed.method),
        reference: typed.reference(),
        booking_field: typed.booking,
        amount: typed.amount,
        errors,
    };
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// `Record payment`: see [`actions::record_offline_payment`].
pub async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    axum::Form(typed): axum::Form<OfflinePaymentForm>,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    let payment = match typed.parse() {
        Ok(payment) => payment,
        Err(errors) => return refused(&state, ctx, typed, errors).await,
    };
    let mut tx = state.pool.begin().await?;
    let recorded = match actions::record_offline_payment(&state, &mut tx, admin.0.id.0, &payment).await? {
        Ok(recorded) => recorded,
        Err(refusal) => {
            tx.rollback().await?;
            let mut errors = FormErrors::default();
            errors.add(refusal.field(), refusal.message());
            return refused(&state, ctx, typed, errors).await;
        }
    };
    let refunds = crate::bookings::holds::carry_out(&state, &mut tx, recorded.settled).await?;
    let message = format!(
        "Recorded {} {} for booking #{}; the parent has been emailed a receipt.",
        payment.amount,
        payment.method.label().to_lowercase(),
        payment.booking_id
    );
    let done = flash::done(tx, &session, message, "/admin/payments").await?;
    super::cancellation::settle(&state, &refunds).await;
    if recorded.closes_hold {
        // Paid in full at the office: the card payment it was waiting for must not follow.
        super::holds::close_checkouts(&state, payment.booking_id).await;
    }
    Ok(done)
}
