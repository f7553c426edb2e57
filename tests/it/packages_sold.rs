//! Packages sold and used: a parent buys a package (paid at the office and recorded by
//! finance, or by card through Checkout), its credits pay for places of the activities
//! it covers, come back on an eligible cancellation, and never go negative.

use std::sync::Arc;

use tokio::task::JoinSet;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::calendar_admin::coordinator;
use crate::common::{
    TestApp, TestClient,
    client::location,
    fixtures::{self, child, count, parent},
    spawn_app, spawn_app_with,
    stripe::{SECRET, deliver_event},
};

async fn balance(app: &TestApp) -> i64 {
    count(&app.pool, "select coalesce(sum(balance), 0)::bigint from package_credits").await
}

/// The parent buys the package; finance records it paid in cash.
async fn bought_and_paid(app: &TestApp, family: &TestClient, package_id: i64) -> TestClient {
    let response =
        family.submit("/parent/packages", &format!("/parent/packages/{package_id}/buy"), &[]).await;
    assert_eq!(response.status(), 303);
    let purchase: i64 =
        sqlx::query_scalar("select max(id) from package_purchases").fetch_one(&app.pool).await.unwrap();
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let page = finance.get_text("/admin/package-sales").await;
    assert!(page.contains("Record paid"), "{page}");
    let response = finance
        .submit(
            "/admin/package-sales",
            &format!("/admin/package-sales/{purchase}/paid"),
            &[("method", "cash"), ("reference", "Till 2")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let amount: i32 = sqlx::query_scalar("select amount_pence from package_purchases where id = $1")
        .bind(purchase)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let takings = finance.get_text("/admin/payments").await;
    let expected =
        format!("Taken for packages in this period: <strong>£{}.{:02}</strong>", amount / 100, amount % 100);
    assert!(takings.contains(&expected), "package sales show beside booking payments");
    finance
}

async fn book_with_credits(family: &TestClient, token: &str, session_id: i64, child_id: i64) -> u16 {
    let (session, item) = (session_id.to_string(), format!("{session_id}:{child_id}"));
    let fields = [("csrf_token", token), ("session", &session), ("item", &item), ("use_credits", "1")];
    family.post_raw("/parent/bookings", &fields).await.status().as_u16()
}

async fn last_booking(app: &TestApp) -> (i64, i32) {
    sqlx::query_as("select id, total_pence from bookings order by id desc limit 1")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_package_bought_at_the_office_pays_for_places_and_credits_come_back_on_cancelling() {
    let app = spawn_app().await;
    let football = fixtures::activity(&app.pool, "Football", false, (4, 12), 24).await;
    let tennis = fixtures::activity(&app.pool, "Tennis", false, (4, 12), 24).await;
    let package_id = fixtures::package(&app.pool, "Five football sessions", 5, 2500, &football).await;
    let first = fixtures::session(&app.pool, &football, 48, 10, None).await;
    let second = fixtures::session(&app.pool, &football, 72, 10, None).await;
    let other = fixtures::session(&app.pool, &tennis, 48, 10, None).await;
    let (parent_id, family) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;

    let page = family.get_text("/parent/packages").await;
    assert!(page.contains("Five football sessions") && page.contains("Buy for £25.00"), "{page}");
    assert!(page.contains("You have no package credits."), "{page}");
    let review = family.get_text(&format!("/parent/bookings/new?session={first}&child={maya}")).await;
    assert!(!review.contains("use_credits"), "no credits yet: {review}");

    let finance = bought_and_paid(&app, &family, package_id).await;
    assert_eq!(balance(&app).await, 5);
    assert_eq!(
        count(&app.pool, "select count(*) from outbox_emails where subject like 'Your Five%'").await,
        1
    );
    assert_eq!(count(&app.pool, "select count(*) from audit_log where action = 'package.paid'").await, 1);
    // Recording it twice grants nothing more.
    let purchase: i64 =
        sqlx::query_scalar("select id from package_purchases").fetch_one(&app.pool).await.unwrap();
    let again = finance
        .submit(
            "/admin/package-sales",
            &format!("/admin/package-sales/{purchase}/paid"),
            &[("method", "cash")],
        )
        .await;
    assert_eq!(again.status(), 303);
    assert_eq!(balance(&app).await, 5);
    assert!(family.get_text("/parent").await.contains("Package credits left: <strong>5</strong>"));
    assert!(family.get_text("/parent/packages").await.contains("5 credits left"));

    let review = family.get_text(&format!("/parent/bookings/new?session={first}&child={maya}")).await;
    assert!(
        review.contains(r#"name="use_credits""#) && review.contains("5 left for these sessions"),
        "{review}"
    );
    let uncovered = family.get_text(&format!("/parent/bookings/new?session={other}&child={maya}")).await;
    assert!(!uncovered.contains("use_credits"), "tennis is not covered: {uncovered}");

    let token = family.csrf_token("/parent").await;
    assert_eq!(book_with_credits(&family, &token, first, maya).await, 303);
    let (by_credit, total) = last_booking(&app).await;
    assert_eq!(total, 0, "a place paid with a credit costs nothing");
    let booking = family.get_text(&format!("/parent/bookings/{by_credit}")).await;
    assert!(booking.contains("1 place(s) paid with package credits"), "{booking}");
    assert_eq!(book_with_credits(&family, &token, second, maya).await, 303);
    let (second_booking, _) = last_booking(&app).await;
    assert_eq!(book_with_credits(&family, &token, other, maya).await, 303);
    assert_eq!(last_booking(&app).await.1, 650, "an uncovered activity is paid as usual");
    assert_eq!(balance(&app).await, 3);

    // The parent cancels in time: the credit comes back.
    let page = format!("/parent/bookings/{by_credit}");
    assert_eq!(family.submit(&page, &format!("{page}/cancel"), &[]).await.status(), 303);
    assert!(family.get_text(&page).await.contains("1 package credit(s) returned"));
    assert_eq!(balance(&app).await, 4);
    // The office cancels the second session: that credit comes back too, once.
    let office = coordinator(&app).await;
    let session_page = format!("/admin/sessions/{second}");
    let response =
        office.submit(&session_page, &format!("{session_page}/cancel"), &[("reason", "Rain")]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(balance(&app).await, 5);
    let status: String = sqlx::query_scalar("select status from bookings where id = $1")
        .bind(second_booking)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "cancelled");
    assert_eq!(
        count(&app.pool, "select count(*) from package_credit_movements where kind = 'return'").await,
        2
    );
    // The ledger is append-only.
    let tampered = sqlx::query("update package_credit_movements set change = 50").execute(&app.pool).await;
    assert!(tampered.is_err());
    let removed = sqlx::query("delete from package_credit_movements").execute(&app.pool).await;
    assert!(removed.is_err());
    let negative = sqlx::query("update package_credits set balance = -1").execute(&app.pool).await;
    assert!(negative.is_err(), "credits never negative");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_bookings_at_once_against_five_credits_use_exactly_five() {
    let app = spawn_app().await;
    let football = fixtures::activity(&app.pool, "Football", false, (4, 12), 24).await;
    let package_id = fixtures::package(&app.pool, "Five football sessions", 5, 2500, &football).await;
    let mut sessions = Vec::new();
    for i in 0..20 {
        sessions.push(fixtures::session(&app.pool, &football, 48 + 24 * i, 10, None).await);
    }
    let (parent_id, family) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    bought_and_paid(&app, &family, package_id).await;
    assert_eq!(balance(&app).await, 5);

    let token = family.csrf_token("/parent").await;
    let family = Arc::new(family);
    let mut racing = JoinSet::new();
    for session_id in sessions {
        let (family, token) = (family.clone(), token.clone());
        racing.spawn(async move { book_with_credits(&family, &token, session_id, maya).await });
    }
    let mut statuses = Vec::new();
    while let Some(status) = racing.join_next().await {
        statuses.push(status.unwrap());
    }
    assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");
    assert_eq!(count(&app.pool, "select count(*) from package_credit_movements where kind = 'use'").await, 5);
    assert_eq!(count(&app.pool, "select count(*) from bookings where total_pence = 0").await, 5);
    assert_eq!(count(&app.pool, "select count(*) from bookings where total_pence = 650").await, 15);
    assert_eq!(balance(&app).await, 0);
    assert_eq!(count(&app.pool, "select count(*) from package_credits where balance < 0").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_package_paid_by_card_is_granted_once_by_webhook_and_success_page() {
    let mock = MockServer::start().await;
    let app = spawn_app_with(&[
        ("STRIPE_SECRET_KEY", "sk_test_packages"),
        ("STRIPE_WEBHOOK_SECRET", SECRET),
        ("STRIPE_API_BASE", &mock.uri()),
    ])
    .await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "cs_test_pkg", "url": "https://checkout.stripe.test/pay/cs_test_pkg",
        })))
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/checkout/sessions/cs_test_pkg"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "cs_test_pkg", "payment_status": "paid", "payment_intent": "pi_pkg",
        })))
        .mount(&mock)
        .await;
    let football = fixtures::activity(&app.pool, "Football", false, (4, 12), 24).await;
    let package_id = fixtures::package(&app.pool, "Five football sessions", 5, 2500, &football).await;
    let (_parent_id, family) = parent(&app, "parent@example.com").await;
    let response =
        family.submit("/parent/packages", &format!("/parent/packages/{package_id}/buy"), &[]).await;
    assert_eq!(location(&response), "https://checkout.stripe.test/pay/cs_test_pkg");
    assert_eq!(balance(&app).await, 0);

    let success = family.get("/parent/packages/success?session_id=cs_test_pkg").await;
    assert_eq!(location(&success), "/parent/packages");
    let completed = serde_json::json!({
        "id": "evt_pkg", "type": "checkout.session.completed",
        "data": { "object": { "id": "cs_test_pkg", "payment_status": "paid", "payment_intent": "pi_pkg" } },
    });
    assert_eq!(deliver_event(&app.address, &completed).await, 200);
    assert_eq!(deliver_event(&app.address, &completed).await, 200);
    assert_eq!(balance(&app).await, 5);
    assert_eq!(count(&app.pool, "select count(*) from package_credits").await, 1);
    assert_eq!(
        count(&app.pool, "select count(*) from outbox_emails where subject like 'Your Five%'").await,
        1
    );
    let (status, method_used): (String, String) =
        sqlx::query_as("select status, method from package_purchases").fetch_one(&app.pool).await.unwrap();
    assert_eq!((status.as_str(), method_used.as_str()), ("paid", "card"));
    assert!(family.get_text("/parent/packages").await.contains("5 credits left"));
}
