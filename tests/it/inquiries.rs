//! Inquiries from the public and provisional holds: the reply goes out through the
//! outbox and stays on the inquiry; held places count against capacity in the
//! database, whatever arrives at once, and stop counting the moment they expire.

use tokio::task::JoinSet;

use crate::common::{
    TestApp, TestClient,
    client::location,
    fixtures::{self, count},
    spawn_app,
};

async fn ask(app: &TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
    app.client().submit("/courses/ask", "/courses/ask", fields).await
}

const QUESTION: [(&str, &str); 6] = [
    ("name", "Priya Shah"),
    ("email", "priya@example.com"),
    ("course", "any"),
    ("group_size", "6"),
    ("preferred_dates", "Any Tuesday in March"),
    ("message", "Can six of our staff come together?"),
];

async fn inquiry_id(app: &TestApp) -> i64 {
    count(&app.pool, "select max(id) from inquiries").await
}

async fn coordinator(app: &TestApp) -> TestClient {
    app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await
}

async fn hold(office: &TestClient, inquiry: i64, session: i64, places: &str) -> reqwest::Response {
    let page = format!("/admin/inquiries/{inquiry}");
    let session = session.to_string();
    let fields = [("session", session.as_str()), ("places", places), ("days", "3"), ("held_for", "Acme Ltd")];
    office.submit(&page, &format!("{page}/holds"), &fields).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inquiry_is_answered_through_the_outbox_and_the_reply_stays_on_its_page() {
    let app = spawn_app().await;
    let sent = ask(&app, &QUESTION).await;
    assert_eq!(sent.status(), 200);
    assert!(sent.text().await.unwrap().contains("priya@example.com"));
    let id = inquiry_id(&app).await;

    let office = coordinator(&app).await;
    let open = office.get_text("/admin/inquiries?status=open").await;
    assert!(open.contains("Priya Shah") && open.contains("Any course"));
    assert!(!office.get_text("/admin/inquiries?status=closed").await.contains("Priya Shah"));

    let page = format!("/admin/inquiries/{id}");
    let empty = office.submit(&page, &format!("{page}/reply"), &[("body", "  ")]).await;
    assert_eq!(empty.status(), 422);
    assert!(empty.text().await.unwrap().contains("Write the reply."));
    let reply = "Yes: we can run a course at your office on 10 March.";
    let replied = office.submit(&page, &format!("{page}/reply"), &[("body", reply)]).await;
    assert_eq!(replied.status(), 303);

    let (to, subject, body): (String, String, String) =
        sqlx::query_as("select to_address, subject, body_text from outbox_emails order by id desc limit 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(to, "priya@example.com");
    assert_eq!(subject, "Your question about our courses");
    assert!(body.contains(reply) && body.contains("> Can six of our staff come together?"), "{body}");
    let shown = office.get_text(&page).await;
    assert!(shown.contains(reply) && shown.contains("Answered"));
    assert!(office.get_text("/admin/inquiries?status=answered").await.contains("Priya Shah"));

    assert_eq!(office.submit(&page, &format!("{page}/close"), &[]).await.status(), 303);
    assert!(office.get_text("/admin/inquiries?status=closed").await.contains("Priya Shah"));
    let late = office.submit(&page, &format!("{page}/reply"), &[("body", "One more thing")]).await;
    assert_eq!(late.status(), 409, "a closed inquiry takes no more replies");
    let audited = count(
        &app.pool,
        "select count(*) from audit_log where action in ('inquiry.received', 'inquiry.replied', 'inquiry.closed')",
    )
    .await;
    assert_eq!(audited, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_inquiry_comes_back_filled_in_with_a_message_by_each_field() {
    let app = spawn_app().await;
    let response = ask(
        &app,
        &[("name", "Priya"), ("email", "nope"), ("course", "999"), ("group_size", "0"), ("message", "")],
    )
    .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"value="Priya""#), "input kept");
    for message in
        ["Enter an email address", "Choose a course from the list", "Enter a number from 1", "Tell us what"]
    {
        assert!(page.contains(message), "{message}");
    }
    assert_eq!(count(&app.pool, "select count(*) from inquiries").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_office_reads_inquiries() {
    let app = spawn_app().await;
    ask(&app, &QUESTION).await;
    let id = inquiry_id(&app).await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    assert_eq!(finance.get("/admin/inquiries").await.status(), 403);
    let (_, parent) = fixtures::parent(&app, "mum@example.com").await;
    assert_eq!(parent.get(&format!("/admin/inquiries/{id}")).await.status(), 403);
    assert_eq!(app.client().get("/admin/inquiries").await.status(), 303, "signed out: to sign in");
    let office = coordinator(&app).await;
    assert_eq!(office.get("/admin/inquiries/999999").await.status(), 404);
}

/// `n` families with a child each and a page's CSRF token, ready to book at once.
async fn families(app: &TestApp, n: usize) -> Vec<(TestClient, i64, String)> {
    let mut out = Vec::new();
    for i in 0..n {
        let (parent_id, client) = fixtures::parent(app, &format!("family{i}@example.com")).await;
        let child = fixtures::child(&app.pool, parent_id, "Kid", 30).await;
        let token = client.csrf_token("/parent").await;
        out.push((client, child, token));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hold_and_a_twenty_way_booking_race_never_overbook() {
    let app = spawn_app().await;
    let faw = fixtures::activity(&app.pool, "First Aid at Work", false, (0, 120), 24).await;
    let session = fixtures::session(&app.pool, &faw, 72, 10, None).await;
    ask(&app, &QUESTION).await;
    let inquiry = inquiry_id(&app).await;
    let office = coordinator(&app).await;
    assert_eq!(hold(&office, inquiry, session, "4").await.status(), 303);
    let catalogue = app.client().get_text(&format!("/courses/{session}")).await;
    assert!(catalogue.contains("6 places left"), "held places are not on offer");
    assert!(office.get_text(&format!("/admin/sessions/{session}")).await.contains("for Acme Ltd"));

    let mut race = JoinSet::new();
    for (client, child, token) in families(&app, 20).await {
        race.spawn(async move { fixtures::book(&client, &token, session, &[child]).await.status().as_u16() });
    }
    let statuses = race.join_all().await;
    assert!(statuses.iter().all(|s| *s < 500), "{statuses:?}");
    let taken =
        count(&app.pool, &format!("select places_taken::bigint from sessions where id = {session}")).await;
    assert_eq!(taken, 6, "10 places, 4 held: {statuses:?}");
    let holding = count(&app.pool, "select count(*) from booking_participants where holds_place").await;
    assert_eq!(holding, 6);

    // The full session refuses more holds; releasing gives the places back.
    let refused = hold(&office, inquiry, session, "1").await;
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.unwrap().contains("Not that many places are left"));
    let hold_id = count(&app.pool, "select max(id) from provisional_holds").await;
    let page = format!("/admin/inquiries/{inquiry}");
    let released = office.submit(&page, &format!("/admin/holds/{hold_id}/release"), &[]).await;
    assert_eq!(location(&released), page);
    assert!(app.client().get_text(&format!("/courses/{session}")).await.contains("4 places left"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_hold_stops_counting_at_once_and_the_sweep_marks_it_lapsed() {
    let app = spawn_app().await;
    let faw = fixtures::activity(&app.pool, "First Aid at Work", false, (0, 120), 24).await;
    let session = fixtures::session(&app.pool, &faw, 72, 2, None).await;
    ask(&app, &QUESTION).await;
    let inquiry = inquiry_id(&app).await;
    let office = coordinator(&app).await;
    assert_eq!(hold(&office, inquiry, session, "2").await.status(), 303);

    let mut family = families(&app, 1).await;
    let (client, child, token) = family.pop().unwrap();
    fixtures::book(&client, &token, session, &[child]).await;
    assert_eq!(count(&app.pool, "select count(*) from booking_participants where holds_place").await, 0);

    // The hold runs out; nothing has swept it yet.
    sqlx::query("update provisional_holds set expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(count(&app.pool, "select count(*) from provisional_holds where status = 'held'").await, 1);
    let token = client.csrf_token("/parent").await;
    assert_eq!(fixtures::book(&client, &token, session, &[child]).await.status(), 303);
    assert_eq!(count(&app.pool, "select count(*) from booking_participants where holds_place").await, 1);

    let lapsed = portico::inquiries::actions::lapse_expired(&app.state).await.unwrap();
    assert_eq!(lapsed, 1);
    assert_eq!(count(&app.pool, "select count(*) from provisional_holds where status = 'lapsed'").await, 1);
    assert!(office.get_text(&format!("/admin/inquiries/{inquiry}")).await.contains("Lapsed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_books_named_people_into_a_hold() {
    let app = spawn_app().await;
    let faw = fixtures::activity(&app.pool, "First Aid at Work", false, (0, 120), 24).await;
    let session = fixtures::session(&app.pool, &faw, 72, 3, None).await;
    ask(&app, &QUESTION).await;
    let inquiry = inquiry_id(&app).await;
    let office = coordinator(&app).await;
    assert_eq!(hold(&office, inquiry, session, "3").await.status(), 303);
    let hold_id = count(&app.pool, "select max(id) from provisional_holds").await;
    let (parent_id, _) = fixtures::parent(&app, "acme@example.com").await;
    let one = fixtures::child(&app.pool, parent_id, "Ann", 30).await.to_string();
    let two = fixtures::child(&app.pool, parent_id, "Bob", 30).await.to_string();

    let form = format!("/admin/holds/{hold_id}/convert?email=acme@example.com");
    assert!(office.get_text(&form).await.contains("Ann Test"));
    let fields = [("email", "acme@example.com"), ("person", one.as_str()), ("person", two.as_str())];
    let booked = office.submit(&form, &format!("/admin/holds/{hold_id}/convert"), &fields).await;
    assert_eq!(booked.status(), 303);
    assert!(location(&booked).starts_with("/admin/bookings/"));
    assert_eq!(
        count(&app.pool, &format!("select places_taken::bigint from sessions where id = {session}")).await,
        2
    );
    let status: String = sqlx::query_scalar("select status from provisional_holds where id = $1")
        .bind(hold_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "converted");
    assert!(
        app.client().get_text(&format!("/courses/{session}")).await.contains("1 place left"),
        "the unnamed place is free"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_has_an_open_inquiry_with_four_places_held_and_an_answered_one() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let office = app.client();
    assert_eq!(office.login("coordinator@portico.test", portico::demo::DEMO_PASSWORD).await.status(), 303);
    let open = office.get_text("/admin/inquiries?status=open").await;
    assert!(open.contains("Dana Whitfield") && open.contains("4 places"));
    assert!(office.get_text("/admin/inquiries?status=answered").await.contains("Marcus Bell"));
    let held = count(&app.pool, "select sum(places) from provisional_holds where status = 'held'").await;
    assert_eq!(held, 4);
    let catalogue = app.client().get_text("/courses").await;
    assert!(catalogue.contains("Paediatric First Aid"), "upcoming courses on offer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_place_given_back_beside_a_hold_is_offered_to_the_waitlist_only_if_it_is_free() {
    let app = spawn_app().await;
    let faw = fixtures::activity(&app.pool, "First Aid at Work", false, (0, 120), 24).await;
    let session = fixtures::session(&app.pool, &faw, 72, 2, None).await;
    let mut family = families(&app, 1).await;
    let (holder, child, token) = family.pop().unwrap();
    let booking = location(&fixtures::book(&holder, &token, session, &[child]).await).to_owned();
    ask(&app, &QUESTION).await;
    let office = coordinator(&app).await;
    assert_eq!(hold(&office, inquiry_id(&app).await, session, "1").await.status(), 303);
    // Two children wait; the parent's full page counts the held place.
    for (i, (parent_id, _)) in
        [fixtures::parent(&app, "w1@example.com").await, fixtures::parent(&app, "w2@example.com").await]
            .into_iter()
            .enumerate()
    {
        let kid = fixtures::child(&app.pool, parent_id, &format!("Wait{i}"), 30).await;
        sqlx::query("insert into waitlist_entries (session_id, child_id, parent_id) values ($1, $2, $3)")
            .bind(session)
            .bind(kid)
            .bind(parent_id)
            .execute(&app.pool)
            .await
            .unwrap();
    }
    let cancelled = holder.submit(&booking, &format!("{booking}/cancel"), &[]).await;
    assert_eq!(cancelled.status(), 303);
    let offered =
        count(&app.pool, &format!("select places_offered::bigint from sessions where id = {session}")).await;
    assert_eq!(offered, 1, "one place is free; the other is held");
}
