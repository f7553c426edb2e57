//! A discount code typed on the booking review form: applied with the booking, or the
//! form comes back (422) with the code kept and the reason by the field, nothing booked.

use crate::common::{
    TestClient,
    fixtures::{self, child, count, parent},
    spawn_app,
};

async fn book_with_code(
    family: &TestClient,
    token: &str,
    session_id: i64,
    child_id: i64,
    code: &str,
) -> reqwest::Response {
    let (session, item) = (session_id.to_string(), format!("{session_id}:{child_id}"));
    let fields = [("csrf_token", token), ("session", &session), ("item", &item), ("discount_code", code)];
    family.post_raw("/parent/bookings", &fields).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discount_code_on_the_review_form_is_applied_with_the_booking_or_explained() {
    let app = spawn_app().await;
    let football = fixtures::activity(&app.pool, "Football", false, (4, 12), 24).await;
    let tennis = fixtures::activity(&app.pool, "Tennis", false, (4, 12), 24).await;
    let first = fixtures::session(&app.pool, &football, 48, 10, None).await;
    let second = fixtures::session(&app.pool, &football, 72, 10, None).await;
    let other = fixtures::session(&app.pool, &tennis, 48, 10, None).await;
    sqlx::query(
        "insert into discount_codes (code, kind, percent_off, usage_limit, activity_ids)
         values ('SPRING-10', 'percent', 10, 1, array[$1]::bigint[])",
    )
    .bind(football.id)
    .execute(&app.pool)
    .await
    .unwrap();
    let (parent_id, family) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let review = family.get_text(&format!("/parent/bookings/new?session={first}&child={maya}")).await;
    assert!(review.contains(r#"name="discount_code""#), "{review}");
    let token = family.csrf_token("/parent").await;

    let response = book_with_code(&family, &token, first, maya, "50% off").await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(
        page.contains(r#"value="50% off""#) && page.contains("That code cannot be used for this booking."),
        "{page}"
    );
    assert!(page.contains(r#"id="discount_code-error""#), "{page}");
    let response = book_with_code(&family, &token, first, maya, "NOPE-1").await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("That code cannot be used for this booking."));
    let response = book_with_code(&family, &token, other, maya, "SPRING-10").await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("That code cannot be used for this booking."));
    assert_eq!(count(&app.pool, "select count(*) from bookings").await, 0, "nothing booked");
    assert_eq!(count(&app.pool, "select times_used::bigint from discount_codes").await, 0);

    let response = book_with_code(&family, &token, first, maya, " spring-10 ").await;
    assert_eq!(response.status(), 303);
    let booking_id: i64 = sqlx::query_scalar("select id from bookings").fetch_one(&app.pool).await.unwrap();
    let page = family.get_text(&format!("/parent/bookings/{booking_id}")).await;
    assert!(page.contains("Code SPRING-10 applied: £0.65 off."), "{page}");
    assert!(page.contains("<dt>Amount due</dt><dd>£5.85</dd>"), "{page}");
    assert_eq!(count(&app.pool, "select amount_pence::bigint from booking_discounts").await, 65);

    // Used up: the next booking is refused with the code kept, and nothing is booked.
    let response = book_with_code(&family, &token, second, maya, "SPRING-10").await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("That code cannot be used for this booking.") && page.contains(r#"value="SPRING-10""#),
        "{page}"
    );
    assert_eq!(count(&app.pool, "select count(*) from bookings").await, 1);
    // Without a code it books as usual.
    assert_eq!(book_with_code(&family, &token, second, maya, "").await.status(), 303);
    assert_eq!(count(&app.pool, "select times_used::bigint from discount_codes").await, 1);
}
