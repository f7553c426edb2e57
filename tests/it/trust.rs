//! The holes an outside review found (issue 10): links that sign people in, throttles
//! under concurrency, accounts nobody can lock out, sign-up that tells nobody who has an
//! account, housekeeping, cross-origin posts and the card-payment CSP.

use std::time::Duration;

use crate::common::{
    PASSWORD, TestApp, TestClient,
    client::{csrf_token_in, location},
    fixtures::{child, count},
    spawn_app, spawn_app_with,
};

/// The link path (`/password/reset/…` or `/signup/confirm/…`) in the newest email to `to`.
async fn link_in_newest_email(app: &TestApp, to: &str, path: &str, count: usize) -> String {
    let messages = app.smtp.wait_for(count).await;
    app.wait_for_emails_sent().await;
    let message =
        messages.iter().rev().find(|m| m.contains(&format!("To: {to}"))).expect("the email arrives");
    let start = message.find(path).unwrap_or_else(|| panic!("a link in the email: {message}"));
    message[start..].split_whitespace().next().unwrap().to_owned()
}

/// A page with its CSRF token (if any) and `email` blanked out, to compare two answers.
fn strip(page: String, email: &str) -> String {
    let page = match csrf_token_in(&page) {
        Some(token) => page.replace(&token, "TOKEN"),
        None => page,
    };
    page.replace(email, "EMAIL")
}

