//! CSRF, role separation and the headers every response carries.

use crate::common::{PASSWORD, client::location, spawn_app, spawn_app_with};

async fn outbox_and_token_counts(pool: &sqlx::PgPool) -> (i64, i64) {
    let row = sqlx::query!(
        r#"select (select count(*) from outbox_emails) as "emails!",
                  (select count(*) from password_reset_tokens) as "tokens!""#
    )
    .fetch_one(pool)
    .await
    .unwrap();
    (row.emails, row.tokens)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_without_a_csrf_token_is_forbidden_and_changes_nothing() {
    let app = spawn_app().await;
    app.create_user("parent@example.com", "parent", None).await;
    let client = app.client();
    client.get("/password/forgot").await;

    let response = client.post_raw("/password/forgot", &[("email", "parent@example.com")]).await;

    assert_eq!(response.status(), 403);
    assert_eq!(outbox_and_token_counts(&app.pool).await, (0, 0));
    // The same form with its token does go through.
    let response =
        client.submit("/password/forgot", "/password/forgot", &[("email", "parent@example.com")]).await;
    assert_eq!(response.status(), 200);
    app.smtp.wait_for(1).await;
    app.wait_for_emails_sent().await;
    assert_eq!(outbox_and_token_counts(&app.pool).await, (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_csrf_token_is_forbidden() {
    let app = spawn_app().await;
    app.create_user("parent@example.com", "parent", None).await;
    let client = app.client();
    client.get("/login").await;

    let response = client
        .post_raw(
            "/login",
            &[("csrf_token", "forged"), ("email", "parent@example.com"), ("password", PASSWORD)],
        )
        .await;

    assert_eq!(response.status(), 403);
    assert_eq!(client.get("/parent").await.status(), 303, "not signed in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_from_before_sign_in_is_stale_after_it() {
    let app = spawn_app().await;
    app.create_user("parent@example.com", "parent", None).await;
    let client = app.client();
    let old_token = client.csrf_token("/login").await;
    client.login("parent@example.com", PASSWORD).await;

    let response = client.post_raw("/logout", &[("csrf_token", &old_token)]).await;

    assert_eq!(response.status(), 403);
    assert_eq!(client.get("/parent").await.status(), 200, "still signed in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_form_post_is_refused_even_with_a_token() {
    let app = spawn_app().await;
    let client = app.signed_in("parent@example.com", "parent", None).await;
    let token = client.csrf_token("/parent").await;

    let response = client
        .http
        .post(format!("{}/logout", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .body(format!("csrf_token={token}"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 403);
    assert_eq!(client.get("/parent").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_gets_403_on_the_other_portals() {
    let app = spawn_app().await;
    let cases = [
        ("parent@example.com", "parent", None, "/parent"),
        ("trainer@example.com", "trainer", None, "/trainer"),
        ("admin@example.com", "admin", Some("owner"), "/admin"),
    ];
    for (email, role, admin_role, own) in cases {
        let client = app.signed_in(email, role, admin_role).await;
        assert_eq!(client.get(own).await.status(), 200, "{role} on {own}");
        for (_, _, _, other) in cases.iter().filter(|c| c.3 != own) {
            let response = client.get(other).await;
            assert_eq!(response.status(), 403, "{role} on {other}");
            assert!(response.text().await.unwrap().contains("Not allowed"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_owners_read_the_outbox() {
    let app = spawn_app().await;
    let owner = app.signed_in("owner@example.com", "admin", Some("owner")).await;
    let coordinator = app.signed_in("coord@example.com", "admin", Some("coordinator")).await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;

    assert_eq!(owner.get("/admin/outbox").await.status(), 200);
    assert_eq!(coordinator.get("/admin/outbox").await.status(), 403);
    assert_eq!(finance.get("/admin/outbox").await.status(), 403);
    assert_eq!(owner.get("/admin/outbox/999999").await.status(), 404);
    assert_eq!(owner.get("/admin/outbox/not-a-number").await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_visitors_are_sent_to_sign_in() {
    let app = spawn_app().await;
    let client = app.client();
    for path in ["/", "/parent", "/trainer", "/admin", "/admin/outbox"] {
        let response = client.get(path).await;
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(location(&response), "/login", "{path}");
    }
}

fn assert_security_headers(response: &reqwest::Response, what: &str) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what}: no {name} header"))
            .to_owned()
    };
    let csp = header("content-security-policy");
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header("x-frame-options"), "DENY", "{what}");
    assert_eq!(header("referrer-policy"), "same-origin", "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_are_on_ok_and_not_found_pages() {
    let app = spawn_app().await;
    let client = app.signed_in("parent@example.com", "parent", None).await;

    let ok = client.get("/parent").await;
    assert_eq!(ok.status(), 200);
    assert_security_headers(&ok, "200");
    assert_eq!(ok.headers()["cache-control"], "no-store", "signed-in pages are not cached");

    let missing = client.get("/no/such/page").await;
    assert_eq!(missing.status(), 404);
    assert_security_headers(&missing, "404");
    assert!(missing.headers().get("strict-transport-security").is_none(), "no HSTS over http");
    assert!(missing.text().await.unwrap().contains("Page not found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_cookies_are_secure_host_only_and_hsts_is_sent() {
    let app = spawn_app_with(&[("BASE_URL", "https://portico.example")]).await;
    let response = app.client().get("/login").await;

    assert!(response.headers()["strict-transport-security"].to_str().unwrap().contains("max-age="));
    let anonymous = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(anonymous.starts_with("__Host-portico_csrf="), "{anonymous}");
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(anonymous.contains(attribute), "{attribute} missing: {anonymous}");
    }
    // A session starts only when there is something to keep, e.g. the sign-out message;
    // posted by hand, since the test client keeps Secure cookies off plain http.
    let signed_out = app
        .client()
        .http
        .post(format!("{}/logout", app.address))
        .header("cookie", "__Host-portico_csrf=abc")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("csrf_token=abc")
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), 303);
    let cookie = signed_out.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-portico="), "{cookie}");
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    for cookie in [&anonymous, &cookie] {
        assert!(!cookie.contains("Domain="), "{cookie}");
    }
}

/// Every portal page: anonymous visitors are sent to sign in, other roles get 403.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_portal_page_checks_who_is_asking() {
    let app = spawn_app().await;
    let pages: [(&str, &[&str]); 3] = [
        (
            "parent",
            &[
                "/parent",
                "/parent/children",
                "/parent/children/new",
                "/parent/sessions",
                "/parent/bookings",
                "/parent/waitlist",
                "/parent/profile",
            ],
        ),
        (
            "trainer",
            &[
                "/trainer",
                "/trainer/shifts",
                "/trainer/shifts?view=month",
                "/trainer/open-shifts",
                "/trainer/availability",
                "/trainer/timesheets",
            ],
        ),
        (
            "admin",
            &[
                "/admin",
                "/admin/bookings?status=pending",
                "/admin/bookings.csv",
                "/admin/sessions",
                "/admin/trainers",
                "/admin/activities",
                "/admin/venues",
                "/admin/audit",
                "/admin/timesheets",
                "/admin/outbox",
            ],
        ),
    ];
    let anonymous = app.client();
    let parent = app.signed_in("parent@example.com", "parent", None).await;
    let trainer = app.signed_in("trainer@example.com", "trainer", None).await;
    let owner = app.signed_in("owner@example.com", "admin", Some("owner")).await;
    let clients = [("parent", &parent), ("trainer", &trainer), ("admin", &owner)];
    for (portal, paths) in pages {
        for path in paths {
            let response = anonymous.get(path).await;
            assert_eq!(
                (response.status().as_u16(), location(&response)),
                (303, "/login"),
                "anonymous on {path}"
            );
            for (role, client) in clients {
                let status = client.get(path).await.status().as_u16();
                let expected = if role == portal { 200 } else { 403 };
                assert_eq!(status, expected, "{role} on {path}");
            }
        }
    }
}
