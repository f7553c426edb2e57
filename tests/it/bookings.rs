//! Booking: places are never oversold, the rules hold, and every decision reaches the
//! parent by email and history.

use std::sync::Arc;

use sqlx::PgPool;
use tokio::task::JoinSet;

use crate::common::{TestApp, TestClient, client::location, spawn_app};

struct Activity {
    id: i64,
    venue_id: i64,
}

async fn activity(
    pool: &PgPool,
    name: &str,
    requires_approval: bool,
    ages: (i32, i32),
    cancel_cutoff_hours: i32,
) -> Activity {
    let id: i64 = sqlx::query_scalar(
        "insert into activities (name, min_age_years, max_age_years, default_duration_minutes, default_capacity,
                                 price_pence, requires_approval, cancellation_cutoff_hours)
         values ($1, $2, $3, 60, 10, 650, $4, $5) returning id",
    )
    .bind(name)
    .bind(ages.0)
    .bind(ages.1)
    .bind(requires_approval)
    .bind(cancel_cutoff_hours)
    .fetch_one(pool)
    .await
    .unwrap();
    let venue_id: i64 = sqlx::query_scalar("insert into venues (name) values ($1) returning id")
        .bind(format!("{name} hall"))
        .fetch_one(pool)
        .await
        .unwrap();
    Activity { id, venue_id }
}

/// A session starting `hours` from now.
async fn session(pool: &PgPool, activity: &Activity, hours: i64, capacity: i32, series: Option<i64>) -> i64 {
    sqlx::query_scalar(
        "insert into sessions (activity_id, venue_id, series_id, starts_at, ends_at, capacity, price_pence)
         values ($1, $2, $3, now() + make_interval(hours => $4::int), now() + make_interval(hours => $4::int + 1), $5, 650)
         returning id",
    )
    .bind(activity.id)
    .bind(activity.venue_id)
    .bind(series)
    .bind(hours as i32)
    .bind(capacity)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn child(pool: &PgPool, parent_id: i64, first_name: &str, age_years: i32) -> i64 {
    sqlx::query_scalar(
        "insert into children (parent_id, first_name, last_name, date_of_birth)
         values ($1, $2, 'Test', current_date - make_interval(years => $3) - interval '30 days') returning id",
    )
    .bind(parent_id)
    .bind(first_name)
    .bind(age_years)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn parent(app: &TestApp, email: &str) -> (i64, TestClient) {
    let client = app.signed_in(email, "parent", None).await;
    let id: i64 = sqlx::query_scalar("select id from users where email = $1")
        .bind(email)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    (id, client)
}

async fn book(client: &TestClient, token: &str, session_id: i64, child_ids: &[i64]) -> reqwest::Response {
    let session = session_id.to_string();
    let items: Vec<String> = child_ids.iter().map(|c| format!("{session_id}:{c}")).collect();
    let mut fields = vec![("csrf_token", token), ("session", session.as_str())];
    fields.extend(items.iter().map(|i| ("item", i.as_str())));
    client.post_raw("/parent/bookings", &fields).await
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

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
