//! The admin calendar: sessions and series keep their local time across the clock
//! change, skip holidays, edit one or this-and-following, cancel with the families told.

use sqlx::PgPool;
use time::{OffsetDateTime, macros::datetime};

use crate::common::{
    TestApp, TestClient,
    client::location,
    fixtures::{Activity, activity, book, child, count, parent, session},
    spawn_app,
};

/// Every page of the calendar work, for the permission checks.
pub const ADMIN_PAGES: &[&str] = &[
    "/admin/activities",
    "/admin/activities/new",
    "/admin/venues",
    "/admin/venues/new",
    "/admin/packages",
    "/admin/packages/new",
    "/admin/clients",
    "/admin/sessions",
    "/admin/sessions?view=month",
    "/admin/sessions/new",
    "/admin/series/new",
    "/admin/trainers",
    "/admin/trainers/invite",
    "/admin/trainers/applications",
    "/admin/time-off",
    "/admin/audit",
];

pub async fn coordinator(app: &TestApp) -> TestClient {
    app.signed_in("coord@example.com", "admin", Some("coordinator")).await
}

async fn starts(pool: &PgPool) -> Vec<OffsetDateTime> {
    sqlx::query_scalar("select starts_at from sessions order by starts_at").fetch_all(pool).await.unwrap()
}

