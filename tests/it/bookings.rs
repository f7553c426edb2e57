//! Booking: places are never oversold, the rules hold, and every decision reaches the
//! parent by email and history.

use std::sync::Arc;

use tokio::task::JoinSet;

use crate::common::{
    client::location,
    fixtures::{activity, book, child, count, parent, session},
    spawn_app,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_parents_racing_for_the_last_places_never_overbook() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session_id = session(&app.pool, &football, 48, 3, None).await;

    // Four families with 25 children each: 100 requests for three places.
    let mut requests = Vec::new();
    for family in 0..4 {
        let (parent_id, client) = parent(&app, &format!("family{family}@example.com")).await;
        let token = client.csrf_token("/parent").await;
        let client = Arc::new(client);
        for n in 0..25 {
            let child_id = child(&app.pool, parent_id, &format!("Child{n}"), 7).await;
            requests.push((client.clone(), token.clone(), child_id));
        }
    }
    let mut racing = JoinSet::new();
    for (client, token, child_id) in requests {
        racing.spawn(async move { book(&client, &token, session_id, &[child_id]).await.status().as_u16() });
    }
    let mut statuses = Vec::new();
    while let Some(status) = racing.join_next().await {
        statuses.push(status.unwrap());
    }

    assert_eq!(statuses.iter().filter(|s| **s == 303).count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 97, "{statuses:?}");
    assert_eq!(count(&app.pool, "select count(*) from booking_participants where holds_place").await, 3);
    assert_eq!(count(&app.pool, "select count(*) from bookings").await, 3, "losers leave nothing behind");
    let taken: i32 = sqlx::query_scalar("select places_taken from sessions where id = $1")
        .bind(session_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(taken, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_child_booked_twice_at_once_gets_one_place() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session_id = session(&app.pool, &football, 48, 10, None).await;
    let (parent_id, client) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let token = client.csrf_token("/parent").await;
    let client = Arc::new(client);

    let mut racing = JoinSet::new();
    for _ in 0..10 {
        let (client, token) = (client.clone(), token.clone());
        racing.spawn(async move { book(&client, &token, session_id, &[maya]).await.status().as_u16() });
    }
    let mut statuses = Vec::new();
    while let Some(status) = racing.join_next().await {
        statuses.push(status.unwrap());
    }

    assert_eq!(statuses.iter().filter(|s| **s == 303).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 303 || *s == 409), "{statuses:?}");
    assert_eq!(count(&app.pool, "select count(*) from booking_participants where holds_place").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booking_a_series_with_a_full_date_books_the_rest_when_the_parent_agrees() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let series_id: i64 = sqlx::query_scalar(
        "insert into series (activity_id, venue_id, name) values ($1, $2, 'Autumn term') returning id",
    )
    .bind(football.id)
    .bind(football.venue_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let mut dates = Vec::new();
    for week in 1..=4 {
        dates.push(session(&app.pool, &football, week * 24 * 7, 5, Some(series_id)).await);
    }
    sqlx::query("update sessions set capacity = 0 where id = $1")
        .bind(dates[1])
        .execute(&app.pool)
        .await
        .unwrap();
    let (parent_id, client) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;

    let review = client.get(&format!("/parent/bookings/new?series={series_id}&child={maya}")).await;
    assert_eq!(review.status(), 200);
    let page = review.text().await.unwrap();
    assert_eq!(page.matches(r#"<span class="badge bad">Full</span>"#).count(), 1, "the full date is named");
    assert!(page.contains("You can book the other 3"));
    assert!(page.contains("Total: <strong>£19.50</strong> for 3 places"));

    let token = crate::common::client::csrf_token_in(&page).unwrap();
    let items: Vec<String> = [dates[0], dates[2], dates[3]].iter().map(|s| format!("{s}:{maya}")).collect();
    let series = series_id.to_string();
    let mut fields = vec![("csrf_token", token.as_str()), ("series", series.as_str())];
    fields.extend(items.iter().map(|i| ("item", i.as_str())));
    let response = client.post_raw("/parent/bookings", &fields).await;

    assert_eq!(response.status(), 303);
    let booking = client.get_text(location(&response)).await;
    assert!(booking.contains("Confirmed"), "activities without approval confirm at once");
    assert_eq!(count(&app.pool, "select count(*) from booking_participants").await, 3);
    let total: i32 =
        sqlx::query_scalar("select total_pence from bookings").fetch_one(&app.pool).await.unwrap();
    assert_eq!(total, 1950);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_outside_the_age_range_cannot_be_booked() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football 5-8s", false, (5, 8), 24).await;
    let session_id = session(&app.pool, &football, 48, 10, None).await;
    let (parent_id, client) = parent(&app, "parent@example.com").await;
    let toddler = child(&app.pool, parent_id, "Leo", 3).await;

    let page = client.get_text(&format!("/parent/sessions/{session_id}")).await;
    assert!(page.contains("Leo is 3; this is for ages 5–8"), "{page}");
    assert!(page.contains(&format!(r#"id="child-{toddler}" name="child" value="{toddler}" disabled"#)));

    let token = client.csrf_token("/parent").await;
    let response = book(&client, &token, session_id, &[toddler]).await;
    assert_eq!(response.status(), 409);
    assert_eq!(count(&app.pool, "select count(*) from bookings").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_is_refused_inside_the_cut_off_and_frees_the_place_before_it() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let soon = session(&app.pool, &football, 10, 5, None).await;
    let later = session(&app.pool, &football, 72, 5, None).await;
    let (parent_id, client) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let token = client.csrf_token("/parent").await;
    let soon_booking = location(&book(&client, &token, soon, &[maya]).await).to_owned();
    let later_booking = location(&book(&client, &token, later, &[maya]).await).to_owned();

    let page = client.get_text(&soon_booking).await;
    assert!(page.contains("Cancelling closed 24 hours before the next session"), "{page}");
    assert!(!page.contains("Cancel booking</button>"));
    let refused = client.submit(&later_booking, &format!("{soon_booking}/cancel"), &[]).await;
    assert_eq!(refused.status(), 303);
    assert!(client.get_text(&soon_booking).await.contains("Confirmed"), "still booked");

    let response =
        client.submit(&later_booking, &format!("{later_booking}/cancel"), &[("reason", "Holiday")]).await;
    assert_eq!(response.status(), 303);
    assert!(
        client.get_text(&later_booking).await.contains("Booking cancelled. Your places have been released.")
    );
    let taken: i32 = sqlx::query_scalar("select places_taken from sessions where id = $1")
        .bind(later)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(taken, 0);
    let history: Vec<(Option<String>, String, String)> = sqlx::query_as(
        "select from_status, to_status, reason from booking_status_changes h join bookings b on b.id = h.booking_id
         join booking_participants p on p.booking_id = b.id where p.session_id = $1 order by h.id",
    )
    .bind(later)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        history,
        vec![
            (None, "approved".into(), "".into()),
            (Some("approved".into()), "cancelled".into(), "Holiday".into())
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_gets_404_for_another_familys_booking() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 0).await;
    let session_id = session(&app.pool, &football, 48, 5, None).await;
    let (owner_id, owner) = parent(&app, "owner@example.com").await;
    let maya = child(&app.pool, owner_id, "Maya", 7).await;
    let token = owner.csrf_token("/parent").await;
    let booking = location(&book(&owner, &token, session_id, &[maya]).await).to_owned();
    let (_, other) = parent(&app, "other@example.com").await;

    assert_eq!(other.get(&booking).await.status(), 404);
    assert_eq!(other.submit("/parent", &format!("{booking}/cancel"), &[]).await.status(), 404);
    assert_eq!(other.get("/parent/bookings/not-a-number").await.status(), 404);
    let token = other.csrf_token("/parent").await;
    assert_eq!(
        book(&other, &token, session_id, &[maya]).await.status(),
        409,
        "cannot book another family's child"
    );
    assert!(owner.get_text(&booking).await.contains("Confirmed"), "untouched");
    assert!(!other.get_text("/parent/bookings").await.contains("Maya"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_rejection_and_changes_requested_reach_the_parent_by_email_and_history() {
    let app = spawn_app().await;
    let first_aid = activity(&app.pool, "Paediatric First Aid", true, (4, 12), 24).await;
    let (parent_id, client) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let token = client.csrf_token("/parent").await;
    let mut bookings = Vec::new();
    for day in 1..=3 {
        let session_id = session(&app.pool, &first_aid, 48 * day, 5, None).await;
        let response = book(&client, &token, session_id, &[maya]).await;
        bookings.push(location(&response).trim_start_matches("/parent/bookings/").to_owned());
    }
    let received = app.smtp.wait_for(3).await;
    assert!(received.iter().all(|m| m.contains("received")), "each booking is acknowledged");
    assert!(
        client.get_text(&format!("/parent/bookings/{}", bookings[0])).await.contains("Waiting for approval")
    );

    let office = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    let queue = office.get_text("/admin/bookings?status=pending").await;
    assert_eq!(queue.matches("name=\"booking\"").count(), 3, "all three wait in the queue");

    let approve = office
        .submit(
            &format!("/admin/bookings/{}", bookings[0]),
            &format!("/admin/bookings/{}/approve", bookings[0]),
            &[],
        )
        .await;
    assert_eq!(approve.status(), 303);
    let reject = office
        .submit(
            &format!("/admin/bookings/{}", bookings[1]),
            &format!("/admin/bookings/{}/reject", bookings[1]),
            &[("reason", "The course is for adults")],
        )
        .await;
    assert_eq!(reject.status(), 303);
    let changes = office
        .submit(
            &format!("/admin/bookings/{}", bookings[2]),
            &format!("/admin/bookings/{}/request-changes", bookings[2]),
            &[("reason", "Please add a medical form")],
        )
        .await;
    assert_eq!(changes.status(), 303);

    let mail = app.smtp.wait_for(6).await;
    let about =
        |id: &str, words: &str| mail.iter().any(|m| m.contains(&format!("#{id}")) && m.contains(words));
    assert!(about(&bookings[0], "confirmed"));
    assert!(about(&bookings[1], "The course is for adults"));
    assert!(about(&bookings[2], "Please add a medical form"));

    let rejected = client.get_text(&format!("/parent/bookings/{}", bookings[1])).await;
    assert!(rejected.contains("Rejected") && rejected.contains("The course is for adults"));
    let changed = client.get_text(&format!("/parent/bookings/{}", bookings[2])).await;
    assert!(
        changed.contains("The office asks for a change") && changed.contains("Please add a medical form")
    );
    let resubmit = client
        .submit(
            &format!("/parent/bookings/{}", bookings[2]),
            &format!("/parent/bookings/{}/resubmit", bookings[2]),
            &[("reply", "Form sent")],
        )
        .await;
    assert_eq!(resubmit.status(), 303);
    assert!(
        client.get_text(&format!("/parent/bookings/{}", bookings[2])).await.contains("Waiting for approval")
    );

    let audited = count(&app.pool, "select count(*) from audit_log where entity_type = 'booking'").await;
    assert_eq!(audited, 3, "each office decision is audited");
    assert_eq!(count(&app.pool, "select count(*) from booking_status_changes").await, 3 + 3 + 1);
    assert_eq!(
        count(&app.pool, "select count(*) from booking_participants where holds_place").await,
        2,
        "the rejected booking released its place"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejection_without_a_reason_comes_back_with_the_message_and_changes_nothing() {
    let app = spawn_app().await;
    let first_aid = activity(&app.pool, "First Aid", true, (4, 12), 24).await;
    let session_id = session(&app.pool, &first_aid, 48, 5, None).await;
    let (parent_id, client) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let token = client.csrf_token("/parent").await;
    let booking = location(&book(&client, &token, session_id, &[maya]).await)
        .trim_start_matches("/parent/bookings/")
        .to_owned();
    let office = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;

    let response = office
        .submit(
            &format!("/admin/bookings/{booking}"),
            &format!("/admin/bookings/{booking}/reject"),
            &[("reason", "   ")],
        )
        .await;

    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains(
        r#"<p class="field-error" id="reject-reason-error">Give a reason: the parent will read it.</p>"#
    ));
    let status: String =
        sqlx::query_scalar("select status from bookings").fetch_one(&app.pool).await.unwrap();
    assert_eq!(status, "pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_approves_several_at_once_and_only_coordinators_decide() {
    let app = spawn_app().await;
    let first_aid = activity(&app.pool, "First Aid", true, (4, 12), 24).await;
    let (parent_id, client) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let token = client.csrf_token("/parent").await;
    let mut ids = Vec::new();
    for day in 1..=3 {
        let session_id = session(&app.pool, &first_aid, 48 * day, 5, None).await;
        let response = book(&client, &token, session_id, &[maya]).await;
        ids.push(location(&response).trim_start_matches("/parent/bookings/").to_owned());
    }

    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    assert_eq!(finance.get("/admin/bookings?status=pending").await.status(), 200, "finance may look");
    let token = finance.csrf_token("/admin/bookings").await;
    let refused =
        finance.post_raw(&format!("/admin/bookings/{}/approve", ids[0]), &[("csrf_token", &token)]).await;
    assert_eq!(refused.status(), 403);
    let trainer = app.signed_in("trainer@example.com", "trainer", None).await;
    assert_eq!(trainer.get("/admin/bookings").await.status(), 403);

    let office = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    let token = office.csrf_token("/admin/bookings?status=pending").await;
    let response = office
        .post_raw(
            "/admin/bookings/approve",
            &[("csrf_token", &token), ("booking", &ids[0]), ("booking", &ids[1])],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert!(office.get_text("/admin/bookings?status=pending").await.contains("Approved 2 bookings."));
    assert_eq!(count(&app.pool, "select count(*) from bookings where status = 'approved'").await, 2);
    assert_eq!(count(&app.pool, "select count(*) from bookings where status = 'pending'").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bookings_csv_matches_the_search_and_neutralises_formulas() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let (parent_id, client) = parent(&app, "parent@example.com").await;
    let sneaky = child(&app.pool, parent_id, "=HYPERLINK(\"http://evil\")", 7).await;
    let token = client.csrf_token("/parent").await;
    for day in 1..=2 {
        let session_id = session(&app.pool, &football, 48 * day, 5, None).await;
        book(&client, &token, session_id, &[sneaky]).await;
    }
    assert_eq!(client.get("/admin/bookings.csv").await.status(), 403, "parents cannot export");

    let office = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    let response = office.get("/admin/bookings.csv?status=approved").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let body = response.text().await.unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two bookings: {body}");
    assert!(
        lines[0].starts_with("\u{feff}Booking,Status,Parent,Children"),
        "the byte-order mark, then the header"
    );
    assert!(body.contains(r#""'=HYPERLINK(""http://evil"") Test""#), "{body}");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let pence: i64 = reader.records().map(|r| r.unwrap()[7].replace('.', "").parse::<i64>().unwrap()).sum();
    let booked: i64 =
        count(&app.pool, "select sum(total_pence)::bigint from bookings where status = 'approved'").await;
    assert_eq!(pence, booked, "the CSV totals match the bookings");
    assert_eq!(pence, 1300);
    assert!(office.get("/admin/bookings?status=approved").await.text().await.unwrap().contains("Export CSV"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn families_get_one_reminder_the_day_before_however_often_the_job_runs() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 0).await;
    // A session tomorrow at 10:00 local time, and one next week.
    let tomorrow: i64 = sqlx::query_scalar(
        "insert into sessions (activity_id, venue_id, starts_at, ends_at, capacity, price_pence)
         values ($1, $2, ((current_date + 1) + time '10:00') at time zone 'Europe/London',
                 ((current_date + 1) + time '11:00') at time zone 'Europe/London', 5, 650) returning id",
    )
    .bind(football.id)
    .bind(football.venue_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let next_week = session(&app.pool, &football, 24 * 7, 5, None).await;
    let (parent_id, client) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let leo = child(&app.pool, parent_id, "Leo", 6).await;
    let token = client.csrf_token("/parent").await;
    book(&client, &token, tomorrow, &[maya, leo]).await;
    book(&client, &token, next_week, &[maya]).await;
    let confirmations = app.smtp.wait_for(2).await.len();

    let (first, second) = tokio::join!(
        portico::bookings::reminders::send_due(&app.state),
        portico::bookings::reminders::send_due(&app.state)
    );
    assert_eq!(first.unwrap_or(0) + second.unwrap_or(0), 1, "one family, one email");
    assert_eq!(portico::bookings::reminders::send_due(&app.state).await.unwrap(), 0);

    let mail = app.smtp.wait_for(confirmations + 1).await;
    let reminders: Vec<&String> = mail.iter().filter(|m| m.contains("Subject: Tomorrow")).collect();
    assert_eq!(reminders.len(), 1);
    assert!(reminders[0].contains("Maya: Football") && reminders[0].contains("Leo: Football"));
    assert!(reminders[0].contains("10:00"), "in the provider's time zone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_books_for_a_family_and_moves_a_place_with_history() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let saturday = session(&app.pool, &football, 72, 5, None).await;
    let next_saturday = session(&app.pool, &football, 72 + 24 * 7, 5, None).await;
    let (parent_id, client) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let office = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;

    let unknown = office.get("/admin/bookings/new?email=nobody@example.com").await;
    assert_eq!(unknown.status(), 422);
    assert!(unknown.text().await.unwrap().contains("No parent account uses this email."));
    let page = "/admin/bookings/new?email=parent@example.com";
    let missing =
        office.submit(page, "/admin/bookings/new", &[("email", "parent@example.com"), ("child", "")]).await;
    assert_eq!(missing.status(), 422);
    let body = missing.text().await.unwrap();
    assert!(body.contains("Choose the child to book.") && body.contains("Choose a session."));

    let (maya_id, saturday_id) = (maya.to_string(), saturday.to_string());
    let booked = office
        .submit(
            page,
            "/admin/bookings/new",
            &[("email", "parent@example.com"), ("child", &maya_id), ("session", &saturday_id)],
        )
        .await;
    assert_eq!(booked.status(), 303);
    let booking = location(&booked).to_owned();
    let detail = office.get_text(&booking).await;
    assert!(detail.contains("booked by the office") && detail.contains("Move place"));
    let parent_view = client.get_text(&booking.replace("/admin/", "/parent/")).await;
    assert!(parent_view.contains("Confirmed") && parent_view.contains("Booked by the office"));

    let place = format!("{saturday}:{maya}");
    let moved = office
        .submit(
            &booking,
            &format!("{booking}/move"),
            &[("place", &place), ("to_session", &next_saturday.to_string())],
        )
        .await;
    assert_eq!(moved.status(), 303);
    let places: Vec<(i64, bool)> =
        sqlx::query_as("select session_id, holds_place from booking_participants order by id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(places, [(saturday, false), (next_saturday, true)]);
    assert!(office.get_text(&booking).await.contains("Moved by the office from"));
    assert_eq!(
        count(
            &app.pool,
            "select count(*) from audit_log where action in ('booking.created_for_family', 'booking.moved')"
        )
        .await,
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_holds_no_place_until_submitted_and_shows_on_the_dashboard() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session_id = session(&app.pool, &football, 72, 1, None).await;
    let (parent_id, client) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let review = format!("/parent/bookings/new?session={session_id}&child={maya}");
    let item = format!("{session_id}:{maya}");
    let saved = client
        .submit(
            &review,
            "/parent/bookings",
            &[("session", &session_id.to_string()), ("item", &item), ("draft", "1")],
        )
        .await;
    assert_eq!(saved.status(), 303);
    let booking = location(&saved).to_owned();
    assert!(client.get_text(&booking).await.contains("This booking is a draft"));
    assert_eq!(
        count(&app.pool, "select places_taken::bigint from sessions").await,
        0,
        "a draft holds nothing"
    );
    let home = client.get_text("/parent").await;
    assert!(home.contains("is a draft: submit it to hold the places"), "{home}");

    let submitted = client.submit(&booking, &format!("{booking}/submit"), &[]).await;
    assert_eq!(submitted.status(), 303);
    assert!(client.get_text(&booking).await.contains("Confirmed"));
    assert_eq!(count(&app.pool, "select places_taken::bigint from sessions").await, 1);
    let again = client.submit(&booking, &format!("{booking}/submit"), &[]).await;
    assert_eq!(again.status(), 303);
    assert_eq!(
        count(&app.pool, "select count(*) from booking_status_changes").await,
        2,
        "draft, then approved"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submitting_a_draft_whose_place_has_gone_takes_nothing() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session_id = session(&app.pool, &football, 72, 1, None).await;
    let (parent_id, client) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let item = format!("{session_id}:{maya}");
    let review = format!("/parent/bookings/new?session={session_id}&child={maya}");
    let saved = client
        .submit(
            &review,
            "/parent/bookings",
            &[("session", &session_id.to_string()), ("item", &item), ("draft", "1")],
        )
        .await;
    let booking = location(&saved).to_owned();
    let (other_id, other) = parent(&app, "other@example.com").await;
    let zed = child(&app.pool, other_id, "Zed", 7).await;
    let token = other.csrf_token("/parent").await;
    assert_eq!(book(&other, &token, session_id, &[zed]).await.status(), 303);

    let submitted = client.submit(&booking, &format!("{booking}/submit"), &[]).await;
    assert_eq!(submitted.status(), 303);
    assert!(client.get_text(&booking).await.contains("A place in this draft has gone"));
    let status: String = sqlx::query_scalar("select status from bookings where parent_id = $1")
        .bind(parent_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "draft");
    assert_eq!(count(&app.pool, "select places_taken::bigint from sessions").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_is_told_when_a_session_is_full_or_the_child_already_holds_a_place() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let roomy = session(&app.pool, &football, 72, 5, None).await;
    let full = session(&app.pool, &football, 96, 1, None).await;
    let (parent_id, client) = parent(&app, "parent@example.com").await;
    let (maya, sam) =
        (child(&app.pool, parent_id, "Maya", 7).await, child(&app.pool, parent_id, "Sam", 8).await);
    let token = client.csrf_token("/parent").await;
    assert_eq!(book(&client, &token, full, &[sam]).await.status(), 303);
    assert_eq!(book(&client, &token, roomy, &[maya]).await.status(), 303);
    let office = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    let page = "/admin/bookings/new?email=parent@example.com";
    let office_books = |child: i64, session: i64| {
        let (child, session) = (child.to_string(), session.to_string());
        let office = &office;
        async move {
            let fields =
                [("email", "parent@example.com"), ("child", child.as_str()), ("session", session.as_str())];
            office.submit(page, "/admin/bookings/new", &fields).await
        }
    };
    let refused = office_books(maya, full).await;
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.unwrap().contains("That session is full."));
    let refused = office_books(maya, roomy).await;
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.unwrap().contains("That child is already booked on that session."));
    assert_eq!(count(&app.pool, "select count(*) from bookings").await, 2, "nothing was booked");

    let booking: i64 = sqlx::query_scalar("select booking_id from booking_participants where child_id = $1")
        .bind(maya)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let detail = format!("/admin/bookings/{booking}");
    let place = format!("{roomy}:{maya}");
    let moved = office
        .submit(&detail, &format!("{detail}/move"), &[("place", &place), ("to_session", &full.to_string())])
        .await;
    assert_eq!(moved.status(), 303);
    assert!(office.get_text(&detail).await.contains("Nothing moved: that session is full."));
    let junk = office.submit(&detail, &format!("{detail}/move"), &[("place", "x"), ("to_session", "")]).await;
    assert_eq!(junk.status(), 303);
    assert!(
        office.get_text(&detail).await.contains("Choose the place to move and the session to move it to.")
    );
    let held: Vec<(i64, bool)> =
        sqlx::query_as("select session_id, holds_place from booking_participants where child_id = $1")
            .bind(maya)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(held, [(roomy, true)], "the place stayed where it was");
    assert_eq!(office.get("/admin/bookings/99999999999999999999").await.status(), 404);
}
