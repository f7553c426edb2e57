//! Trainers as the office manages them: profiles, deactivation, invitations and
//! applications.

use crate::calendar_admin::coordinator;
use crate::common::{
    TestApp,
    client::location,
    fixtures::{activity, count, session},
    spawn_app,
};

pub async fn trainer(app: &TestApp, email: &str) -> i64 {
    app.create_user(email, "trainer", None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approving_an_application_creates_exactly_one_user_and_trainer_profile() {
    let app = spawn_app().await;
    let visitor = app.client();
    let fields = [
        ("name", "Jo Coach"),
        ("email", "Jo@Example.com"),
        ("phone", "07700 900123"),
        ("experience", "Five years of Saturday football"),
        ("qualifications", "DBS check"),
    ];
    let response = visitor.submit("/apply", "/apply", &fields).await;
    assert_eq!(response.status(), 303);
    assert!(visitor.get_text(location(&response)).await.contains("your application is with us"));
    let office = coordinator(&app).await;
    let application: i64 =
        sqlx::query_scalar("select id from trainer_applications").fetch_one(&app.pool).await.unwrap();
    let approve = format!("/admin/trainers/applications/{application}/approve");

    let first = office.submit("/admin/trainers/applications", &approve, &[]).await;
    let second = office.submit("/admin/trainers/applications", &approve, &[]).await;

    assert_eq!(first.status(), 303);
    assert_eq!(second.status(), 303);
    assert_eq!(
        count(&app.pool, "select count(*) from users where email = 'jo@example.com' and role = 'trainer'")
            .await,
        1
    );
    assert_eq!(
        count(&app.pool, "select count(*) from trainer_profiles t join users u on u.id = t.user_id where u.email = 'jo@example.com'").await,
        1
    );
    assert_eq!(
        count(
            &app.pool,
            "select count(*) from trainer_applications where status = 'approved' and user_id is not null"
        )
        .await,
        1
    );
    assert_eq!(count(&app.pool, "select count(*) from outbox_emails where to_address = 'jo@example.com' and link_purpose = 'welcome' and body_text like '%[link withheld%'").await, 1);
    assert!(office.get_text("/admin/trainers/applications").await.contains("already been decided"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejection_needs_a_reason_and_a_bad_application_keeps_its_values() {
    let app = spawn_app().await;
    let visitor = app.client();
    let bad =
        visitor.submit("/apply", "/apply", &[("name", "Jo"), ("email", "jo@"), ("experience", "")]).await;
    assert_eq!(bad.status(), 422);
    let page = bad.text().await.unwrap();
    assert!(page.contains(r#"value="jo@""#) && page.contains("Enter an email address like"));
    assert_eq!(count(&app.pool, "select count(*) from trainer_applications").await, 0);

    visitor
        .submit(
            "/apply",
            "/apply",
            &[("name", "Jo"), ("email", "jo@example.com"), ("phone", "07700 900123"), ("experience", "Lots")],
        )
        .await;
    let office = coordinator(&app).await;
    let id: i64 =
        sqlx::query_scalar("select id from trainer_applications").fetch_one(&app.pool).await.unwrap();
    let reject = format!("/admin/trainers/applications/{id}/reject");
    let no_reason = office.submit("/admin/trainers/applications", &reject, &[("reason", "")]).await;
    assert_eq!(no_reason.status(), 422);
    let rejected =
        office.submit("/admin/trainers/applications", &reject, &[("reason", "No openings this term")]).await;
    assert_eq!(rejected.status(), 303);
    assert_eq!(count(&app.pool, "select count(*) from users where email = 'jo@example.com'").await, 0);
    assert_eq!(
        count(&app.pool, "select count(*) from outbox_emails where body_text like '%No openings this term%'")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inviting_a_trainer_opens_their_account_and_emails_a_link() {
    let app = spawn_app().await;
    let office = coordinator(&app).await;
    let bad = office
        .submit(
            "/admin/trainers/invite",
            "/admin/trainers/invite",
            &[("name", ""), ("email", "sam@example.com")],
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains(r#"value="sam@example.com""#));

    let response = office
        .submit(
            "/admin/trainers/invite",
            "/admin/trainers/invite",
            &[("name", "Sam Lee"), ("email", "sam@example.com")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let profile = office.get_text(location(&response)).await;
    assert!(profile.contains("Sam Lee"));
    assert_eq!(count(&app.pool, "select count(*) from trainer_profiles").await, 1);
    assert_eq!(
        count(&app.pool, "select count(*) from outbox_emails where to_address = 'sam@example.com'").await,
        1
    );
    let taken = office
        .submit(
            "/admin/trainers/invite",
            "/admin/trainers/invite",
            &[("name", "Sam Lee"), ("email", "sam@example.com")],
        )
        .await;
    assert_eq!(taken.status(), 422);
    assert!(taken.text().await.unwrap().contains("An account already uses this email."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_is_edited_with_its_activities_and_qualifications_warned_before_expiry() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let sam = trainer(&app, "sam@example.com").await;
    let office = coordinator(&app).await;
    let page = format!("/admin/trainers/{sam}");
    let activity_id = football.id.to_string();

    let bad = office
        .submit(&page, &page, &[("bio", "Coach"), ("hourly_rate", "ten"), ("activity", &activity_id)])
        .await;
    assert_eq!(bad.status(), 422);
    let text = bad.text().await.unwrap();
    assert!(text.contains(r#"value="ten""#) && text.contains("Enter an amount in pounds"));

    let ok = office
        .submit(
            &page,
            &page,
            &[
                ("bio", "Coach"),
                ("hourly_rate", "14.50"),
                ("can_travel", "yes"),
                ("max_travel_miles", "15"),
                ("activity", &activity_id),
            ],
        )
        .await;
    assert_eq!(ok.status(), 303);
    let rate: i32 = sqlx::query_scalar("select hourly_rate_pence from trainer_profiles")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rate, 1450);
    assert_eq!(count(&app.pool, "select count(*) from activity_trainers").await, 1);

    let soon = (time::OffsetDateTime::now_utc().date() + time::Duration::days(10)).to_string();
    let added = office
        .submit(
            &page,
            &format!("{page}/qualifications"),
            &[("qualification_name", "First aid"), ("expires_on", &soon)],
        )
        .await;
    assert_eq!(added.status(), 303);
    let text = office.get_text(&page).await;
    assert!(text.contains("expiring soon"), "{text}");
    let bad = office
        .submit(
            &page,
            &format!("{page}/qualifications"),
            &[("qualification_name", "DBS"), ("expires_on", "never")],
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains(r#"value="never""#));
    let note = office.submit(&page, &format!("{page}/notes"), &[("note", "Great with shy children")]).await;
    assert_eq!(note.status(), 303);
    assert!(office.get_text(&page).await.contains("Great with shy children"));
    let contact = office
        .submit(&page, &format!("{page}/contacts"), &[("contact_name", "Pat"), ("contact_phone", "no")])
        .await;
    assert_eq!(contact.status(), 422);
    assert!(contact.text().await.unwrap().contains(r#"value="Pat""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivating_a_trainer_opens_their_future_shifts_in_one_step() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let past = session(&app.pool, &football, -48, 10, None).await;
    let future = session(&app.pool, &football, 48, 10, None).await;
    let sam = trainer(&app, "sam@example.com").await;
    for (s, status) in [(past, "checked_out"), (future, "accepted")] {
        sqlx::query("insert into shifts (session_id, trainer_id, status) values ($1, $2, $3)")
            .bind(s)
            .bind(sam)
            .bind(status)
            .execute(&app.pool)
            .await
            .unwrap();
    }
    let office = coordinator(&app).await;
    let page = format!("/admin/trainers/{sam}");

    let response = office.submit(&page, &format!("{page}/deactivate"), &[]).await;

    assert_eq!(response.status(), 303);
    let shifts: Vec<(i64, String, Option<i64>)> =
        sqlx::query_as("select session_id, status, trainer_id from shifts order by session_id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(shifts, vec![(past, "checked_out".into(), Some(sam)), (future, "open".into(), None)]);
    let active: bool = sqlx::query_scalar("select is_active from users where id = $1")
        .bind(sam)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!active);
    assert!(office.get_text(&page).await.contains("1 future shift(s) are open"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trainers_are_searched_by_name() {
    let app = spawn_app().await;
    trainer(&app, "sam@example.com").await;
    sqlx::query("update users set name = 'Sam Lee' where email = 'sam@example.com'")
        .execute(&app.pool)
        .await
        .unwrap();
    trainer(&app, "alex@example.com").await;
    let office = coordinator(&app).await;
    let page = office.get_text("/admin/trainers?q=lee").await;
    assert!(page.contains("sam@example.com") && !page.contains("alex@example.com"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_time_off_request_is_decided_once_and_an_unknown_one_is_not_found() {
    let app = spawn_app().await;
    let sam = trainer(&app, "sam@example.com").await;
    let request: i64 = sqlx::query_scalar(
        "insert into time_off_requests (trainer_id, kind, during)
         values ($1, 'sickness', tstzrange(now() + interval '5 days', now() + interval '6 days')) returning id",
    )
    .bind(sam)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let office = coordinator(&app).await;
    let page = "/admin/time-off";
    assert!(office.get_text(page).await.contains("Sickness"), "the kind's label, not its value");

    let approve = format!("/admin/time-off/{request}/approve");
    assert_eq!(office.submit(page, &approve, &[]).await.status(), 303);
    let again = office.submit(page, &format!("/admin/time-off/{request}/decline"), &[]).await;

    assert_eq!(again.status(), 303);
    assert!(office.get_text(page).await.contains("already been decided"));
    let status: String =
        sqlx::query_scalar("select status from time_off_requests").fetch_one(&app.pool).await.unwrap();
    assert_eq!(status, "approved");
    assert_eq!(
        count(&app.pool, "select count(*) from outbox_emails where to_address = 'sam@example.com'").await,
        1,
        "one decision, one email"
    );
    assert_eq!(
        office.submit(page, &format!("/admin/time-off/{}/approve", request + 1), &[]).await.status(),
        404
    );
    assert_eq!(office.submit(page, "/admin/time-off/abc/approve", &[]).await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_from_someone_with_an_account_stays_pending() {
    let app = spawn_app().await;
    trainer(&app, "sam@example.com").await;
    let id: i64 = sqlx::query_scalar(
        "insert into trainer_applications (name, email, phone, experience, qualifications)
         values ('Sam', 'sam@example.com', '07700 900123', 'Coaching', '') returning id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let office = coordinator(&app).await;
    let page = "/admin/trainers/applications";

    let response = office.submit(page, &format!("{page}/{id}/approve"), &[]).await;

    assert_eq!((response.status().as_u16(), location(&response)), (303, page));
    let shown = office.get_text(page).await;
    assert!(shown.contains("already has an account") && shown.contains("Pending"), "{shown}");
    assert_eq!(
        count(&app.pool, "select count(*) from trainer_applications where status = 'pending'").await,
        1
    );
    assert_eq!(count(&app.pool, "select count(*) from users where email = 'sam@example.com'").await, 1);
}
