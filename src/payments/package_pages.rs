//! Packages on the parent's side (what is for sale, credits left, buying one and coming
//! back from Stripe) and finance's list of sales with `Paid` for the office; the rules
//! are in `packages`.

use askama::Template;
use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
};
use time::OffsetDateTime;
use tower_sessions::Session;

use super::{
    domain::{Method, PurchaseStatus},
    packages::{self, Bought, PurchaseRow},
};
use crate::{
    AppState,
    auth::{Admin, AdminRole, Parent},
    error::{AppError, AppResult},
    ids::{PackageId, PackagePurchaseId},
    money::Money,
    web::{
        PageContext, Path,
        flash::{self, FlashKind},
        fmt,
        form::{QueryFields, render},
        page::{Cursor, Order, Page, PageRequest, Pager},
    },
};

const FINANCE: &[AdminRole] = &[AdminRole::Finance];

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
    pub method: &'static str,
    pub status: &'static str,
    /// The stored status (`paid` even when refunded), for the badge's style.
    pub status_key: &'static str,
    pub refunded: Option<String>,
}

fn purchase_line(p: PurchaseRow, tz: &time_tz::Tz) -> PurchaseLine {
    PurchaseLine {
        id: p.id,
        date: fmt::day_time(p.created_at, tz),
        who: format!("{} ({})", p.parent_name, p.parent_email),
        package: p.package,
        credits: p.credits,
        amount: Money::from_pence(p.amount_pence).to_string(),
        method: p.method.map_or("—", Method::label),
        status: p.status.label(p.amount_pence, p.refunded_pence),
        status_key: p.status.as_str(),
        refunded: (p.refunded_pence > 0).then(|| Money::from_pence(p.refunded_pence).to_string()),
    }
}

#[derive(Template)]
#[template(path = "payments/packages.html")]
pub struct ParentPage {
    pub ctx: PageContext,
    pub offers: Vec<OfferLine>,
    pub credits: Vec<CreditLine>,
    pub purchases: Vec<PurchaseLine>,
    pub purchases_pager: Pager,
    pub card_payments: bool,
}

/// `GET /parent/packages`: what can be bought, credits left, a page of purchases.
pub async fn index(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let offers = packages::offers(&mut conn)
        .await?
        .into_iter()
        .map(|o| OfferLine {
            id: o.id,
            holds: match o.credits {
                Some(n) => format!("{n} session{}", if n == 1 { "" } else { "s" }),
                None => "The term's sessions".to_owned(),
            },
            price: Money::from_pence(o.price_pence).to_string(),
            activities: if o.activities.is_empty() { "Any activity".to_owned() } else { o.activities },
            name: o.name,
            description: o.description,
        })
        .collect();
    let credits = packages::credits_left(&mut conn, parent.id.0)
        .await?
        .into_iter()
        .map(|c| CreditLine {
            package: c.package,
            balance: c.balance,
            expires: fmt::day_time(c.expires_at, tz),
        })
        .collect();
    let page = PageRequest::from_query(&query, Order::Descending);
    let rows = packages::purchases_of(&mut conn, parent.id.0, &page).await?;
    let purchases = page
        .finish(rows, |p| Cursor::new(p.created_at, p.id), "/parent/packages", &query)
        .map(|p| purchase_line(p, tz));
    render(&ParentPage {
        ctx,
        offers,
        credits,
        purchases: purchases.rows,
        purchases_pager: purchases.pager,
        card_payments: state.stripe.is_some(),
    })
}

