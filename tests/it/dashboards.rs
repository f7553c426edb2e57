//! The demo: every demo account signs in and lands on a portal showing real data.

use crate::common::{TestClient, spawn_app};

async fn demo_sign_in(client: &TestClient, email: &str) -> String {
    let response = client.login(email, portico::demo::DEMO_PASSWORD).await;
    assert_eq!(response.status(), 303, "{email} signs in");
    let portal = response.headers()["location"].to_str().unwrap().to_owned();
    let page = client.get(&portal).await;
    assert_eq!(page.status(), 200, "{email} on {portal}");
    page.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_demo_account_lands_on_a_working_portal_with_real_data() {
    let app = spawn_app().await;
    app.seed_demo().await;

    let parent = demo_sign_in(&app.client(), "parent@portico.test").await;
    let children: Vec<String> = sqlx::query_scalar(
        "select c.first_name || ' ' || c.last_name from children c join users u on u.id = c.parent_id
         where u.email = 'parent@portico.test'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(children.len(), 2);
    for child in &children {
        assert!(parent.contains(child.as_str()), "parent dashboard shows {child}");
    }
    assert!(!parent.contains("Nothing booked yet."), "the demo parent has upcoming bookings");
    assert!(parent.contains("Package credits left: <strong>10</strong>"), "the demo family holds a pass");

    let trainer = demo_sign_in(&app.client(), "trainer@portico.test").await;
    assert!(trainer.contains("Today") && trainer.contains("The week ahead"));
    let week_shifts = trainer.matches(r#"<article class="card shift">"#).count();
    assert!(week_shifts >= 1, "the demo trainer has shifts this week");

    let pending: i64 = sqlx::query_scalar("select count(*) from bookings where status = 'pending'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(pending > 0);
    for email in [
        "admin@portico.test",
        "coordinator@portico.test",
        "finance@portico.test",
        "safeguarding@portico.test",
    ] {
        let admin = demo_sign_in(&app.client(), email).await;
        assert!(
            admin.contains(&format!(r#"<span class="stat-value">{pending}</span><span class="stat-label">bookings waiting for approval"#)),
            "{email} sees the pending count"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_page_lists_the_demo_accounts_only_in_demo_mode() {
    let plain = spawn_app().await;
    assert!(!plain.client().get_text("/login").await.contains("Demo accounts"));

    let demo = crate::common::spawn_app_with(&[("PORTICO_DEMO", "true")]).await;
    let page = demo.client().get_text("/login").await;
    assert!(page.contains("Demo accounts"));
    assert!(page.contains("parent@portico.test") && page.contains("portico-demo"));
}
