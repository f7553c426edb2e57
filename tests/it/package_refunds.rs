//! Package refunds: finance gives back money for a package purchase, fully or in part,
//! with a reason, and withdraws its unused credits; card purchases are refunded through
//! Stripe; never more than was paid and never a credit already used, whatever arrives
//! at once; the payments CSV counts package sales as the page does.

use std::sync::Arc;

use tokio::task::JoinSet;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::common::{
    TestApp, TestClient,
    client::location,
    fixtures::{self, book, child, count, parent},
    spawn_app, spawn_app_with,
    stripe::{SECRET, deliver_event},
};

/// Where each test starts: a parent with a child, Maya, who bought a five-credit
/// football package for £25.00; a football session to book; finance signed in.
struct Bought {
    app: TestApp,
    family: TestClient,
    maya: i64,
    session_id: i64,
    finance: TestClient,
    purchase: i64,
}

/// Sets up the package, the session and the parent on `app`, and the parent clicks
/// Buy. Returns the purchase, not yet paid, and the response to the click.
async fn buy(app: TestApp) -> (Bought, reqwest::Response) {
    let football = fixtures::activity(&app.pool, "Football", false, (4, 12), 24).await;
    let package_id = fixtures::package(&app.pool, "Five football sessions", 5, 2500, &football).await;
    let session_id = fixtures::session(&app.pool, &football, 48, 10, None).await;
    let (parent_id, family) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let response =
        family.submit("/parent/packages", &format!("/parent/packages/{package_id}/buy"), &[]).await;
    let purchase: i64 =
        sqlx::query_scalar("select max(id) from package_purchases").fetch_one(&app.pool).await.unwrap();
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    (Bought { app, family, maya, session_id, finance, purchase }, response)
}

/// The parent buys the package at the office and finance records it paid in cash.
async fn bought_in_cash() -> Bought {
    let (bought, response) = buy(spawn_app().await).await;
    assert_eq!(response.status(), 303);
    let response = bought
        .finance
        .submit(
            "/admin/package-sales",
            &format!("/admin/package-sales/{}/paid", bought.purchase),
            &[("method", "cash"), ("reference", "Till 2")],
        )
        .await;
    assert_eq!(response.status(), 303);
    bought
}

/// Books one place of `session_id` for `child_id` with a package credit.
async fn book_with_a_credit(family: &TestClient, session_id: i64, child_id: i64) {
    let token = family.csrf_token("/parent").await;
    let (session, item) = (session_id.to_string(), format!("{session_id}:{child_id}"));
    let fields =
        [("csrf_token", token.as_str()), ("session", &session), ("item", &item), ("use_credits", "1")];
    assert_eq!(family.post_raw("/parent/bookings", &fields).await.status(), 303);
}

async fn refund(
    finance: &TestClient,
    purchase: i64,
    amount: &str,
    credits: &str,
    reason: &str,
) -> reqwest::Response {
    let page = format!("/admin/payments/packages/{purchase}");
    finance
        .submit(
            &page,
            &format!("{page}/refund"),
            &[("amount", amount), ("credits", credits), ("reason", reason)],
        )
        .await
}

