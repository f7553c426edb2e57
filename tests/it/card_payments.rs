//! Card payments: the real async-stripe client against a local mock of Stripe's API,
//! and signed webhooks that are verified, handled once, and safe in any order.

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
    stripe::{SECRET, checkout_event, checkout_url, deliver, mount_checkout, now, sign, stripe_app},
};

/// A parent with one child booked onto a £6.50 session.
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

/// Presses `Pay now` and returns the Checkout Session id it opened.
async fn pay_now(parent: &TestClient, mock: &MockServer, booking_id: i64) -> String {
    let session_id = format!("cs_test_{booking_id}");
    mount_checkout(mock, &session_id).await;
    let page = format!("/parent/bookings/{booking_id}");
    let response = parent.submit(&page, &format!("/parent/bookings/{booking_id}/pay"), &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), checkout_url(&session_id));
    session_id
}

async fn payment_status(app: &TestApp, session_id: &str) -> String {
    sqlx::query_scalar("select status from payments where stripe_checkout_session_id = $1")
        .bind(session_id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn receipts(app: &TestApp) -> usize {
    app.smtp.messages().await.iter().filter(|m| m.contains("Receipt for booking")).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pay_now_opens_a_checkout_session_for_the_amount_due_through_stripe() {
    let (app, mock) = stripe_app().await;
    let (parent, booking_id) = booked(&app).await;
    let page = parent.get_text(&format!("/parent/bookings/{booking_id}")).await;
    assert!(page.contains("Pay now"), "{page}");

    let session_id = pay_now(&parent, &mock, booking_id).await;
    let (amount, method, status): (i32, String, String) = sqlx::query_as(
        "select amount_pence, method, status from payments where stripe_checkout_session_id = $1",
    )
    .bind(&session_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((amount, method.as_str(), status.as_str()), (650, "card", "pending"));
    let requests = mock.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let sent = String::from_utf8(requests[0].body.clone()).unwrap();
    let sent = form_urlencoded::parse(sent.as_bytes()).into_owned().collect::<Vec<_>>();
    let field = |name: &str| sent.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    assert_eq!(field("line_items[0][price_data][unit_amount]").as_deref(), Some("650"), "{sent:?}");
    assert_eq!(field("line_items[0][price_data][currency]").as_deref(), Some("gbp"));
    assert_eq!(field("mode").as_deref(), Some("payment"));
    assert_eq!(field("client_reference_id"), Some(booking_id.to_string()));

    // Pressing it again goes back to the same open session rather than opening another.
    let again = parent
        .submit(&format!("/parent/bookings/{booking_id}"), &format!("/parent/bookings/{booking_id}/pay"), &[])
        .await;
    assert_eq!(location(&again), checkout_url(&session_id));
    assert_eq!(mock.received_requests().await.unwrap().len(), 1);
    assert_eq!(count(&app.pool, "select count(*) from payments").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_stripe_key_card_payment_is_hidden_and_the_office_takes_payment() {
    let app = spawn_app().await;
    let (parent, booking_id) = booked(&app).await;
    let page = parent.get_text(&format!("/parent/bookings/{booking_id}")).await;
    assert!(!page.contains("Pay now"), "{page}");
    assert!(page.contains("pay the office"), "{page}");
    let response = parent
        .submit(&format!("/parent/bookings/{booking_id}"), &format!("/parent/bookings/{booking_id}/pay"), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), format!("/parent/bookings/{booking_id}"));
    assert_eq!(count(&app.pool, "select count(*) from payments").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_completed_event_takes_the_payment_once_and_emails_one_receipt() {
    let (app, mock) = stripe_app().await;
    let (parent, booking_id) = booked(&app).await;
    let session_id = pay_now(&parent, &mock, booking_id).await;

    let body = checkout_event("evt_1", "checkout.session.completed", &session_id, "paid");
    assert_eq!(deliver(&app.address, &body, &sign(&body, SECRET, now())).await, 200);
    assert_eq!(payment_status(&app, &session_id).await, "succeeded");
    // Stripe delivers at least once: the same event again changes nothing.
    assert_eq!(deliver(&app.address, &body, &sign(&body, SECRET, now())).await, 200);
    assert_eq!(count(&app.pool, "select count(*) from stripe_events").await, 1);

    app.smtp.wait_for(2).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(receipts(&app).await, 1);
    let page = parent.get_text(&format!("/parent/bookings/{booking_id}")).await;
    assert!(page.contains("<dt>Amount due</dt><dd>£0.00</dd>") && !page.contains("Pay now"), "{page}");
    let intent: Option<String> = sqlx::query_scalar("select stripe_payment_intent_id from payments")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(intent, Some(format!("pi_{session_id}")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_signature_is_refused_and_writes_nothing() {
    let (app, mock) = stripe_app().await;
    let (parent, booking_id) = booked(&app).await;
    let session_id = pay_now(&parent, &mock, booking_id).await;
    let body = checkout_event("evt_1", "checkout.session.completed", &session_id, "paid");

    let tampered = body.replace("\"paid\"", "\"paid\" ");
    assert_eq!(deliver(&app.address, &tampered, &sign(&body, SECRET, now())).await, 400, "tampered body");
    assert_eq!(deliver(&app.address, &body, &sign(&body, "whsec_wrong", now())).await, 400, "wrong secret");
    assert_eq!(deliver(&app.address, &body, &sign(&body, SECRET, now() - 301)).await, 400, "stale timestamp");
    assert_eq!(deliver(&app.address, &body, "").await, 400, "no signature");

    assert_eq!(count(&app.pool, "select count(*) from stripe_events").await, 0);
    assert_eq!(payment_status(&app, &session_id).await, "pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_out_of_order_leave_the_payment_in_its_true_state() {
    let (app, mock) = stripe_app().await;
    let (parent, booking_id) = booked(&app).await;
    let session_id = pay_now(&parent, &mock, booking_id).await;

    // An async payment: completed-but-unpaid arrives after it succeeded.
    let succeeded = checkout_event("evt_2", "checkout.session.async_payment_succeeded", &session_id, "paid");
    let completed = checkout_event("evt_1", "checkout.session.completed", &session_id, "unpaid");
    let expired = checkout_event("evt_3", "checkout.session.expired", &session_id, "unpaid");
    for body in [&succeeded, &completed, &expired] {
        assert_eq!(deliver(&app.address, body, &sign(body, SECRET, now())).await, 200);
    }
    assert_eq!(payment_status(&app, &session_id).await, "succeeded");
    assert_eq!(count(&app.pool, "select count(*) from stripe_events").await, 3);

    // A session that expired unpaid fails; its booking keeps its places.
    let (_, other_booking) = {
        let act = fixtures::activity(&app.pool, "Swimming", false, (4, 12), 24).await;
        let session = fixtures::session(&app.pool, &act, 48, 10, None).await;
        let parent_id: i64 = sqlx::query_scalar("select id from users where email = 'parent@example.com'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
        let child_id = child(&app.pool, parent_id, "Ben", 8).await;
        let token = parent.csrf_token("/parent").await;
        assert_eq!(book(&parent, &token, session, &[child_id]).await.status(), 303);
        (
            session,
            sqlx::query_scalar::<_, i64>("select max(id) from bookings").fetch_one(&app.pool).await.unwrap(),
        )
    };
    let other_session = pay_now(&parent, &mock, other_booking).await;
    let expired = checkout_event("evt_4", "checkout.session.expired", &other_session, "unpaid");
    assert_eq!(deliver(&app.address, &expired, &sign(&expired, SECRET, now())).await, 200);
    assert_eq!(payment_status(&app, &other_session).await, "failed");
    assert_eq!(count(&app.pool, "select count(*) from booking_participants where holds_place").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_deliveries_at_once_and_the_success_page_take_one_payment_and_send_one_receipt() {
    let (app, mock) = stripe_app().await;
    let (parent, booking_id) = booked(&app).await;
    let session_id = pay_now(&parent, &mock, booking_id).await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/checkout/sessions/{session_id}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": session_id,
            "object": "checkout.session",
            "payment_status": "paid",
            "payment_intent": format!("pi_{session_id}"),
        })))
        .mount(&mock)
        .await;

    let body = Arc::new(checkout_event("evt_1", "checkout.session.completed", &session_id, "paid"));
    let app = Arc::new(app);
    let parent = Arc::new(parent);
    let mut racing = JoinSet::new();
    for _ in 0..10 {
        let (app, body) = (app.clone(), body.clone());
        racing.spawn(async move { deliver(&app.address, &body, &sign(&body, SECRET, now())).await });
    }
    let (success_parent, success_session) = (parent.clone(), session_id.clone());
    racing.spawn(async move {
        let response =
            success_parent.get(&format!("/parent/payments/success?session_id={success_session}")).await;
        assert!(location(&response).starts_with("/parent/payments/"), "{response:?}");
        response.status().as_u16() + 200 - 303
    });
    let mut statuses = Vec::new();
    while let Some(status) = racing.join_next().await {
        statuses.push(status.unwrap());
    }
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    assert_eq!(count(&app.pool, "select count(*) from payments where status = 'succeeded'").await, 1);
    assert_eq!(count(&app.pool, "select count(*) from stripe_events").await, 1);
    app.smtp.wait_for(2).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(receipts(&app).await, 1);
    let payment_id: i64 = sqlx::query_scalar("select id from payments").fetch_one(&app.pool).await.unwrap();
    let receipt = parent.get_text(&format!("/parent/payments/{payment_id}")).await;
    assert!(receipt.contains("Paid") && receipt.contains("£6.50"), "{receipt}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_success_page_is_only_for_the_family_that_paid() {
    let (app, mock) = stripe_app().await;
    let (parent, booking_id) = booked(&app).await;
    let session_id = pay_now(&parent, &mock, booking_id).await;
    let (_, stranger) = fixtures::parent(&app, "stranger@example.com").await;
    let path = format!("/parent/payments/success?session_id={session_id}");
    assert_eq!(stranger.get(&path).await.status(), 404);
    assert_eq!(stranger.get(&format!("/parent/bookings/{booking_id}/pay")).await.status(), 405);
    let token = stranger.csrf_token("/parent").await;
    let response =
        stranger.post_raw(&format!("/parent/bookings/{booking_id}/pay"), &[("csrf_token", &token)]).await;
    assert_eq!(response.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_stripe_refuses_the_session_the_parent_is_told_and_nothing_is_written() {
    let (app, mock) = stripe_app().await;
    let (parent, booking_id) = booked(&app).await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(500).set_body_json(serde_json::json!({
            "error": { "type": "api_error", "message": "boom" },
        })))
        .mount(&mock)
        .await;
    let page = format!("/parent/bookings/{booking_id}");
    let response = parent.submit(&page, &format!("{page}/pay"), &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), page);
    assert!(parent.get_text(&page).await.contains("could not start the card payment"));
    assert_eq!(count(&app.pool, "select count(*) from payments").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_webhook_secret_events_are_refused() {
    let mock = MockServer::start().await;
    let app =
        spawn_app_with(&[("STRIPE_SECRET_KEY", "sk_test_portico"), ("STRIPE_API_BASE", &mock.uri())]).await;
    let body = checkout_event("evt_1", "checkout.session.completed", "cs_test_1", "paid");
    assert_eq!(deliver(&app.address, &body, &sign(&body, SECRET, now())).await, 400);
    assert_eq!(count(&app.pool, "select count(*) from stripe_events").await, 0);
}
