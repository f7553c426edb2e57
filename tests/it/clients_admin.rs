//! Assigned clients: a client is assigned to a trainer, transferred with a reason and
//! the history kept, and on request their future shifts move where the new trainer is free.

use crate::calendar_admin::coordinator;
use crate::common::{
    TestApp,
    client::location,
    fixtures::{Activity, activity, book, child, count, parent, session, shift},
    spawn_app,
};

async fn named_trainer(app: &TestApp, email: &str, name: &str) -> i64 {
    let id = app.create_user(email, "trainer", None).await;
    sqlx::query("update users set name = $2 where id = $1")
        .bind(id)
        .bind(name)
        .execute(&app.pool)
        .await
        .unwrap();
    id
}

/// Lets `trainer_id` deliver `activity` (activity_trainers).
async fn approve(app: &TestApp, trainer_id: i64, activity: &Activity) {
    sqlx::query("insert into activity_trainers (activity_id, trainer_id) values ($1, $2)")
        .bind(activity.id)
        .bind(trainer_id)
        .execute(&app.pool)
        .await
        .unwrap();
}

async fn requires(app: &TestApp, activity: &Activity, qualification: &str) {
    sqlx::query("insert into activity_required_qualifications (activity_id, name) values ($1, $2)")
        .bind(activity.id)
        .bind(qualification)
        .execute(&app.pool)
        .await
        .unwrap();
}

