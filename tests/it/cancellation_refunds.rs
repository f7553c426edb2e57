//! Refunds on cancellation: an admin cancelling a session refunds each booking's paid
//! share of it (cash and bank transfers recorded, cards through Stripe once the
//! cancellation is committed), a parent cancelling before the cut-off gets everything
//! back, and the families are emailed. Never more than was paid, each refund once.

use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::calendar_admin::coordinator;
use crate::common::{
    TestApp, TestClient,
    client::location,
    fixtures::{self, book, child, count, parent},
    spawn_app, spawn_app_with,
    stripe::{SECRET, deliver_event},
};

pub(crate) async fn pay_offline(finance: &TestClient, booking_id: i64, amount: &str, how: &str) {
    let booking = booking_id.to_string();
    let response = finance
        .submit(
            "/admin/payments/new",
            "/admin/payments",
            &[("booking", &booking), ("amount", amount), ("method", how)],
        )
        .await;
    assert_eq!(response.status(), 303);
}

pub(crate) async fn last_booking(app: &TestApp) -> i64 {
    sqlx::query_scalar("select max(id) from bookings").fetch_one(&app.pool).await.unwrap()
}

pub(crate) async fn refunded_on(app: &TestApp, booking_id: i64) -> i64 {
    sqlx::query_scalar("select coalesce(sum(refunded_pence), 0)::bigint from payments where booking_id = $1")
        .bind(booking_id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_session_refunds_each_paid_share_and_emails_the_families() {
    let app = spawn_app().await;
    let football = fixtures::activity(&app.pool, "Football", false, (4, 12), 24).await;
    let series: i64 = sqlx::query_scalar(
        "insert into series (activity_id, venue_id, name, recurrence_rule)
         values ($1, $2, 'Autumn term', 'FREQ=WEEKLY') returning id",
    )
    .bind(football.id)
    .bind(football.venue_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let first = fixtures::session(&app.pool, &football, 48, 10, Some(series)).await;
    let second = fixtures::session(&app.pool, &football, 24 * 8, 10, Some(series)).await;

    // One family books only the first session and pays cash.
    let (one_id, one) = parent(&app, "one@example.com").await;
    let maya = child(&app.pool, one_id, "Maya", 7).await;
    let token = one.csrf_token("/parent").await;
    assert_eq!(book(&one, &token, first, &[maya]).await.status(), 303);
    let only_first = last_booking(&app).await;
    // Another books the term (both sessions) and pays by bank transfer.
    let (two_id, two) = parent(&app, "two@example.com").await;
    let sam = child(&app.pool, two_id, "Sam", 8).await;
    let token = two.csrf_token("/parent").await;
    let (s, items) = (series.to_string(), [format!("{first}:{sam}"), format!("{second}:{sam}")]);
    let fields = [("csrf_token", token.as_str()), ("series", &s), ("item", &items[0]), ("item", &items[1])];
    assert_eq!(two.post_raw("/parent/bookings", &fields).await.status(), 303);
    let term = last_booking(&app).await;
    // A third has not paid.
    let (three_id, three) = parent(&app, "three@example.com").await;
    let ali = child(&app.pool, three_id, "Ali", 9).await;
    let token = three.csrf_token("/parent").await;
    assert_eq!(book(&three, &token, first, &[ali]).await.status(), 303);
    let unpaid = last_booking(&app).await;

    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    pay_offline(&finance, only_first, "6.50", "cash").await;
    pay_offline(&finance, term, "13.00", "bank_transfer").await;

    let office = coordinator(&app).await;
    let page = format!("/admin/sessions/{first}");
    let response = office.submit(&page, &format!("{page}/cancel"), &[("reason", "The hall flooded")]).await;
    assert_eq!(response.status(), 303);

    assert_eq!(refunded_on(&app, only_first).await, 650, "the whole booking");
    assert_eq!(refunded_on(&app, term).await, 650, "the first session's share of the term");
    assert_eq!(refunded_on(&app, unpaid).await, 0);
    let statuses: Vec<String> =
        sqlx::query_scalar("select status from payments order by id").fetch_all(&app.pool).await.unwrap();
    assert_eq!(statuses, vec!["refunded", "partially_refunded"]);
    assert_eq!(count(&app.pool, "select count(*) from refunds").await, 2);
    assert_eq!(
        count(&app.pool, "select count(*) from audit_log where action = 'payment.refunded'").await,
        2,
        "an audit row per refund"
    );
    let to: Vec<String> = sqlx::query_scalar(
        "select to_address from outbox_emails where subject like 'Refund for booking%' order by to_address",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(to, vec!["one@example.com", "two@example.com"]);
    let body: String = sqlx::query_scalar(
        "select body_text from outbox_emails where subject like 'Refund for booking%' and to_address = 'two@example.com'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(body.contains("£6.50") && body.contains("The hall flooded"), "{body}");
    let holds: bool = sqlx::query_scalar(
        "select holds_place from booking_participants where booking_id = $1 and session_id = $2",
    )
    .bind(term)
    .bind(second)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(holds, "the term keeps its second session");

    // Cancelling the second session too refunds the rest of the term, and no more.
    let page = format!("/admin/sessions/{second}");
    let response = office.submit(&page, &format!("{page}/cancel"), &[("reason", "Coach unwell")]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(refunded_on(&app, term).await, 1300);
    assert_eq!(count(&app.pool, "select count(*) from refunds").await, 3);
}

/// A booking on a session 48 hours away (cut-off 24), paid by card through the mock.
pub(crate) async fn paid_by_card(app: &TestApp, mock: &MockServer) -> (TestClient, i64, i64) {
    let act = fixtures::activity(&app.pool, "Swimming", false, (4, 12), 24).await;
    let session_id = fixtures::session(&app.pool, &act, 48, 10, None).await;
    let (parent_id, client) = parent(app, "card@example.com").await;
    let child_id = child(&app.pool, parent_id, "Maya", 7).await;
    let token = client.csrf_token("/parent").await;
    assert_eq!(book(&client, &token, session_id, &[child_id]).await.status(), 303);
    let booking_id = last_booking(app).await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "cs_test_c", "url": "https://checkout.stripe.test/pay/cs_test_c",
        })))
        .mount(mock)
        .await;
    let page = format!("/parent/bookings/{booking_id}");
    let pay = client.submit(&page, &format!("{page}/pay"), &[]).await;
    assert_eq!(location(&pay), "https://checkout.stripe.test/pay/cs_test_c");
    let completed = serde_json::json!({
        "id": "evt_paid_c", "type": "checkout.session.completed",
        "data": { "object": { "id": "cs_test_c", "payment_status": "paid", "payment_intent": "pi_c" } },
    });
    assert_eq!(deliver_event(&app.address, &completed).await, 200);
    (client, booking_id, session_id)
}

pub(crate) async fn card_app(mock: &MockServer) -> TestApp {
    spawn_app_with(&[
        ("STRIPE_SECRET_KEY", "sk_test_cancellations"),
        ("STRIPE_WEBHOOK_SECRET", SECRET),
        ("STRIPE_API_BASE", &mock.uri()),
    ])
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_session_refunds_a_card_payment_through_stripe_once() {
    let mock = MockServer::start().await;
    let app = card_app(&mock).await;
    let (_parent, booking_id, session_id) = paid_by_card(&app, &mock).await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "re_cancel", "object": "refund", "amount": 650, "status": "succeeded",
        })))
        .mount(&mock)
        .await;

    let office = coordinator(&app).await;
    let page = format!("/admin/sessions/{session_id}");
    let response = office.submit(&page, &format!("{page}/cancel"), &[("reason", "Pool closed")]).await;
    assert_eq!(response.status(), 303);

    let sent = mock.received_requests().await.unwrap();
    let calls: Vec<_> = sent.iter().filter(|r| r.url.path() == "/v1/refunds").collect();
    assert_eq!(calls.len(), 1);
    let fields: Vec<(String, String)> = form_urlencoded::parse(&calls[0].body).into_owned().collect();
    assert!(fields.contains(&("payment_intent".into(), "pi_c".into())), "{fields:?}");
    assert!(fields.contains(&("amount".into(), "650".into())), "{fields:?}");
    assert_eq!(refunded_on(&app, booking_id).await, 650);
    let (stripe_id, status): (Option<String>, String) = sqlx::query_as(
        "select f.stripe_refund_id, c.status from cancellation_refunds c join refunds f on f.id = c.refund_id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((stripe_id.as_deref(), status.as_str()), (Some("re_cancel"), "done"));
    assert_eq!(
        count(&app.pool, "select count(*) from outbox_emails where subject like 'Refund for%'").await,
        1
    );

    // Stripe's echo of the same refund is not counted again.
    let echoed = serde_json::json!({
        "id": "evt_re_c", "type": "refund.created",
        "data": { "object": { "id": "re_cancel", "object": "refund", "amount": 650, "status": "succeeded", "payment_intent": "pi_c" } },
    });
    assert_eq!(deliver_event(&app.address, &echoed).await, 200);
    assert_eq!(count(&app.pool, "select count(*) from refunds").await, 1);
    assert_eq!(refunded_on(&app, booking_id).await, 650);

    // Days later the bank sends it back: Stripe reports the refund failed. It stops
    // counting, and finance finds it among the refunds Stripe refused, to retry.
    let failed = serde_json::json!({
        "id": "evt_re_fail", "type": "refund.failed",
        "data": { "object": { "id": "re_cancel", "object": "refund", "amount": 650, "status": "failed",
                              "failure_reason": "expired_or_canceled_card", "payment_intent": "pi_c" } },
    });
    assert_eq!(deliver_event(&app.address, &failed).await, 200);
    assert_eq!(deliver_event(&app.address, &failed).await, 200);
    assert_eq!(refunded_on(&app, booking_id).await, 0);
    let status: String =
        sqlx::query_scalar("select status from payments").fetch_one(&app.pool).await.unwrap();
    assert_eq!(status, "succeeded");
    let (queued, error): (String, String) =
        sqlx::query_as("select status, last_error from cancellation_refunds")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(queued, "failed");
    assert!(error.contains("expired_or_canceled_card"), "{error}");
    assert_eq!(
        count(&app.pool, "select count(*) from audit_log where action = 'payment.refund_failed'").await,
        1
    );
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let payments = finance.get_text("/admin/payments").await;
    assert!(payments.contains("Retry refund"), "{payments}");
    let payment_id: i64 = sqlx::query_scalar("select id from payments").fetch_one(&app.pool).await.unwrap();
    let detail = finance.get_text(&format!("/admin/payments/{payment_id}")).await;
    assert!(detail.contains("Failed at Stripe: expired_or_canceled_card"), "{detail}");

    // Out of order: a dashboard refund's failure arrives before its creation, which
    // then counts nothing.
    for (id, kind, state) in [("evt_x2", "refund.updated", "failed"), ("evt_x1", "refund.created", "pending")]
    {
        let event = serde_json::json!({
            "id": id, "type": kind,
            "data": { "object": { "id": "re_dash", "object": "refund", "amount": 200, "status": state, "payment_intent": "pi_c" } },
        });
        assert_eq!(deliver_event(&app.address, &event).await, 200);
    }
    assert_eq!(refunded_on(&app, booking_id).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_refusing_a_cancellation_refund_keeps_the_cancellation_and_records_the_failure() {
    let mock = MockServer::start().await;
    let app = card_app(&mock).await;
    let (_parent, booking_id, session_id) = paid_by_card(&app, &mock).await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(500).set_body_json(serde_json::json!({
            "error": { "type": "api_error", "message": "down" },
        })))
        .mount(&mock)
        .await;
    let office = coordinator(&app).await;
    let page = format!("/admin/sessions/{session_id}");
    let response = office.submit(&page, &format!("{page}/cancel"), &[("reason", "Pool closed")]).await;
    assert_eq!(response.status(), 303);
    let status: String = sqlx::query_scalar("select status from sessions where id = $1")
        .bind(session_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "cancelled");
    assert_eq!(refunded_on(&app, booking_id).await, 0);
    assert_eq!(
        count(&app.pool, "select count(*) from cancellation_refunds where status = 'failed'").await,
        1
    );

    // Finance sees it, and retries once Stripe is back.
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let listed = finance.get_text("/admin/payments").await;
    assert!(listed.contains("Card refunds Stripe refused") && listed.contains("Retry refund"), "{listed}");
    mock.reset().await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "re_retry", "object": "refund", "amount": 650, "status": "succeeded",
        })))
        .mount(&mock)
        .await;
    let failed: i64 =
        sqlx::query_scalar("select id from cancellation_refunds").fetch_one(&app.pool).await.unwrap();
    let retried =
        finance.submit("/admin/payments", &format!("/admin/card-refunds/{failed}/retry"), &[]).await;
    assert_eq!(retried.status(), 303);
    assert_eq!(refunded_on(&app, booking_id).await, 650);
    assert!(!finance.get_text("/admin/payments").await.contains("Card refunds Stripe refused"));
    let again = finance.submit("/admin/payments", &format!("/admin/card-refunds/{failed}/retry"), &[]).await;
    assert_eq!(again.status(), 404, "a refund that went through is not sent twice");
    assert_eq!(refunded_on(&app, booking_id).await, 650);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_cancelling_before_the_cut_off_gets_every_payment_back() {
    let app = spawn_app().await;
    let act = fixtures::activity(&app.pool, "Tennis", false, (4, 12), 24).await;
    let open = fixtures::session(&app.pool, &act, 48, 10, None).await;
    let closed = fixtures::session(&app.pool, &act, 10, 10, None).await;
    let (parent_id, family) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let token = family.csrf_token("/parent").await;
    assert_eq!(book(&family, &token, open, &[maya]).await.status(), 303);
    let cancellable = last_booking(&app).await;
    assert_eq!(book(&family, &token, closed, &[maya]).await.status(), 303);
    let too_late = last_booking(&app).await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    pay_offline(&finance, cancellable, "4.00", "cash").await;
    pay_offline(&finance, cancellable, "2.50", "bank_transfer").await;
    pay_offline(&finance, too_late, "6.50", "cash").await;

    let page = format!("/parent/bookings/{too_late}");
    let response = family.submit(&page, &format!("{page}/cancel"), &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(refunded_on(&app, too_late).await, 0, "past the cut-off nothing is cancelled or refunded");

    let page = format!("/parent/bookings/{cancellable}");
    let response = family.submit(&page, &format!("{page}/cancel"), &[]).await;
    assert_eq!(response.status(), 303);
    assert!(family.get_text(&page).await.contains("£6.50 is being refunded"));
    assert_eq!(refunded_on(&app, cancellable).await, 650);
    let statuses: Vec<String> =
        sqlx::query_scalar("select status from payments where booking_id = $1 order by id")
            .bind(cancellable)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(statuses, vec!["refunded", "refunded"]);
    assert_eq!(
        count(&app.pool, "select count(*) from outbox_emails where subject like 'Refund for%'").await,
        1
    );
    // A second cancel changes nothing.
    let again = family.post_raw(&format!("{page}/cancel"), &[("csrf_token", token.as_str())]).await;
    assert_eq!(again.status(), 303);
    assert_eq!(count(&app.pool, "select count(*) from refunds").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_cancelling_or_rejecting_a_booking_refunds_what_was_paid() {
    let app = spawn_app().await;
    let act = fixtures::activity(&app.pool, "Tennis", true, (4, 12), 24).await;
    let first = fixtures::session(&app.pool, &act, 48, 10, None).await;
    let second = fixtures::session(&app.pool, &act, 72, 10, None).await;
    let (parent_id, family) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let token = family.csrf_token("/parent").await;
    book(&family, &token, first, &[maya]).await;
    let to_cancel = last_booking(&app).await;
    book(&family, &token, second, &[maya]).await;
    let to_reject = last_booking(&app).await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    pay_offline(&finance, to_cancel, "6.50", "cash").await;
    pay_offline(&finance, to_reject, "3.00", "bank_transfer").await;
    let office = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;

    let page = format!("/admin/bookings/{to_cancel}");
    let cancelled = office.submit(&page, &format!("{page}/cancel"), &[("reason", "Coach unwell")]).await;
    assert_eq!(cancelled.status(), 303);
    let page = format!("/admin/bookings/{to_reject}");
    let rejected = office.submit(&page, &format!("{page}/reject"), &[("reason", "Too young")]).await;
    assert_eq!(rejected.status(), 303);

    assert_eq!(refunded_on(&app, to_cancel).await, 650);
    assert_eq!(refunded_on(&app, to_reject).await, 300);
    let reasons: Vec<String> =
        sqlx::query_scalar("select reason from refunds order by id").fetch_all(&app.pool).await.unwrap();
    assert_eq!(reasons, ["Coach unwell", "Too young"]);
}

/// `n` refunds of one cash payment of `parent_id`'s, on finance's list with `status`,
/// requested by `admin_id` (None: Portico itself, so not among those the office caused), made two to a minute going back from `minutes_ago`, each
/// with the reason `refund-{n}` of its place (so the page names each). Returns their
/// ids.
async fn listed_refunds(
    app: &TestApp,
    parent_id: i64,
    admin_id: Option<i64>,
    n: i32,
    status: &str,
    minutes_ago: i32,
) -> Vec<i64> {
    sqlx::query_scalar(
        "with booking as (
            insert into bookings (parent_id, status, total_pence) values ($1, 'cancelled', 100000) returning id),
         payment as (
            insert into payments (booking_id, amount_pence, method, status, paid_at)
            select id, 100000, 'cash', 'succeeded', now() from booking returning id, booking_id)
         insert into cancellation_refunds
             (payment_id, booking_id, amount_pence, reason, requested_by, status, last_error, created_at)
         select p.id, p.booking_id, 100, 'refund-' || g, $2, $4, 'Card declined',
                now() - make_interval(mins => $5 + g / 2)
           from payment p, generate_series(1, $3) g
         returning id",
    )
    .bind(parent_id)
    .bind(admin_id)
    .bind(n)
    .bind(status)
    .bind(minutes_ago)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_caused_by_the_office_page_by_fifty_and_keep_the_filters() {
    let app = spawn_app().await;
    let (parent_id, _) = parent(&app, "parent@example.com").await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let admin_id: i64 = sqlx::query_scalar("select id from users where email = 'finance@example.com'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let in_period = listed_refunds(&app, parent_id, Some(admin_id), 70, "sending", 0).await;
    // Older than the period: never listed.
    listed_refunds(&app, parent_id, Some(admin_id), 5, "sending", 60 * 24 * 10).await;
    let reasons: Vec<i64> = (1..=70).collect();
    assert_eq!(in_period.len(), 70);

    let today = time::OffsetDateTime::now_utc().date();
    let filter = format!("from={}&to={}", today - time::Duration::days(2), today + time::Duration::days(1));
    let pages = crate::payments::walk_pages(
        &finance,
        &format!("/admin/payments?{filter}"),
        "<td class=\"pre\">refund-",
        "<",
        &filter,
    )
    .await;
    assert_eq!(pages[0][0], 1, "newest first");
    crate::payments::assert_paged(pages, &reasons, &[50, 20]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_refunds_stripe_refused_page_by_fifty() {
    let app = spawn_app().await;
    let (parent_id, _) = parent(&app, "parent@example.com").await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let admin_id: i64 = sqlx::query_scalar("select id from users where email = 'finance@example.com'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let failed = listed_refunds(&app, parent_id, None, 65, "failed", 0).await;
    listed_refunds(&app, parent_id, Some(admin_id), 3, "sending", 0).await;
    let oldest_first: Vec<i64> = sqlx::query_scalar(
        "select id from cancellation_refunds where status = 'failed' order by created_at, id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();

    let pages = crate::payments::walk_pages(
        &finance,
        "/admin/payments?status=succeeded",
        "/admin/card-refunds/",
        "/retry",
        "status=succeeded",
    )
    .await;
    assert_eq!(pages[0], oldest_first[..50], "oldest first");
    crate::payments::assert_paged(pages, &failed, &[50, 15]);
}
