//! Staffing: only a qualified, active, free trainer can be assigned; the database
//! settles races; availability can be overridden with a reason; time off opens shifts.

use crate::calendar_admin::coordinator;
use crate::common::{
    TestApp,
    fixtures::{Activity, activity, count, session},
    spawn_app,
};

/// A trainer who may deliver `activity` and holds `qualifications` (name, expiry in
/// days from today, or None for never).
async fn qualified_trainer(
    app: &TestApp,
    email: &str,
    activity: &Activity,
    qualifications: &[(&str, Option<i32>)],
) -> i64 {
    let id = app.create_user(email, "trainer", None).await;
    sqlx::query("insert into activity_trainers (activity_id, trainer_id) values ($1, $2)")
        .bind(activity.id)
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    for (name, days) in qualifications {
        sqlx::query(
            "insert into trainer_qualifications (trainer_id, name, expires_on)
             values ($1, $2, current_date + $3::int)",
        )
        .bind(id)
        .bind(name)
        .bind(days)
        .execute(&app.pool)
        .await
        .unwrap();
    }
    id
}

async fn require(app: &TestApp, activity: &Activity, name: &str) {
    sqlx::query("insert into activity_required_qualifications (activity_id, name) values ($1, $2)")
        .bind(activity.id)
        .bind(name)
        .execute(&app.pool)
        .await
        .unwrap();
}

