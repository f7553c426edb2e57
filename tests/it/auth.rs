//! Signing in and out, sessions, throttling.

use crate::common::{PASSWORD, TestApp, TestClient, client::location, spawn_app, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_with_the_right_password_lands_on_the_users_portal() {
    let app = spawn_app().await;
    app.create_user("parent@example.com", "parent", None).await;
    let client = app.client();

    let response = client.login("Parent@Example.com ", PASSWORD).await;

    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/parent");
    let home = client.get_text("/parent").await;
    assert!(home.contains("Hello, Test"), "{home}");
    assert!(home.contains("Sign out"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_refused_with_the_email_kept() {
    let app = spawn_app().await;
    app.create_user("parent@example.com", "parent", None).await;
    let client = app.client();

    let response = client.login("parent@example.com", "not the password").await;

    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("That email and password do not match an account."));
    assert!(page.contains(r#"value="parent@example.com""#), "the email is kept");
    assert_eq!(client.get("/parent").await.status(), 303, "still signed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_email_gets_the_same_answer_as_a_wrong_password() {
    let app = spawn_app().await;
    app.create_user("parent@example.com", "parent", None).await;

    let wrong_password = app.client().login("parent@example.com", "nope nope nope").await;
    let unknown = app.client().login("nobody@example.com", "nope nope nope").await;

    assert_eq!(wrong_password.status(), unknown.status());
    let strip = |page: String, email: &str| {
        let token = crate::common::client::csrf_token_in(&page).unwrap();
        page.replace(&token, "TOKEN").replace(email, "EMAIL")
    };
    assert_eq!(
        strip(wrong_password.text().await.unwrap(), "parent@example.com"),
        strip(unknown.text().await.unwrap(), "nobody@example.com"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_sign_in_form_says_what_is_missing_by_each_field() {
    let app = spawn_app().await;
    let client = app.client();

    let response = client.login("not-an-email", "").await;

    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains(
        r#"<p class="field-error" id="email-error">Enter an email address like name@example.com.</p>"#
    ));
    assert!(page.contains(r#"<p class="field-error" id="password-error">Enter your password.</p>"#));
    assert!(page.contains(r#"value="not-an-email""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_id_changes_at_sign_in() {
    let app = spawn_app().await;
    app.create_user("trainer@example.com", "trainer", None).await;
    let client = app.client();
    client.get("/login").await;
    // Anonymous views make no session; one made before sign-in (here by the message
    // "You have signed out") is not the one after.
    assert_eq!(client.session_id(), None);
    client.logout("/login").await;
    let anonymous_id = client.session_id().expect("sign-out leaves a session for its message");

    let response = client.login("trainer@example.com", PASSWORD).await;

    assert_eq!(response.status(), 303);
    let signed_in_id = client.session_id().expect("still a session cookie");
    assert_ne!(anonymous_id, signed_in_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_cookie_replayed_after_sign_out_is_refused() {
    let app = spawn_app().await;
    let client = app.signed_in("parent@example.com", "parent", None).await;
    let stolen = client.session_id().expect("a session cookie");
    assert_eq!(client.get("/parent").await.status(), 200);

    let response = client.logout("/parent").await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/login");

    let replay = app.client();
    replay.set_session_id(&stolen);
    let response = replay.get("/parent").await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/login");
    let signed_in = sqlx::query_scalar!(
        r#"select count(*) as "n!" from tower_sessions.session
           where strpos(encode(data, 'escape'), 'axum-login.data') > 0"#
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(signed_in, 0, "sign-out deletes the signed-in session on the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_users_session_stops_working() {
    let app = spawn_app().await;
    let client = app.signed_in("trainer@example.com", "trainer", None).await;
    assert_eq!(client.get("/trainer").await.status(), 200);

    sqlx::query!("update users set is_active = false where email = 'trainer@example.com'")
        .execute(&app.pool)
        .await
        .unwrap();

    let response = client.get("/trainer").await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/login");
    assert_eq!(app.client().login("trainer@example.com", PASSWORD).await.status(), 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trainer_deactivated_by_the_office_is_refused_on_their_next_request() {
    let app = spawn_app().await;
    let trainer = app.signed_in("trainer@example.com", "trainer", None).await;
    let trainer_id = sqlx::query_scalar!("select id from users where email = 'trainer@example.com'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    // Several pages in a row: the signed-in user is remembered between requests.
    for _ in 0..3 {
        assert_eq!(trainer.get("/trainer").await.status(), 200);
    }
    let office = app.signed_in("office@example.com", "admin", Some("coordinator")).await;
    let page = format!("/admin/trainers/{trainer_id}");

    let deactivated = office.submit(&page, &format!("{page}/deactivate"), &[]).await;

    assert_eq!(deactivated.status(), 303);
    let response = trainer.get("/trainer").await;
    assert_eq!(response.status(), 303, "refused at once, not when a cache expires");
    assert_eq!(location(&response), "/login");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failed_sign_ins_are_throttled_per_account_from_that_address() {
    let app = spawn_app().await;
    app.create_user("parent@example.com", "parent", None).await;
    let client = app.client();
    for _ in 0..5 {
        assert_eq!(client.login("parent@example.com", "guess guess").await.status(), 422);
    }

    let response = client.login("parent@example.com", PASSWORD).await;

    assert_eq!(response.status(), 429, "even the right password waits out the window");
    assert!(response.text().await.unwrap().contains("Too many failed attempts"));
    let other = app.client();
    app.create_user("other@example.com", "parent", None).await;
    assert_eq!(
        other.login("other@example.com", PASSWORD).await.status(),
        303,
        "other accounts are unaffected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_are_stored_as_argon2id_hashes() {
    let app = spawn_app().await;
    app.create_user("parent@example.com", "parent", None).await;
    let hash: String =
        sqlx::query_scalar!("select password_hash from users where email = 'parent@example.com'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
}

/// Fails a sign-in from a client whose proxy says it forwards for `forwarded_for`, and
/// returns the address the attempt was counted against.
async fn attempt_counted_against(app: &TestApp, forwarded_for: &str) -> String {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", forwarded_for.parse().unwrap());
    let client = TestClient::with_headers(&app.address, headers);
    assert_eq!(client.login("nobody@example.com", "not the password").await.status(), 422);
    sqlx::query_scalar!(r#"select host(ip) as "ip!" from sign_in_attempts order by id desc limit 1"#)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_counts_the_forwarded_client_only_behind_a_trusted_proxy() {
    let direct = spawn_app().await;
    assert_eq!(
        attempt_counted_against(&direct, "198.51.100.7").await,
        "127.0.0.1",
        "without TRUSTED_PROXIES a client cannot pick its own address"
    );

    let proxied = spawn_app_with(&[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    assert_eq!(attempt_counted_against(&proxied, "198.51.100.7").await, "198.51.100.7");
    assert_eq!(
        attempt_counted_against(&proxied, "1.2.3.4, 198.51.100.8").await,
        "198.51.100.8",
        "what the client wrote before the proxy's own entry is not believed"
    );
}
