//! The office moving a booked place to a session of another price: dearer adds the
//! difference to what the family owes; cheaper gives back what was paid beyond the new
//! price (cash recorded at once, a card through Stripe after the move commits, once).

use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::cancellation_refunds::{card_app, paid_by_card, pay_offline, refunded_on};
use crate::common::{
    TestApp, TestClient,
    fixtures::{self, book, child, count, parent},
    spawn_app,
};

async fn priced_session(app: &TestApp, activity_id: i64, hours: i32, price_pence: i32) -> i64 {
    sqlx::query_scalar(
        "insert into sessions (activity_id, venue_id, starts_at, ends_at, capacity, price_pence)
         select a.id, v.id, now() + make_interval(hours => $2), now() + make_interval(hours => $2 + 1), 10, $3
           from activities a, venues v where a.id = $1 order by v.id limit 1 returning id",
    )
    .bind(activity_id)
    .bind(hours)
    .bind(price_pence)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

async fn move_place(office: &TestClient, booking: i64, from: i64, child: i64, to: i64) {
    let page = format!("/admin/bookings/{booking}");
    let place = format!("{from}:{child}");
    let moved = office
        .submit(&page, &format!("{page}/move"), &[("place", &place), ("to_session", &to.to_string())])
        .await;
    assert_eq!(moved.status(), 303);
}

async fn total_of(app: &TestApp, booking: i64) -> i32 {
    sqlx::query_scalar("select total_pence from bookings where id = $1")
        .bind(booking)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_to_a_dearer_session_adds_the_difference_and_a_cheaper_one_refunds_cash_paid_beyond_it() {
    let app = spawn_app().await;
    let tennis = fixtures::activity(&app.pool, "Tennis", false, (4, 12), 24).await;
    let first = fixtures::session(&app.pool, &tennis, 48, 10, None).await;
    let dearer = priced_session(&app, tennis.id, 72, 900).await;
    let cheaper = priced_session(&app, tennis.id, 96, 400).await;
    let (parent_id, family) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let token = family.csrf_token("/parent").await;
    assert_eq!(book(&family, &token, first, &[maya]).await.status(), 303);
    let booking: i64 = sqlx::query_scalar("select max(id) from bookings").fetch_one(&app.pool).await.unwrap();
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    pay_offline(&finance, booking, "6.50", "cash").await;
    let office = app.signed_in("cora@example.com", "admin", Some("coordinator")).await;

    move_place(&office, booking, first, maya, dearer).await;
    assert_eq!(total_of(&app, booking).await, 900);
    let page = family.get_text(&format!("/parent/bookings/{booking}")).await;
    assert!(page.contains("<dt>Amount due</dt><dd>£2.50</dd>"), "{page}");
    assert!(page.contains("costs £2.50 more"), "the history says why: {page}");
    assert_eq!(refunded_on(&app, booking).await, 0);

    // Down to £4.00: £6.50 was paid, so £2.50 comes back (not the £5.00 difference).
    move_place(&office, booking, dearer, maya, cheaper).await;
    assert_eq!(total_of(&app, booking).await, 400);
    assert_eq!(refunded_on(&app, booking).await, 250);
    let page = family.get_text(&format!("/parent/bookings/{booking}")).await;
    assert!(page.contains("<dt>Amount due</dt><dd>£0.00</dd>"), "{page}");
    let listed = finance.get_text("/admin/payments").await;
    let section = &listed[listed.find("Refunds caused by the office").expect("the section")..];
    assert!(section.contains("Moved to a cheaper session") && section.contains("£2.50"), "{section}");
    assert_eq!(count(&app.pool, "select count(*) from audit_log where action = 'booking.moved'").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_to_a_cheaper_session_refunds_a_card_payment_through_stripe_once() {
    let mock = MockServer::start().await;
    let app = card_app(&mock).await;
    let (family, booking, session_id) = paid_by_card(&app, &mock).await;
    let activity_id: i64 = sqlx::query_scalar("select activity_id from sessions where id = $1")
        .bind(session_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let cheaper = priced_session(&app, activity_id, 96, 400).await;
    let maya: i64 =
        sqlx::query_scalar("select child_id from booking_participants").fetch_one(&app.pool).await.unwrap();
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "re_moved", "object": "refund", "amount": 250, "status": "succeeded",
        })))
        .mount(&mock)
        .await;
    let office = app.signed_in("cora@example.com", "admin", Some("coordinator")).await;

    move_place(&office, booking, session_id, maya, cheaper).await;

    let sent = mock.received_requests().await.unwrap();
    let calls: Vec<_> = sent.iter().filter(|r| r.url.path() == "/v1/refunds").collect();
    assert_eq!(calls.len(), 1, "one refund, sent once");
    let fields: Vec<(String, String)> = form_urlencoded::parse(&calls[0].body).into_owned().collect();
    assert!(fields.contains(&("amount".into(), "250".into())), "{fields:?}");
    assert!(fields.contains(&("payment_intent".into(), "pi_c".into())), "{fields:?}");
    assert_eq!(refunded_on(&app, booking).await, 250);
    assert_eq!(total_of(&app, booking).await, 400);
    let status: String =
        sqlx::query_scalar("select status from cancellation_refunds").fetch_one(&app.pool).await.unwrap();
    assert_eq!(status, "done");
    let page = family.get_text(&format!("/parent/bookings/{booking}")).await;
    assert!(page.contains("<dt>Amount due</dt><dd>£0.00</dd>"), "{page}");
}