fn client_from(app: &TestApp, address: &str) -> TestClient {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", address.parse().unwrap());
    TestClient::with_headers(&app.address, headers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_cannot_read_a_working_reset_link_in_the_outbox_nor_the_database() {
    let app = spawn_app().await;
    let owner = app.signed_in("owner@example.com", "admin", Some("owner")).await;
    app.create_user("lead@example.com", "admin", Some("safeguarding_lead")).await;

    let asked =
        app.client().submit("/password/forgot", "/password/forgot", &[("email", "lead@example.com")]).await;
    assert_eq!(asked.status(), 200);
    let link = link_in_newest_email(&app, "lead@example.com", "/password/reset/", 1).await;
    let token = link.trim_start_matches("/password/reset/");

    let outbox = owner.get_text("/admin/outbox").await;
    assert!(outbox.contains("Reset your Portico password"), "{outbox}");
    let id = sqlx::query_scalar!("select id from outbox_emails where to_address = 'lead@example.com'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let message = owner.get_text(&format!("/admin/outbox/{id}")).await;
    assert!(message.contains("[link withheld: only the recipient receives it]"), "{message}");
    assert!(!message.contains(token), "the outbox page never shows the link");
    let dumped: i64 = count(
        &app.pool,
        &format!(
            "select count(*) from outbox_emails o, password_reset_tokens t
             where strpos(o.body_text, '{token}') > 0 or strpos(encode(t.token_hash, 'escape'), '{token}') > 0"
        ),
    )
    .await;
    assert_eq!(dumped, 0, "no table holds the token in clear");
    assert_eq!(app.client().get(&link).await.status(), 200, "the emailed link works for its recipient");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_welcome_link_for_a_family_the_office_opened_is_withheld_from_the_outbox_too() {
    let app = spawn_app().await;
    let owner = app.signed_in("owner@example.com", "admin", Some("owner")).await;
    let fields = [("name", "Sam Lee"), ("email", "sam@example.com"), ("phone", "07700 900777")];
    assert_eq!(owner.submit("/admin/families/new", "/admin/families/new", &fields).await.status(), 303);

    let link = link_in_newest_email(&app, "sam@example.com", "/password/reset/", 1).await;
    let body =
        sqlx::query_scalar!("select body_text from outbox_emails where to_address = 'sam@example.com'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(!body.contains(&link) && body.contains("[link withheld"), "{body}");
    let expires_in_days = sqlx::query_scalar!(
        r#"select (extract(epoch from expires_at - now()) / 86400)::float8 as "days!" from password_reset_tokens"#
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(expires_in_days > 6.9, "a welcome link lasts a week: {expires_in_days}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn safeguarding_emails_are_shown_to_the_lead_and_to_nobody_else() {
    let app = spawn_app().await;
    let owner = app.signed_in("owner@example.com", "admin", Some("owner")).await;
    let lead = app.signed_in("lead@example.com", "admin", Some("safeguarding_lead")).await;
    let coordinator = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    let trainer = app.create_user("coach@example.com", "trainer", None).await;
    let parent = app.create_user("parent@example.com", "parent", None).await;
    let kid = child(&app.pool, parent, "Mia", 8).await;
    let mut tx = app.pool.begin().await.unwrap();
    portico::safeguarding::domain::raise(
        &app.state,
        &mut tx,
        trainer,
        portico::ids::ChildId(kid),
        None,
        "Bruises on both arms",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let id = sqlx::query_scalar!("select id from outbox_emails where to_address = 'lead@example.com'")
        .fetch_one(&app.pool)
        .await
        .unwrap();

    let owners_view = owner.get_text("/admin/outbox").await;
    assert!(!owners_view.contains("safeguarding"), "{owners_view}");
    assert_eq!(owner.get(&format!("/admin/outbox/{id}")).await.status(), 404);
    let leads_view = lead.get_text("/admin/outbox").await;
    assert!(leads_view.contains("A safeguarding concern has been raised"), "{leads_view}");
    assert_eq!(lead.get(&format!("/admin/outbox/{id}")).await.status(), 200);
    assert_eq!(coordinator.get("/admin/outbox").await.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_holds_no_session_id_that_signs_anyone_in() {
    let app = spawn_app().await;
    let client = app.signed_in("parent@example.com", "parent", None).await;
    let id = client.session_id().expect("a session cookie");
    assert_eq!(client.get("/parent").await.status(), 200);

    let counts = sqlx::query!(
        r#"select count(*) as "rows!",
                  count(*) filter (where id = $1
                                   or strpos(encode(data, 'hex'), encode(convert_to($1, 'UTF8'), 'hex')) > 0)
                      as "holding!"
           from tower_sessions.session"#,
        id
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (rows, holding) = (counts.rows, counts.holding);
    assert!(rows >= 1, "the session is stored");
    assert_eq!(holding, 0, "but not under, nor holding, the id the cookie carries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_simultaneous_guesses_for_one_account_check_only_five_passwords() {
    let app = spawn_app().await;
    app.create_user("parent@example.com", "parent", None).await;
    let mut racing = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let client = app.client();
        let token = client.csrf_token("/login").await;
        racing.spawn(async move {
            let fields = [
                ("csrf_token", token.as_str()),
                ("email", "parent@example.com"),
                ("password", "guess guess"),
            ];
            client.post_raw("/login", &fields).await.status().as_u16()
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = racing.join_next().await {
        statuses.push(status.unwrap());
    }

    let checked = statuses.iter().filter(|s| **s == 422).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((checked, refused), (5, 25), "{statuses:?}");
    assert_eq!(count(&app.pool, "select count(*) from sign_in_attempts").await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_failing_from_one_address_cannot_lock_the_owner_out_from_another() {
    let app = spawn_app_with(&[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    app.create_user("parent@example.com", "parent", None).await;
    let attacker = client_from(&app, "203.0.113.66");
    for _ in 0..5 {
        assert_eq!(attacker.login("parent@example.com", "guess guess").await.status(), 422);
    }
    assert_eq!(attacker.login("parent@example.com", PASSWORD).await.status(), 429, "the guesser is stopped");

    let owner = client_from(&app, "198.51.100.20");
    let response = owner.login("parent@example.com", PASSWORD).await;

    assert_eq!(response.status(), 303, "the owner signs in from their own address");
    assert_eq!(location(&response), "/parent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_guessed_at_from_many_addresses_is_slowed_but_its_owner_is_not() {
    let app = spawn_app_with(&[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    app.create_user("parent@example.com", "parent", None).await;
    let owner = client_from(&app, "198.51.100.20");
    assert_eq!(owner.login("parent@example.com", PASSWORD).await.status(), 303);
    for n in 0..10 {
        let guesser = client_from(&app, &format!("203.0.113.{n}"));
        assert_eq!(guesser.login("parent@example.com", "guess guess").await.status(), 422);
    }

    let stranger = client_from(&app, "203.0.113.200");
    let started = std::time::Instant::now();
    assert_eq!(stranger.login("parent@example.com", "guess guess").await.status(), 422);
    let strangers_wait = started.elapsed();
    let owner_again = client_from(&app, "198.51.100.20");
    let started = std::time::Instant::now();
    assert_eq!(owner_again.login("parent@example.com", PASSWORD).await.status(), 303);
    let owners_wait = started.elapsed();

    assert!(strangers_wait >= Duration::from_secs(2), "a new address waits: {strangers_wait:?}");
    assert!(owners_wait < Duration::from_secs(2), "a familiar one does not: {owners_wait:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_requests_answer_alike_for_unknown_emails_and_are_throttled() {
    let app = spawn_app().await;
    app.create_user("parent@example.com", "parent", None).await;

    let known =
        app.client().submit("/password/forgot", "/password/forgot", &[("email", "parent@example.com")]).await;
    let unknown =
        app.client().submit("/password/forgot", "/password/forgot", &[("email", "nobody@example.com")]).await;
    assert_eq!((known.status().as_u16(), unknown.status().as_u16()), (200, 200));
    assert_eq!(
        strip(known.text().await.unwrap(), "parent@example.com"),
        strip(unknown.text().await.unwrap(), "nobody@example.com")
    );
    let queued: i64 =
        count(&app.pool, "select count(*) from underway.task where task_queue_name = 'account-requests'")
            .await;
    assert_eq!(queued, 2, "both did the same work: one queued request each");
    app.smtp.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.smtp.messages().await.len(), 1, "only the account holder gets an email");

    let client = app.client();
    for _ in 0..2 {
        let again =
            client.submit("/password/forgot", "/password/forgot", &[("email", "parent@example.com")]).await;
        assert_eq!(again.status(), 200);
    }
    let fourth =
        client.submit("/password/forgot", "/password/forgot", &[("email", "parent@example.com")]).await;
    assert_eq!(fourth.status(), 429, "three links an hour per address asked for");
    assert!(fourth.text().await.unwrap().contains("We have sent several links already"));
    // Four requests so far from this machine's one address (the refused one is not counted).
    for n in 0..6 {
        let email = format!("someone{n}@example.com");
        let response = client.submit("/password/forgot", "/password/forgot", &[("email", &email)]).await;
        assert_eq!(response.status(), 200, "{n}");
    }
    let eleventh =
        client.submit("/password/forgot", "/password/forgot", &[("email", "last@example.com")]).await;
    assert_eq!(eleventh.status(), 429, "ten requests an hour from one address");
}

fn signup_fields(email: &str, password: &str) -> Vec<(&'static str, String)> {
    vec![
        ("name", "Jo Bloggs".into()),
        ("email", email.into()),
        ("phone", "07700 900444".into()),
        ("password", password.into()),
        ("password_confirmation", password.into()),
        ("accept_terms", "yes".into()),
    ]
}

async fn sign_up(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    let fields = signup_fields(email, password);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.client().submit("/signup", "/signup", &fields).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_up_with_a_taken_email_answers_the_same_and_tells_only_the_owner() {
    let app = spawn_app().await;
    app.create_user("taken@example.com", "parent", None).await;

    let taken = sign_up(&app, "taken@example.com", "someone else's password").await;
    let free = sign_up(&app, "free@example.com", "a long enough password").await;

    assert_eq!((taken.status().as_u16(), free.status().as_u16()), (200, 200));
    assert_eq!(
        strip(taken.text().await.unwrap(), "taken@example.com"),
        strip(free.text().await.unwrap(), "free@example.com")
    );
    let messages = app.smtp.wait_for(2).await;
    let to_owner = messages.iter().find(|m| m.contains("To: taken@example.com")).expect("the owner is told");
    assert!(to_owner.contains("You already have a Portico account"), "{to_owner}");
    assert_eq!(app.client().login("taken@example.com", "someone else's password").await.status(), 422);
    assert_eq!(app.client().login("taken@example.com", PASSWORD).await.status(), 303, "unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_up_becomes_an_account_only_when_the_emailed_link_is_confirmed() {
    let app = spawn_app().await;
    assert_eq!(sign_up(&app, "jo@example.com", "a long enough password").await.status(), 200);
    // Someone else signs up in Jo's name too; their request never becomes the account.
    assert_eq!(sign_up(&app, "jo@example.com", "the impostor's password").await.status(), 200);
    assert_eq!(count(&app.pool, "select count(*) from users").await, 0);
    assert_eq!(app.client().login("jo@example.com", "a long enough password").await.status(), 422);

    let messages = app.smtp.wait_for(2).await;
    app.wait_for_emails_sent().await;
    let first = messages.iter().find(|m| m.contains("To: jo@example.com")).expect("a confirmation email");
    let start = first.find("/signup/confirm/").expect("a link");
    let link = first[start..].split_whitespace().next().unwrap().to_owned();
    let client = app.client();
    let page = client.get_text(&link).await;
    assert!(page.contains("Confirm email"), "{page}");
    let response = client.submit(&link, &link, &[]).await;

    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/parent");
    assert!(client.get_text("/parent").await.contains("Welcome to Portico, Jo."));
    assert_eq!(count(&app.pool, "select count(*) from users where email = 'jo@example.com'").await, 1);
    assert_eq!(app.client().login("jo@example.com", "a long enough password").await.status(), 303);
    assert_eq!(app.client().get(&link).await.status(), 410, "the link works once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn housekeeping_deletes_expired_sessions_spent_links_and_old_attempts_and_keeps_the_rest() {
    let app = spawn_app().await;
    let user = app.create_user("parent@example.com", "parent", None).await;
    let live = app.signed_in("live@example.com", "parent", None).await;
    sqlx::query!(
        "insert into tower_sessions.session (id, data, expiry_date) values ('old', '', now() - interval '1 minute')"
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query!(
        "insert into sign_in_attempts (email, ip, succeeded, created_at) values
           ('x@example.com', '127.0.0.1', false, now() - interval '40 days'),
           ('x@example.com', '127.0.0.1', false, now())"
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query!(
        "insert into request_attempts (kind, key, created_at) values ('password-reset', 'x', now() - interval '2 days')"
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query!(
        "insert into signup_requests (email, name, password_hash, created_at)
         values ('y@example.com', 'Y', '', now() - interval '3 days')"
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query!(
        "insert into password_reset_tokens (user_id, token_hash, expires_at) values
           ($1, '\\x01', now() - interval '2 days'), ($1, '\\x02', now() + interval '1 hour')",
        user
    )
    .execute(&app.pool)
    .await
    .unwrap();

    let mut conn = app.pool.acquire().await.unwrap();
    let cleaned = portico::housekeeping::clean(&mut conn).await.unwrap();

    assert_eq!(
        cleaned,
        portico::housekeeping::Cleaned {
            sessions: 1,
            links: 1,
            signups: 1,
            sign_in_attempts: 1,
            request_attempts: 1
        }
    );
    assert_eq!(live.get("/parent").await.status(), 200, "live sessions stay");
    assert_eq!(count(&app.pool, "select count(*) from password_reset_tokens").await, 1);
    let scheduled: i64 = count(
        &app.pool,
        "select count(*) from underway.task_schedule where task_queue_name = 'housekeeping'",
    )
    .await;
    assert_eq!(scheduled, 1, "it runs hourly on the job queue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_from_another_origin_is_refused_even_with_a_valid_token() {
    let app = spawn_app().await;
    app.create_user("parent@example.com", "parent", None).await;
    let client = app.client();
    let token = client.csrf_token("/login").await;
    let body = crate::common::client::encode(&[
        ("csrf_token", &token),
        ("email", "parent@example.com"),
        ("password", PASSWORD),
    ]);
    let post = |header: &'static str, value: &'static str| {
        client
            .http
            .post(format!("{}/login", app.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .header(header, value)
            .body(body.clone())
            .send()
    };

    let from_evil = post("origin", "https://evil.example").await.unwrap();
    assert_eq!(from_evil.status(), 403);
    let referred_by_evil = post("referer", "https://evil.example/form").await.unwrap();
    assert_eq!(referred_by_evil.status(), 403);
    let null_origin = post("origin", "null").await.unwrap();
    assert_eq!(null_origin.status(), 403);
    assert_eq!(client.get("/parent").await.status(), 303, "none of them signed in");

    let ours = app.address.clone().leak();
    let same_origin = post("origin", ours).await.unwrap();
    assert_eq!(same_origin.status(), 303, "the same origin goes through");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_card_payments_on_the_csp_lets_forms_continue_to_stripe_checkout() {
    let without = spawn_app().await;
    let csp = |response: &reqwest::Response| {
        response.headers().get("content-security-policy").unwrap().to_str().unwrap().to_owned()
    };
    let plain = csp(&without.client().get("/login").await);
    assert!(plain.contains("form-action 'self';"), "{plain}");

    let with =
        spawn_app_with(&[("STRIPE_SECRET_KEY", "sk_test_x"), ("STRIPE_API_BASE", "http://127.0.0.1:9")])
            .await;
    let stripe = csp(&with.client().get("/login").await);
    assert!(stripe.contains("form-action 'self' https://checkout.stripe.com;"), "{stripe}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resetting_a_password_renews_the_calendar_feed_link() {
    let app = spawn_app().await;
    let parent = app.signed_in("parent@example.com", "parent", None).await;
    let bookings = parent.get_text("/parent/bookings").await;
    let old = sqlx::query_scalar!("select token from calendar_feeds").fetch_one(&app.pool).await.unwrap();
    assert!(bookings.contains(&old), "the page shows the feed link");
    assert_eq!(app.client().get(&format!("/calendar/{old}.ics")).await.status(), 200);

    app.client().submit("/password/forgot", "/password/forgot", &[("email", "parent@example.com")]).await;
    let link = link_in_newest_email(&app, "parent@example.com", "/password/reset/", 1).await;
    let fields = [("password", "a brand new password"), ("password_confirmation", "a brand new password")];
    assert_eq!(app.client().submit(&link, &link, &fields).await.status(), 303);

    assert_eq!(
        app.client().get(&format!("/calendar/{old}.ics")).await.status(),
        404,
        "the old feed link stops"
    );
    let fresh = app.client();
    assert_eq!(fresh.login("parent@example.com", "a brand new password").await.status(), 303);
    let page = fresh.get_text("/parent/bookings").await;
    assert!(page.contains("/calendar/") && !page.contains(&old), "a new link is shown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_views_write_no_session_and_their_forms_still_work() {
    let app = spawn_app().await;
    app.create_user("parent@example.com", "parent", None).await;
    let client = app.client();
    for page in ["/login", "/signup", "/password/forgot", "/apply", "/login"] {
        assert_eq!(client.get(page).await.status(), 200, "{page}");
    }
    assert_eq!(count(&app.pool, "select count(*) from tower_sessions.session").await, 0);
    assert_eq!(client.session_id(), None);

    let wrong = client.login("parent@example.com", "not the password").await;
    assert_eq!(wrong.status(), 422, "the form's token works without a session");
    assert_eq!(count(&app.pool, "select count(*) from tower_sessions.session").await, 0);
    let token = csrf_token_in(&wrong.text().await.unwrap()).expect("the form again, with its token");
    let right = client
        .post_raw(
            "/login",
            &[("csrf_token", &token), ("email", "parent@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(right.status(), 303);
    assert_eq!(count(&app.pool, "select count(*) from tower_sessions.session").await, 1, "sign-in makes one");

    let stranger = app.client();
    let forged = stranger
        .post_raw(
            "/login",
            &[("csrf_token", &token), ("email", "parent@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(forged.status(), 403, "another browser's token, without its cookie, is refused");
}
