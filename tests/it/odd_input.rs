//! Odd input never crashes a request: dates far out of range are ignored with a
//! message (or refused by the form), and a NUL character in any form is answered 422
//! with its text kept, minus the NUL, and nothing written.

use crate::common::{
    TestClient,
    fixtures::{self, child, count, parent},
    spawn_app,
};

const IGNORED: &str = "so it was ignored.";
const NUL_MESSAGE: &str = "This contained a NUL character";

async fn get_ok(client: &TestClient, path: &str) -> (u16, String) {
    let response = client.get(path).await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_date_out_of_range_in_an_address_is_ignored_with_a_message() {
    let app = spawn_app().await;
    let (_, family) = parent(&app, "family@example.com").await;
    let trainer = app.signed_in("trainer@example.com", "trainer", None).await;
    let owner = app.signed_in("owner@example.com", "admin", Some("owner")).await;

    for (client, path) in [
        (&family, "/parent/sessions?to=9999-12-31"),
        (&family, "/parent/sessions?from=9999-12-31"),
        (&trainer, "/trainer/shifts?date=9999-12-31"),
        (&trainer, "/trainer/shifts?date=9999-12-31&view=month"),
        (&trainer, "/trainer/shifts?date=-9999-01-01&view=month"),
        (&trainer, "/trainer/timesheets/entries/new?date=9999-12-31"),
        (&owner, "/admin/sessions?week=9999-12-31"),
        (&owner, "/admin/sessions?week=9999-12-31&view=month"),
        (&owner, "/admin/bookings?from=9999-12-31&to=9999-12-31"),
        (&owner, "/admin/payments?from=9999-12-31&to=9999-12-31"),
        (&owner, "/admin/audit?from=9999-12-31&to=9999-12-31"),
        (&owner, "/admin/timesheets?from=9999-12-31&to=9999-12-31"),
    ] {
        let (status, page) = get_ok(client, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(page.contains(IGNORED) && page.contains("9999"), "{path} says the date was ignored");
    }
    for path in ["/admin/bookings.csv?to=9999-12-31", "/admin/payments.csv?to=9999-12-31"] {
        assert_eq!(owner.get(path).await.status(), 200, "{path}");
    }
    let (status, page) = get_ok(&owner, "/admin/timesheets.csv?from=2026-01-01&to=9999-12-31").await;
    assert!(status < 500, "{path}: {status} {page}", path = "/admin/timesheets.csv");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_date_out_of_range_in_a_form_is_refused_by_the_field() {
    let app = spawn_app().await;
    let football = fixtures::activity(&app.pool, "Football", false, (4, 12), 24).await;
    let coordinator = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    let trainer = app.signed_in("trainer@example.com", "trainer", None).await;
    let activity = football.id.to_string();
    let venue = football.venue_id.to_string();
    let sessions_before = count(&app.pool, "select count(*) from sessions").await;

    for (client, page, action, fields) in [
        (
            &coordinator,
            "/admin/sessions/new",
            "/admin/sessions/new",
            vec![
                ("activity", activity.as_str()),
                ("venue", &venue),
                ("date", "9999-12-31"),
                ("starts", "10:00"),
            ],
        ),
        (
            &coordinator,
            "/admin/series/new",
            "/admin/series/new",
            vec![
                ("activity", activity.as_str()),
                ("venue", &venue),
                ("date", "2026-12-01"),
                ("starts", "10:00"),
                ("end", "until"),
                ("until", "9999-12-31"),
            ],
        ),
        (
            &trainer,
            "/trainer/availability",
            "/trainer/availability/exceptions",
            vec![("date", "9999-12-31"), ("starts", "09:00"), ("ends", "10:00")],
        ),
        (
            &trainer,
            "/trainer/timesheets",
            "/trainer/timesheets/entries/new",
            vec![("date", "9999-12-31"), ("starts", "09:00"), ("ends", "10:00")],
        ),
    ] {
        let response = client.submit(page, action, &fields).await;
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "{action}: {status}");
    }
    assert_eq!(count(&app.pool, "select count(*) from sessions").await, sessions_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_medical_notes_a_description_or_a_note_is_refused_with_the_text_kept() {
    let app = spawn_app().await;
    let football = fixtures::activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session = fixtures::session(&app.pool, &football, 48, 10, None).await;
    let (family_id, family) = parent(&app, "family@example.com").await;
    let maya = child(&app.pool, family_id, "Maya", 7).await;
    let coordinator = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;

    // A child's medical notes.
    let response = family
        .submit(
            "/parent/children/new",
            "/parent/children/new",
            &[
                ("first_name", "Sam"),
                ("last_name", "Test"),
                ("date_of_birth", "2018-05-31"),
                ("medical_notes", "Asthma\0, blue inhaler"),
                ("contact_name", "Ann Test"),
                ("contact_relationship", "Aunt"),
                ("contact_phone", "07700 900123"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains(NUL_MESSAGE) && page.contains("Asthma, blue inhaler"), "{page}");
    assert!(page.contains(r#"value="Sam""#), "the other answers are kept: {page}");
    assert!(!page.contains('\0'));
    assert_eq!(count(&app.pool, "select count(*) from children").await, 1, "nothing written");

    // An activity's description.
    let response = coordinator
        .submit(
            "/admin/activities/new",
            "/admin/activities/new",
            &[
                ("name", "Tennis"),
                ("description", "Rackets\0 provided"),
                ("min_age", "5"),
                ("max_age", "12"),
                ("duration_minutes", "60"),
                ("capacity", "10"),
                ("price", "6.50"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains(NUL_MESSAGE) && page.contains("Rackets provided"), "{page}");
    assert_eq!(count(&app.pool, "select count(*) from activities").await, 1);

    // A booking's note to the office.
    let token = family.csrf_token("/parent").await;
    let (s, item) = (session.to_string(), format!("{session}:{maya}"));
    let response = family
        .post_raw(
            "/parent/bookings",
            &[("csrf_token", &token), ("session", &s), ("item", &item), ("note", "Collected by\0 gran")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains(NUL_MESSAGE) && page.contains("Collected by gran"), "{page}");
    assert_eq!(count(&app.pool, "select count(*) from bookings").await, 0);

    // Sent again without the NUL, as the page offers, it goes through.
    let response = family
        .post_raw(
            "/parent/bookings",
            &[("csrf_token", &token), ("session", &s), ("item", &item), ("note", "Collected by gran")],
        )
        .await;
    assert_eq!(response.status(), 303);

    // In a search, a NUL is simply dropped.
    let (status, _) = get_ok(&coordinator, "/admin/bookings?q=Ma%00ya").await;
    assert_eq!(status, 200);
    let (status, _) = get_ok(&coordinator, "/admin/audit?who=a%00b").await;
    assert_eq!(status, 200);
    assert_eq!(app.client().get("/calendar/ab%00cd.ics").await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_form_anywhere_takes_a_nul_or_answers_a_server_error() {
    let app = spawn_app().await;
    let football = fixtures::activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session = fixtures::session(&app.pool, &football, 2, 10, None).await;
    let (family_id, family) = parent(&app, "family@example.com").await;
    let maya = child(&app.pool, family_id, "Maya", 7).await;
    let (trainer_id, trainer) = fixtures::trainer(&app, "trainer@example.com", &football).await;
    fixtures::shift(&app.pool, session, Some(trainer_id), "accepted").await;
    let token = family.csrf_token("/parent").await;
    assert_eq!(fixtures::book(&family, &token, session, &[maya]).await.status(), 303);
    let booking: i64 = sqlx::query_scalar("select id from bookings").fetch_one(&app.pool).await.unwrap();
    let owner = app.signed_in("owner@example.com", "admin", Some("owner")).await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let anonymous = app.client();
    let audit_before = count(&app.pool, "select count(*) from audit_log").await;

    let nul = "text with a \0 in it";
    let forms: Vec<(&TestClient, &str, String, &str)> = vec![
        (&anonymous, "/login", "/login".into(), "email"),
        (&anonymous, "/password/forgot", "/password/forgot".into(), "email"),
        (&anonymous, "/signup", "/signup".into(), "name"),
        (&anonymous, "/apply", "/apply".into(), "name"),
        (&family, "/parent/profile", "/parent/profile".into(), "name"),
        (&family, "/parent/children/new", format!("/parent/children/{maya}/edit"), "allergies"),
        (&family, "/parent", format!("/parent/children/{maya}/contacts"), "name"),
        (&family, "/parent", format!("/parent/children/{maya}/collectors"), "name"),
        (&family, "/parent", format!("/parent/bookings/{booking}/cancel"), "reason"),
        (&family, "/parent", format!("/parent/bookings/{booking}/discount"), "code"),
        (&trainer, "/trainer", format!("/trainer/sessions/{session}/notes"), "note"),
        (&trainer, "/trainer", format!("/trainer/sessions/{session}/incidents"), "what"),
        (&trainer, "/trainer", format!("/trainer/sessions/{session}/concerns"), "concern"),
        (&trainer, "/trainer", "/trainer/time-off".into(), "reason"),
        (&trainer, "/trainer", "/trainer/availability/exceptions".into(), "note"),
        (&trainer, "/trainer", "/trainer/timesheets/entries/new".into(), "reason"),
        (&owner, "/admin", "/admin/venues/new".into(), "address"),
        (&owner, "/admin", "/admin/activities/new".into(), "name"),
        (&owner, "/admin", "/admin/packages/new".into(), "name"),
        (&owner, "/admin", format!("/admin/bookings/{booking}/cancel"), "reason"),
        (&owner, "/admin", "/admin/trainers/invite".into(), "name"),
        (&owner, "/admin", format!("/admin/trainers/{trainer_id}/notes"), "note"),
        (&owner, "/admin", "/admin/families/new".into(), "name"),
        (&owner, "/admin", "/admin/sessions/new".into(), "notes"),
        (&finance, "/admin", "/admin/discounts".into(), "code"),
        (&finance, "/admin", "/admin/payments".into(), "reference"),
    ];
    let mut wrong = Vec::new();
    for (client, page, action, field) in &forms {
        let token = client.csrf_token(page).await;
        let response =
            client.post_raw(action, &[("csrf_token", &token), (field, nul), ("other", "kept")]).await;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        if status != 422 || !body.contains(NUL_MESSAGE) || !body.contains("text with a  in it") {
            wrong.push(format!("POST {action} ({field}): {status}"));
        }
    }
    assert!(wrong.is_empty(), "forms that took a NUL:\n{}", wrong.join("\n"));
    // A password sent with a NUL elsewhere is asked for again, never written back.
    let token = anonymous.csrf_token("/login").await;
    let response = anonymous
        .post_raw(
            "/login",
            &[("csrf_token", &token), ("email", "a\0@example.com"), ("password", "hunter2-secret")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("a@example.com") && !page.contains("hunter2-secret"), "{page}");
    assert_eq!(count(&app.pool, "select count(*) from audit_log").await, audit_before, "nothing written");
}
