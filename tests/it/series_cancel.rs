//! Cancelling the rest of a series: a confirmation first, then every later scheduled
//! session goes the way a single cancellation does; earlier sessions stay.

use crate::calendar_admin::coordinator;
use crate::common::{
    fixtures::{activity, book, child, count, parent, session, shift},
    spawn_app,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_the_rest_of_a_series_cancels_this_and_later_sessions_only() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let series: i64 = sqlx::query_scalar(
        "insert into series (activity_id, venue_id, name, recurrence_rule)
         values ($1, $2, 'Autumn term', 'FREQ=WEEKLY') returning id",
    )
    .bind(football.id)
    .bind(football.venue_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let ids = [
        session(&app.pool, &football, 24 * 7, 10, Some(series)).await,
        session(&app.pool, &football, 24 * 14, 10, Some(series)).await,
        session(&app.pool, &football, 24 * 21, 10, Some(series)).await,
    ];
    let (parent_id, family) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let token = family.csrf_token("/parent").await;
    for s in ids {
        assert_eq!(book(&family, &token, s, &[maya]).await.status(), 303);
    }
    let coach = app.create_user("coach@example.com", "trainer", None).await;
    shift(&app.pool, ids[2], Some(coach), "accepted").await;
    let office = coordinator(&app).await;
    let page = format!("/admin/sessions/{}", ids[1]);
    assert!(office.get_text(&page).await.contains("Cancel the rest of this series"));
    let confirm = format!("{page}/cancel-series");
    let form = office.get_text(&confirm).await;
    assert!(form.contains("These 2 session(s) will be cancelled"), "{form}");

    let no_reason = office.submit(&confirm, &confirm, &[("reason", " ")]).await;
    assert_eq!(no_reason.status(), 422);
    assert!(no_reason.text().await.unwrap().contains("Give a reason"));
    assert_eq!(count(&app.pool, "select count(*) from sessions where status = 'cancelled'").await, 0);

    let response = office.submit(&confirm, &confirm, &[("reason", "The coach is leaving")]).await;

    assert_eq!(response.status(), 303);
    let statuses: Vec<String> = sqlx::query_scalar("select status from sessions order by starts_at")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(statuses, vec!["scheduled", "cancelled", "cancelled"]);
    assert_eq!(
        count(&app.pool, "select count(*) from bookings where status = 'cancelled'").await,
        2,
        "each single-session booking of the later sessions"
    );
    assert_eq!(count(&app.pool, "select count(*) from shifts where status = 'cancelled'").await, 1);
    assert_eq!(count(&app.pool, "select count(*) from outbox_emails where to_address = 'coach@example.com' and subject like 'Shift cancelled%'").await, 1);
    assert_eq!(
        count(&app.pool, "select count(*) from audit_log where action = 'session.cancelled'").await,
        2
    );
    assert_eq!(
        count(&app.pool, "select count(*) from audit_log where action = 'series.rest_cancelled'").await,
        1
    );
    assert!(office.get_text(&page).await.contains("2 session(s) cancelled."));
}
