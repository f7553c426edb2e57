//! Places held while a parent pays: an activity paid for when booking holds its places
//! only while the Stripe Checkout Session is open. An expired session (webhook, or the
//! sweep asking Stripe) releases them; a payment that comes too late is refunded and
//! never pushes a session over its capacity.

use tokio::task::JoinSet;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::common::{
    TestApp, TestClient,
    client::location,
    fixtures::{self, Activity, book, child, count},
    stripe::{
        checkout_event, checkout_url, deliver_signed, mount_checkout, mount_numbered_checkouts, stripe_app,
    },
};

/// An activity parents pay for when they book, and one session of it.
async fn pay_first_session(app: &TestApp, requires_approval: bool, capacity: i32) -> (Activity, i64) {
    let act = fixtures::activity(&app.pool, "First aid", requires_approval, (4, 99), 24).await;
    sqlx::query("update activities set pay_at_booking = true where id = $1")
        .bind(act.id)
        .execute(&app.pool)
        .await
        .unwrap();
    let session_id = fixtures::session(&app.pool, &act, 72, capacity, None).await;
    (act, session_id)
}

/// A signed-in parent with one child.
async fn family(app: &TestApp, name: &str) -> (TestClient, i64) {
    let (parent_id, client) = fixtures::parent(app, &format!("{name}@example.com")).await;
    let child_id = child(&app.pool, parent_id, name, 9).await;
    (client, child_id)
}

/// Books the child and returns the response (a redirect to Stripe when held).
async fn book_child(parent: &TestClient, session_id: i64, child_id: i64) -> reqwest::Response {
    let token = parent.csrf_token("/parent").await;
    book(parent, &token, session_id, &[child_id]).await
}

async fn booking_of(app: &TestApp, email: &str) -> (i64, String) {
    sqlx::query_as(
        "select b.id, b.status from bookings b join users u on u.id = b.parent_id
          where u.email = $1 order by b.id desc limit 1",
    )
    .bind(format!("{email}@example.com"))
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

async fn places_taken(app: &TestApp, session_id: i64) -> i32 {
    sqlx::query_scalar("select places_taken from sessions where id = $1")
        .bind(session_id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn mount_refunds(mock: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "re_late", "object": "refund", "amount": 650, "status": "succeeded",
        })))
        .mount(mock)
        .await;
}

