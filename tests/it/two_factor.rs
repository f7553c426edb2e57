//! Two-factor sign-in: setting it up, the code after the password, replays,
//! throttling, recovery codes, the owner's requirement, and turning it off.

use std::{
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use tokio::task::JoinSet;

use totp_rs::{Builder, Secret, Totp};

use crate::common::{PASSWORD, TestApp, TestClient, client::location, spawn_app_with};

const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

async fn spawn() -> TestApp {
    spawn_app_with(&[("TWO_FACTOR_KEY", KEY)]).await
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// The code `steps` time steps from now (the server accepts one step either side).
fn code(totp: &Totp, steps: i64) -> String {
    totp.generate(now().saturating_add_signed(steps * 30)).to_string()
}

/// A wrong code: any six digits but the ones the server would accept.
fn wrong_code(totp: &Totp) -> String {
    let accepted = [code(totp, -1), code(totp, 0), code(totp, 1)];
    (0..10).map(|d| d.to_string().repeat(6)).find(|c| !accepted.contains(c)).unwrap()
}

/// Presses "Set up two-factor sign-in" and reads the key off the page, as a person
/// typing it into their app would.
async fn start_setup(client: &TestClient) -> Totp {
    let response = client.submit("/account/two-factor", "/account/two-factor/start", &[]).await;
    assert_eq!(response.status(), 303);
    let page = client.get_text("/account/two-factor").await;
    assert!(page.contains(r#"src="data:image/svg+xml;base64,"#), "a QR code is shown: {page}");
    let marker = r#"<code id="two-factor-secret">"#;
    let start = page.find(marker).expect("the key is shown") + marker.len();
    let end = start + page[start..].find("</code>").unwrap();
    let base32: String = page[start..end].chars().filter(|c| !c.is_whitespace()).collect();
    let secret = Secret::try_from_base32(&base32).expect("a base32 key");
    Builder::new().with_secret(secret).build().unwrap()
}

/// Sets two-factor up for the signed-in `client`; returns its TOTP and recovery codes.
async fn enable(client: &TestClient) -> (Totp, Vec<String>) {
    let totp = start_setup(client).await;
    let response = client
        .submit("/account/two-factor", "/account/two-factor/confirm", &[("code", &code(&totp, 0))])
        .await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("Your recovery codes"), "{page}");
    let codes: Vec<String> = page
        .split("<li><code>")
        .skip(1)
        .map(|rest| rest[..rest.find("</code>").unwrap()].to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "{page}");
    (totp, codes)
}

async fn audit_count(app: &TestApp, action: &str, user_id: i64) -> i64 {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from audit_log where action = $1 and actor_id = $2"#,
        action,
        user_id
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

async fn user_id(app: &TestApp, email: &str) -> i64 {
    sqlx::query_scalar!("select id from users where email = $1", email).fetch_one(&app.pool).await.unwrap()
}

/// Signs in with the password: the answer is the code page, not a session.
async fn password_step(app: &TestApp, email: &str) -> TestClient {
    let client = app.client();
    let response = client.login(email, PASSWORD).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/login/two-factor");
    client
}

async fn send_code(client: &TestClient, code: &str) -> reqwest::Response {
    client.submit("/login/two-factor", "/login/two-factor", &[("code", code)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enabling_with_a_wrong_code_is_refused_and_nothing_is_turned_on() {
    let app = spawn().await;
    let client = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    let totp = start_setup(&client).await;

    let response = client
        .submit("/account/two-factor", "/account/two-factor/confirm", &[("code", &wrong_code(&totp))])
        .await;

    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("That code is not right."), "{page}");
    assert!(page.contains(r#"src="data:image/svg+xml;base64,"#), "the QR code is still there");
    let id = user_id(&app, "coordinator@example.com").await;
    let enabled = sqlx::query_scalar!(
        r#"select enabled_at is not null as "on!" from two_factor where user_id = $1"#,
        id
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(!enabled);
    let codes = sqlx::query_scalar!(
        r#"select count(*) as "n!" from two_factor_recovery_codes where user_id = $1"#,
        id
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(codes, 0);
    assert_eq!(audit_count(&app, "two_factor.enabled", id).await, 0);

    let garbage =
        client.submit("/account/two-factor", "/account/two-factor/confirm", &[("code", "\0x")]).await;
    assert_eq!(garbage.status(), 422, "odd input is a message, not an error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_enabling_the_password_alone_gives_no_session_and_the_code_completes_sign_in() {
    let app = spawn().await;
    let owner = app.signed_in("owner@example.com", "admin", Some("owner")).await;
    let (totp, _) = enable(&owner).await;
    let id = user_id(&app, "owner@example.com").await;
    assert_eq!(audit_count(&app, "two_factor.enabled", id).await, 1);

    let client = password_step(&app, "owner@example.com").await;
    let admin = client.get("/admin").await;
    assert_eq!(admin.status(), 303, "half signed in is not signed in");
    assert_eq!(location(&admin), "/login");
    assert_eq!(client.get("/account/two-factor").await.status(), 303);
    let page = client.get_text("/login/two-factor").await;
    assert!(page.contains("Enter your code"), "{page}");

    // Enabling used this time step; the next step's code is the one a person would type.
    let response = send_code(&client, &code(&totp, 1)).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin");
    assert_eq!(client.get("/admin").await.status(), 200);
    assert!(client.get_text("/admin").await.contains(r#"href="/account/two-factor""#), "staff see the link");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_of_the_database_holds_no_usable_secret() {
    let app = spawn().await;
    let trainer = app.signed_in("trainer@example.com", "trainer", None).await;
    let (totp, codes) = enable(&trainer).await;

    let id = user_id(&app, "trainer@example.com").await;
    let stored = sqlx::query_scalar!("select secret_encrypted from two_factor where user_id = $1", id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let secret: &[u8] = totp.secret();
    assert!(!stored.windows(secret.len()).any(|w| w == secret), "the secret is not stored in the clear");
    let hashes =
        sqlx::query_scalar!("select code_hash from two_factor_recovery_codes where user_id = $1", id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(hashes.len(), 10);
    for code in &codes {
        assert!(!hashes.iter().any(|h| h == code.as_bytes()), "recovery codes are stored hashed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_is_accepted_once_only() {
    let app = spawn().await;
    let trainer = app.signed_in("trainer@example.com", "trainer", None).await;
    let (totp, _) = enable(&trainer).await;
    let next = code(&totp, 1);

    let first = password_step(&app, "trainer@example.com").await;
    let response = send_code(&first, &next).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/trainer");

    let second = password_step(&app, "trainer@example.com").await;
    let replay = send_code(&second, &next).await;
    assert_eq!(replay.status(), 422);
    assert!(replay.text().await.unwrap().contains("That code has been used already."));
    assert_eq!(second.get("/trainer").await.status(), 303, "the replay signed no one in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_codes_are_throttled_per_account_even_when_sent_at_once() {
    let app = spawn().await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let (totp, _) = enable(&finance).await;
    let wrong = wrong_code(&totp);
    let client = password_step(&app, "finance@example.com").await;
    let token = client.csrf_token("/login/two-factor").await;

    let client = Arc::new(client);
    let mut racing = JoinSet::new();
    for _ in 0..20 {
        let (client, token, wrong) = (client.clone(), token.clone(), wrong.clone());
        racing.spawn(async move {
            let fields = [("csrf_token", token.as_str()), ("code", wrong.as_str())];
            client.post_raw("/login/two-factor", &fields).await.status().as_u16()
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = racing.join_next().await {
        statuses.push(status.unwrap());
    }

    let checked = statuses.iter().filter(|&&s| s == 422).count();
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!(checked, 5, "five wrong codes are checked, however many arrive at once: {statuses:?}");
    assert_eq!(refused, 15, "{statuses:?}");

    let right = send_code(&client, &code(&totp, 1)).await;
    assert_eq!(right.status(), 429, "even the right code waits out the window");
    assert!(right.text().await.unwrap().contains("Too many wrong codes."));
    assert_eq!(client.get("/admin").await.status(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_code_signs_in_once_and_is_spent() {
    let app = spawn().await;
    let safeguarding = app.signed_in("lead@example.com", "admin", Some("safeguarding_lead")).await;
    let (_, codes) = enable(&safeguarding).await;
    let id = user_id(&app, "lead@example.com").await;

    let client = password_step(&app, "lead@example.com").await;
    let response = send_code(&client, &codes[3].to_uppercase()).await;
    assert_eq!(response.status(), 303);
    assert_eq!(client.get("/admin").await.status(), 200);
    assert_eq!(audit_count(&app, "two_factor.recovery_code_used", id).await, 1);
    assert!(client.get_text("/account/two-factor").await.contains("You have 9 unused recovery codes."));

    let again = password_step(&app, "lead@example.com").await;
    let spent = send_code(&again, &codes[3]).await;
    assert_eq!(spent.status(), 422);
    assert!(spent.text().await.unwrap().contains("That code is not right."));
    assert_eq!(again.get("/admin").await.status(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_requiring_two_factor_sends_an_admin_without_it_to_set_it_up() {
    let app = spawn().await;
    let owner = app.signed_in("owner@example.com", "admin", Some("owner")).await;

    let too_soon =
        owner.submit("/account/two-factor", "/account/two-factor/required", &[("required", "yes")]).await;
    assert_eq!(too_soon.status(), 422, "the owner uses it before requiring it");
    assert!(
        too_soon.text().await.unwrap().contains("Turn on two-factor sign-in for your own account first.")
    );

    enable(&owner).await;
    let response =
        owner.submit("/account/two-factor", "/account/two-factor/required", &[("required", "yes")]).await;
    assert_eq!(response.status(), 303);
    let owner_id = user_id(&app, "owner@example.com").await;
    assert_eq!(audit_count(&app, "settings.two_factor_required", owner_id).await, 1);

    let coordinator = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    let admin = coordinator.get("/admin").await;
    assert_eq!(admin.status(), 303);
    assert_eq!(location(&admin), "/account/two-factor");
    assert_eq!(location(&coordinator.get("/admin/bookings").await), "/account/two-factor");
    let page = coordinator.get_text("/account/two-factor").await;
    assert!(page.contains("The owner requires two-factor sign-in for every admin."), "{page}");

    enable(&coordinator).await;
    assert_eq!(coordinator.get("/admin").await.status(), 200);
    let off = coordinator
        .submit("/account/two-factor", "/account/two-factor/disable", &[("password", PASSWORD)])
        .await;
    assert_eq!(off.status(), 422, "while required, an admin cannot turn it off");

    let trainer = app.signed_in("trainer@example.com", "trainer", None).await;
    assert_eq!(trainer.get("/trainer").await.status(), 200, "the requirement is for admins");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_it_off_needs_the_password() {
    let app = spawn().await;
    let coordinator = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    enable(&coordinator).await;
    let id = user_id(&app, "coordinator@example.com").await;

    let wrong = coordinator
        .submit("/account/two-factor", "/account/two-factor/disable", &[("password", "not the password")])
        .await;
    assert_eq!(wrong.status(), 422);
    assert!(wrong.text().await.unwrap().contains("That does not match. Nothing was changed."));
    let empty = coordinator.submit("/account/two-factor", "/account/two-factor/disable", &[]).await;
    assert_eq!(empty.status(), 422);
    assert_eq!(audit_count(&app, "two_factor.disabled", id).await, 0);
    password_step(&app, "coordinator@example.com").await;

    let right = coordinator
        .submit("/account/two-factor", "/account/two-factor/disable", &[("password", PASSWORD)])
        .await;
    assert_eq!(right.status(), 303);
    assert!(coordinator.get_text("/account/two-factor").await.contains("Two-factor sign-in is off."));
    assert_eq!(audit_count(&app, "two_factor.disabled", id).await, 1);
    let left = sqlx::query_scalar!(
        r#"select (select count(*) from two_factor where user_id = $1)
                + (select count(*) from two_factor_recovery_codes where user_id = $1) as "n!""#,
        id
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(left, 0);

    let response = app.client().login("coordinator@example.com", PASSWORD).await;
    assert_eq!(location(&response), "/admin", "the password alone signs in again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_page_without_a_password_first_sends_you_to_sign_in() {
    let app = spawn().await;
    let client = app.client();
    assert_eq!(location(&client.get("/login/two-factor").await), "/login");
    let response = client.submit("/login", "/login/two-factor", &[("code", "123456")]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/login");
}
