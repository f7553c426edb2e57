//! Submitting a draft checks again every rule booking checks (the session's status, the
//! cut-off, the child's age, capacity) and charges today's price, however old the draft.

use crate::common::{
    TestApp, TestClient,
    client::location,
    fixtures::{activity, child, count, parent, session},
    spawn_app,
};

/// Maya (7) has a draft for a £6.50 football session (ages 4–12) three days away.
async fn a_draft(app: &TestApp) -> (TestClient, String, i64, i64) {
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session_id = session(&app.pool, &football, 72, 10, None).await;
    let (parent_id, client) = parent(app, "parent@example.com").await;
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
    (client, location(&saved).to_owned(), session_id, football.id)
}

/// The draft is still a draft holding nothing, and nobody was asked to pay.
async fn nothing_taken(app: &TestApp) {
    let status: String =
        sqlx::query_scalar("select status from bookings").fetch_one(&app.pool).await.unwrap();
    assert_eq!(status, "draft");
    assert_eq!(count(&app.pool, "select places_taken::bigint from sessions").await, 0);
    assert_eq!(count(&app.pool, "select count(*) from booking_participants where holds_place").await, 0);
    assert_eq!(count(&app.pool, "select count(*) from payments").await, 0);
}

/// Changes something under the draft with `sql` (bound to `id`), presses `Submit
/// booking` (a redirect either way) and returns the booking page it lands on.
async fn change_then_submit(app: &TestApp, client: &TestClient, booking: &str, sql: &str, id: i64) -> String {
    sqlx::query(sql).bind(id).execute(&app.pool).await.unwrap();
    let submitted = client.submit(booking, &format!("{booking}/submit"), &[]).await;
    assert_eq!(submitted.status(), 303);
    client.get_text(booking).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_whose_session_was_cancelled_cannot_be_submitted() {
    let app = spawn_app().await;
    let (client, booking, session_id, _) = a_draft(&app).await;
    let page = change_then_submit(
        &app,
        &client,
        &booking,
        "update sessions set status = 'cancelled' where id = $1",
        session_id,
    )
    .await;
    assert!(page.contains("nothing was booked or charged"), "{page}");
    assert!(page.contains("Maya Test: Cancelled"), "{page}");
    nothing_taken(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_for_a_child_now_outside_the_ages_cannot_be_submitted() {
    let app = spawn_app().await;
    let (client, booking, _, activity_id) = a_draft(&app).await;
    let page = change_then_submit(
        &app,
        &client,
        &booking,
        "update activities set min_age_years = 8 where id = $1",
        activity_id,
    )
    .await;
    assert!(page.contains("Maya is 7; this is for ages 8–12"), "{page}");
    nothing_taken(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_past_its_booking_cut_off_cannot_be_submitted() {
    let app = spawn_app().await;
    let (client, booking, _, activity_id) = a_draft(&app).await;
    let page = change_then_submit(
        &app,
        &client,
        &booking,
        "update activities set booking_cutoff_hours = 96 where id = $1",
        activity_id,
    )
    .await;
    assert!(page.contains("Booking closed"), "{page}");
    nothing_taken(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_submitted_after_a_price_change_is_charged_the_new_price() {
    let app = spawn_app().await;
    let (client, booking, session_id, _) = a_draft(&app).await;
    let page = change_then_submit(
        &app,
        &client,
        &booking,
        "update sessions set price_pence = 800 where id = $1",
        session_id,
    )
    .await;
    assert!(page.contains("the total is now £8.00 (was £6.50)"), "{page}");
    assert!(page.contains("Confirmed"), "{page}");
    let (total, price): (i32, i32) = sqlx::query_as(
        "select b.total_pence, p.price_pence from bookings b join booking_participants p on p.booking_id = b.id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((total, price), (800, 800));
    assert!(page.contains("<dt>Amount due</dt><dd>£8.00</dd>"), "{page}");
}
