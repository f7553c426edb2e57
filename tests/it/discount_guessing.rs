//! Discount codes cannot be guessed: every unusable code gets the same words, and a
//! family gets ten wrong codes an hour, counted in one statement however many guesses
//! arrive at once.

use std::sync::Arc;

use tokio::task::JoinSet;

use crate::common::{
    TestApp, TestClient,
    fixtures::{self, book, child, count},
    spawn_app,
};

const CANNOT: &str = "That code cannot be used for this booking.";
const TOO_MANY: &str = "Too many attempts";

/// A family with one booking of `activity`, 48 hours ahead.
async fn family_with_booking(
    app: &TestApp,
    email: &str,
    activity: &fixtures::Activity,
) -> (i64, TestClient, i64) {
    let session_id = fixtures::session(&app.pool, activity, 48, 100, None).await;
    let (parent_id, client) = fixtures::parent(app, email).await;
    let child_id = child(&app.pool, parent_id, "Maya", 7).await;
    let token = client.csrf_token("/parent").await;
    assert_eq!(book(&client, &token, session_id, &[child_id]).await.status(), 303);
    let booking_id: i64 = sqlx::query_scalar("select max(id) from bookings where parent_id = $1")
        .bind(parent_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    (parent_id, client, booking_id)
}

/// Applies `code` on the booking page and returns the message it shows.
async fn try_code(parent: &TestClient, booking_id: i64, code: &str) -> String {
    let page = format!("/parent/bookings/{booking_id}");
    let response = parent.submit(&page, &format!("{page}/discount"), &[("code", code)]).await;
    assert_eq!(response.status(), 303);
    let page = parent.get_text(&page).await;
    let start = page.find(r#"role="status">"#).map(|i| i + r#"role="status">"#.len()).unwrap_or(0);
    let end = page[start..].find("</p>").map_or(start, |i| start + i);
    page[start..end].to_owned()
}

async fn insert_codes(app: &TestApp, tennis_id: i64) {
    sqlx::query(
        "insert into discount_codes (code, kind, percent_off, amount_off_pence, valid_from, valid_until,
                                     usage_limit, times_used, activity_ids, active)
         values ('TENPC', 'percent', 10, null, null, null, null, 0, '{}', true),
                ('OLD', 'fixed', null, 100, '2020-01-01', '2020-12-31', null, 0, '{}', true),
                ('SOON', 'fixed', null, 100, '2099-01-01', null, null, 0, '{}', true),
                ('TENNIS', 'fixed', null, 100, null, null, null, 0, array[$1::bigint], true),
                ('GONE', 'fixed', null, 100, null, null, 1, 1, '{}', true),
                ('OFF', 'fixed', null, 100, null, null, null, 0, '{}', false)",
    )
    .bind(tennis_id)
    .execute(&app.pool)
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_code_that_cannot_be_used_gets_the_same_words() {
    let app = spawn_app().await;
    let football = fixtures::activity(&app.pool, "Football", false, (4, 12), 24).await;
    let tennis = fixtures::activity(&app.pool, "Tennis", false, (4, 12), 24).await;
    insert_codes(&app, tennis.id).await;
    let (_, family, booking_id) = family_with_booking(&app, "family@example.com", &football).await;

    for code in ["NOPE-123", "old", "SOON", "TENNIS", "GONE", "OFF", "50% off"] {
        assert_eq!(try_code(&family, booking_id, code).await, CANNOT, "{code}");
    }
    assert_eq!(count(&app.pool, "select count(*) from booking_discounts").await, 0);
    assert!(try_code(&family, booking_id, "tenpc").await.starts_with("Code TENPC applied"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_eleventh_guess_in_an_hour_is_refused_even_when_the_code_is_good() {
    let app = spawn_app().await;
    let football = fixtures::activity(&app.pool, "Football", false, (4, 12), 24).await;
    insert_codes(&app, football.id).await;
    let (parent_id, family, booking_id) = family_with_booking(&app, "family@example.com", &football).await;

    for n in 1..=10 {
        assert_eq!(try_code(&family, booking_id, &format!("GUESS-{n}")).await, CANNOT, "guess {n}");
    }
    let answer = try_code(&family, booking_id, "TENPC").await;
    assert!(answer.starts_with(TOO_MANY), "{answer}");
    assert_eq!(count(&app.pool, "select count(*) from booking_discounts").await, 0);
    assert_eq!(
        count(&app.pool, "select times_used::bigint from discount_codes where code = 'TENPC'").await,
        0
    );

    // The booking form refuses it too, with the answer by the field and nothing booked.
    let session_id = fixtures::session(&app.pool, &football, 72, 10, None).await;
    let maya: i64 = sqlx::query_scalar("select id from children where parent_id = $1")
        .bind(parent_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let token = family.csrf_token("/parent").await;
    let (s, item) = (session_id.to_string(), format!("{session_id}:{maya}"));
    let response = family
        .post_raw(
            "/parent/bookings",
            &[("csrf_token", &token), ("session", &s), ("item", &item), ("discount_code", "TENPC")],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains(TOO_MANY));
    assert_eq!(count(&app.pool, "select count(*) from bookings").await, 1);

    // Another family is not held back by this one's guessing.
    let (_, other, other_booking) = family_with_booking(&app, "other@example.com", &football).await;
    assert!(try_code(&other, other_booking, "TENPC").await.starts_with("Code TENPC applied"));

    // An hour on, the family may try again.
    sqlx::query("update discount_code_attempts set window_started_at = now() - interval '61 minutes'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert!(try_code(&family, booking_id, "TENPC").await.starts_with("Code TENPC applied"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_guesses_at_once_are_all_counted_and_at_most_ten_are_tried() {
    let app = spawn_app().await;
    let football = fixtures::activity(&app.pool, "Football", false, (4, 12), 24).await;
    let (parent_id, family) = fixtures::parent(&app, "family@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let token = family.csrf_token("/parent").await;
    let family = Arc::new(family);
    let mut guesses = JoinSet::new();
    // One session per guess, so the bookings do not queue behind each other.
    for n in 0..30 {
        let session_id = fixtures::session(&app.pool, &football, 48 + n, 10, None).await;
        let (family, token) = (family.clone(), token.clone());
        guesses.spawn(async move {
            let (s, item, code) =
                (session_id.to_string(), format!("{session_id}:{maya}"), format!("GUESS-{n}"));
            let fields =
                [("csrf_token", token.as_str()), ("session", &s), ("item", &item), ("discount_code", &code)];
            let response = family.post_raw("/parent/bookings", &fields).await;
            (response.status().as_u16(), response.text().await.unwrap())
        });
    }
    let (mut tried, mut refused) = (0, 0);
    while let Some(answer) = guesses.join_next().await {
        let (status, page) = answer.unwrap();
        assert_eq!(status, 422);
        if page.contains(CANNOT) {
            tried += 1;
        } else if page.contains(TOO_MANY) {
            refused += 1;
        }
    }
    assert_eq!((tried, refused), (10, 20), "ten tried, the rest refused");
    assert_eq!(
        count(&app.pool, "select attempts::bigint from discount_code_attempts where parent_id = (select id from users where email = 'family@example.com')").await,
        30,
        "every guess is counted"
    );
    assert_eq!(count(&app.pool, "select count(*) from bookings").await, 0);
}
