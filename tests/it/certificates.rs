//! Results and certificates: recorded only by the session's own trainers, a pass issues
//! exactly one certificate with a random number, the public check shows nothing private,
//! the PDF is its learner's and the office's only, and expiry reminders go once each.

use sqlx::PgPool;
use time::Duration;

use crate::common::{
    TestApp, TestClient,
    fixtures::{self, count, parent, session_in_minutes},
    spawn_app,
};
use crate::learners::{adult, course};

/// A place held on `session_id` for `participant`, booked (approved) by `account`.
async fn place(pool: &PgPool, account: i64, session_id: i64, participant: i64) {
    let booking: i64 =
        sqlx::query_scalar("insert into bookings (parent_id, status) values ($1, 'approved') returning id")
            .bind(account)
            .fetch_one(pool)
            .await
            .unwrap();
    sqlx::query("insert into booking_participants (booking_id, session_id, child_id, price_pence) values ($1, $2, $3, 0)")
        .bind(booking)
        .bind(session_id)
        .bind(participant)
        .execute(pool)
        .await
        .unwrap();
}

struct Course {
    session_id: i64,
    trainer: TestClient,
    account: i64,
    customer: TestClient,
    learners: Vec<i64>,
}

/// A course for adults (36-month certificates) that started an hour ago, worked by a
/// trainer, with `n` delegates of one customer booked on it.
async fn started_course(app: &TestApp, n: usize) -> Course {
    let (activity, _) = course(&app.pool, "First Aid at Work", "adults", Some(36)).await;
    let session_id = session_in_minutes(&app.pool, &activity, -60, 30).await;
    let (trainer_id, trainer) = fixtures::trainer(app, "aisha@example.com", &activity).await;
    fixtures::shift(&app.pool, session_id, Some(trainer_id), "checked_in").await;
    let (account, customer) = parent(app, "company@example.com").await;
    let mut learners = Vec::new();
    for i in 0..n {
        let id =
            adult(&app.pool, account, "delegate", &format!("Learner{i}"), Some(&format!("l{i}@example.com")))
                .await;
        place(&app.pool, account, session_id, id).await;
        learners.push(id);
    }
    Course { session_id, trainer, account, customer, learners }
}

async fn record(trainer: &TestClient, session_id: i64, results: &[(i64, &str, &str)]) -> reqwest::Response {
    let page = format!("/trainer/sessions/{session_id}/results");
    let names: Vec<(String, String, String, String)> = results
        .iter()
        .map(|(id, r, n)| (format!("result_{id}"), r.to_string(), format!("note_{id}"), n.to_string()))
        .collect();
    let mut fields: Vec<(&str, &str)> = Vec::new();
    for (rk, rv, nk, nv) in &names {
        fields.push((rk, rv));
        fields.push((nk, nv));
    }
    trainer.submit(&page, &page, &fields).await
}

