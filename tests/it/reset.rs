//! Forgotten passwords: an emailed, single-use, expiring link.

use crate::common::{PASSWORD, TestApp, client::location, spawn_app};

/// Asks for a reset link for `email` and returns the link's path from the email.
async fn request_link(app: &TestApp, email: &str) -> String {
    let before = app.smtp.messages().await.len();
    let response = app.client().submit("/password/forgot", "/password/forgot", &[("email", email)]).await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("we have emailed it a link"));
    let messages = app.smtp.wait_for(before + 1).await;
    app.wait_for_emails_sent().await;
    let message = messages.last().expect("the reset email arrives");
    assert!(message.contains(&format!("To: {email}")), "{message}");
    let start = message.find("/password/reset/").expect("a link in the email");
    message[start..].split_whitespace().next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_reset_works_end_to_end_and_the_link_only_once() {
    let app = spawn_app().await;
    app.create_user("parent@example.com", "parent", None).await;
    let elsewhere = app.client();
    assert_eq!(elsewhere.login("parent@example.com", PASSWORD).await.status(), 303);

    let link = request_link(&app, "parent@example.com").await;
    let client = app.client();
    assert_eq!(client.get(&link).await.status(), 200);
    let response = client
        .submit(
            &link,
            &link,
            &[("password", "a brand new password"), ("password_confirmation", "a brand new password")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/login");
    assert!(client.get_text("/login").await.contains("Your password has been changed."));

    assert_eq!(app.client().login("parent@example.com", PASSWORD).await.status(), 422, "old password");
    assert_eq!(app.client().login("parent@example.com", "a brand new password").await.status(), 303);
    assert_eq!(elsewhere.get("/parent").await.status(), 303, "other sessions end with the old password");

    let again = app.client();
    assert_eq!(again.get(&link).await.status(), 410, "the link is spent");
    let token_page = again.get_text("/password/forgot").await;
    let token = crate::common::client::csrf_token_in(&token_page).unwrap();
    let reuse = again
        .post_raw(
            &link,
            &[
                ("csrf_token", &token),
                ("password", "a third password!"),
                ("password_confirmation", "a third password!"),
            ],
        )
        .await;
    assert_eq!(reuse.status(), 410);
    assert_eq!(app.client().login("parent@example.com", "a third password!").await.status(), 422);
    let audited =
        sqlx::query_scalar!(r#"select count(*) as "n!" from audit_log where action = 'user.password_reset'"#)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audited, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_reset_link_is_refused() {
    let app = spawn_app().await;
    app.create_user("trainer@example.com", "trainer", None).await;
    let link = request_link(&app, "trainer@example.com").await;
    sqlx::query!("update password_reset_tokens set expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();

    let client = app.client();
    let page = client.get(&link).await;
    assert_eq!(page.status(), 410);
    assert!(page.text().await.unwrap().contains("This link no longer works"));
    let token = client.csrf_token("/password/forgot").await;
    let response = client
        .post_raw(
            &link,
            &[
                ("csrf_token", &token),
                ("password", "a brand new password"),
                ("password_confirmation", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(response.status(), 410);
    assert_eq!(app.client().login("trainer@example.com", PASSWORD).await.status(), 303, "password unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_email_gets_the_same_answer_and_no_email() {
    let app = spawn_app().await;
    let response =
        app.client().submit("/password/forgot", "/password/forgot", &[("email", "nobody@example.com")]).await;

    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("we have emailed it a link"));
    app.wait_for_emails_sent().await;
    let queued = sqlx::query_scalar!(r#"select count(*) as "n!" from outbox_emails"#)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(queued, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weak_or_mismatched_new_password_comes_back_with_the_reason() {
    let app = spawn_app().await;
    app.create_user("parent@example.com", "parent", None).await;
    let link = request_link(&app, "parent@example.com").await;
    let client = app.client();

    let short =
        client.submit(&link, &link, &[("password", "short"), ("password_confirmation", "short")]).await;
    assert_eq!(short.status(), 422);
    assert!(short.text().await.unwrap().contains("Use at least 10 characters."));

    let mismatch = client
        .submit(
            &link,
            &link,
            &[("password", "long enough one"), ("password_confirmation", "long enough two")],
        )
        .await;
    assert_eq!(mismatch.status(), 422);
    assert!(mismatch.text().await.unwrap().contains("The two passwords do not match."));
    assert_eq!(client.get(&link).await.status(), 200, "the link still works after a mistake");

    let bad_email = client.submit("/password/forgot", "/password/forgot", &[("email", "not an email")]).await;
    assert_eq!(bad_email.status(), 422);
    let page = bad_email.text().await.unwrap();
    assert!(page.contains("Enter an email address like name@example.com."));
    assert!(page.contains(r#"value="not an email""#));
}
