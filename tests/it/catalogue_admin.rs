//! The catalogue: coordinators keep activities and venues; the database's names become
//! messages by the field; other admins cannot see it.

use crate::common::{
    client::location,
    fixtures::{activity, count},
    spawn_app,
};

fn activity_fields<'a>(name: &'a str, price: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("description", "Games and skills"),
        ("min_age", "5"),
        ("max_age", "8"),
        ("duration_minutes", "60"),
        ("capacity", "16"),
        ("price", price),
        ("requires_approval", "yes"),
        ("pay_at_booking", "yes"),
        ("booking_cutoff_hours", "2"),
        ("cancellation_cutoff_hours", "24"),
        ("waitlist_offer_hours", "12"),
        ("children_per_trainer", "8"),
        ("qualifications", "DBS check, First aid"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_adds_an_activity_with_every_field_and_the_price_exact() {
    let app = spawn_app().await;
    let office = app.signed_in("coord@example.com", "admin", Some("coordinator")).await;

    let response = office
        .submit("/admin/activities/new", "/admin/activities/new", &activity_fields("Football 5–8s", "6.50"))
        .await;

    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin/activities");
    let row: (i32, i32, bool, bool, i32, i32, i32, Option<i32>) = sqlx::query_as(
        "select price_pence, min_age_years, requires_approval, pay_at_booking, booking_cutoff_hours,
                cancellation_cutoff_hours, waitlist_offer_hours, children_per_trainer
           from activities where name = 'Football 5–8s'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(row, (650, 5, true, true, 2, 24, 12, Some(8)));
    let quals: Vec<String> =
        sqlx::query_scalar("select name from activity_required_qualifications order by name")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(quals, vec!["DBS check", "First aid"]);
    assert_eq!(count(&app.pool, "select count(*) from audit_log where action = 'activity.created'").await, 1);
    let page = office.get_text("/admin/activities").await;
    assert!(page.contains("Football 5–8s") && page.contains("£6.50"), "{page}");
    assert!(page.contains("Pay when booking"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_activity_name_and_bad_input_come_back_with_the_values_kept() {
    let app = spawn_app().await;
    activity(&app.pool, "Football", false, (4, 12), 24).await;
    let office = app.signed_in("coord@example.com", "admin", Some("coordinator")).await;

    let taken = office
        .submit("/admin/activities/new", "/admin/activities/new", &activity_fields("Football", "6.50"))
        .await;
    assert_eq!(taken.status(), 422);
    let page = taken.text().await.unwrap();
    assert!(page.contains("An activity already has this name."), "{page}");
    assert!(page.contains(r#"value="6.50""#));

    let bad = office
        .submit("/admin/activities/new", "/admin/activities/new", &activity_fields("Tennis", "6.505"))
        .await;
    assert_eq!(bad.status(), 422);
    let page = bad.text().await.unwrap();
    assert!(page.contains("Use at most two decimal places (pence)."));
    assert!(page.contains(r#"value="Tennis""#) && page.contains("DBS check, First aid"));
    assert_eq!(count(&app.pool, "select count(*) from activities").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_and_deactivating_an_activity_is_audited() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let office = app.signed_in("owner@example.com", "admin", Some("owner")).await;
    let edit = format!("/admin/activities/{}/edit", football.id);

    let response = office.submit(&edit, &edit, &activity_fields("Football 4–12s", "7")).await;
    assert_eq!(response.status(), 303);
    let price: i32 =
        sqlx::query_scalar("select price_pence from activities").fetch_one(&app.pool).await.unwrap();
    assert_eq!(price, 700);

    let response = office.submit(&edit, &format!("/admin/activities/{}/deactivate", football.id), &[]).await;
    assert_eq!(response.status(), 303);
    let active: bool =
        sqlx::query_scalar("select is_active from activities").fetch_one(&app.pool).await.unwrap();
    assert!(!active);
    let actions: Vec<String> =
        sqlx::query_scalar("select action from audit_log order by id").fetch_all(&app.pool).await.unwrap();
    assert_eq!(actions, vec!["activity.updated", "activity.deactivated"]);
    assert_eq!(office.get("/admin/activities/abc/edit").await.status(), 404);
    assert_eq!(office.get("/admin/activities/999999/edit").await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn venues_are_added_and_a_taken_name_is_a_message() {
    let app = spawn_app().await;
    let office = app.signed_in("coord@example.com", "admin", Some("coordinator")).await;
    let fields = [("name", "Online"), ("kind", "online"), ("notes", "Zoom link sent the day before")];

    let response = office.submit("/admin/venues/new", "/admin/venues/new", &fields).await;
    assert_eq!(response.status(), 303);
    let again = office.submit("/admin/venues/new", "/admin/venues/new", &fields).await;
    assert_eq!(again.status(), 422);
    let page = again.text().await.unwrap();
    assert!(page.contains("A venue already has this name."));
    assert!(page.contains("Zoom link sent the day before"));

    let no_address = office
        .submit(
            "/admin/venues/new",
            "/admin/venues/new",
            &[("name", "Hall"), ("kind", "site"), ("capacity", "x")],
        )
        .await;
    assert_eq!(no_address.status(), 422);
    let page = no_address.text().await.unwrap();
    assert!(page.contains("Enter the address"), "{page}");
    assert!(page.contains(r#"value="Hall""#));
    assert_eq!(count(&app.pool, "select count(*) from venues").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finance_and_the_safeguarding_lead_cannot_see_the_calendar_pages() {
    let app = spawn_app().await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let safeguarding = app.signed_in("safe@example.com", "admin", Some("safeguarding_lead")).await;
    let trainer = app.signed_in("trainer@example.com", "trainer", None).await;
    for path in crate::calendar_admin::ADMIN_PAGES {
        assert_eq!(finance.get(path).await.status(), 403, "finance on {path}");
        assert_eq!(safeguarding.get(path).await.status(), 403, "safeguarding on {path}");
        assert_eq!(trainer.get(path).await.status(), 403, "trainer on {path}");
    }
    let token = finance.csrf_token("/admin").await;
    let response = finance
        .post_raw("/admin/venues/new", &[("csrf_token", &token), ("name", "X"), ("kind", "online")])
        .await;
    assert_eq!(response.status(), 403);
}
