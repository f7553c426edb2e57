//! Trainers hear about changes to their work: a session moved under their shift, and
//! the office's decision on their time off.

use crate::calendar_admin::coordinator;
use crate::common::{
    fixtures::{activity, count, session, shift},
    spawn_app,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_this_and_following_sessions_emails_each_trainer_on_them_once() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let series: i64 = sqlx::query_scalar(
        "insert into series (activity_id, venue_id, name, recurrence_rule)
         values ($1, $2, 'Autumn', 'FREQ=WEEKLY') returning id",
    )
    .bind(football.id)
    .bind(football.venue_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let first = session(&app.pool, &football, 24 * 7, 10, Some(series)).await;
    let second = session(&app.pool, &football, 24 * 14, 10, Some(series)).await;
    let third = session(&app.pool, &football, 24 * 21, 10, Some(series)).await;
    let sam = app.create_user("sam@example.com", "trainer", None).await;
    let kim = app.create_user("kim@example.com", "trainer", None).await;
    let lee = app.create_user("lee@example.com", "trainer", None).await;
    shift(&app.pool, first, Some(lee), "accepted").await;
    shift(&app.pool, second, Some(sam), "accepted").await;
    shift(&app.pool, third, Some(sam), "accepted").await;
    shift(&app.pool, third, Some(kim), "offered").await;
    let office = coordinator(&app).await;
    let edit = format!("/admin/sessions/{second}/edit");
    let form = office.get_text(&edit).await;
    let date = form.split(r#"name="date" type="date" value=""#).nth(1).unwrap()[..10].to_owned();
    let venue = football.venue_id.to_string();

    let response = office
        .submit(
            &edit,
            &edit,
            &[
                ("date", &date),
                ("start_time", "06:15"),
                ("end_time", "07:00"),
                ("venue", &venue),
                ("capacity", "10"),
                ("scope", "following"),
            ],
        )
        .await;

    assert_eq!(response.status(), 303);
    let sent = |to: &str| {
        format!(
            "select count(*) from outbox_emails where to_address = '{to}' and subject like 'Shift changed%'"
        )
    };
    assert_eq!(count(&app.pool, &sent("sam@example.com")).await, 1, "one email for both sessions");
    assert_eq!(count(&app.pool, &sent("kim@example.com")).await, 1, "an offer is told too");
    assert_eq!(count(&app.pool, &sent("lee@example.com")).await, 0, "the earlier session did not move");
    let body: String =
        sqlx::query_scalar("select body_text from outbox_emails where to_address = 'sam@example.com'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(body.matches("is now").count(), 2, "{body}");
    assert!(body.contains("06:15"), "{body}");

    let unchanged = office
        .submit(
            &edit,
            &edit,
            &[
                ("date", &date),
                ("start_time", "06:15"),
                ("end_time", "07:00"),
                ("venue", &venue),
                ("capacity", "12"),
                ("scope", "this"),
            ],
        )
        .await;
    assert_eq!(unchanged.status(), 303);
    assert_eq!(count(&app.pool, &sent("sam@example.com")).await, 1, "a capacity change moves no one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trainer_is_emailed_when_their_time_off_is_approved_or_declined() {
    let app = spawn_app().await;
    let sam = app.create_user("sam@example.com", "trainer", None).await;
    let request = |days: i32| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "insert into time_off_requests (trainer_id, kind, during)
                 values ($1, 'holiday', tstzrange(now() + make_interval(days => $2), now() + make_interval(days => $2 + 2)))
                 returning id",
            )
            .bind(sam)
            .bind(days)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let approved = request(10).await;
    let declined = request(20).await;
    let office = coordinator(&app).await;

    let yes = office
        .submit("/admin/time-off", &format!("/admin/time-off/{approved}/approve"), &[("note", "Enjoy it")])
        .await;
    let no = office
        .submit("/admin/time-off", &format!("/admin/time-off/{declined}/decline"), &[("note", "Busy week")])
        .await;

    assert_eq!((yes.status().as_u16(), no.status().as_u16()), (303, 303));
    assert_eq!(
        count(&app.pool, "select count(*) from outbox_emails where to_address = 'sam@example.com' and subject = 'Time off approved' and body_text like '%Enjoy it%'").await,
        1
    );
    assert_eq!(
        count(&app.pool, "select count(*) from outbox_emails where to_address = 'sam@example.com' and subject = 'Time off declined' and body_text like '%Busy week%'").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taking_a_trainer_off_a_session_emails_them() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session_id = session(&app.pool, &football, 48, 10, None).await;
    let sam = app.create_user("sam@example.com", "trainer", None).await;
    let held = shift(&app.pool, session_id, Some(sam), "accepted").await;
    let open = shift(&app.pool, session_id, None, "open").await;
    let office = coordinator(&app).await;
    let page = format!("/admin/sessions/{session_id}");

    let removed = office.submit(&page, &format!("/admin/shifts/{held}/cancel"), &[]).await;
    let removed_open = office.submit(&page, &format!("/admin/shifts/{open}/cancel"), &[]).await;

    assert_eq!((removed.status().as_u16(), removed_open.status().as_u16()), (303, 303));
    assert_eq!(count(&app.pool, "select count(*) from shifts where status = 'cancelled'").await, 2);
    assert_eq!(
        count(&app.pool, "select count(*) from outbox_emails where to_address = 'sam@example.com' and subject like 'Shift cancelled: Football%'").await,
        1
    );
    assert_eq!(count(&app.pool, "select count(*) from outbox_emails").await, 1);
}