/// Stripe's answer for a Checkout Session read or closed now.
async fn mount_session_state(mock: &MockServer, session_id: &str, status: &str, payment_status: &str) {
    let body = serde_json::json!({
        "id": session_id, "object": "checkout.session", "status": status,
        "payment_status": payment_status, "payment_intent": format!("pi_{session_id}"),
    });
    Mock::given(method("GET"))
        .and(path(format!("/v1/checkout/sessions/{session_id}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(body.clone()))
        .mount(mock)
        .await;
    let mut expired = body;
    expired["status"] = "expired".into();
    Mock::given(method("POST"))
        .and(path(format!("/v1/checkout/sessions/{session_id}/expire")))
        .respond_with(ResponseTemplate::new(200).set_body_json(expired))
        .mount(mock)
        .await;
}

async fn requests_to(mock: &MockServer, to: &str) -> Vec<String> {
    let sent = mock.received_requests().await.unwrap();
    sent.iter()
        .filter(|r| r.url.path() == to)
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

/// Ana has booked a place of a pay-first session and is at Stripe paying (`cs_ana`).
struct Holding {
    app: TestApp,
    mock: MockServer,
    ana: TestClient,
    session_id: i64,
}

async fn ana_holding(requires_approval: bool, capacity: i32) -> Holding {
    let (app, mock) = stripe_app().await;
    let (_, session_id) = pay_first_session(&app, requires_approval, capacity).await;
    let (ana, ana_child) = family(&app, "ana").await;
    mount_checkout(&mock, "cs_ana").await;
    assert_eq!(book_child(&ana, session_id, ana_child).await.status(), 303);
    Holding { app, mock, ana, session_id }
}

/// The status of the card payment of Checkout Session `session_id`.
async fn card_status(app: &TestApp, session_id: &str) -> String {
    sqlx::query_scalar("select status from payments where stripe_checkout_session_id = $1")
        .bind(session_id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_checkout_releases_the_places_and_a_late_payment_never_overfills_the_session() {
    let (app, mock) = stripe_app().await;
    let (_, session_id) = pay_first_session(&app, false, 1).await;
    let (ana, ana_child) = family(&app, "ana").await;
    let (ben, ben_child) = family(&app, "ben").await;

    let review = ana.get_text(&format!("/parent/bookings/new?session={session_id}&child={ana_child}")).await;
    assert!(review.contains("You pay by card straight after booking"), "{review}");

    // Booking goes straight to Stripe, with the last place held meanwhile.
    mount_checkout(&mock, "cs_ana").await;
    let response = book_child(&ana, session_id, ana_child).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), checkout_url("cs_ana"));
    let (ana_booking, status) = booking_of(&app, "ana").await;
    assert_eq!(status, "awaiting_payment");
    assert_eq!(places_taken(&app, session_id).await, 1);
    let held_minutes = count(
        &app.pool,
        &format!("select extract(epoch from payment_due_by - now())::bigint / 60 from bookings where id = {ana_booking}"),
    )
    .await;
    assert!((29..=31).contains(&held_minutes), "held for {held_minutes} minutes");
    let created = requests_to(&mock, "/v1/checkout/sessions").await;
    let due_by = count(
        &app.pool,
        &format!(
            "select floor(extract(epoch from payment_due_by))::bigint from bookings where id = {ana_booking}"
        ),
    )
    .await;
    assert!(created[0].contains(&format!("expires_at={due_by}")), "{}", created[0]);
    let page = ana.get_text(&format!("/parent/bookings/{ana_booking}")).await;
    assert!(page.contains("Awaiting payment") && page.contains("Pay now"), "{page}");

    // While it is held, the session is full to everyone else.
    assert_eq!(book_child(&ben, session_id, ben_child).await.status(), 409);

    // Stripe says the session expired unpaid: the place goes back.
    let expired = checkout_event("evt_expired", "checkout.session.expired", "cs_ana", "unpaid");
    assert_eq!(deliver_signed(&app.address, &expired).await, 200);
    assert_eq!(booking_of(&app, "ana").await.1, "lapsed");
    assert_eq!(places_taken(&app, session_id).await, 0);
    let mail = app.smtp.wait_for(1).await;
    assert!(mail.iter().any(|m| m.contains("To: ana@example.com") && m.contains("was not paid in time")));
    let page = ana.get_text(&format!("/parent/bookings/{ana_booking}")).await;
    assert!(page.contains("Not paid in time") && !page.contains("Pay now"), "{page}");

    // Someone else takes it...
    mount_checkout(&mock, "cs_ben").await;
    assert_eq!(book_child(&ben, session_id, ben_child).await.status(), 303);
    assert_eq!(places_taken(&app, session_id).await, 1);

    // ...and a payment for the lapsed booking arriving late is refunded in full, not
    // squeezed in over the capacity.
    mount_refunds(&mock).await;
    let late = checkout_event("evt_late", "checkout.session.completed", "cs_ana", "paid");
    assert_eq!(deliver_signed(&app.address, &late).await, 200);
    assert_eq!(places_taken(&app, session_id).await, 1);
    assert_eq!(count(&app.pool, "select count(*) from booking_participants where holds_place").await, 1);
    assert_eq!(booking_of(&app, "ana").await.1, "lapsed");
    assert_eq!(booking_of(&app, "ben").await.1, "awaiting_payment");
    let refunds = requests_to(&mock, "/v1/refunds").await;
    assert_eq!(refunds.len(), 1);
    assert!(
        refunds[0].contains("amount=650") && refunds[0].contains("payment_intent=pi_cs_ana"),
        "{refunds:?}"
    );
    let (amount, refunded): (i32, i32) = sqlx::query_as(
        "select amount_pence, refunded_pence from payments where stripe_checkout_session_id = 'cs_ana'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((amount, refunded), (650, 650));
    let mail = app.smtp.wait_for(3).await;
    assert!(mail.iter().any(|m| m.contains("To: ana@example.com") && m.contains("arrived after its places")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paying_in_time_sends_the_booking_on_to_the_office() {
    let Holding { app, mock: _mock, ana, session_id } = ana_holding(true, 5).await;

    let paid = checkout_event("evt_paid", "checkout.session.completed", "cs_ana", "paid");
    assert_eq!(deliver_signed(&app.address, &paid).await, 200);
    // An expiry arriving afterwards (out of order) changes nothing.
    let expired = checkout_event("evt_expired", "checkout.session.expired", "cs_ana", "unpaid");
    assert_eq!(deliver_signed(&app.address, &expired).await, 200);

    let (booking_id, status) = booking_of(&app, "ana").await;
    assert_eq!(status, "pending", "paid, it waits for the office's approval");
    assert_eq!(places_taken(&app, session_id).await, 1);
    let mail = app.smtp.wait_for(2).await;
    assert!(mail.iter().any(|m| m.contains(&format!("Receipt for booking #{booking_id}"))));
    assert!(mail.iter().any(|m| m.contains(&format!("Booking #{booking_id} received"))));
    let page = ana.get_text(&format!("/parent/bookings/{booking_id}")).await;
    assert!(page.contains("Waiting for approval") && !page.contains("held until"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_webhook_the_sweep_asks_stripe_closes_the_session_and_offers_the_place_on() {
    let Holding { app, mock, session_id, .. } = ana_holding(false, 1).await;
    let (waiting, waiting_child) = family(&app, "wen").await;
    let joined = waiting
        .submit(
            &format!("/parent/sessions/{session_id}"),
            &format!("/parent/sessions/{session_id}/waitlist"),
            &[("child", waiting_child.to_string().as_str())],
        )
        .await;
    assert_eq!(joined.status(), 303);

    // Not yet due: the sweep leaves it alone and asks Stripe nothing.
    portico::bookings::holds::sweep(&app.state).await.unwrap();
    assert_eq!(booking_of(&app, "ana").await.1, "awaiting_payment");
    assert!(requests_to(&mock, "/v1/checkout/sessions/cs_ana").await.is_empty());

    // Past its time, Stripe still shows it open: the sweep closes it, then lets go.
    sqlx::query("update bookings set payment_due_by = now() - interval '1 minute'")
        .execute(&app.pool)
        .await
        .unwrap();
    mount_session_state(&mock, "cs_ana", "open", "unpaid").await;
    portico::bookings::holds::sweep(&app.state).await.unwrap();
    assert_eq!(requests_to(&mock, "/v1/checkout/sessions/cs_ana/expire").await.len(), 1);
    assert_eq!(booking_of(&app, "ana").await.1, "lapsed");
    let payment: String = card_status(&app, "cs_ana").await;
    assert_eq!(payment, "failed");
    assert_eq!(places_taken(&app, session_id).await, 0);
    assert_eq!(count(&app.pool, "select count(*) from waitlist_entries where status = 'offered'").await, 1);
    assert_eq!(count(&app.pool, "select places_offered::bigint from sessions").await, 1);

    // Running again changes nothing.
    portico::bookings::holds::sweep(&app.state).await.unwrap();
    assert_eq!(
        count(&app.pool, "select count(*) from booking_status_changes where to_status = 'lapsed'").await,
        1
    );

    // The family offered the place claims it: it is held for their card payment too.
    let entry = count(&app.pool, "select id from waitlist_entries where status = 'offered'").await;
    mount_checkout(&mock, "cs_wen").await;
    let claimed = waiting.submit("/parent/waitlist", &format!("/parent/waitlist/{entry}/claim"), &[]).await;
    assert_eq!(location(&claimed), checkout_url("cs_wen"));
    assert_eq!(booking_of(&app, "wen").await.1, "awaiting_payment");
    assert_eq!(places_taken(&app, session_id).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_confirms_a_payment_whose_webhook_never_came() {
    let Holding { app, mock, session_id, .. } = ana_holding(false, 1).await;
    sqlx::query("update bookings set payment_due_by = now() - interval '1 minute'")
        .execute(&app.pool)
        .await
        .unwrap();
    mount_session_state(&mock, "cs_ana", "complete", "paid").await;

    portico::bookings::holds::sweep(&app.state).await.unwrap();

    assert_eq!(booking_of(&app, "ana").await.1, "approved");
    assert!(requests_to(&mock, "/v1/checkout/sessions/cs_ana/expire").await.is_empty());
    let (status, intent): (String, String) = sqlx::query_as(
        "select status, stripe_payment_intent_id from payments where stripe_checkout_session_id = 'cs_ana'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((status.as_str(), intent.as_str()), ("succeeded", "pi_cs_ana"));
    assert_eq!(places_taken(&app, session_id).await, 1);
    let mail = app.smtp.wait_for(2).await;
    assert!(mail.iter().any(|m| m.contains("confirmed")), "{mail:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_stripe_is_down_the_places_stay_held_and_pay_now_tries_again() {
    let (app, mock) = stripe_app().await;
    let (_, session_id) = pay_first_session(&app, false, 2).await;
    let (ana, ana_child) = family(&app, "ana").await;

    // No Checkout Session can be made: the mock answers 404.
    let response = book_child(&ana, session_id, ana_child).await;
    assert_eq!(response.status(), 303);
    let (booking_id, status) = booking_of(&app, "ana").await;
    assert_eq!(location(&response), format!("/parent/bookings/{booking_id}"));
    assert_eq!(status, "awaiting_payment");
    let page = ana.get_text(&format!("/parent/bookings/{booking_id}")).await;
    assert!(page.contains("We could not start the card payment just now"), "{page}");
    assert!(page.contains("held until"), "{page}");
    let dashboard = ana.get_text("/parent").await;
    assert!(dashboard.contains(&format!("Booking #{booking_id}: pay by")), "{dashboard}");

    mount_checkout(&mock, "cs_again").await;
    let again = ana
        .submit(&format!("/parent/bookings/{booking_id}"), &format!("/parent/bookings/{booking_id}/pay"), &[])
        .await;
    assert_eq!(location(&again), checkout_url("cs_again"));
    assert_eq!(places_taken(&app, session_id).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_while_paying_releases_the_places_and_closes_the_checkout() {
    let Holding { app, mock, ana, session_id } = ana_holding(false, 2).await;
    mount_session_state(&mock, "cs_ana", "open", "unpaid").await;
    let (booking_id, _) = booking_of(&app, "ana").await;

    let page = format!("/parent/bookings/{booking_id}");
    assert_eq!(ana.submit(&page, &format!("{page}/cancel"), &[]).await.status(), 303);

    assert_eq!(booking_of(&app, "ana").await.1, "cancelled");
    assert_eq!(places_taken(&app, session_id).await, 0);
    assert_eq!(requests_to(&mock, "/v1/checkout/sessions/cs_ana/expire").await.len(), 1);
    let payment: String = card_status(&app, "cs_ana").await;
    assert_eq!(payment, "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_amount_closes_the_open_checkout_first_so_a_booking_is_never_paid_twice() {
    let (app, mock) = stripe_app().await;
    let act = fixtures::activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session_id = fixtures::session(&app.pool, &act, 48, 10, None).await;
    let (ana, ana_child) = family(&app, "ana").await;
    assert_eq!(book_child(&ana, session_id, ana_child).await.status(), 303);
    let (booking_id, status) = booking_of(&app, "ana").await;
    assert_eq!(status, "approved", "an activity not paid at booking is booked at once");
    let page = format!("/parent/bookings/{booking_id}");
    mount_checkout(&mock, "cs_first").await;
    assert_eq!(location(&ana.submit(&page, &format!("{page}/pay"), &[]).await), checkout_url("cs_first"));

    // The office takes £1.50 in cash; the card payment must now be for £5.00.
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let booking = booking_id.to_string();
    let recorded = finance
        .submit(
            "/admin/payments/new",
            "/admin/payments",
            &[("booking", booking.as_str()), ("amount", "1.50"), ("method", "cash"), ("reference", "")],
        )
        .await;
    assert_eq!(recorded.status(), 303);

    // Stripe will not close the first session (it is being paid right now): no second.
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions/cs_first/expire"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": { "type": "invalid_request_error", "message": "Only open sessions can be expired." }
        })))
        .up_to_n_times(1)
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/checkout/sessions/cs_first"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "cs_first", "object": "checkout.session", "status": "complete", "payment_status": "unpaid",
        })))
        .up_to_n_times(1)
        .mount(&mock)
        .await;
    let refused = ana.submit(&page, &format!("{page}/pay"), &[]).await;
    assert_eq!(location(&refused), page);
    assert!(ana.get_text(&page).await.contains("still being confirmed"));
    assert_eq!(requests_to(&mock, "/v1/checkout/sessions").await.len(), 1);

    // Once Stripe closes it, the new session is for what is due now.
    mount_session_state(&mock, "cs_first", "open", "unpaid").await;
    mount_checkout(&mock, "cs_second").await;
    assert_eq!(location(&ana.submit(&page, &format!("{page}/pay"), &[]).await), checkout_url("cs_second"));
    let payments: Vec<(String, i32, String)> = sqlx::query_as(
        "select stripe_checkout_session_id, amount_pence, status from payments
          where method = 'card' order by id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        payments,
        [
            ("cs_first".to_owned(), 650, "failed".to_owned()),
            ("cs_second".to_owned(), 500, "pending".to_owned())
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_paid_twice_gets_the_extra_back() {
    let (app, mock) = stripe_app().await;
    let act = fixtures::activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session_id = fixtures::session(&app.pool, &act, 48, 10, None).await;
    let (ana, ana_child) = family(&app, "ana").await;
    assert_eq!(book_child(&ana, session_id, ana_child).await.status(), 303);
    let (booking_id, _) = booking_of(&app, "ana").await;
    mount_checkout(&mock, "cs_one").await;
    let page = format!("/parent/bookings/{booking_id}");
    ana.submit(&page, &format!("{page}/pay"), &[]).await;
    // A second session for the same booking, as one opened in another tab before.
    sqlx::query(
        "insert into payments (booking_id, amount_pence, method, status, stripe_checkout_session_id)
         values ($1, 650, 'card', 'pending', 'cs_two')",
    )
    .bind(booking_id)
    .execute(&app.pool)
    .await
    .unwrap();
    mount_refunds(&mock).await;

    for (id, session) in [("evt_one", "cs_one"), ("evt_two", "cs_two")] {
        let paid = checkout_event(id, "checkout.session.completed", session, "paid");
        assert_eq!(deliver_signed(&app.address, &paid).await, 200);
    }

    let refunds = requests_to(&mock, "/v1/refunds").await;
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert!(refunds[0].contains("amount=650") && refunds[0].contains("payment_intent=pi_cs_two"));
    let net = count(&app.pool, "select sum(amount_pence - refunded_pence) from payments").await;
    assert_eq!(net, 650, "the booking keeps exactly its price");
    let mail = app.smtp.wait_for(4).await;
    assert!(mail.iter().any(|m| m.contains("was paid twice")), "{mail:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn places_released_by_expired_checkouts_are_taken_at_most_once_under_load() {
    let (app, mock) = stripe_app().await;
    let (_, session_id) = pay_first_session(&app, false, 3).await;
    mount_numbered_checkouts(&mock).await;
    for name in ["h1", "h2", "h3"] {
        let (client, kid) = family(&app, name).await;
        assert_eq!(book_child(&client, session_id, kid).await.status(), 303);
    }
    assert_eq!(places_taken(&app, session_id).await, 3);
    let mut others = Vec::new();
    for i in 0..12 {
        let (client, kid) = family(&app, &format!("o{i}")).await;
        let token = client.csrf_token("/parent").await;
        others.push((client, kid, token));
    }

    // The three holds expire while twelve families try to book.
    let mut tasks = JoinSet::new();
    for i in 0..3 {
        let expired = checkout_event(
            &format!("evt_x{i}"),
            "checkout.session.expired",
            &format!("cs_auto_{i}"),
            "unpaid",
        );
        let address = app.address.clone();
        tasks.spawn(async move { deliver_signed(&address, &expired).await });
    }
    for (client, kid, token) in others {
        tasks.spawn(async move { book(&client, &token, session_id, &[kid]).await.status().as_u16() });
    }
    let statuses: Vec<u16> = tasks.join_all().await;
    assert!(statuses.iter().all(|s| matches!(s, 200 | 303 | 409)), "{statuses:?}");

    let taken = places_taken(&app, session_id).await;
    let holding = count(&app.pool, "select count(*) from booking_participants where holds_place").await;
    assert!(taken <= 3, "over capacity: {taken}");
    assert_eq!(i64::from(taken), holding);
    assert_eq!(count(&app.pool, "select count(*) from bookings where status = 'lapsed'").await, 3);
    let booked = statuses.iter().filter(|s| **s == 303).count();
    assert_eq!(i64::try_from(booked).unwrap(), holding, "every family told it booked holds a place");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paid_in_full_at_the_office_the_held_booking_goes_ahead_and_its_checkout_closes() {
    let Holding { app, mock, session_id, .. } = ana_holding(false, 2).await;
    mount_session_state(&mock, "cs_ana", "open", "unpaid").await;
    let (booking_id, _) = booking_of(&app, "ana").await;

    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let booking = booking_id.to_string();
    let fields = [("booking", booking.as_str()), ("amount", "6.50"), ("method", "cash"), ("reference", "")];
    assert_eq!(finance.submit("/admin/payments/new", "/admin/payments", &fields).await.status(), 303);

    assert_eq!(booking_of(&app, "ana").await.1, "approved");
    assert_eq!(requests_to(&mock, "/v1/checkout/sessions/cs_ana/expire").await.len(), 1);
    let card: String = card_status(&app, "cs_ana").await;
    assert_eq!(card, "failed");
    // Its time running out later changes nothing.
    sqlx::query("update bookings set payment_due_by = now() - interval '1 minute'")
        .execute(&app.pool)
        .await
        .unwrap();
    portico::bookings::holds::sweep(&app.state).await.unwrap();
    assert_eq!(booking_of(&app, "ana").await.1, "approved");
    assert_eq!(places_taken(&app, session_id).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_that_lapses_gives_its_discount_code_use_back() {
    let (app, mock) = stripe_app().await;
    let (_, session_id) = pay_first_session(&app, false, 5).await;
    sqlx::query(
        "insert into discount_codes (code, kind, percent_off, usage_limit) values ('ONCE', 'percent', 50, 1)",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let (ana, ana_child) = family(&app, "ana").await;
    mount_checkout(&mock, "cs_ana").await;
    assert_eq!(location(&book_with_code(&ana, session_id, ana_child).await), checkout_url("cs_ana"));
    let amount = count(&app.pool, "select amount_pence::bigint from payments").await;
    assert_eq!(amount, 325, "half price, paid by card");
    assert_eq!(count(&app.pool, "select times_used::bigint from discount_codes").await, 1);

    let expired = checkout_event("evt_expired", "checkout.session.expired", "cs_ana", "unpaid");
    assert_eq!(deliver_signed(&app.address, &expired).await, 200);
    assert_eq!(booking_of(&app, "ana").await.1, "lapsed");
    assert_eq!(count(&app.pool, "select times_used::bigint from discount_codes").await, 0);

    let (ben, ben_child) = family(&app, "ben").await;
    mount_checkout(&mock, "cs_ben").await;
    assert_eq!(location(&book_with_code(&ben, session_id, ben_child).await), checkout_url("cs_ben"));
    assert_eq!(count(&app.pool, "select times_used::bigint from discount_codes").await, 1);
}

/// Books the child with the code `ONCE`.
async fn book_with_code(client: &TestClient, session_id: i64, child_id: i64) -> reqwest::Response {
    let token = client.csrf_token("/parent").await;
    let session = session_id.to_string();
    let item = format!("{session_id}:{child_id}");
    let fields =
        [("csrf_token", token.as_str()), ("session", &session), ("item", &item), ("discount_code", "ONCE")];
    client.post_raw("/parent/bookings", &fields).await
}
