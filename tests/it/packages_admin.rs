//! Package definitions in the catalogue: a number of sessions or a term, for chosen
//! activities, at an exact price; the database's names become messages by the field.

use crate::calendar_admin::coordinator;
use crate::common::{
    client::location,
    fixtures::{activity, count},
    spawn_app,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_defines_a_package_edits_it_and_deactivates_it() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let tennis = activity(&app.pool, "Tennis", false, (4, 12), 24).await;
    let office = coordinator(&app).await;
    assert!(office.get_text("/admin/activities").await.contains(r#"href="/admin/packages""#));
    let (football_id, tennis_id) = (football.id.to_string(), tennis.id.to_string());

    let response = office
        .submit(
            "/admin/packages/new",
            "/admin/packages/new",
            &[
                ("name", "Ten sessions"),
                ("description", "Any ten"),
                ("kind", "credits"),
                ("credits", "10"),
                ("price", "£55.10"),
                ("valid_days", "180"),
                ("activity", &football_id),
                ("activity", &tennis_id),
            ],
        )
        .await;

    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin/packages");
    let (id, price, credits): (i64, i32, Option<i32>) =
        sqlx::query_as("select id, price_pence, credits from packages where name = 'Ten sessions'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((price, credits), (5510, Some(10)));
    assert_eq!(count(&app.pool, "select count(*) from package_activities").await, 2);
    let page = office.get_text("/admin/packages").await;
    assert!(
        page.contains("Ten sessions") && page.contains("£55.10") && page.contains("10 sessions"),
        "{page}"
    );

    let edit = format!("/admin/packages/{id}/edit");
    let changed = office
        .submit(
            &edit,
            &edit,
            &[
                ("name", "Autumn term"),
                ("kind", "term"),
                ("price", "80"),
                ("valid_days", "120"),
                ("activity", &tennis_id),
            ],
        )
        .await;
    assert_eq!(changed.status(), 303);
    let row: (String, Option<i32>, i32) =
        sqlx::query_as("select kind, credits, price_pence from packages").fetch_one(&app.pool).await.unwrap();
    assert_eq!(row, ("term".into(), None, 8000));
    let covered: Vec<i64> =
        sqlx::query_scalar("select activity_id from package_activities").fetch_all(&app.pool).await.unwrap();
    assert_eq!(covered, vec![tennis.id]);

    let off = office.submit("/admin/packages", &format!("/admin/packages/{id}/deactivate"), &[]).await;
    assert_eq!(off.status(), 303);
    let active: bool =
        sqlx::query_scalar("select is_active from packages").fetch_one(&app.pool).await.unwrap();
    assert!(!active);
    assert!(office.get_text("/admin/packages").await.contains("Inactive"));
    assert_eq!(
        count(
            &app.pool,
            "select count(*) from audit_log where entity_type = 'package' and action in
             ('package.created', 'package.updated', 'package.deactivated')"
        )
        .await,
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_name_and_bad_package_input_come_back_with_the_values_kept() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    sqlx::query("insert into packages (name, kind, credits, price_pence, valid_days) values ('Ten sessions', 'credits', 10, 5000, 90)")
        .execute(&app.pool)
        .await
        .unwrap();
    let office = coordinator(&app).await;
    let football_id = football.id.to_string();

    let taken = office
        .submit(
            "/admin/packages/new",
            "/admin/packages/new",
            &[
                ("name", "Ten sessions"),
                ("kind", "credits"),
                ("credits", "10"),
                ("price", "50"),
                ("valid_days", "90"),
                ("activity", &football_id),
            ],
        )
        .await;
    assert_eq!(taken.status(), 422);
    let page = taken.text().await.unwrap();
    assert!(page.contains("A package already has this name."), "{page}");
    assert!(page.contains(r#"value="Ten sessions""#) && page.contains("checked"));

    let bad = office
        .submit(
            "/admin/packages/new",
            "/admin/packages/new",
            &[
                ("name", "Cheap"),
                ("kind", "credits"),
                ("credits", "0"),
                ("price", "-5.00"),
                ("valid_days", "x"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let page = bad.text().await.unwrap();
    assert!(page.contains("A package needs at least one session."), "{page}");
    assert!(page.contains("The price cannot be below £0.00."));
    assert!(page.contains("Choose at least one activity the package covers."));
    assert!(page.contains(r#"value="-5.00""#) && page.contains(r#"value="Cheap""#));
    assert_eq!(count(&app.pool, "select count(*) from packages").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finance_cannot_change_packages() {
    let app = spawn_app().await;
    let finance = app.signed_in("money@example.com", "admin", Some("finance")).await;
    let response = finance.get("/admin/packages/new").await;
    assert_eq!(response.status(), 403);
}