async fn assign(
    office: &crate::common::TestClient,
    session_id: i64,
    trainer_id: i64,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let page = format!("/admin/sessions/{session_id}");
    let trainer = trainer_id.to_string();
    let mut fields = vec![("trainer", trainer.as_str()), ("role", "lead"), ("action", "assign")];
    fields.extend_from_slice(extra);
    office.submit(&page, &format!("{page}/shifts"), &fields).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_admins_assigning_one_trainer_to_overlapping_sessions_at_once_one_wins() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let first = session(&app.pool, &football, 48, 10, None).await;
    let second = session(&app.pool, &football, 48, 10, None).await;
    let sam = qualified_trainer(&app, "sam@example.com", &football, &[]).await;
    let alice = coordinator(&app).await;
    let bob = app.signed_in("owner@example.com", "admin", Some("owner")).await;
    let (token_a, token_b) = (
        alice.csrf_token(&format!("/admin/sessions/{first}")).await,
        bob.csrf_token(&format!("/admin/sessions/{second}")).await,
    );
    let trainer = sam.to_string();

    let (path_a, path_b) =
        (format!("/admin/sessions/{first}/shifts"), format!("/admin/sessions/{second}/shifts"));
    let fields_a =
        [("csrf_token", token_a.as_str()), ("trainer", &trainer), ("role", "lead"), ("action", "assign")];
    let fields_b =
        [("csrf_token", token_b.as_str()), ("trainer", &trainer), ("role", "lead"), ("action", "assign")];
    let (a, b) = tokio::join!(alice.post_raw(&path_a, &fields_a), bob.post_raw(&path_b, &fields_b));

    let mut statuses = vec![a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, vec![303, 422]);
    let loser = if a.status() == 422 { a } else { b };
    let page = loser.text().await.unwrap();
    assert!(page.contains("Test trainer already has a shift at that time. Nothing was changed."), "{page}");
    assert_eq!(count(&app.pool, "select count(*) from shifts where status = 'accepted'").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assignment_is_refused_for_an_unqualified_trainer_an_expired_qualification_and_time_off() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    require(&app, &football, "DBS check").await;
    let session_id = session(&app.pool, &football, 48, 10, None).await;
    let stranger = app.create_user("stranger@example.com", "trainer", None).await;
    let no_dbs = qualified_trainer(&app, "nodbs@example.com", &football, &[("First aid", None)]).await;
    let expired = qualified_trainer(&app, "expired@example.com", &football, &[("DBS check", Some(-1))]).await;
    let away = qualified_trainer(&app, "away@example.com", &football, &[("DBS check", Some(365))]).await;
    sqlx::query(
        "insert into time_off_requests (trainer_id, kind, during, status)
         values ($1, 'holiday', tstzrange(now(), now() + interval '5 days'), 'approved')",
    )
    .bind(away)
    .execute(&app.pool)
    .await
    .unwrap();
    let office = coordinator(&app).await;

    for (trainer, message) in [
        (stranger, "is not approved to deliver Football."),
        (no_dbs, "does not have DBS check, which Football needs."),
        (expired, "DBS check expired on"),
        (away, "has approved time off then."),
    ] {
        let response = assign(&office, session_id, trainer, &[]).await;
        assert_eq!(response.status(), 422, "{message}");
        let page = response.text().await.unwrap();
        assert!(page.contains(message), "{message}: {page}");
        assert!(page.contains(&format!(r#"<option value="{trainer}" selected>"#)), "the choice is kept");
    }
    assert_eq!(count(&app.pool, "select count(*) from shifts").await, 0);
    let ok = qualified_trainer(&app, "ok@example.com", &football, &[("dbs CHECK", Some(365))]).await;
    assert_eq!(assign(&office, session_id, ok, &[]).await.status(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_their_availability_needs_a_reason_which_is_kept() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session_id = session(&app.pool, &football, 48, 10, None).await;
    let sam = qualified_trainer(&app, "sam@example.com", &football, &[]).await;
    // Available only one minute a week: the session is outside it.
    sqlx::query("insert into trainer_availability (trainer_id, weekday, starts, ends) values ($1, 1, '00:00', '00:01')")
        .bind(sam)
        .execute(&app.pool)
        .await
        .unwrap();
    let office = coordinator(&app).await;

    let refused = assign(&office, session_id, sam, &[]).await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("is not available then by their weekly availability"));
    assert_eq!(count(&app.pool, "select count(*) from shifts").await, 0);

    let allowed = assign(&office, session_id, sam, &[("override_reason", "Agreed by phone")]).await;
    assert_eq!(allowed.status(), 303);
    let note: String = sqlx::query_scalar("select assignment_note from shifts where status = 'accepted'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(note, "Outside availability: Agreed by phone");
    assert_eq!(count(&app.pool, "select count(*) from audit_log where action = 'shift.assigned'").await, 1);
    let page = office.get_text(&format!("/admin/sessions/{session_id}")).await;
    assert!(page.contains("fully staffed"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_shift_is_published_then_offered_to_a_suggested_trainer_by_email() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session_id = session(&app.pool, &football, 48, 10, None).await;
    let sam = qualified_trainer(&app, "sam@example.com", &football, &[]).await;
    app.create_user("other@example.com", "trainer", None).await;
    let office = coordinator(&app).await;
    let page = format!("/admin/sessions/{session_id}");

    let open = office.submit(&page, &format!("{page}/shifts"), &[("role", "lead"), ("action", "open")]).await;
    assert_eq!(open.status(), 303);
    let text = office.get_text(&page).await;
    assert!(
        text.contains("Suggested trainers") && text.contains(&format!(r#"name="trainer" value="{sam}""#)),
        "{text}"
    );
    assert!(!text.contains("other@example.com"));
    let shift: i64 = sqlx::query_scalar("select id from shifts").fetch_one(&app.pool).await.unwrap();
    let trainer = sam.to_string();
    let shift_field = shift.to_string();

    let offered = office
        .submit(
            &page,
            &format!("{page}/shifts"),
            &[("trainer", &trainer), ("role", "lead"), ("action", "offer"), ("shift", &shift_field)],
        )
        .await;

    assert_eq!(offered.status(), 303);
    let row: (String, Option<i64>) =
        sqlx::query_as("select status, trainer_id from shifts").fetch_one(&app.pool).await.unwrap();
    assert_eq!(row, ("offered".into(), Some(sam)));
    assert_eq!(
        count(&app.pool, "select count(*) from shifts").await,
        1,
        "the open shift was filled, not duplicated"
    );
    assert_eq!(count(&app.pool, "select count(*) from outbox_emails where to_address = 'sam@example.com' and subject like 'Shift offered%'").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approving_time_off_opens_the_clashing_shifts_first_and_tells_the_coordinators() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session_id = session(&app.pool, &football, 48, 10, None).await;
    let later = session(&app.pool, &football, 24 * 10, 10, None).await;
    let sam = qualified_trainer(&app, "sam@example.com", &football, &[]).await;
    for s in [session_id, later] {
        sqlx::query("insert into shifts (session_id, trainer_id, status) values ($1, $2, 'accepted')")
            .bind(s)
            .bind(sam)
            .execute(&app.pool)
            .await
            .unwrap();
    }
    let request: i64 = sqlx::query_scalar(
        "insert into time_off_requests (trainer_id, kind, during, reason)
         values ($1, 'holiday', tstzrange(now(), now() + interval '5 days'), 'Wedding') returning id",
    )
    .bind(sam)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let declined: i64 = sqlx::query_scalar(
        "insert into time_off_requests (trainer_id, kind, during) values ($1, 'other', tstzrange(now() + interval '20 days', now() + interval '21 days')) returning id",
    )
    .bind(sam)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let office = coordinator(&app).await;
    assert!(office.get_text("/admin/time-off").await.contains("Approving opens 1 shift(s)"));

    let response = office.submit("/admin/time-off", &format!("/admin/time-off/{request}/approve"), &[]).await;

    assert_eq!(response.status(), 303);
    let shifts: Vec<(i64, String, Option<i64>)> =
        sqlx::query_as("select session_id, status, trainer_id from shifts order by session_id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(shifts, vec![(session_id, "open".into(), None), (later, "accepted".into(), Some(sam))]);
    let status: String = sqlx::query_scalar("select status from time_off_requests where id = $1")
        .bind(request)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "approved");
    assert_eq!(count(&app.pool, "select count(*) from outbox_emails where to_address = 'coord@example.com' and subject like 'Open shifts%'").await, 1);

    let response =
        office.submit("/admin/time-off", &format!("/admin/time-off/{declined}/decline"), &[]).await;
    assert_eq!(response.status(), 303);
    let status: String = sqlx::query_scalar("select status from time_off_requests where id = $1")
        .bind(declined)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "declined");
}