async fn series_form<'a>(
    office: &TestClient,
    football: &Activity,
    extra: &[(&'a str, &'a str)],
) -> reqwest::Response {
    let activity = football.id.to_string();
    let venue = football.venue_id.to_string();
    let mut fields = vec![
        ("name", "Saturday football"),
        ("activity", activity.as_str()),
        ("venue", venue.as_str()),
        ("date", "2026-10-17"),
        ("start_time", "10:00"),
        ("duration_minutes", "60"),
        ("weekday", "sat"),
        ("every_weeks", "1"),
    ];
    fields.extend_from_slice(extra);
    office.submit("/admin/series/new", "/admin/series/new", &fields).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_series_across_the_october_clock_change_keeps_ten_oclock_local() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let office = coordinator(&app).await;

    let response = series_form(&office, &football, &[("end", "count"), ("count", "4")]).await;

    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    assert_eq!(
        starts(&app.pool).await,
        vec![
            datetime!(2026-10-17 09:00 UTC),
            datetime!(2026-10-24 09:00 UTC),
            datetime!(2026-10-31 10:00 UTC),
            datetime!(2026-11-07 10:00 UTC),
        ]
    );
    let rule: String =
        sqlx::query_scalar("select recurrence_rule from series").fetch_one(&app.pool).await.unwrap();
    assert!(rule.contains("RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=SA;COUNT=4"), "{rule}");
    assert_eq!(count(&app.pool, "select count(*) from sessions where series_id is not null").await, 4);
    assert_eq!(count(&app.pool, "select count(*) from audit_log where action = 'series.created'").await, 1);
    let page = office.get_text("/admin/sessions?week=2026-10-31").await;
    assert!(page.contains("10:00–11:00") && page.contains("Football"), "{page}");
    assert!(page.contains("0/10 booked") && page.contains("unstaffed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holiday_dates_are_skipped() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let office = coordinator(&app).await;

    let response = series_form(
        &office,
        &football,
        &[("end", "until"), ("until", "2026-11-07"), ("holidays", "2026-10-24\n2026-10-31")],
    )
    .await;

    assert_eq!(response.status(), 303);
    assert_eq!(
        starts(&app.pool).await,
        vec![datetime!(2026-10-17 09:00 UTC), datetime!(2026-11-07 10:00 UTC)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_series_and_session_input_comes_back_with_the_values_kept() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let office = coordinator(&app).await;

    let response = series_form(
        &office,
        &football,
        &[("end", "until"), ("until", "2026-10-01"), ("holidays", "someday")],
    )
    .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("The last date must not be before the first."), "{page}");
    assert!(page.contains("“someday” is not a date"));
    assert!(page.contains(r#"value="Saturday football""#) && page.contains(r#"value="sat" checked"#));

    let activity_id = football.id.to_string();
    let response = office
        .submit(
            "/admin/sessions/new",
            "/admin/sessions/new",
            &[
                ("activity", &activity_id),
                ("venue", ""),
                ("date", "2026-13-01"),
                ("start_time", "10:00"),
                ("price", "abc"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("Choose the venue.") && page.contains("Enter the date"));
    assert!(page.contains("Enter an amount in pounds"));
    assert!(page.contains(r#"value="abc""#) && page.contains(r#"value="10:00""#));
    assert_eq!(count(&app.pool, "select count(*) from sessions").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_off_session_takes_the_activitys_defaults() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let office = coordinator(&app).await;
    let (activity_id, venue_id) = (football.id.to_string(), football.venue_id.to_string());

    let response = office
        .submit(
            "/admin/sessions/new",
            "/admin/sessions/new",
            &[
                ("activity", &activity_id),
                ("venue", &venue_id),
                ("date", "2026-07-04"),
                ("start_time", "16:00"),
            ],
        )
        .await;

    assert_eq!(response.status(), 303);
    let row: (OffsetDateTime, OffsetDateTime, i32, i32) =
        sqlx::query_as("select starts_at, ends_at, capacity, price_pence from sessions")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(row, (datetime!(2026-07-04 15:00 UTC), datetime!(2026-07-04 16:00 UTC), 10, 650));
    let page = office.get_text(location(&response)).await;
    assert!(page.contains("Sat 4 Jul, 16:00–17:00"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn this_and_following_changes_only_those_sessions() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let office = coordinator(&app).await;
    series_form(&office, &football, &[("end", "count"), ("count", "4")]).await;
    let ids: Vec<i64> =
        sqlx::query_scalar("select id from sessions order by starts_at").fetch_all(&app.pool).await.unwrap();
    let venue = football.venue_id.to_string();
    let edit = format!("/admin/sessions/{}/edit", ids[1]);

    let response = office
        .submit(
            &edit,
            &edit,
            &[
                ("date", "2026-10-24"),
                ("start_time", "11:00"),
                ("end_time", "12:30"),
                ("venue", &venue),
                ("capacity", "12"),
                ("scope", "following"),
            ],
        )
        .await;

    assert_eq!(response.status(), 303);
    let rows: Vec<(OffsetDateTime, OffsetDateTime, i32)> =
        sqlx::query_as("select starts_at, ends_at, capacity from sessions order by starts_at")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        vec![
            (datetime!(2026-10-17 09:00 UTC), datetime!(2026-10-17 10:00 UTC), 10),
            (datetime!(2026-10-24 10:00 UTC), datetime!(2026-10-24 11:30 UTC), 12),
            (datetime!(2026-10-31 11:00 UTC), datetime!(2026-10-31 12:30 UTC), 12),
            (datetime!(2026-11-07 11:00 UTC), datetime!(2026-11-07 12:30 UTC), 12),
        ]
    );
    assert_eq!(count(&app.pool, "select count(*) from audit_log where action = 'session.updated'").await, 3);

    let only_this = office
        .submit(
            &edit,
            &format!("/admin/sessions/{}/edit", ids[3]),
            &[
                ("date", "2026-11-08"),
                ("start_time", "09:00"),
                ("end_time", "10:00"),
                ("venue", &venue),
                ("capacity", "12"),
                ("scope", "this"),
            ],
        )
        .await;
    assert_eq!(only_this.status(), 303);
    assert_eq!(starts(&app.pool).await[3], datetime!(2026-11-08 09:00 UTC));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_below_the_places_booked_or_with_bad_times_is_refused_with_values_kept() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session_id = session(&app.pool, &football, 72, 5, None).await;
    let (parent_id, family) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let leo = child(&app.pool, parent_id, "Leo", 8).await;
    let token = family.csrf_token("/parent").await;
    book(&family, &token, session_id, &[maya, leo]).await;
    let office = coordinator(&app).await;
    let edit = format!("/admin/sessions/{session_id}/edit");
    let venue = football.venue_id.to_string();
    let form = office.get_text(&edit).await;
    let date = form.split(r#"name="date" type="date" value=""#).nth(1).unwrap()[..10].to_owned();

    let response = office
        .submit(
            &edit,
            &edit,
            &[
                ("date", &date),
                ("start_time", "10:00"),
                ("end_time", "11:00"),
                ("venue", &venue),
                ("capacity", "1"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("More places are already booked than that"), "{page}");
    assert!(page.contains(r#"value="1""#));

    let response = office
        .submit(
            &edit,
            &edit,
            &[
                ("date", &date),
                ("start_time", "10:00"),
                ("end_time", "09:00"),
                ("venue", &venue),
                ("capacity", "5"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("The session must end after it starts."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_session_cancels_its_bookings_and_shifts_and_tells_the_families() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session_id = session(&app.pool, &football, 72, 5, None).await;
    let (parent_id, family) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let token = family.csrf_token("/parent").await;
    book(&family, &token, session_id, &[maya]).await;
    let trainer_id = app.create_user("coach@example.com", "trainer", None).await;
    sqlx::query("insert into shifts (session_id, trainer_id, status) values ($1, $2, 'accepted')")
        .bind(session_id)
        .bind(trainer_id)
        .execute(&app.pool)
        .await
        .unwrap();
    let office = coordinator(&app).await;
    let page = format!("/admin/sessions/{session_id}");

    let no_reason = office.submit(&page, &format!("{page}/cancel"), &[("reason", " ")]).await;
    assert_eq!(no_reason.status(), 422);

    let response = office.submit(&page, &format!("{page}/cancel"), &[("reason", "The hall flooded")]).await;

    assert_eq!(response.status(), 303);
    let status: String =
        sqlx::query_scalar("select status from sessions").fetch_one(&app.pool).await.unwrap();
    assert_eq!(status, "cancelled");
    let booking: String =
        sqlx::query_scalar("select status from bookings").fetch_one(&app.pool).await.unwrap();
    assert_eq!(booking, "cancelled");
    let taken: i32 =
        sqlx::query_scalar("select places_taken from sessions").fetch_one(&app.pool).await.unwrap();
    assert_eq!(taken, 0);
    let shift: String = sqlx::query_scalar("select status from shifts").fetch_one(&app.pool).await.unwrap();
    assert_eq!(shift, "cancelled");
    assert_eq!(
        count(&app.pool, "select count(*) from outbox_emails where to_address = 'parent@example.com' and body_text like '%The hall flooded%'").await,
        1
    );
    assert_eq!(
        count(&app.pool, "select count(*) from outbox_emails where to_address = 'coach@example.com'").await,
        1
    );
    assert_eq!(
        count(&app.pool, "select count(*) from audit_log where action = 'session.cancelled'").await,
        1
    );
    assert!(office.get_text(&page).await.contains("Session cancelled."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_understaffed_sessions_expiring_qualifications_and_time_off() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    // Starting now, so it is this week whatever day the test runs.
    let soon = session(&app.pool, &football, 0, 10, None).await;
    let sam = app.create_user("sam@example.com", "trainer", None).await;
    sqlx::query("update users set name = 'Sam Lee' where id = $1")
        .bind(sam)
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("insert into trainer_qualifications (trainer_id, name, expires_on) values ($1, 'First aid', current_date + 7)")
        .bind(sam)
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query(
        "insert into time_off_requests (trainer_id, kind, during) values ($1, 'holiday', tstzrange(now() + interval '9 days', now() + interval '10 days'))",
    )
    .bind(sam)
    .execute(&app.pool)
    .await
    .unwrap();
    let office = coordinator(&app).await;

    let page = office.get_text("/admin").await;

    assert!(
        page.contains(&format!(r#"href="/admin/sessions/{soon}""#)) && page.contains("unstaffed"),
        "{page}"
    );
    assert!(page.contains("Sam Lee") && page.contains("First aid"));
    assert!(page.contains("Decide on time off"));
    assert!(
        page.contains(r#"href="/admin/sessions""#) && page.contains(r#"href="/admin/audit""#),
        "the nav links the calendar"
    );
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let page = finance.get_text("/admin").await;
    assert!(!page.contains("Qualifications expiring") && !page.contains(r#"href="/admin/sessions""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_filters_by_who_what_and_when_and_hides_safeguarding() {
    let app = spawn_app().await;
    let office = coordinator(&app).await;
    office.submit("/admin/venues/new", "/admin/venues/new", &[("name", "Online"), ("kind", "online")]).await;
    office
        .submit(
            "/admin/activities/new",
            "/admin/activities/new",
            &[("name", "Chess"), ("duration_minutes", "60"), ("capacity", "8"), ("price", "5")],
        )
        .await;
    sqlx::query("insert into audit_log (action, entity_type, entity_id) values ('safeguarding.concern_raised', 'safeguarding_concern', 1)")
        .execute(&app.pool)
        .await
        .unwrap();

    let all = office.get_text("/admin/audit").await;
    assert!(all.contains("venue.created") && all.contains("activity.created"));
    assert!(!all.contains("safeguarding"), "{all}");
    let venues = office.get_text("/admin/audit?what=venue.").await;
    assert!(venues.contains("venue.created") && !venues.contains("activity.created"));
    let nobody = office.get_text("/admin/audit?who=nobody-at-all").await;
    assert!(nobody.contains("Nothing matches."));
    let long_ago = office.get_text("/admin/audit?from=2001-01-01&to=2001-01-02").await;
    assert!(long_ago.contains("Nothing matches."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_calendar_page_renders_with_the_demo_data() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let owner = app.client();
    assert_eq!(owner.login("admin@portico.test", portico::demo::DEMO_PASSWORD).await.status(), 303);
    let session_id: i64 =
        sqlx::query_scalar("select min(id) from sessions").fetch_one(&app.pool).await.unwrap();
    let trainer_id: i64 =
        sqlx::query_scalar("select min(user_id) from trainer_profiles").fetch_one(&app.pool).await.unwrap();
    let mut pages: Vec<String> = ADMIN_PAGES.iter().map(|p| p.to_string()).collect();
    pages.extend([
        format!("/admin/sessions/{session_id}"),
        format!("/admin/sessions/{session_id}/edit"),
        format!("/admin/sessions/{session_id}/cancel-series"),
        format!("/admin/trainers/{trainer_id}"),
        "/admin".into(),
    ]);
    for page in pages {
        assert_eq!(owner.get(&page).await.status(), 200, "{page}");
    }
    let week = owner.get_text("/admin/sessions").await;
    assert!(week.contains("booked"), "the demo has sessions this week");
}
