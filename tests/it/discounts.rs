//! Discount codes: finance defines them; a parent applies one to a booking and owes
//! less; dates, activities and one code per booking hold; a usage limit is never
//! exceeded, however many families use the code at once.

use std::sync::Arc;

use tokio::task::JoinSet;

use crate::common::{
    TestApp, TestClient,
    fixtures::{self, book, child, count},
    spawn_app,
};

async fn booked(app: &TestApp, email: &str, activity: &fixtures::Activity) -> (TestClient, i64) {
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
    (client, booking_id)
}

async fn apply(parent: &TestClient, booking_id: i64, code: &str) -> String {
    let page = format!("/parent/bookings/{booking_id}");
    let response = parent.submit(&page, &format!("{page}/discount"), &[("code", code)]).await;
    assert_eq!(response.status(), 303);
    parent.get_text(&page).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finance_creates_codes_and_mistakes_come_back_filled_in() {
    let app = spawn_app().await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let create = |fields: Vec<(&'static str, &'static str)>| {
        let finance = &finance;
        async move { finance.submit("/admin/discounts", "/admin/discounts", &fields).await }
    };
    let response =
        create(vec![("code", "spring10"), ("kind", "percent"), ("value", "10"), ("usage_limit", "5")]).await;
    assert_eq!(response.status(), 303);
    let page = finance.get_text("/admin/discounts").await;
    assert!(page.contains("SPRING10") && page.contains("10% off") && page.contains("0 of 5"), "{page}");

    let response = create(vec![("code", "SPRING10"), ("kind", "fixed"), ("value", "2.50")]).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("That code already exists."));
    let response = create(vec![("code", "HALF"), ("kind", "percent"), ("value", "150")]).await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("from 1 to 100") && page.contains(r#"value="HALF""#), "{page}");
    let response = create(vec![
        ("code", "LATE"),
        ("kind", "fixed"),
        ("value", "1.00"),
        ("valid_from", "2026-12-31"),
        ("valid_until", "2026-01-01"),
    ])
    .await;
    assert_eq!(response.status(), 422);
    assert_eq!(count(&app.pool, "select count(*) from discount_codes").await, 1);

    let coordinator = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    assert_eq!(coordinator.get("/admin/discounts").await.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_applies_a_code_once_and_owes_less_within_its_dates_and_activities() {
    let app = spawn_app().await;
    let football = fixtures::activity(&app.pool, "Football", false, (4, 12), 24).await;
    let tennis = fixtures::activity(&app.pool, "Tennis", false, (4, 12), 24).await;
    sqlx::query(
        "insert into discount_codes (code, kind, percent_off, amount_off_pence, valid_from, valid_until, activity_ids)
         values ('TENPC', 'percent', 10, null, null, null, '{}'),
                ('OLD', 'fixed', null, 100, '2020-01-01', '2020-12-31', '{}'),
                ('TENNIS', 'fixed', null, 100, null, null, array[$1::bigint])",
    )
    .bind(tennis.id)
    .execute(&app.pool)
    .await
    .unwrap();
    let (parent, booking_id) = booked(&app, "parent@example.com", &football).await;

    let page = apply(&parent, booking_id, "old").await;
    assert!(page.contains("That code cannot be used for this booking."), "{page}");
    let page = apply(&parent, booking_id, "TENNIS").await;
    assert!(page.contains("That code cannot be used for this booking."), "{page}");
    let page = apply(&parent, booking_id, "NOPE").await;
    assert!(page.contains("That code cannot be used for this booking."), "{page}");
    let page = apply(&parent, booking_id, "tenpc").await;
    assert!(
        page.contains("Code TENPC applied: £0.65 off.") && page.contains("<dt>Amount due</dt><dd>£5.85</dd>"),
        "{page}"
    );
    let page = apply(&parent, booking_id, "TENPC").await;
    assert!(page.contains("already has a discount") && page.contains("<dd>£5.85</dd>"), "{page}");
    assert_eq!(
        count(&app.pool, "select times_used::bigint from discount_codes where code = 'TENPC'").await,
        1
    );

    let (_, stranger) = fixtures::parent(&app, "stranger@example.com").await;
    let token = stranger.csrf_token("/parent").await;
    let response = stranger
        .post_raw(
            &format!("/parent/bookings/{booking_id}/discount"),
            &[("csrf_token", &token), ("code", "TENPC")],
        )
        .await;
    assert_eq!(response.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_limited_to_five_uses_used_by_fifty_families_at_once_is_used_five_times() {
    let app = spawn_app().await;
    sqlx::query("insert into discount_codes (code, kind, amount_off_pence, usage_limit) values ('FIVE', 'fixed', 100, 5)")
        .execute(&app.pool)
        .await
        .unwrap();
    let mut families = Vec::new();
    for n in 0..50 {
        let (parent_id, client) = fixtures::parent(&app, &format!("family{n}@example.com")).await;
        let booking_id: i64 = sqlx::query_scalar(
            "insert into bookings (parent_id, status, total_pence) values ($1, 'approved', 650) returning id",
        )
        .bind(parent_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        let token = client.csrf_token("/parent").await;
        families.push((Arc::new(client), token, booking_id));
    }
    let mut racing = JoinSet::new();
    for (client, token, booking_id) in families {
        racing.spawn(async move {
            let fields = [("csrf_token", token.as_str()), ("code", "FIVE")];
            client
                .post_raw(&format!("/parent/bookings/{booking_id}/discount"), &fields)
                .await
                .status()
                .as_u16()
        });
    }
    while let Some(status) = racing.join_next().await {
        assert_eq!(status.unwrap(), 303);
    }
    assert_eq!(count(&app.pool, "select count(*) from booking_discounts").await, 5);
    assert_eq!(count(&app.pool, "select times_used::bigint from discount_codes").await, 5);
}