/// "Sat 5 Dec": the session's day as the flash message writes it.
async fn day_of(app: &TestApp, session_id: i64) -> String {
    sqlx::query_scalar(
        "select to_char(starts_at at time zone 'Europe/London', 'Dy FMDD Mon') from sessions where id = $1",
    )
    .bind(session_id)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

async fn trainer_of(app: &TestApp, shift_id: i64) -> Option<i64> {
    sqlx::query_scalar("select trainer_id from shifts where id = $1")
        .bind(shift_id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_keeps_the_history_and_moves_future_shifts_only_where_the_new_trainer_is_free() {
    let app = spawn_app().await;
    let pt = activity(&app.pool, "Personal training", false, (4, 90), 24).await;
    let (free, busy, away, not_booked) = (
        session(&app.pool, &pt, 48, 4, None).await,
        session(&app.pool, &pt, 72, 4, None).await,
        session(&app.pool, &pt, 96, 4, None).await,
        session(&app.pool, &pt, 120, 4, None).await,
    );
    let elsewhere = session(&app.pool, &pt, 72, 4, None).await;
    let (parent_id, family) = parent(&app, "pat@example.com").await;
    sqlx::query("update users set name = 'Pat Jones' where id = $1")
        .bind(parent_id)
        .execute(&app.pool)
        .await
        .unwrap();
    let maya = child(&app.pool, parent_id, "Maya", 9).await;
    let token = family.csrf_token("/parent").await;
    for s in [free, busy, away] {
        assert_eq!(book(&family, &token, s, &[maya]).await.status(), 303);
    }
    let sam = named_trainer(&app, "sam@example.com", "Sam Lee").await;
    let kim = named_trainer(&app, "kim@example.com", "Kim Park").await;
    approve(&app, kim, &pt).await;
    let mut sams = Vec::new();
    for s in [free, busy, away, not_booked] {
        sams.push(shift(&app.pool, s, Some(sam), "accepted").await);
    }
    shift(&app.pool, elsewhere, Some(kim), "accepted").await;
    sqlx::query(
        "insert into time_off_requests (trainer_id, kind, during, status)
         values ($1, 'holiday', tstzrange(now() + interval '95 hours', now() + interval '98 hours'), 'approved')",
    )
    .bind(kim)
    .execute(&app.pool)
    .await
    .unwrap();
    let office = coordinator(&app).await;
    let page = format!("/admin/clients/{parent_id}");
    let assign = format!("{page}/assign");
    let listed = office.get_text("/admin/clients?q=jones").await;
    assert!(listed.contains("Pat Jones") && listed.contains("No assigned trainer"), "{listed}");

    let first = office
        .submit(&page, &assign, &[("trainer", &sam.to_string()), ("reason", "Asked for Sam at sign-up")])
        .await;
    assert_eq!(first.status(), 303);
    assert!(office.get_text(&format!("/admin/trainers/{sam}")).await.contains("Pat Jones"));

    let transfer = office
        .submit(
            &page,
            &assign,
            &[
                ("trainer", &kim.to_string()),
                ("reason", "Moved closer to Kim's studio"),
                ("move_shifts", "yes"),
            ],
        )
        .await;

    assert_eq!(transfer.status(), 303);
    let text = office.get_text(location(&transfer)).await;
    assert!(text.contains("1 future shift(s) moved to Kim Park"), "{text}");
    assert!(text.contains("has another shift then") && text.contains("has time off then"), "{text}");
    assert!(text.contains("Asked for Sam at sign-up") && text.contains("Moved closer to Kim"), "{text}");
    assert_eq!(trainer_of(&app, sams[0]).await, Some(kim), "free: moved");
    assert_eq!(trainer_of(&app, sams[1]).await, Some(sam), "overlapping shift: kept");
    assert_eq!(trainer_of(&app, sams[2]).await, Some(sam), "time off: kept");
    assert_eq!(trainer_of(&app, sams[3]).await, Some(sam), "not the client's session: kept");
    assert_eq!(count(&app.pool, "select count(*) from client_assignments").await, 2);
    let current: i64 = sqlx::query_scalar("select trainer_id from client_assignments where ended_at is null")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(current, kim);
    assert_eq!(
        count(&app.pool, "select count(*) from audit_log where action = 'client.transferred'").await,
        1
    );
    assert_eq!(count(&app.pool, "select count(*) from outbox_emails where to_address = 'kim@example.com' and subject like 'Shift changed%'").await, 1);
    assert!(office.get_text(&format!("/admin/trainers/{kim}")).await.contains("Pat Jones"));
    assert!(!office.get_text(&format!("/admin/trainers/{sam}")).await.contains("Pat Jones"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_needs_a_reason_and_a_different_trainer_with_the_choice_kept() {
    let app = spawn_app().await;
    let (parent_id, _) = parent(&app, "pat@example.com").await;
    let sam = named_trainer(&app, "sam@example.com", "Sam Lee").await;
    let office = coordinator(&app).await;
    let page = format!("/admin/clients/{parent_id}");
    let assign = format!("{page}/assign");
    let sam_id = sam.to_string();

    let no_reason = office.submit(&page, &assign, &[("trainer", &sam_id), ("reason", " ")]).await;
    assert_eq!(no_reason.status(), 422);
    let text = no_reason.text().await.unwrap();
    assert!(text.contains("Give a reason") && text.contains(&format!(r#"value="{sam}" selected"#)), "{text}");
    assert_eq!(count(&app.pool, "select count(*) from client_assignments").await, 0);

    office.submit(&page, &assign, &[("trainer", &sam_id), ("reason", "First")]).await;
    let same = office.submit(&page, &assign, &[("trainer", &sam_id), ("reason", "Again")]).await;
    assert_eq!(same.status(), 422);
    assert!(same.text().await.unwrap().contains("Again"));
    assert_eq!(count(&app.pool, "select count(*) from client_assignments").await, 1);

    let trainer_id = sam.to_string();
    let not_a_client = office
        .submit(&page, &format!("/admin/clients/{sam}/assign"), &[("trainer", &trainer_id), ("reason", "x")])
        .await;
    assert_eq!(not_a_client.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_moves_only_the_shifts_the_new_trainer_is_qualified_for_and_says_which_stayed() {
    let app = spawn_app().await;
    let pt = activity(&app.pool, "Personal training", false, (4, 90), 24).await;
    let swimming = activity(&app.pool, "Swimming", false, (4, 90), 24).await;
    let climbing = activity(&app.pool, "Climbing", false, (4, 90), 24).await;
    requires(&app, &pt, "First aid").await;
    requires(&app, &swimming, "Pool lifeguard").await;
    requires(&app, &climbing, "Rope access").await;
    let (early_swim, training, late_swim, climb) = (
        session(&app.pool, &swimming, 48, 4, None).await,
        session(&app.pool, &pt, 72, 4, None).await,
        session(&app.pool, &swimming, 120, 4, None).await,
        session(&app.pool, &climbing, 168, 4, None).await,
    );
    let (parent_id, family) = parent(&app, "pat@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 9).await;
    let token = family.csrf_token("/parent").await;
    for s in [early_swim, training, late_swim, climb] {
        assert_eq!(book(&family, &token, s, &[maya]).await.status(), 303);
    }
    let sam = named_trainer(&app, "sam@example.com", "Sam Lee").await;
    let kim = named_trainer(&app, "kim@example.com", "Kim Park").await;
    for a in [&pt, &swimming, &climbing] {
        approve(&app, kim, a).await;
    }
    // Kim's lifeguard certificate lasts past the early swim but not to the late one;
    // Kim has no rope access at all.
    sqlx::query(
        "insert into trainer_qualifications (trainer_id, name, expires_on) values
             ($1, 'First aid', null),
             ($1, 'pool lifeguard', ((now() + interval '72 hours') at time zone 'Europe/London')::date)",
    )
    .bind(kim)
    .execute(&app.pool)
    .await
    .unwrap();
    let mut sams = Vec::new();
    for s in [early_swim, training, late_swim, climb] {
        sams.push(shift(&app.pool, s, Some(sam), "accepted").await);
    }
    let office = coordinator(&app).await;
    let page = format!("/admin/clients/{parent_id}");
    let assign = format!("{page}/assign");
    office.submit(&page, &assign, &[("trainer", &sam.to_string()), ("reason", "First trainer")]).await;

    let transfer = office
        .submit(
            &page,
            &assign,
            &[("trainer", &kim.to_string()), ("reason", "Sam is leaving"), ("move_shifts", "yes")],
        )
        .await;

    assert_eq!(transfer.status(), 303);
    assert_eq!(trainer_of(&app, sams[0]).await, Some(kim), "lifeguard in date on the day: moved");
    assert_eq!(trainer_of(&app, sams[1]).await, Some(kim), "first aid held: moved");
    assert_eq!(trainer_of(&app, sams[2]).await, Some(sam), "lifeguard expired by the day: kept");
    assert_eq!(trainer_of(&app, sams[3]).await, Some(sam), "no rope access: kept");
    let current: i64 = sqlx::query_scalar("select trainer_id from client_assignments where ended_at is null")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(current, kim, "the client moves even where shifts do not");

    let text = office.get_text(location(&transfer)).await;
    assert!(text.contains("2 future shift(s) moved to Kim Park."), "{text}");
    assert!(text.contains("2 shifts did not move:"), "{text}");
    let late_day = day_of(&app, late_swim).await;
    let climb_day = day_of(&app, climb).await;
    assert!(
        text.contains(&format!("Swimming on {late_day}"))
            && text.contains("(Kim Park is not qualified: needs Pool lifeguard in date)"),
        "{text}"
    );
    assert!(
        text.contains(&format!("Climbing on {climb_day}"))
            && text.contains("(Kim Park is not qualified: needs Rope access)"),
        "{text}"
    );

    let after: serde_json::Value =
        sqlx::query_scalar("select after from audit_log where action = 'client.transferred'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(after["shifts_moved"], serde_json::json!([sams[0], sams[1]]), "{after}");
    assert_eq!(after["shifts_kept"], serde_json::json!([sams[2], sams[3]]), "{after}");
    let not_moved = after["shifts_not_moved"].as_array().expect("shifts_not_moved");
    assert_eq!(not_moved.len(), 2, "{after}");
    assert_eq!(not_moved[0]["shift_id"], sams[2]);
    assert_eq!(not_moved[0]["reason"], "not_qualified");
    assert_eq!(not_moved[0]["expired"], serde_json::json!(["Pool lifeguard"]));
    assert_eq!(not_moved[1]["shift_id"], sams[3]);
    assert_eq!(not_moved[1]["reason"], "not_qualified");
    assert_eq!(not_moved[1]["missing"], serde_json::json!(["Rope access"]));
}
