//! Keeps working when things go wrong (issue 11): a stop under load, a mail server
//! down, a database outage, several processes on one database, Stripe down, backups.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use portico::notifications::{Email, Mailer, Outbox, Retries};
use sqlx::PgPool;

use crate::common::{
    PASSWORD, TestClient, TestDatabase,
    client::location,
    fixtures::{activity, book, child, count, parent, session},
    process::Portico,
    proxy::TcpProxy,
    smtp, spawn_app, spawn_app_on, spawn_app_with,
};

/// An active user with `PASSWORD`, straight into the database.
async fn insert_user(pool: &PgPool, email: &str, role: &str, admin_role: Option<&str>) -> i64 {
    static HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    let hash = HASH
        .get_or_init(|| async {
            portico::auth::password::Passwords::new().await.unwrap().hash(PASSWORD).await.unwrap()
        })
        .await;
    sqlx::query_scalar(
        "insert into users (email, name, role, admin_role, password_hash) values ($1, 'Test', $2, $3, $4)
         returning id",
    )
    .bind(email)
    .bind(role)
    .bind(admin_role)
    .bind(hash)
    .fetch_one(pool)
    .await
    .expect("insert user")
}

/// Queues an email through `outbox`: its retry policy goes with the job.
async fn queue_email(pool: &PgPool, outbox: &Outbox, subject: &str) -> i64 {
    let mut tx = pool.begin().await.unwrap();
    let email = Email { to: "family@example.com".into(), subject: subject.into(), body: "Hello".into() };
    let id = outbox.queue(&mut tx, &email).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn wait_until(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

// ---------------------------------------------------------------------------------
// 1. Graceful stop under load
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_requests_and_the_email_in_hand_finish_refuses_new_connections_and_exits() {
    let db = TestDatabase::new().await;
    let pool = portico::db::connect(&db.url).await.unwrap();
    insert_user(&pool, "parent@example.com", "parent", None).await;
    let sink = crate::common::SmtpSink::start().await;
    sink.delay_each(Duration::from_millis(1500));
    let mut portico =
        Portico::start(&[("DATABASE_URL", &db.url), ("SMTP_URL", &sink.url()), ("JOB_POLL_MS", "200")]).await;

    // An email being handed to a slow mail server when the signal comes.
    let outbox = Outbox::new(pool.clone(), Mailer::RecordOnly, Retries::default()).await.unwrap();
    let email = queue_email(&pool, &outbox, "In flight").await;
    wait_until("the mail server gets the email", Duration::from_secs(10), async || sink.started() == 1).await;

    // A sign-in held up by a lock on the users table while the signal comes.
    let client = TestClient::new(&portico.address);
    let token = client.csrf_token("/login").await;
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("lock table users in access exclusive mode").execute(&mut *lock).await.unwrap();
    let sign_in = tokio::spawn(async move {
        let fields =
            [("csrf_token", token.as_str()), ("email", "parent@example.com"), ("password", PASSWORD)];
        client.post_raw("/login", &fields).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!sign_in.is_finished(), "the sign-in waits for the lock");

    portico.signal(libc::SIGTERM);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fresh = reqwest::Client::new().get(format!("{}/healthz", portico.address)).send().await;
    assert!(fresh.as_ref().is_err_and(|e| e.is_connect()), "new connections are refused: {fresh:?}");
    lock.commit().await.unwrap();

    let signed_in = sign_in.await.unwrap();
    assert_eq!(signed_in.status(), 303, "the request in flight completed");
    assert_eq!(location(&signed_in), "/parent");
    let (took, status) = portico.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "a clean exit: {status}");
    assert!(took < Duration::from_secs(10), "exited in {took:?}");
    let sent: String = sqlx::query_scalar("select status from outbox_emails where id = $1")
        .bind(email)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(sent, "sent", "the worker finished the email in hand");
    assert_eq!(sink.messages().await.len(), 1);
}

// ---------------------------------------------------------------------------------
// 2. Mail server down
// ---------------------------------------------------------------------------------

/// Quick retries: 20 ms, 80 ms, then 100 ms apart, found by a worker looking every 50 ms.
const QUICK_RETRIES: [(&str, &str); 3] =
    [("MAIL_RETRY_FIRST_MS", "20"), ("MAIL_RETRY_MAX_MS", "100"), ("JOB_POLL_MS", "50")];

async fn outbox_row(pool: &PgPool, to: &str) -> (String, i32, Option<String>) {
    sqlx::query_as("select status, attempts, last_error from outbox_emails where to_address = $1")
        .bind(to)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_server_that_refuses_twice_delays_the_email_not_the_user() {
    let sink = crate::common::SmtpSink::start().await;
    let url = sink.url();
    let mut settings = QUICK_RETRIES.to_vec();
    settings.push(("SMTP_URL", &url));
    let app = spawn_app_with(&settings).await;
    app.create_user("parent@example.com", "parent", None).await;
    sink.refuse_next(2);

    let started = Instant::now();
    let response =
        app.client().submit("/password/forgot", "/password/forgot", &[("email", "parent@example.com")]).await;
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(1), "the page does not wait for the mail server");

    let messages = sink.wait_for(1).await;
    assert_eq!(messages.len(), 1, "delivered on the third try");
    assert_eq!(sink.refused(), 2);
    app.wait_for_emails_sent().await;
    let (status, attempts, error) = outbox_row(&app.pool, "parent@example.com").await;
    assert_eq!((status.as_str(), attempts, error), ("sent", 3, None));
    // The link minted on the try that worked is the one that works.
    let start = messages[0].find("/password/reset/").expect("a link in the email");
    let link = messages[0][start..].split_whitespace().next().unwrap().to_owned();
    assert_eq!(app.client().get(&link).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_server_down_for_good_gives_up_after_eight_tries_and_the_owner_can_retry() {
    let sink = crate::common::SmtpSink::start().await;
    sink.refuse_next(usize::MAX);
    let url = sink.url();
    let mut settings = QUICK_RETRIES.to_vec();
    settings.push(("SMTP_URL", &url));
    let app = spawn_app_with(&settings).await;
    let owner = app.signed_in("owner@example.com", "admin", Some("owner")).await;
    let id = queue_email(&app.pool, &app.state.outbox, "Hello").await;

    wait_until("eight tries", Duration::from_secs(15), async || {
        outbox_row(&app.pool, "family@example.com").await.0 == "failed"
    })
    .await;
    let (_, attempts, error) = outbox_row(&app.pool, "family@example.com").await;
    assert_eq!(attempts, 8);
    assert!(error.expect("the error is kept").contains("mailbox busy"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.refused(), 8, "no ninth try");
    let page = owner.get_text("/admin/outbox").await;
    assert!(page.contains("Not sent"), "{page}");
    assert!(page.contains("mailbox busy, try again later (8 tries)"), "{page}");
    assert!(page.contains(">Retry<"), "{page}");

    // The mail server is fixed; the owner retries, and it goes.
    sink.refuse_next(0);
    let response = owner.submit("/admin/outbox", &format!("/admin/outbox/{id}/retry"), &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin/outbox");
    assert_eq!(sink.wait_for(1).await.len(), 1);
    app.wait_for_emails_sent().await;
    let (status, attempts, error) = outbox_row(&app.pool, "family@example.com").await;
    assert_eq!((status.as_str(), attempts, error), ("sent", 1, None));
    let page = owner.get_text("/admin/outbox").await;
    assert!(page.contains("The email is queued to be sent again."), "{page}");
    let audit: i64 = sqlx::query_scalar("select count(*) from audit_log where action = 'outbox.retried'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(audit, 1);
    // A message that did not fail is not retried.
    let response = owner.submit("/admin/outbox", &format!("/admin/outbox/{id}/retry"), &[]).await;
    assert_eq!(response.status(), 303);
    assert!(owner.get_text("/admin/outbox").await.contains("not one that failed"));
    assert_eq!(sink.messages().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_server_that_never_answers_times_out_and_is_retried() {
    let silent = smtp::silent_server().await;
    let mut settings = QUICK_RETRIES.to_vec();
    settings.push(("SMTP_URL", &silent));
    settings.push(("SMTP_TIMEOUT_MS", "200"));
    let app = spawn_app_with(&settings).await;
    queue_email(&app.pool, &app.state.outbox, "Hello").await;
    wait_until("two timed-out tries", Duration::from_secs(10), async || {
        outbox_row(&app.pool, "family@example.com").await.1 >= 2
    })
    .await;
    let (status, _, error) = outbox_row(&app.pool, "family@example.com").await;
    assert_eq!(status, "pending", "still queued");
    assert!(error.is_some());
}

// ---------------------------------------------------------------------------------
// 3. Database outage
// ---------------------------------------------------------------------------------

/// A GET's status and body, and how long it took; a dropped connection fails the test.
async fn timed_get(client: &reqwest::Client, url: String) -> (u16, String, Duration) {
    let started = Instant::now();
    let response = client.get(&url).send().await.unwrap_or_else(|e| panic!("{url} answered: {e}"));
    let status = response.status().as_u16();
    (status, response.text().await.unwrap(), started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_outage_answers_503_within_seconds_and_recovers_without_a_restart() {
    let db = Arc::new(TestDatabase::new().await);
    let proxy = TcpProxy::start(&db.url).await;
    let through = proxy.url_for(&db.url);
    let app = spawn_app_on(db, &[("DATABASE_URL", &through), ("JOB_POLL_MS", "200")]).await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session_id = session(&app.pool, &football, 48, 10, None).await;
    let (parent_id, family) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let token = family.csrf_token("/parent").await;
    let family = Arc::new(family);

    // A booking caught half way: its place is taken in its transaction, and it waits
    // (on a lock the test holds) to write its email when the database goes.
    let mut lock = app.pool.begin().await.unwrap();
    sqlx::query("lock table outbox_emails in exclusive mode").execute(&mut *lock).await.unwrap();
    let booking = tokio::spawn({
        let (family, token) = (family.clone(), token.clone());
        async move { book(&family, &token, session_id, &[maya]).await.status().as_u16() }
    });
    wait_until("the booking waits half way", Duration::from_secs(10), async || {
        count(
            &app.pool,
            "select count(*) from pg_stat_activity where wait_event_type = 'Lock'
                           and query like 'insert into outbox_emails%'",
        )
        .await
            == 1
    })
    .await;

    proxy.cut();
    let cut = Instant::now();
    assert_eq!(booking.await.unwrap(), 503, "the booking cut short answers 503");
    assert!(cut.elapsed() < Duration::from_secs(6));
    lock.commit().await.unwrap();
    // The timed jobs fail quietly meanwhile.
    assert!(!portico::jobs::tick(&app.state, time::OffsetDateTime::now_utc()).await);

    let plain = reqwest::Client::new();
    let mut rounds = 0;
    while cut.elapsed() < Duration::from_secs(10) {
        let (page, ready, health) = tokio::join!(
            async {
                let started = Instant::now();
                let response = family.get("/parent/bookings").await;
                (response.status().as_u16(), response.text().await.unwrap(), started.elapsed())
            },
            timed_get(&plain, format!("{}/readyz", app.address)),
            timed_get(&plain, format!("{}/healthz", app.address)),
        );
        assert_eq!(page.0, 503, "{}", page.1);
        assert!(page.1.contains("Back in a moment"), "the friendly page: {}", page.1);
        assert!(page.2 < Duration::from_secs(6), "answered in {:?}", page.2);
        assert_eq!((ready.0, health.0), (503, 200));
        assert!(ready.2 < Duration::from_secs(6) && health.2 < Duration::from_millis(500));
        rounds += 1;
    }
    assert!(rounds >= 2, "pages were asked for throughout");

    proxy.restore();
    let back = Instant::now();
    wait_until("pages answer again", Duration::from_secs(5), async || {
        family.get("/parent/bookings").await.status() == 200
    })
    .await;
    assert!(back.elapsed() < Duration::from_secs(5));
    assert_eq!(plain.get(format!("{}/readyz", app.address)).send().await.unwrap().status(), 200);

    // The cut booking is wholly absent: no booking, no place taken, no email.
    assert_eq!(count(&app.pool, "select count(*) from bookings").await, 0);
    assert_eq!(count(&app.pool, "select count(*) from booking_participants").await, 0);
    assert_eq!(count(&app.pool, "select count(*) from outbox_emails").await, 0);
    let taken: i32 = sqlx::query_scalar("select places_taken from sessions where id = $1")
        .bind(session_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(taken, 0);
    // And everything carries on: the booking made again, its email sent, the sweeps run.
    assert_eq!(book(&family, &token, session_id, &[maya]).await.status(), 303);
    assert_eq!(app.smtp.wait_for(1).await.len(), 1, "the outbox worker carries on");
    assert!(portico::jobs::tick(&app.state, time::OffsetDateTime::now_utc()).await);
}

// ---------------------------------------------------------------------------------
// 4. Several app processes, one database
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_database_share_sessions_and_run_each_job_once() {
    let a = spawn_app_with(&[("JOB_POLL_MS", "200")]).await;
    let b = spawn_app_on(a.db.clone(), &[("JOB_POLL_MS", "200")]).await;

    // A session made on one server works on the other; signing out on either ends it on both.
    let on_a = a.signed_in("parent@example.com", "parent", None).await;
    let on_b = b.client();
    on_b.set_session_id(&on_a.session_id().expect("a session cookie"));
    assert_eq!(on_b.get("/parent").await.status(), 200, "the session works on the other server");
    assert_eq!(on_b.logout("/parent").await.status(), 303);
    let after = on_a.get("/parent").await;
    assert_eq!((after.status().as_u16(), location(&after)), (303, "/login"), "signed out on both");

    // Each email is sent once, by whichever server's worker takes it.
    const EMAILS: usize = 20;
    for n in 0..EMAILS {
        queue_email(&a.pool, &a.state.outbox, &format!("Message {n}")).await;
    }
    wait_until("every email sent", Duration::from_secs(15), async || {
        a.smtp.messages().await.len() + b.smtp.messages().await.len() >= EMAILS
    })
    .await;
    a.wait_for_emails_sent().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut subjects: Vec<String> = [a.smtp.messages().await, b.smtp.messages().await]
        .concat()
        .iter()
        .filter_map(|m| m.lines().find(|l| l.starts_with("Subject: ")).map(str::to_owned))
        .collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), EMAILS);
    assert_eq!(a.smtp.messages().await.len() + b.smtp.messages().await.len(), EMAILS, "none twice");

    // The every-minute sweeps: both servers tick each minute, one runs them.
    let start = time::OffsetDateTime::now_utc();
    for minute in 0..5 {
        let now = start + time::Duration::minutes(minute);
        let (ran_a, ran_b) =
            tokio::join!(portico::jobs::tick(&a.state, now), portico::jobs::tick(&b.state, now));
        assert!(ran_a ^ ran_b, "minute {minute}: exactly one server ran the sweeps ({ran_a}, {ran_b})");
    }
    assert_eq!(count(&a.pool, "select count(*) from sweep_ticks").await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_booking_race_split_across_two_servers_never_overbooks() {
    let a = spawn_app().await;
    let b = spawn_app_on(a.db.clone(), &[]).await;
    let football = activity(&a.pool, "Football", false, (4, 12), 24).await;
    let session_id = session(&a.pool, &football, 48, 3, None).await;

    let mut racing = tokio::task::JoinSet::new();
    for family in 0..4 {
        let (parent_id, signed_in) = parent(&a, &format!("family{family}@example.com")).await;
        // Half the families book through the other server, with the same session.
        let client = if family % 2 == 0 {
            signed_in
        } else {
            let there = b.client();
            there.set_session_id(&signed_in.session_id().unwrap());
            there
        };
        let token = client.csrf_token("/parent").await;
        let client = Arc::new(client);
        for n in 0..8 {
            let child_id = child(&a.pool, parent_id, &format!("Child{n}"), 7).await;
            let (client, token) = (client.clone(), token.clone());
            racing
                .spawn(async move { book(&client, &token, session_id, &[child_id]).await.status().as_u16() });
        }
    }
    let statuses: Vec<u16> = racing.join_all().await;
    assert_eq!(statuses.iter().filter(|s| **s == 303).count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 29, "{statuses:?}");
    assert_eq!(count(&a.pool, "select count(*) from booking_participants where holds_place").await, 3);
    let taken: i32 = sqlx::query_scalar("select places_taken from sessions where id = $1")
        .bind(session_id)
        .fetch_one(&a.pool)
        .await
        .unwrap();
    assert_eq!(taken, 3);
}

// ---------------------------------------------------------------------------------
// 5. Stripe down or slow
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_or_failing_stripe_leaves_the_booking_valid_and_tells_the_parent_to_try_again() {
    use wiremock::{
        Mock, MockServer, ResponseTemplate,
        matchers::{method, path},
    };
    let mock = MockServer::start().await;
    let app = spawn_app_with(&[
        ("STRIPE_SECRET_KEY", "sk_test_slow"),
        ("STRIPE_API_BASE", &mock.uri()),
        ("STRIPE_TIMEOUT_MS", "300"),
    ])
    .await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session_id = session(&app.pool, &football, 48, 10, None).await;
    let (parent_id, family) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let token = family.csrf_token("/parent").await;
    assert_eq!(book(&family, &token, session_id, &[maya]).await.status(), 303);
    let booking_id: i64 =
        sqlx::query_scalar("select max(id) from bookings").fetch_one(&app.pool).await.unwrap();
    let page = format!("/parent/bookings/{booking_id}");
    let status_before: String = sqlx::query_scalar("select status from bookings where id = $1")
        .bind(booking_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();

    // Slow: Stripe takes ten seconds; the page gives up after the timeout.
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(
                    serde_json::json!({ "id": "cs_slow", "url": "https://checkout.stripe.test/slow" }),
                )
                .set_delay(Duration::from_secs(10)),
        )
        .up_to_n_times(1)
        .mount(&mock)
        .await;
    // Then down: errors.
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(503).set_body_json(serde_json::json!({
            "error": { "type": "api_error", "message": "down" },
        })))
        .mount(&mock)
        .await;
    for how in ["slow", "down"] {
        let started = Instant::now();
        let response = family.submit(&page, &format!("{page}/pay"), &[]).await;
        assert!(started.elapsed() < Duration::from_secs(5), "{how}: answered in {:?}", started.elapsed());
        assert_eq!((response.status().as_u16(), location(&response)), (303, page.as_str()), "{how}");
        let shown = family.get_text(&page).await;
        assert!(shown.contains("Please try again, or pay the office."), "{how}: {shown}");
    }
    let status_after: String = sqlx::query_scalar("select status from bookings where id = $1")
        .bind(booking_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status_after, status_before, "the booking stands");
    assert_eq!(count(&app.pool, "select count(*) from payments").await, 0, "no payment half made");
    assert_eq!(count(&app.pool, "select count(*) from booking_participants where holds_place").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_refund_stripe_refused_is_retried_by_the_sweep_and_shown_to_finance_meanwhile() {
    use wiremock::{
        Mock, MockServer, ResponseTemplate,
        matchers::{method, path},
    };

    use crate::cancellation_refunds::{card_app, paid_by_card, refunded_on};
    let mock = MockServer::start().await;
    let app = card_app(&mock).await;
    let (_family, booking_id, session_id) = paid_by_card(&app, &mock).await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(500).set_body_json(serde_json::json!({
            "error": { "type": "api_error", "message": "Stripe is having a bad day" },
        })))
        .up_to_n_times(1)
        .mount(&mock)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "re_later", "object": "refund", "amount": 650, "status": "succeeded",
        })))
        .mount(&mock)
        .await;
    let office = crate::calendar_admin::coordinator(&app).await;
    let page = format!("/admin/sessions/{session_id}");
    let response = office.submit(&page, &format!("{page}/cancel"), &[("reason", "Pool closed")]).await;
    assert_eq!(response.status(), 303);
    let (attempts, due_in): (i32, f64) = sqlx::query_as(
        "select attempts, extract(epoch from next_try_at - now())::float8 from cancellation_refunds
          where status = 'failed'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(attempts, 1);
    assert!((250.0..=300.0).contains(&due_in), "tried again in five minutes: {due_in}");
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let listed = finance.get_text("/admin/payments").await;
    assert!(listed.contains("Card refunds Stripe refused") && listed.contains("bad day"), "{listed}");

    // Not yet due: the sweep leaves it. Due: the sweep sends it, once.
    assert!(portico::jobs::tick(&app.state, time::OffsetDateTime::now_utc()).await);
    assert_eq!(refunded_on(&app, booking_id).await, 0);
    sqlx::query("update cancellation_refunds set next_try_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    let next_minute = time::OffsetDateTime::now_utc() + time::Duration::minutes(1);
    assert!(portico::jobs::tick(&app.state, next_minute).await);
    assert_eq!(refunded_on(&app, booking_id).await, 650);
    assert_eq!(count(&app.pool, "select count(*) from cancellation_refunds where status = 'done'").await, 1);
    assert!(!finance.get_text("/admin/payments").await.contains("Card refunds Stripe refused"));
}

// ---------------------------------------------------------------------------------
// 6. Backups
// ---------------------------------------------------------------------------------

fn portico_command(args: &[&str], database_url: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "error")
        .output()
        .expect("run portico")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_of_the_demo_restores_into_a_fresh_database_with_the_same_bookings() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let dir = crate::common::TempDir::new("backup");
    let file = dir.0.join("portico.dump");
    let file = file.to_str().unwrap();
    let backup = portico_command(&["backup", file], &app.db.url);
    assert!(backup.status.success(), "{}", String::from_utf8_lossy(&backup.stderr));
    assert!(std::fs::metadata(file).unwrap().len() > 0);

    // A database that is not empty is refused.
    let refused = portico_command(&["restore", file], &app.db.url);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("empty database"));

    let fresh = Arc::new(TestDatabase::empty().await);
    let restore = portico_command(&["restore", file], &fresh.url);
    assert!(restore.status.success(), "{}", String::from_utf8_lossy(&restore.stderr));
    let restored = spawn_app_on(fresh, &[]).await;
    let bookings = "select string_agg(id::text || status, ',' order by id) from bookings";
    let before: String = sqlx::query_scalar(bookings).fetch_one(&app.pool).await.unwrap();
    let after: String = sqlx::query_scalar(bookings).fetch_one(&restored.pool).await.unwrap();
    assert_eq!(after, before);

    let (original, copy) = (app.client(), restored.client());
    for client in [&original, &copy] {
        let response = client.login("parent@portico.test", portico::demo::DEMO_PASSWORD).await;
        assert_eq!(response.status(), 303);
    }
    let links = |page: String| -> Vec<String> {
        page.split("href=\"/parent/bookings/")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().to_owned())
            .collect()
    };
    let seen = links(copy.get_text("/parent/bookings").await);
    assert!(!seen.is_empty(), "the parent sees bookings");
    assert_eq!(seen, links(original.get_text("/parent/bookings").await), "the same bookings");
}
