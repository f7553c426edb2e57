//! Families' accounts: signing up, the profile, and the office opening an account.

use portico::auth::Role;

use crate::common::{TestApp, client::location, spawn_app};

fn jo() -> Vec<(&'static str, &'static str)> {
    vec![
        ("name", "Jo Bloggs"),
        ("email", "Jo@Example.com"),
        ("phone", "07700 900444"),
        ("password", "a long enough password"),
        ("password_confirmation", "a long enough password"),
        ("accept_terms", "yes"),
    ]
}

fn without<'a>(fields: &[(&'a str, &'a str)], name: &str) -> Vec<(&'a str, &'a str)> {
    fields.iter().copied().filter(|(k, _)| *k != name).collect()
}

async fn users(app: &TestApp) -> i64 {
    sqlx::query_scalar!(r#"select count(*) as "n!" from users"#).fetch_one(&app.pool).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_up_and_confirming_the_email_creates_a_parent_signs_them_in_and_lands_on_parent() {
    let app = spawn_app().await;
    let client = app.client();
    let login = client.get_text("/login").await;
    assert!(login.contains(r#"<a href="/signup">Create an account</a>"#), "{login}");
    client.get("/signup").await;

    let response = client.submit("/signup", "/signup", &jo()).await;

    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("We have sent an email to jo@example.com."));
    assert_eq!(users(&app).await, 0, "no account until the address is proved");
    let messages = app.smtp.wait_for(1).await;
    app.wait_for_emails_sent().await;
    let message = messages.last().expect("the confirmation email arrives");
    assert!(message.contains("To: jo@example.com"), "{message}");
    let start = message.find("/signup/confirm/").expect("a link in the email");
    let link = message[start..].split_whitespace().next().unwrap().to_owned();
    let anonymous_session = client.session_id();
    let confirmed = client.submit(&link, &link, &[]).await;
    assert_eq!(confirmed.status(), 303);
    assert_eq!(location(&confirmed), "/parent");
    assert_ne!(client.session_id(), anonymous_session, "a new session id at sign-in");
    let home = client.get_text("/parent").await;
    assert!(home.contains("Hello, Jo") && home.contains("Welcome to Portico, Jo."), "{home}");
    assert!(!home.contains("Terms accepted"), "the terms were accepted at sign-up");
    let row = sqlx::query!(
        r#"select role as "role: Role", password_hash, phone, terms_accepted_at is not null as "accepted!",
                  (select count(*) from checklist_completions c where c.user_id = u.id) as "done!"
           from users u where email = 'jo@example.com'"#
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (role, hash, phone, accepted, done) =
        (row.role, row.password_hash, row.phone, row.accepted, row.done);
    assert_eq!((role, phone.as_deref(), accepted, done), (Role::Parent, Some("07700 900444"), true, 1));
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert_eq!(client.get("/signup").await.status(), 303, "signed-in people are sent to their portal");
    assert_eq!(app.client().login("jo@example.com", "a long enough password").await.status(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_already_in_use_gets_the_same_answer_and_its_owner_an_email() {
    let app = spawn_app().await;
    app.create_user("jo@example.com", "trainer", None).await;
    let client = app.client();

    let response = client.submit("/signup", "/signup", &jo()).await;

    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("We have sent an email to jo@example.com."), "{page}");
    assert!(!page.contains("a long enough password"), "passwords are never sent back");
    let messages = app.smtp.wait_for(1).await;
    assert!(messages.last().unwrap().contains("You already have a Portico account"));
    assert_eq!(users(&app).await, 1);
    assert_eq!(client.get("/parent").await.status(), 303, "still signed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_up_without_accepting_the_terms_is_refused() {
    let app = spawn_app().await;

    let response = app.client().submit("/signup", "/signup", &without(&jo(), "accept_terms")).await;

    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(
        page.contains(r#"<p class="field-error" id="accept_terms-error">Tick the box to accept the terms"#)
    );
    assert!(page.contains(r#"value="jo@example.com""#) || page.contains(r#"value="Jo@Example.com""#));
    assert_eq!(users(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_sign_up_field_says_what_is_wrong() {
    let app = spawn_app().await;
    let fields = [
        ("name", ""),
        ("email", "not-an-email"),
        ("phone", "12"),
        ("password", "short"),
        ("password_confirmation", "short"),
    ];

    let response = app.client().submit("/signup", "/signup", &fields).await;

    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    for (field, message) in [
        ("name", "Enter your name."),
        ("email", "Enter an email address like name@example.com."),
        ("phone", "Enter a phone number like 07700 900123 or +44 7700 900123."),
        ("password", "Use at least 10 characters."),
        ("accept_terms", "Tick the box to accept the terms"),
    ] {
        assert!(page.contains(&format!(r#"<p class="field-error" id="{field}-error">{message}"#)), "{field}");
    }
    assert_eq!(users(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_edits_their_profile_and_accepts_the_terms() {
    let app = spawn_app().await;
    let client = app.signed_in("parent@example.com", "parent", None).await;
    let needed = r#"<a class="list-title" href="/parent/profile#checklist">Terms accepted (still to do)</a>"#;
    assert!(client.get_text("/parent").await.contains(needed), "not yet accepted");

    let bad = client
        .submit("/parent/profile", "/parent/profile", &[("name", "Alex Morgan"), ("phone", "call me")])
        .await;
    assert_eq!(bad.status(), 422);
    let page = bad.text().await.unwrap();
    assert!(
        page.contains(r#"id="phone-error">Enter a phone number like"#) && page.contains(r#"value="call me""#)
    );

    let response = client
        .submit("/parent/profile", "/parent/profile", &[("name", "Alex Morgan"), ("phone", "07700 900201")])
        .await;
    assert_eq!(response.status(), 303);
    let row = sqlx::query!("select name, phone from users where email = 'parent@example.com'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (name, phone) = (row.name, row.phone);
    assert_eq!((name.as_str(), phone.as_deref()), ("Alex Morgan", Some("07700 900201")));
    assert!(client.get_text("/parent").await.contains("Hello, Alex"));

    let terms = sqlx::query_scalar!("select id from checklist_items where code = 'terms'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(client.get_text("/parent/profile").await.contains("I accept the terms of service</button>"));
    let done = client
        .submit("/parent/profile", &format!("/parent/profile/checklist/{terms}"), &[("done", "true")])
        .await;
    assert_eq!(done.status(), 303);
    assert!(!client.get_text("/parent").await.contains(needed));
    let accepted = sqlx::query_scalar!(
        r#"select terms_accepted_at is not null as "accepted!" from users where email = 'parent@example.com'"#
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(accepted);
    let undo = client
        .submit("/parent/profile", &format!("/parent/profile/checklist/{terms}"), &[("done", "false")])
        .await;
    assert_eq!(undo.status(), 404, "accepted terms stay accepted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_opens_an_account_and_the_family_sets_a_password_from_the_email() {
    let app = spawn_app().await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    assert_eq!(finance.get("/admin/families/new").await.status(), 403, "finance may not");
    let parent = app.signed_in("someone@example.com", "parent", None).await;
    assert_eq!(parent.get("/admin/families/new").await.status(), 403);
    let coordinator = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    let fields = [("name", "Sam Lee"), ("email", "sam.lee@example.com"), ("phone", "07700 900777")];

    let response = coordinator.submit("/admin/families/new", "/admin/families/new", &fields).await;

    assert_eq!(response.status(), 303);
    assert!(coordinator.get_text("/admin/families/new").await.contains("Sam Lee&#39;s account is open."));
    let messages = app.smtp.wait_for(1).await;
    app.wait_for_emails_sent().await;
    let message = messages.last().expect("the welcome email arrives");
    assert!(message.contains("To: sam.lee@example.com"), "{message}");
    let start = message.find("/password/reset/").expect("a link in the email");
    let link = message[start..].split_whitespace().next().unwrap().to_owned();
    let row = sqlx::query!(
        r#"select u.role as "role: Role", a.actor_id from users u
           join audit_log a on a.entity_id = u.id and a.action = 'family.created'
           where u.email = 'sam.lee@example.com'"#
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (role, by) = (row.role, row.actor_id);
    assert_eq!(role, Role::Parent);
    assert!(by.is_some());

    let family = app.client();
    let set = family
        .submit(
            &link,
            &link,
            &[("password", "sam's new password"), ("password_confirmation", "sam's new password")],
        )
        .await;
    assert_eq!(set.status(), 303);
    assert_eq!(app.client().login("sam.lee@example.com", "sam's new password").await.status(), 303);

    let again = coordinator.submit("/admin/families/new", "/admin/families/new", &fields).await;
    assert_eq!(again.status(), 422);
    assert!(again.text().await.unwrap().contains("An account already uses this email."));
    let bad = coordinator
        .submit("/admin/families/new", "/admin/families/new", &[("name", ""), ("email", "x")])
        .await;
    assert_eq!(bad.status(), 422);
    let page = bad.text().await.unwrap();
    assert!(page.contains(r#"id="name-error">Enter the parent&#39;s name."#), "{page}");
}