/// `POST /parent/packages/{id}/buy`: a pending purchase, paid by card through Checkout
/// when Stripe is set up, otherwise at the office (finance records it).
pub async fn buy(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path(id): Path<PackageId>,
) -> AppResult<Response> {
    let back = "/parent/packages";
    let mut tx = state.pool.begin().await?;
    let bought = packages::buy(&state, &mut tx, &parent, id).await?.ok_or(AppError::NotFound)?;
    let (kind, message) = match bought {
        Bought::Checkout(url) => {
            tx.commit().await?;
            return Ok(Redirect::to(&url).into_response());
        }
        Bought::Free => (FlashKind::Success, "Your credits are ready to use."),
        Bought::AtOffice => (
            FlashKind::Success,
            "Package ordered. Pay the office by cash or bank transfer; your credits appear once we have \
             recorded it.",
        ),
        Bought::NoSessions => (FlashKind::Error, "This package has no sessions to use yet."),
        Bought::CardFailed => (
            FlashKind::Error,
            "We could not start the card payment just now. Please try again, or pay the office.",
        ),
    };
    if kind == FlashKind::Success {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    flash::push(&session, kind, message).await?;
    Ok(Redirect::to(back).into_response())
}

/// Where Stripe sends the parent back after paying for a package.
pub async fn success(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    let session_id = query.get("session_id").ok_or(AppError::NotFound)?;
    let mut conn = state.pool.acquire().await?;
    let status =
        packages::status_of_checkout(&mut conn, session_id, parent.id.0).await?.ok_or(AppError::NotFound)?;
    drop(conn);
    let mut paid = status == PurchaseStatus::Paid;
    if !paid && let Some(stripe) = state.stripe.as_ref() {
        match stripe.checkout_session(session_id).await {
            Ok(checkout) if checkout.payment_status.as_deref() == Some("paid") => {
                let mut tx = state.pool.begin().await?;
                packages::fulfil_checkout(&state, &mut tx, session_id, checkout.payment_intent.as_deref())
                    .await?;
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
    /// Purchases still to be paid, with `Record paid`: a page of them.
    pub unpaid: Page<PurchaseLine>,
    /// A page of the paid ones.
    pub paid: Page<PurchaseLine>,
}

/// `GET /admin/package-sales`: packages bought, the unpaid first, each list newest
/// first and paged on its own.
pub async fn sales(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    let tz = state.config.timezone;
    let path = "/admin/package-sales";
    let unpaid_page: PageRequest<OffsetDateTime> =
        PageRequest::named(&query, Order::Descending, "unpaid_after", "unpaid_before");
    let paid_page: PageRequest<OffsetDateTime> = PageRequest::from_query(&query, Order::Descending);
    let mut conn = state.pool.acquire().await?;
    let unpaid = packages::unpaid_purchases(&mut conn, &unpaid_page).await?;
    let unpaid = unpaid_page.finish(unpaid, |p| Cursor::new(p.created_at, p.id), path, &query);
    let paid = packages::paid_purchases(&mut conn, &paid_page).await?;
    let paid = paid_page.finish(paid, |p| Cursor::new(p.created_at, p.id), path, &query);
    render(&SalesPage {
        ctx,
        unpaid: unpaid.map(|p| purchase_line(p, tz)),
        paid: paid.map(|p| purchase_line(p, tz)),
    })
}

/// `Paid` as finance fills it in.
#[derive(serde::Deserialize)]
pub struct PaidForm {
    #[serde(default)]
    method: String,
    #[serde(default)]
    reference: String,
}

impl PaidForm {
    /// Cash or a bank transfer, and its reference (trimmed, at most 200 characters).
    fn parse(&self) -> Option<(Method, String)> {
        let method = Method::parse_offline(&self.method)?;
        Some((method, self.reference.trim().chars().take(200).collect()))
    }
}

/// `POST /admin/package-sales/{id}/paid`: finance records a cash or bank transfer
/// payment for a purchase, which grants its credits (once).
pub async fn record_paid(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(id): Path<PackagePurchaseId>,
    axum::Form(form): axum::Form<PaidForm>,
) -> AppResult<Response> {
    admin.require(FINANCE)?;
    let back = "/admin/package-sales";
    let Some((method, reference)) = form.parse() else {
        flash::push(&session, FlashKind::Error, "Choose cash or bank transfer.").await?;
        return Ok(Redirect::to(back).into_response());
    };
    let mut tx = state.pool.begin().await?;
    if !packages::record_paid(&state, &mut tx, admin.0.id.0, id, method, &reference).await? {
        tx.rollback().await?;
        flash::push(&session, FlashKind::Error, "This package is already paid (or does not exist).").await?;
        return Ok(Redirect::to(back).into_response());
    }
    flash::done(tx, &session, format!("Package purchase #{id} recorded as paid."), back).await
}