async fn numbers(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("select number from certificates order by id").fetch_all(pool).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_are_recorded_only_by_the_sessions_own_trainers() {
    let app = spawn_app().await;
    let c = started_course(&app, 1).await;
    let page = format!("/trainer/sessions/{}/results", c.session_id);
    assert!(c.trainer.get_text(&page).await.contains("Learner0 Adult"));

    let other = app.signed_in("other@example.com", "trainer", None).await;
    assert_eq!(other.get(&page).await.status(), 404);
    let token = c.trainer.csrf_token(&page).await;
    let learner = format!("result_{}", c.learners[0]);
    let response = other
        .post_raw(&page, &[("csrf_token", &other.csrf_token("/trainer").await), (&learner, "passed")])
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(c.customer.get(&page).await.status(), 403);
    assert_eq!(count(&app.pool, "select count(*) from course_results").await, 0);

    let response = c.trainer.post_raw(&page, &[("csrf_token", &token), (&learner, "brilliant")]).await;
    assert_eq!(response.status(), 422, "an unknown result is refused");
    assert_eq!(
        record(&c.trainer, c.session_id, &[(c.learners[0], "attended", "Left at lunch")]).await.status(),
        303
    );
    let audit =
        count(&app.pool, "select count(*) from audit_log where action = 'course_result.recorded'").await;
    assert_eq!(audit, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_issues_exactly_one_certificate_and_taking_it_back_revokes_it() {
    let app = spawn_app().await;
    let c = started_course(&app, 2).await;
    let (pass, fail) = (c.learners[0], c.learners[1]);
    let response =
        record(&c.trainer, c.session_id, &[(pass, "passed", ""), (fail, "failed", "More CPR practice")])
            .await;
    assert_eq!(response.status(), 303);
    assert_eq!(record(&c.trainer, c.session_id, &[(pass, "passed", "Confident")]).await.status(), 303);
    assert_eq!(count(&app.pool, "select count(*) from certificates").await, 1, "one pass, one certificate");
    let (learner, trainer, months): (String, String, i32) = sqlx::query_as(
        "select learner_name, trainer_name,
                ((extract(year from age(expires_on, course_date)) * 12) + extract(month from age(expires_on, course_date)))::int
         from certificates",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((learner.as_str(), trainer.as_str(), months), ("Learner0 Adult", "Test trainer", 36));
    assert_eq!(
        count(&app.pool, "select count(*) from audit_log where action = 'certificate.issued'").await,
        1
    );

    assert_eq!(record(&c.trainer, c.session_id, &[(pass, "referred", "")]).await.status(), 303);
    assert_eq!(count(&app.pool, "select count(*) from certificates where revoked_at is null").await, 0);
    assert_eq!(record(&c.trainer, c.session_id, &[(pass, "passed", "")]).await.status(), 303);
    assert_eq!(count(&app.pool, "select count(*) from certificates where revoked_at is null").await, 1);
    assert_eq!(count(&app.pool, "select count(*) from certificates").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_numbers_are_unique_and_not_guessable_from_each_other() {
    let app = spawn_app().await;
    let c = started_course(&app, 12).await;
    let all: Vec<(i64, &str, &str)> = c.learners.iter().map(|id| (*id, "passed", "")).collect();
    assert_eq!(record(&c.trainer, c.session_id, &all).await.status(), 303);
    let numbers = numbers(&app.pool).await;
    assert_eq!(numbers.len(), 12);
    let mut distinct = numbers.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 12);
    for n in &numbers {
        assert!(n.starts_with("FA-") && n.len() == 17, "{n}");
    }
    // Issued one after another, yet no two share more than chance in place.
    for pair in numbers.windows(2) {
        let same = pair[0].bytes().zip(pair[1].bytes()).skip(3).filter(|(a, b)| a == b && *a != b'-').count();
        assert!(same <= 5, "{pair:?}");
    }
}

async fn check(client: &TestClient, number: &str) -> (u16, String) {
    let response = client.submit("/certificates/verify", "/certificates/verify", &[("number", number)]).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_check_shows_the_state_and_nothing_private() {
    let app = spawn_app().await;
    let c = started_course(&app, 1).await;
    assert_eq!(record(&c.trainer, c.session_id, &[(c.learners[0], "passed", "")]).await.status(), 303);
    let number = numbers(&app.pool).await.remove(0);
    let anyone = app.client();

    let (status, page) = check(&anyone, &number.to_lowercase()).await;
    assert_eq!(status, 200);
    assert!(page.contains("Valid") && page.contains("First Aid at Work"), "{page}");
    for private in ["Learner0", "l0@example.com", "Test trainer", "company@example.com"] {
        assert!(!page.contains(private), "the check shows {private}: {page}");
    }

    sqlx::query("update certificates set issued_on = current_date - 1200, expires_on = current_date - 1")
        .execute(&app.pool)
        .await
        .unwrap();
    assert!(check(&anyone, &number).await.1.contains("Expired"));

    let office = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    let id: i64 = sqlx::query_scalar("select id from certificates").fetch_one(&app.pool).await.unwrap();
    let page = format!("/admin/certificates/{id}");
    let response = office.submit(&page, &format!("{page}/revoke"), &[("reason", "")]).await;
    assert_eq!(response.status(), 422, "a reason is needed");
    let response = office.submit(&page, &format!("{page}/revoke"), &[("reason", "Issued in error")]).await;
    assert_eq!(response.status(), 303);
    let (_, page) = check(&anyone, &number).await;
    assert!(page.contains("Revoked") && !page.contains("Issued in error"), "{page}");
    assert_eq!(
        count(&app.pool, "select count(*) from audit_log where action = 'certificate.revoked'").await,
        1
    );

    assert_eq!(check(&anyone, "FA-2222-3333-4444").await.0, 404);
    assert_eq!(check(&anyone, "<script>").await.0, 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_check_is_rate_limited_per_client() {
    let app = spawn_app().await;
    let anyone = app.client();
    for _ in 0..30 {
        assert_eq!(check(&anyone, "FA-2222-3333-4444").await.0, 404);
    }
    let (status, page) = check(&anyone, "FA-2222-3333-4444").await;
    assert_eq!(status, 429);
    assert!(page.contains("try again in an hour"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pdf_is_downloadable_by_its_learner_and_the_office_and_not_by_another_customer() {
    let app = spawn_app().await;
    let c = started_course(&app, 1).await;
    assert_eq!(record(&c.trainer, c.session_id, &[(c.learners[0], "passed", "")]).await.status(), 303);
    let id: i64 = sqlx::query_scalar("select id from certificates").fetch_one(&app.pool).await.unwrap();
    let number = numbers(&app.pool).await.remove(0);

    let mine = c.customer.get_text("/parent/certificates").await;
    assert!(mine.contains(&number), "{mine}");
    let response = c.customer.get(&format!("/parent/certificates/{id}/pdf")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let pdf = response.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-") && String::from_utf8_lossy(&pdf).contains(&number));

    let office = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    assert_eq!(office.get(&format!("/admin/certificates/{id}/pdf")).await.status(), 200);
    let (_, stranger) = parent(&app, "stranger@example.com").await;
    assert_eq!(stranger.get(&format!("/parent/certificates/{id}/pdf")).await.status(), 404);
    assert!(!stranger.get_text("/parent/certificates").await.contains(&number));
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    assert_eq!(finance.get(&format!("/admin/certificates/{id}/pdf")).await.status(), 403);
    assert_eq!(
        c.account,
        sqlx::query_scalar::<_, i64>("select account_id from certificates")
            .fetch_one(&app.pool)
            .await
            .unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_filters_certificates_and_exports_them_as_csv() {
    let app = spawn_app().await;
    let c = started_course(&app, 2).await;
    let all: Vec<(i64, &str, &str)> = c.learners.iter().map(|id| (*id, "passed", "")).collect();
    assert_eq!(record(&c.trainer, c.session_id, &all).await.status(), 303);
    sqlx::query(
        "update certificates set expires_on = current_date + 20 where learner_name = 'Learner1 Adult'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let office = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    let page = office.get_text("/admin/certificates?expiring=90").await;
    assert!(page.contains("Learner1 Adult") && !page.contains("Learner0 Adult"), "{page}");
    let page = office.get_text("/admin/certificates?q=learner0").await;
    assert!(page.contains("Learner0 Adult") && !page.contains("Learner1 Adult"), "{page}");
    let page = office.get_text("/admin/certificates?status=revoked").await;
    assert!(page.contains("No certificates match."), "{page}");
    let csv = office.get("/admin/certificates.csv?expiring=90").await;
    assert_eq!(csv.status(), 200);
    let body = csv.text().await.unwrap();
    assert!(
        body.contains("Number,Learner,Course")
            && body.contains("Learner1 Adult")
            && !body.contains("Learner0"),
        "{body}"
    );
    let (_, customer) = parent(&app, "nosy@example.com").await;
    assert_eq!(customer.get("/admin/certificates").await.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_reminders_go_once_at_90_days_and_once_at_30_with_a_rebook_link() {
    let app = spawn_app().await;
    let c = started_course(&app, 1).await;
    assert_eq!(record(&c.trainer, c.session_id, &[(c.learners[0], "passed", "")]).await.status(), 303);
    let expires: time::Date =
        sqlx::query_scalar("select expires_on from certificates").fetch_one(&app.pool).await.unwrap();
    let send = |day: time::Date| portico::certificates::reminders::send_due(&app.state, day);

    assert_eq!(send(expires - Duration::days(120)).await.unwrap(), 0, "too early");
    assert_eq!(send(expires - Duration::days(89)).await.unwrap(), 1);
    assert_eq!(send(expires - Duration::days(88)).await.unwrap(), 0, "the 90-day reminder goes once");
    assert_eq!(send(expires - Duration::days(40)).await.unwrap(), 0);
    assert_eq!(send(expires - Duration::days(29)).await.unwrap(), 1);
    assert_eq!(send(expires - Duration::days(10)).await.unwrap(), 0, "the 30-day reminder goes once");

    let emails: Vec<(String, String)> = sqlx::query_as(
        "select to_address, body_text from outbox_emails where subject like '%certificate expires%'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(emails.len(), 2);
    assert!(
        emails.iter().all(|(to, _)| to == "l0@example.com"),
        "a delegate's reminder goes to the delegate"
    );
    assert!(emails[0].1.contains("/parent/sessions?activity="), "{}", emails[0].1);
}