/// The purchase's refunded pence and its credits left.
async fn refunded_and_left(app: &TestApp, purchase: i64) -> (i32, i32) {
    sqlx::query_as(
        "select pp.refunded_pence, c.balance from package_purchases pp
           join package_credits c on c.purchase_id = pp.id where pp.id = $1",
    )
    .bind(purchase)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

/// Nothing of a refund was written: no refund, no withdrawn credit, no audit row.
async fn assert_nothing_refunded(app: &TestApp, purchase: i64, credits_left: i32) {
    assert_eq!(refunded_and_left(app, purchase).await, (0, credits_left));
    assert_eq!(count(&app.pool, "select count(*) from package_purchase_refunds").await, 0);
    assert_eq!(
        count(&app.pool, "select count(*) from package_credit_movements where kind = 'refund'").await,
        0
    );
    assert_eq!(
        count(&app.pool, "select count(*) from audit_log where action = 'package_purchase.refunded'").await,
        0
    );
}

/// A refund written straight to the database (`insert`, with the purchase as `$1`),
/// past the page's checks, is refused by `constraint`.
async fn assert_refused_by(app: &TestApp, insert: &str, purchase: i64, constraint: &str) {
    let err = sqlx::query(insert).bind(purchase).execute(&app.pool).await.unwrap_err();
    let named = err.as_database_error().and_then(|e| e.constraint()).map(str::to_owned);
    assert_eq!(named.as_deref(), Some(constraint), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finance_refunds_part_of_a_cash_package_withdrawing_unused_credits_and_both_pages_show_it() {
    let Bought { app, family, maya, session_id, finance, purchase } = bought_in_cash().await;
    book_with_a_credit(&family, session_id, maya).await;
    assert_eq!(refunded_and_left(&app, purchase).await, (0, 4));

    let page_path = format!("/admin/payments/packages/{purchase}");
    let page = finance.get_text(&page_path).await;
    assert!(page.contains(r#"<dd id="refundable">£25.00</dd>"#), "{page}");
    assert!(page.contains(r#"<dd id="credits-left">4</dd>"#), "{page}");
    assert!(
        page.contains(r#"name="credits" type="number" min="0" step="1" value="4""#),
        "all unused: {page}"
    );
    assert!(page.contains(">Refund</button>") && page.contains(r#"name="csrf_token""#), "{page}");

    // No reason: the form comes back as typed and nothing is written.
    let response = refund(&finance, purchase, "10.00", "2", " ").await;
    assert_eq!(response.status(), 422);
    let refused = response.text().await.unwrap();
    assert!(refused.contains("Give a reason for the refund."), "{refused}");
    assert!(refused.contains(r#"value="10.00""#) && refused.contains(r#"value="2""#), "{refused}");
    assert_nothing_refunded(&app, purchase, 4).await;

    let response = refund(&finance, purchase, "10.00", "2", "Moving away").await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), page_path);
    assert_eq!(refunded_and_left(&app, purchase).await, (1000, 2));
    let told: String =
        sqlx::query_scalar("select body_text from outbox_emails where subject like 'Refund for your%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(
        told.contains("£10.00") && told.contains("2 unused credits") && told.contains("Moving away"),
        "{told}"
    );
    let withdrawn: (i32, Option<i64>) = sqlx::query_as(
        "select m.change, m.purchase_refund_id from package_credit_movements m where m.kind = 'refund'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(withdrawn.0, -2);
    assert!(withdrawn.1.is_some(), "the movement points at its refund");
    assert_eq!(
        count(&app.pool, "select count(*) from audit_log where action = 'package_purchase.refunded'").await,
        1
    );

    let page = finance.get_text(&page_path).await;
    assert!(page.contains("Refunded £10.00 of package purchase"), "the flash: {page}");
    assert!(page.contains(r#"<dd id="refunded">£10.00</dd>"#), "{page}");
    assert!(page.contains(r#"<dd id="refundable">£15.00</dd>"#), "{page}");
    assert!(page.contains(r#"<dd id="credits-left">2</dd>"#), "{page}");
    assert!(page.contains("Moving away") && page.contains("2 credits withdrawn"), "{page}");
    let listed = finance.get_text("/admin/payments").await;
    assert!(listed.contains(&format!(r#"href="/admin/payments/packages/{purchase}""#)), "{listed}");
    assert!(listed.contains("(£10.00 refunded)") && listed.contains("Moving away"), "{listed}");

    let theirs = family.get_text("/parent/packages").await;
    assert!(theirs.contains("Partly refunded") && theirs.contains("£10.00 refunded"), "{theirs}");
    assert!(theirs.contains("2 credits left"), "{theirs}");

    // The rest, with the last unused credits: refunded in full, no credits left.
    assert_eq!(refund(&finance, purchase, "15.00", "2", "Moved away").await.status(), 303);
    assert_eq!(refunded_and_left(&app, purchase).await, (2500, 0));
    let theirs = family.get_text("/parent/packages").await;
    assert!(theirs.contains(">Refunded</span>") && theirs.contains("£25.00 refunded"), "{theirs}");
    assert!(theirs.contains("You have no package credits."), "{theirs}");
    let page = finance.get_text(&page_path).await;
    assert!(
        page.contains(r#"<dd id="refundable">£0.00</dd>"#) && !page.contains(">Refund</button>"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_of_more_than_was_paid_is_refused_and_nothing_is_written() {
    let Bought { app, finance, purchase, .. } = bought_in_cash().await;

    let response = refund(&finance, purchase, "25.01", "5", "Too much").await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("At most £25.00 can be refunded."), "{page}");
    assert!(page.contains(r#"value="25.01""#) && page.contains("Too much"), "{page}");
    assert_nothing_refunded(&app, purchase, 5).await;
    let response = refund(&finance, purchase, "ten", "5", "Typo").await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("Enter an amount in pounds"));
    assert_nothing_refunded(&app, purchase, 5).await;

    // The database refuses it too, named so the page can say why.
    assert_refused_by(
        &app,
        "insert into package_purchase_refunds (purchase_id, amount_pence, reason) values ($1, 2501, 'Direct')",
        purchase,
        "package_purchases_refunds_within_amount",
    )
    .await;
    assert_nothing_refunded(&app, purchase, 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credits_already_used_cannot_be_withdrawn() {
    let Bought { app, family, maya, session_id, finance, purchase } = bought_in_cash().await;
    book_with_a_credit(&family, session_id, maya).await;

    let response = refund(&finance, purchase, "25.00", "5", "Refund everything").await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("Only 4 unused credits are left; withdraw at most that."), "{page}");
    assert!(page.contains(r#"value="5""#), "typed value kept: {page}");
    assert_nothing_refunded(&app, purchase, 4).await;

    assert_refused_by(
        &app,
        "insert into package_purchase_refunds (purchase_id, amount_pence, credits_withdrawn, reason)
         values ($1, 100, 5, 'Direct')",
        purchase,
        "package_credits_balance_not_negative",
    )
    .await;
    assert_nothing_refunded(&app, purchase, 4).await;
}

/// The parent buys the package by card on an app with Stripe pointed at `mock`; it
/// is paid with the PaymentIntent `pi_pkg`.
async fn bought_by_card(mock: &MockServer) -> Bought {
    let app = spawn_app_with(&[
        ("STRIPE_SECRET_KEY", "sk_test_package_refunds"),
        ("STRIPE_WEBHOOK_SECRET", SECRET),
        ("STRIPE_API_BASE", &mock.uri()),
    ])
    .await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "cs_test_pkg", "url": "https://checkout.stripe.test/pay/cs_test_pkg",
        })))
        .mount(mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/checkout/sessions/cs_test_pkg"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "cs_test_pkg", "payment_status": "paid", "payment_intent": "pi_pkg",
        })))
        .mount(mock)
        .await;
    let (bought, response) = buy(app).await;
    assert_eq!(location(&response), "https://checkout.stripe.test/pay/cs_test_pkg");
    let success = bought.family.get("/parent/packages/success?session_id=cs_test_pkg").await;
    assert_eq!(location(&success), "/parent/packages");
    let paid_by_card: i64 =
        sqlx::query_scalar("select id from package_purchases where status = 'paid' and method = 'card'")
            .fetch_one(&bought.app.pool)
            .await
            .unwrap();
    assert_eq!(paid_by_card, bought.purchase);
    bought
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_package_is_refunded_through_stripe_and_stripe_dashboard_refunds_are_recorded_once() {
    let mock = MockServer::start().await;
    let Bought { app, finance, purchase, .. } = bought_by_card(&mock).await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "re_pkg", "object": "refund", "amount": 1250, "status": "succeeded",
        })))
        .mount(&mock)
        .await;
    let page = finance.get_text(&format!("/admin/payments/packages/{purchase}")).await;
    assert!(page.contains("The money goes back to the card through Stripe."), "{page}");

    assert_eq!(refund(&finance, purchase, "12.50", "3", "Injured").await.status(), 303);
    let sent = mock.received_requests().await.unwrap();
    let calls: Vec<_> = sent.iter().filter(|r| r.url.path() == "/v1/refunds").collect();
    assert_eq!(calls.len(), 1);
    let fields: Vec<(String, String)> = form_urlencoded::parse(&calls[0].body).into_owned().collect();
    assert!(fields.contains(&("payment_intent".into(), "pi_pkg".into())), "{fields:?}");
    assert!(fields.contains(&("amount".into(), "1250".into())), "{fields:?}");
    assert!(fields.contains(&("metadata[package_purchase_id]".into(), purchase.to_string())), "{fields:?}");
    let stripe_id: Option<String> =
        sqlx::query_scalar("select stripe_refund_id from package_purchase_refunds")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stripe_id.as_deref(), Some("re_pkg"));
    assert_eq!(refunded_and_left(&app, purchase).await, (1250, 2));

    // What the webhook will call: our own refund echoed back is not counted again; one
    // made in Stripe's dashboard is recorded once, withdrawing no credits.
    use portico::payments::package_sales::reconcile_stripe_refund;
    let mut conn = app.pool.acquire().await.unwrap();
    assert!(!reconcile_stripe_refund(&mut conn, "pi_pkg", "re_pkg", 1250).await.unwrap());
    assert!(reconcile_stripe_refund(&mut conn, "pi_pkg", "re_dashboard", 250).await.unwrap());
    assert!(!reconcile_stripe_refund(&mut conn, "pi_pkg", "re_dashboard", 250).await.unwrap());
    assert!(!reconcile_stripe_refund(&mut conn, "pi_unknown", "re_other", 250).await.unwrap());
    assert!(!reconcile_stripe_refund(&mut conn, "pi_pkg", "re_too_big", 5000).await.unwrap(), "does not fit");
    assert_eq!(refunded_and_left(&app, purchase).await, (1500, 2));
    assert_eq!(count(&app.pool, "select count(*) from package_purchase_refunds").await, 2);
    let page = finance.get_text(&format!("/admin/payments/packages/{purchase}")).await;
    assert!(page.contains("Refunded in Stripe") && page.contains("· Stripe"), "{page}");

    // Later Stripe reports our refund failed: that money counts as paid again, once.
    let failed = serde_json::json!({
        "id": "evt_pkg_fail", "type": "refund.failed",
        "data": { "object": { "id": "re_pkg", "object": "refund", "amount": 1250, "status": "failed",
                              "failure_reason": "lost_or_stolen_card", "payment_intent": "pi_pkg" } },
    });
    assert_eq!(deliver_event(&app.address, &failed).await, 200);
    assert_eq!(deliver_event(&app.address, &failed).await, 200);
    assert_eq!(refunded_and_left(&app, purchase).await, (250, 2));
    let page = finance.get_text(&format!("/admin/payments/packages/{purchase}")).await;
    assert!(page.contains("Failed at Stripe: lost_or_stolen_card"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_stripe_refuses_a_package_refund_nothing_is_written() {
    let mock = MockServer::start().await;
    let Bought { app, finance, purchase, .. } = bought_by_card(&mock).await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": { "type": "invalid_request_error", "message": "Charge already refunded" },
        })))
        .mount(&mock)
        .await;
    let page_path = format!("/admin/payments/packages/{purchase}");
    let response = refund(&finance, purchase, "25.00", "5", "Injured").await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), page_path);
    let page = finance.get_text(&page_path).await;
    assert!(page.contains("Stripe did not accept the refund; nothing was refunded."), "{page}");
    assert_eq!(
        mock.received_requests().await.unwrap().iter().filter(|r| r.url.path() == "/v1/refunds").count(),
        1
    );
    assert_nothing_refunded(&app, purchase, 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_package_is_not_refunded_when_stripe_is_not_set_up() {
    let Bought { app, finance, purchase, .. } = bought_in_cash().await;
    sqlx::query(
        "update package_purchases set method = 'card', stripe_payment_intent_id = 'pi_x' where id = $1",
    )
    .bind(purchase)
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(refund(&finance, purchase, "25.00", "5", "Injured").await.status(), 303);
    let page = finance.get_text(&format!("/admin/payments/packages/{purchase}")).await;
    assert!(page.contains("Stripe is not set up for it"), "{page}");
    assert_nothing_refunded(&app, purchase, 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_finance_and_the_owner_reach_a_package_purchase() {
    let Bought { app, family, finance, purchase, .. } = bought_in_cash().await;
    let page = format!("/admin/payments/packages/{purchase}");
    let action = format!("{page}/refund");
    let fields = [("amount", "25.00"), ("credits", "5"), ("reason", "Not allowed")];

    let coordinator = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    assert_eq!(coordinator.get(&page).await.status(), 403);
    assert_eq!(coordinator.submit("/admin", &action, &fields).await.status(), 403);
    assert_eq!(family.get(&page).await.status(), 403);
    assert_eq!(family.submit("/parent/packages", &action, &fields).await.status(), 403);
    assert_eq!(app.client().get(&page).await.status(), 303, "signed out: to the sign-in page");
    assert_nothing_refunded(&app, purchase, 5).await;

    let owner = app.signed_in("owner@example.com", "admin", Some("owner")).await;
    assert_eq!(owner.get(&page).await.status(), 200);
    assert_eq!(finance.get("/admin/payments/packages/424242").await.status(), 404);
    assert_eq!(finance.get("/admin/payments/packages/nonsense").await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_full_refunds_at_once_refund_the_package_exactly_once() {
    let Bought { app, finance, purchase, .. } = bought_in_cash().await;
    let token = finance.csrf_token(&format!("/admin/payments/packages/{purchase}")).await;
    let finance = Arc::new(finance);
    let mut racing = JoinSet::new();
    for _ in 0..10 {
        let (finance, token) = (finance.clone(), token.clone());
        racing.spawn(async move {
            let fields = [
                ("csrf_token", token.as_str()),
                ("amount", "25.00"),
                ("credits", "5"),
                ("reason", "Duplicate"),
            ];
            let action = format!("/admin/payments/packages/{purchase}/refund");
            finance.post_raw(&action, &fields).await.status().as_u16()
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = racing.join_next().await {
        statuses.push(status.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 303).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 9, "{statuses:?}");
    assert_eq!(refunded_and_left(&app, purchase).await, (2500, 0));
    assert_eq!(count(&app.pool, "select count(*) from package_purchase_refunds").await, 1);
    assert_eq!(
        count(&app.pool, "select count(*) from package_credit_movements where kind = 'refund'").await,
        1
    );
}

/// The page's total with `id`, in pence.
fn page_total(page: &str, id: &str) -> i64 {
    let marker = format!(r#"<dd id="{id}">£"#);
    let start = page.find(&marker).unwrap_or_else(|| panic!("no {id}: {page}")) + marker.len();
    let end = start + page[start..].find('<').unwrap();
    page[start..end].replace(['.', ','], "").parse().unwrap()
}

/// The CSV's rows other than the totals row, and the totals row's amount, refunded
/// and net in pence.
fn csv_rows(body: &str) -> (Vec<csv::StringRecord>, (i64, i64, i64)) {
    let rows: Vec<csv::StringRecord> =
        csv::Reader::from_reader(body.as_bytes()).records().map(Result::unwrap).collect();
    let (lines, totals): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| &r[0] != "total");
    assert_eq!(totals.len(), 1, "{body}");
    let pence = |s: &str| -> i64 { s.replace('.', "").parse().unwrap() };
    let total = &totals[0];
    (lines, (pence(&total[8]), pence(&total[9]), pence(&total[10])))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payments_csv_lists_package_sales_and_its_totals_match_the_page() {
    let Bought { app, family, maya, session_id, finance, purchase } = bought_in_cash().await;
    let tennis = fixtures::activity(&app.pool, "Tennis", false, (4, 12), 24).await;
    assert_eq!(refund(&finance, purchase, "10.00", "2", "Moving away").await.status(), 303);
    // A booking paid in cash beside it: £6.50 taken.
    let token = family.csrf_token("/parent").await;
    assert_eq!(book(&family, &token, session_id, &[maya]).await.status(), 303);
    let booking: i64 = sqlx::query_scalar("select max(id) from bookings").fetch_one(&app.pool).await.unwrap();
    let response = finance
        .submit(
            "/admin/payments/new",
            "/admin/payments",
            &[("booking", &booking.to_string()), ("amount", "6.50"), ("method", "cash")],
        )
        .await;
    assert_eq!(response.status(), 303);

    let page = finance.get_text("/admin/payments").await;
    let on_page = (
        page_total(&page, "total-taken"),
        page_total(&page, "total-refunded"),
        page_total(&page, "total-net"),
    );
    assert_eq!(on_page, (3150, 1000, 2150), "£6.50 + £25.00 taken, £10.00 refunded: {page}");
    assert!(page.contains(r#"<strong id="refunds-total">£10.00</strong>"#), "{page}");
    assert!(page.contains("Taken for packages in this period: <strong>£25.00</strong>"), "{page}");

    let body = finance.get_text("/admin/payments.csv").await;
    let (lines, totals) = csv_rows(&body);
    assert_eq!(totals, on_page, "{body}");
    assert_eq!(lines.len(), 2, "{body}");
    let sale = lines.iter().find(|r| &r[12] == "package sale").expect("the package sale is in the CSV");
    assert_eq!((&sale[8], &sale[9], &sale[10]), ("25.00", "10.00", "15.00"), "{body}");
    assert_eq!(
        (&sale[6], &sale[13], &sale[14]),
        ("Partly refunded", purchase.to_string().as_str(), "Five football sessions")
    );
    assert!(lines.iter().any(|r| &r[12] == "booking payment" && &r[8] == "6.50"), "{body}");

    // Filters select package sales as they do payments, on the page and in the CSV alike.
    let tennis_query = format!("?activity={}", tennis.id);
    for query in
        ["?status=partially_refunded", "?status=succeeded", tennis_query.as_str(), "?from=2099-01-01"]
    {
        let page = finance.get_text(&format!("/admin/payments{query}")).await;
        let on_page = (
            page_total(&page, "total-taken"),
            page_total(&page, "total-refunded"),
            page_total(&page, "total-net"),
        );
        let body = finance.get_text(&format!("/admin/payments.csv{query}")).await;
        assert_eq!(csv_rows(&body).1, on_page, "{query}: {body}");
        let expected = match query {
            "?status=partially_refunded" => (2500, 1000, 1500),
            "?status=succeeded" => (650, 0, 650),
            _ => (0, 0, 0),
        };
        assert_eq!(on_page, expected, "{query}");
    }
}
