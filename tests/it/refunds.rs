//! Refunds: finance gives money back, fully or in part, with a reason; card refunds go
//! through Stripe and come back by webhook without being counted twice; never more
//! than was paid, whatever arrives at once.

use std::sync::Arc;

use tokio::task::JoinSet;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::common::{
    TestApp, TestClient,
    client::location,
    fixtures::{self, book, child, count},
    spawn_app, spawn_app_with,
    stripe::{SECRET, deliver_event},
};

async fn booked(app: &TestApp) -> (TestClient, i64) {
    let act = fixtures::activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session_id = fixtures::session(&app.pool, &act, 48, 10, None).await;
    let (parent_id, client) = fixtures::parent(app, "parent@example.com").await;
    let child_id = child(&app.pool, parent_id, "Maya", 7).await;
    let token = client.csrf_token("/parent").await;
    assert_eq!(book(&client, &token, session_id, &[child_id]).await.status(), 303);
    let booking_id: i64 =
        sqlx::query_scalar("select max(id) from bookings").fetch_one(&app.pool).await.unwrap();
    (client, booking_id)
}

/// A £6.50 cash payment recorded by finance; returns finance's client and the payment.
async fn paid_in_cash(app: &TestApp, booking_id: i64) -> (TestClient, i64) {
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let booking = booking_id.to_string();
    let response = finance
        .submit(
            "/admin/payments/new",
            "/admin/payments",
            &[("booking", &booking), ("amount", "6.50"), ("method", "cash")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let id: i64 = sqlx::query_scalar("select id from payments").fetch_one(&app.pool).await.unwrap();
    (finance, id)
}

async fn refund(finance: &TestClient, payment_id: i64, amount: &str, reason: &str) -> reqwest::Response {
    let page = format!("/admin/payments/{payment_id}");
    finance.submit(&page, &format!("{page}/refund"), &[("amount", amount), ("reason", reason)]).await
}

async fn refunded(app: &TestApp, payment_id: i64) -> (i32, String) {
    sqlx::query_as("select refunded_pence, status from payments where id = $1")
        .bind(payment_id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finance_refunds_cash_in_parts_with_a_reason_and_never_more_than_was_paid() {
    let app = spawn_app().await;
    let (parent, booking_id) = booked(&app).await;
    let (finance, payment_id) = paid_in_cash(&app, booking_id).await;
    let page = finance.get_text(&format!("/admin/payments/{payment_id}")).await;
    assert!(
        page.contains(">Refund</button>") && page.contains(r#"<dd id="refundable">£6.50</dd>"#),
        "{page}"
    );

    let response = refund(&finance, payment_id, "2.00", " ").await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("Give a reason") && page.contains(r#"value="2.00""#), "{page}");

    assert_eq!(refund(&finance, payment_id, "2.00", "Missed the first week").await.status(), 303);
    assert_eq!(refunded(&app, payment_id).await, (200, "partially_refunded".into()));

    let response = refund(&finance, payment_id, "5.00", "Too much").await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("At most £4.50 can be refunded.") && page.contains("Too much"), "{page}");
    assert_eq!(refunded(&app, payment_id).await.0, 200);

    assert_eq!(refund(&finance, payment_id, "4.50", "Session cancelled").await.status(), 303);
    assert_eq!(refunded(&app, payment_id).await, (650, "refunded".into()));
    assert_eq!(refund(&finance, payment_id, "0.01", "More").await.status(), 422);
    assert_eq!(count(&app.pool, "select count(*) from audit_log where action = 'payment.refunded'").await, 2);

    let receipt = parent.get_text(&format!("/parent/payments/{payment_id}")).await;
    assert!(
        receipt.contains("Missed the first week") && receipt.contains("<dt>Net paid</dt><dd>£0.00</dd>"),
        "{receipt}"
    );
    let booking = parent.get_text(&format!("/parent/bookings/{booking_id}")).await;
    assert!(booking.contains("<dt>Amount due</dt><dd>£6.50</dd>"), "total − paid + refunded: {booking}");

    let coordinator = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    assert_eq!(coordinator.get(&format!("/admin/payments/{payment_id}")).await.status(), 403);
    assert_eq!(finance.get("/admin/payments/424242").await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_refunds_at_once_never_exceed_the_payment() {
    let app = spawn_app().await;
    let (_parent, booking_id) = booked(&app).await;
    let (finance, payment_id) = paid_in_cash(&app, booking_id).await;
    let token = finance.csrf_token(&format!("/admin/payments/{payment_id}")).await;
    let finance = Arc::new(finance);
    let mut racing = JoinSet::new();
    for _ in 0..10 {
        let (finance, token) = (finance.clone(), token.clone());
        racing.spawn(async move {
            let fields =
                [("csrf_token", token.as_str()), ("amount", "4.00"), ("reason", "Duplicate booking")];
            finance.post_raw(&format!("/admin/payments/{payment_id}/refund"), &fields).await.status().as_u16()
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = racing.join_next().await {
        statuses.push(status.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 303).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 9, "{statuses:?}");
    assert_eq!(refunded(&app, payment_id).await.0, 400);
    assert_eq!(count(&app.pool, "select count(*) from refunds").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_refund_goes_through_stripe_and_its_webhook_is_reconciled_once() {
    let mock = MockServer::start().await;
    let app = spawn_app_with(&[
        ("STRIPE_SECRET_KEY", "sk_test_refunds"),
        ("STRIPE_WEBHOOK_SECRET", SECRET),
        ("STRIPE_API_BASE", &mock.uri()),
    ])
    .await;
    let (parent, booking_id) = booked(&app).await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "cs_test_r", "url": "https://checkout.stripe.test/pay/cs_test_r",
        })))
        .mount(&mock)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "re_finance", "object": "refund", "amount": 300, "status": "succeeded",
        })))
        .mount(&mock)
        .await;
    let pay = parent
        .submit(&format!("/parent/bookings/{booking_id}"), &format!("/parent/bookings/{booking_id}/pay"), &[])
        .await;
    assert_eq!(location(&pay), "https://checkout.stripe.test/pay/cs_test_r");
    let completed = serde_json::json!({
        "id": "evt_paid", "type": "checkout.session.completed",
        "data": { "object": { "id": "cs_test_r", "payment_status": "paid", "payment_intent": "pi_r" } },
    });
    assert_eq!(deliver_event(&app.address, &completed).await, 200);
    let payment_id: i64 = sqlx::query_scalar("select id from payments").fetch_one(&app.pool).await.unwrap();

    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    assert_eq!(refund(&finance, payment_id, "3.00", "Left early").await.status(), 303);
    let sent = mock.received_requests().await.unwrap();
    let refund_call = sent.iter().find(|r| r.url.path() == "/v1/refunds").expect("a refund sent to Stripe");
    let fields: Vec<(String, String)> = form_urlencoded::parse(&refund_call.body).into_owned().collect();
    assert!(fields.contains(&("payment_intent".into(), "pi_r".into())), "{fields:?}");
    assert!(fields.contains(&("amount".into(), "300".into())), "{fields:?}");
    let stripe_id: Option<String> =
        sqlx::query_scalar("select stripe_refund_id from refunds").fetch_one(&app.pool).await.unwrap();
    assert_eq!(stripe_id.as_deref(), Some("re_finance"));

    // Stripe echoes our refund, then reports another made in its dashboard.
    let echoed = serde_json::json!({
        "id": "evt_re1", "type": "refund.created",
        "data": { "object": { "id": "re_finance", "object": "refund", "amount": 300, "status": "succeeded", "payment_intent": "pi_r" } },
    });
    assert_eq!(deliver_event(&app.address, &echoed).await, 200);
    assert_eq!(refunded(&app, payment_id).await, (300, "partially_refunded".into()));
    let charge = serde_json::json!({
        "id": "evt_ch1", "type": "charge.refunded",
        "data": { "object": { "id": "ch_r", "object": "charge", "payment_intent": "pi_r", "refunds": { "data": [
            { "id": "re_finance", "amount": 300, "status": "succeeded" },
            { "id": "re_dashboard", "amount": 100, "status": "succeeded" },
        ] } } },
    });
    assert_eq!(deliver_event(&app.address, &charge).await, 200);
    assert_eq!(deliver_event(&app.address, &charge).await, 200);
    assert_eq!(refunded(&app, payment_id).await, (400, "partially_refunded".into()));
    assert_eq!(count(&app.pool, "select count(*) from refunds").await, 2);

    // A refund larger than what is left cannot enter the books, and the event still lands.
    let too_much = serde_json::json!({
        "id": "evt_re2", "type": "refund.created",
        "data": { "object": { "id": "re_big", "amount": 600, "status": "succeeded", "payment_intent": "pi_r" } },
    });
    assert_eq!(deliver_event(&app.address, &too_much).await, 200);
    assert_eq!(refunded(&app, payment_id).await.0, 400);
    assert_eq!(count(&app.pool, "select count(*) from stripe_events").await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_payment_is_not_refunded_by_hand_when_stripe_is_not_set_up() {
    let app = spawn_app().await;
    let (_parent, booking_id) = booked(&app).await;
    let payment_id: i64 = sqlx::query_scalar(
        "insert into payments (booking_id, amount_pence, currency, method, status, paid_at, stripe_payment_intent_id)
         values ($1, 650, 'GBP', 'card', 'succeeded', now(), 'pi_by_hand') returning id",
    )
    .bind(booking_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let response = refund(&finance, payment_id, "2.00", "Goodwill").await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), format!("/admin/payments/{payment_id}"));
    let page = finance.get_text(&format!("/admin/payments/{payment_id}")).await;
    assert!(page.contains("Stripe is not set up for it"), "{page}");
    assert_eq!(refunded(&app, payment_id).await, (0, "succeeded".to_owned()));
    assert_eq!(count(&app.pool, "select count(*) from refunds").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_and_refunds_that_are_not_there_are_not_found() {
    let app = spawn_app().await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    for path in ["/admin/payments/abc", "/admin/payments/99999999999999999999", "/admin/payments/packages/x1"]
    {
        assert_eq!(finance.get(path).await.status(), 404, "{path}");
    }
    let token = finance.csrf_token("/admin/payments").await;
    let retry = finance.post_raw("/admin/card-refunds/12345/retry", &[("csrf_token", &token)]).await;
    assert_eq!(retry.status(), 404, "nothing failed to retry");
    let junk = finance.post_raw("/admin/card-refunds/abc/retry", &[("csrf_token", &token)]).await;
    assert_eq!(junk.status(), 404);
}
