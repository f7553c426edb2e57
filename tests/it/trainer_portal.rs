//! The trainer portal: open shifts, offers, check-in and out, registers and concerns.

use std::sync::Arc;

use tokio::task::JoinSet;

use crate::common::{
    client::location,
    fixtures::{activity, book, child, count, parent, session, session_in_minutes, shift, trainer},
    spawn_app,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_trainers_accepting_one_open_shift_at_once_leave_exactly_one_holder() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session_id = session(&app.pool, &football, 48, 10, None).await;
    let open = shift(&app.pool, session_id, None, "open").await;
    let mut trainers = Vec::new();
    for n in 0..20 {
        let (_, client) = trainer(&app, &format!("trainer{n}@example.com"), &football).await;
        let token = client.csrf_token("/trainer/open-shifts").await;
        trainers.push((Arc::new(client), token));
    }

    let mut racing = JoinSet::new();
    for (client, token) in trainers {
        racing.spawn(async move {
            let response =
                client.post_raw(&format!("/trainer/shifts/{open}/accept"), &[("csrf_token", &token)]).await;
            let won = location(&response) == format!("/trainer/shifts/{open}");
            (response.status().as_u16(), won, client)
        });
    }
    let mut winners = 0;
    while let Some(result) = racing.join_next().await {
        let (status, won, client) = result.unwrap();
        assert_eq!(status, 303);
        if won {
            winners += 1;
        } else {
            assert!(client.get_text("/trainer/open-shifts").await.contains("another trainer took it first"));
        }
    }
    assert_eq!(winners, 1);
    let holders: i64 =
        count(&app.pool, "select count(*) from shifts where status = 'accepted' and trainer_id is not null")
            .await;
    assert_eq!(holders, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trainer_cannot_take_a_shift_overlapping_one_they_hold_or_their_time_off() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let (trainer_id, client) = trainer(&app, "sam@example.com", &football).await;
    let first = session(&app.pool, &football, 48, 10, None).await;
    shift(&app.pool, first, Some(trainer_id), "accepted").await;
    // Same time, another venue: still the same trainer's hour.
    let clash = session(&app.pool, &football, 48, 10, None).await;
    let clash_shift = shift(&app.pool, clash, None, "open").await;
    let later = session(&app.pool, &football, 96, 10, None).await;
    let later_shift = shift(&app.pool, later, None, "open").await;
    sqlx::query(
        "insert into time_off_requests (trainer_id, kind, during, status)
         values ($1, 'holiday', tstzrange(now() + interval '95 hours', now() + interval '100 hours'), 'approved')",
    )
    .bind(trainer_id)
    .execute(&app.pool)
    .await
    .unwrap();

    let listed = client.get_text("/trainer/open-shifts").await;
    assert!(listed.contains("No open shifts for you right now."), "neither is offered to them: {listed}");
    let token = client.csrf_token("/trainer/open-shifts").await;
    client.post_raw(&format!("/trainer/shifts/{clash_shift}/accept"), &[("csrf_token", &token)]).await;
    assert!(client.get_text("/trainer/open-shifts").await.contains("You already have a shift at that time"));
    client.post_raw(&format!("/trainer/shifts/{later_shift}/accept"), &[("csrf_token", &token)]).await;
    assert!(client.get_text("/trainer/open-shifts").await.contains("falls in your approved time off"));
    assert_eq!(count(&app.pool, "select count(*) from shifts where status = 'open'").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offer_can_be_declined_and_goes_back_to_open() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let (trainer_id, client) = trainer(&app, "sam@example.com", &football).await;
    let session_id = session(&app.pool, &football, 48, 10, None).await;
    let offered = shift(&app.pool, session_id, Some(trainer_id), "offered").await;
    assert!(client.get_text("/trainer").await.contains("Shift offered: Football"));

    let response = client
        .submit(
            &format!("/trainer/shifts/{offered}"),
            &format!("/trainer/shifts/{offered}/decline"),
            &[("reason", "Away")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (status, holder): (String, Option<i64>) =
        sqlx::query_as("select status, trainer_id from shifts where id = $1")
            .bind(offered)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), holder), ("open", None));
    let (_, other) = trainer(&app, "other@example.com", &football).await;
    assert_eq!(other.get(&format!("/trainer/shifts/{offered}")).await.status(), 404, "not theirs to view");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checking_in_late_is_flagged_and_checking_out_records_the_time() {
    let app = spawn_app().await;
    app.create_user("coordinator@example.com", "admin", Some("coordinator")).await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let (trainer_id, client) = trainer(&app, "sam@example.com", &football).await;
    let session_id = session_in_minutes(&app.pool, &football, -15, 10).await;
    let held = shift(&app.pool, session_id, Some(trainer_id), "accepted").await;
    let page = format!("/trainer/shifts/{held}");

    let checked_in = client
        .submit(&page, &format!("{page}/check-in"), &[("latitude", "51.4123"), ("longitude", "-0.3007")])
        .await;
    assert_eq!(checked_in.status(), 303);
    let shown = client.get_text(&page).await;
    assert!(shown.contains("minutes late. The coordinator has been told."), "{shown}");
    let (late, lat): (i32, Option<String>) =
        sqlx::query_as("select late_minutes, check_in_latitude::text from shifts where id = $1")
            .bind(held)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(late >= 14, "{late}");
    assert_eq!(lat.as_deref(), Some("51.412300"));
    let mail = app.smtp.wait_for(1).await;
    assert!(mail.iter().any(|m| m.contains("To: coordinator@example.com") && m.contains("Late check-in")));

    let checked_out = client.submit(&page, &format!("{page}/check-out"), &[]).await;
    assert_eq!(checked_out.status(), 303);
    let entries: Vec<(Option<i64>, String)> =
        sqlx::query_as("select shift_id, source from time_entries where trainer_id = $1")
            .bind(trainer_id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(entries, [(Some(held), "shift".to_owned())]);
    let again = client.submit(&page, &format!("{page}/check-out"), &[]).await;
    assert_eq!(again.status(), 404, "a shift is checked out once");
    assert_eq!(count(&app.pool, "select count(*) from time_entries").await, 1);
    let status: String = sqlx::query_scalar("select status from sessions where id = $1")
        .bind(session_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "completed", "no children to mark and the only trainer checked out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_and_medical_details_are_only_for_the_trainers_of_that_session() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let (sam_id, sam) = trainer(&app, "sam@example.com", &football).await;
    let (_, other) = trainer(&app, "other@example.com", &football).await;
    let session_id = session_in_minutes(&app.pool, &football, 60, 10).await;
    shift(&app.pool, session_id, Some(sam_id), "accepted").await;
    let (parent_id, family) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    sqlx::query("update children set allergies = 'Peanuts' where id = $1")
        .bind(maya)
        .execute(&app.pool)
        .await
        .unwrap();
    let token = family.csrf_token("/parent").await;
    book(&family, &token, session_id, &[maya]).await;

    let register = sam.get_text(&format!("/trainer/sessions/{session_id}/register")).await;
    assert!(register.contains("Maya Test") && register.contains("Allergies: Peanuts"));
    // The dashboard flags today's children; near midnight the session may be tomorrow.
    let today: bool = sqlx::query_scalar(
        "select (starts_at at time zone 'Europe/London')::date = (now() at time zone 'Europe/London')::date
         from sessions where id = $1",
    )
    .bind(session_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    if today {
        assert!(sam.get_text("/trainer").await.contains("Peanuts"), "today's shift shows the flag");
    }

    assert_eq!(other.get(&format!("/trainer/sessions/{session_id}/register")).await.status(), 404);
    assert!(!other.get_text("/trainer").await.contains("Peanuts"));
    assert_eq!(family.get(&format!("/trainer/sessions/{session_id}/register")).await.status(), 403);
    let token = other.csrf_token("/trainer").await;
    let forged = other
        .post_raw(
            &format!("/trainer/sessions/{session_id}/register"),
            &[("csrf_token", &token), (&format!("status_{maya}"), "absent")],
        )
        .await;
    assert_eq!(forged.status(), 404);
    assert_eq!(count(&app.pool, "select count(*) from attendance").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_register_keeps_its_marks_and_flags_an_unlisted_collector() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let (sam_id, sam) = trainer(&app, "sam@example.com", &football).await;
    let session_id = session_in_minutes(&app.pool, &football, -30, 10).await;
    let held = shift(&app.pool, session_id, Some(sam_id), "accepted").await;
    let (parent_id, _) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let leo = child(&app.pool, parent_id, "Leo", 6).await;
    let booking: i64 =
        sqlx::query_scalar("insert into bookings (parent_id, status) values ($1, 'approved') returning id")
            .bind(parent_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    for kid in [maya, leo] {
        sqlx::query("insert into booking_participants (booking_id, session_id, child_id, price_pence) values ($1, $2, $3, 650)")
            .bind(booking)
            .bind(session_id)
            .bind(kid)
            .execute(&app.pool)
            .await
            .unwrap();
    }
    let grandma: i64 = sqlx::query_scalar(
        "insert into child_authorised_collectors (child_id, name, relationship, phone) values ($1, 'Ruth Morgan', 'Grandmother', '07700 900302') returning id",
    )
    .bind(maya)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let page = format!("/trainer/sessions/{session_id}/register");
    let (maya_s, leo_s) = (format!("status_{maya}"), format!("status_{leo}"));
    let (maya_c, leo_c, leo_o, leo_n) = (
        format!("collector_{maya}"),
        format!("collector_{leo}"),
        format!("other_{leo}"),
        format!("note_{leo}"),
    );

    let missing_name =
        sam.submit(&page, &page, &[(&maya_s, "present"), (&leo_s, "late"), (&leo_c, "other")]).await;
    assert_eq!(missing_name.status(), 422);
    let body = missing_name.text().await.unwrap();
    assert!(body.contains("Write the name of the person collecting Leo."));
    assert!(body.contains(&format!(r#"name="{leo_s}" value="late" checked"#)), "the marks typed are kept");
    assert_eq!(count(&app.pool, "select count(*) from attendance").await, 0, "nothing half-saved");

    let saved = sam
        .submit(
            &page,
            &page,
            &[
                (&maya_s, "present"),
                (&maya_c, &grandma.to_string()),
                (&leo_s, "late"),
                (&leo_c, "other"),
                (&leo_o, "Uncle Dave"),
                (&leo_n, "Mum phoned ahead"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 303);
    let reloaded = sam.get_text(&page).await;
    assert!(reloaded.contains("flagged to the office"));
    assert!(reloaded.contains(&format!(r#"name="{maya_s}" value="present" checked"#)));
    assert!(reloaded.contains(&format!(r#"name="{leo_s}" value="late" checked"#)));
    assert!(reloaded.contains(r#"value="Uncle Dave""#) && reloaded.contains(r#"value="Mum phoned ahead""#));
    let marks: Vec<(String, String, bool)> =
        sqlx::query_as("select status, collected_by, flagged from attendance order by child_id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        marks,
        [("present".into(), "Ruth Morgan".into(), false), ("late".into(), "Uncle Dave".into(), true)]
    );
    assert_eq!(
        count(
            &app.pool,
            "select count(*) from audit_log where action = 'attendance.collected_by_unlisted_person'"
        )
        .await,
        1
    );

    let status = |pool: sqlx::PgPool| async move {
        sqlx::query_scalar::<_, String>("select status from sessions").fetch_one(&pool).await.unwrap()
    };
    assert_eq!(status(app.pool.clone()).await, "scheduled", "the trainer has not checked out yet");
    sam.submit(&format!("/trainer/shifts/{held}"), &format!("/trainer/shifts/{held}/check-in"), &[]).await;
    sam.submit(&format!("/trainer/shifts/{held}"), &format!("/trainer/shifts/{held}/check-out"), &[]).await;
    assert_eq!(status(app.pool.clone()).await, "completed", "all marked and checked out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_safeguarding_concern_is_readable_by_the_lead_and_nobody_else() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let (sam_id, sam) = trainer(&app, "sam@example.com", &football).await;
    let session_id = session_in_minutes(&app.pool, &football, -30, 10).await;
    shift(&app.pool, session_id, Some(sam_id), "accepted").await;
    let (parent_id, family) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let booking: i64 =
        sqlx::query_scalar("insert into bookings (parent_id, status) values ($1, 'approved') returning id")
            .bind(parent_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    sqlx::query("insert into booking_participants (booking_id, session_id, child_id, price_pence) values ($1, $2, $3, 650)")
        .bind(booking)
        .bind(session_id)
        .bind(maya)
        .execute(&app.pool)
        .await
        .unwrap();
    let lead = app.signed_in("lead@example.com", "admin", Some("safeguarding_lead")).await;
    let owner = app.signed_in("owner@example.com", "admin", Some("owner")).await;
    let coordinator = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    let page = format!("/trainer/sessions/{session_id}/register");
    const WORDS: &str = "Bruise on the left arm, said she fell at home";

    let blank = sam
        .submit(
            &page,
            &format!("/trainer/sessions/{session_id}/concerns"),
            &[("child_id", &maya.to_string()), ("concern", "")],
        )
        .await;
    assert_eq!(blank.status(), 422);
    let raised = sam
        .submit(
            &page,
            &format!("/trainer/sessions/{session_id}/concerns"),
            &[("child_id", &maya.to_string()), ("concern", WORDS)],
        )
        .await;
    assert_eq!(raised.status(), 303);
    let confirmation = sam.get_text(&page).await;
    assert!(confirmation.contains("Your concern has gone to the safeguarding lead"));
    assert!(!confirmation.contains(WORDS), "the trainer sees a confirmation, not the record");

    let concern: i64 =
        sqlx::query_scalar("select id from safeguarding_concerns").fetch_one(&app.pool).await.unwrap();
    let list = lead.get_text("/admin/safeguarding").await;
    assert!(list.contains("Maya Test"));
    assert!(lead.get_text(&format!("/admin/safeguarding/{concern}")).await.contains(WORDS));
    for (who, client) in [("owner", &owner), ("coordinator", &coordinator)] {
        assert_eq!(client.get("/admin/safeguarding").await.status(), 403, "{who}");
        assert_eq!(client.get(&format!("/admin/safeguarding/{concern}")).await.status(), 403, "{who}");
    }
    assert_eq!(sam.get(&format!("/admin/safeguarding/{concern}")).await.status(), 403);
    assert_eq!(family.get(&format!("/admin/safeguarding/{concern}")).await.status(), 403);
    let audit: String = sqlx::query_scalar("select coalesce(after::text, '') || coalesce(before::text, '') from audit_log where action = 'safeguarding.concern_raised'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!audit.contains("Bruise"), "the audit log, read by other admins, holds no detail");
    let mail = app.smtp.wait_for(1).await;
    assert!(mail.iter().any(|m| m.contains("To: lead@example.com") && !m.contains("Bruise")));

    let followed = lead
        .submit(
            &format!("/admin/safeguarding/{concern}"),
            &format!("/admin/safeguarding/{concern}/actions"),
            &[("note", "Called the parent")],
        )
        .await;
    assert_eq!(followed.status(), 303);
    assert!(lead.get_text(&format!("/admin/safeguarding/{concern}")).await.contains("Called the parent"));
    let deleted = sqlx::query("delete from safeguarding_concerns").execute(&app.pool).await;
    assert!(deleted.is_err(), "concerns are never deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn availability_and_time_off_are_the_trainers_own_and_bad_input_is_kept() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let (sam_id, sam) = trainer(&app, "sam@example.com", &football).await;
    let (_, other) = trainer(&app, "other@example.com", &football).await;
    let page = "/trainer/availability";

    let bad = sam
        .submit(
            page,
            "/trainer/availability/slots",
            &[("weekday", "3"), ("starts", "17:00"), ("ends", "16:00")],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let body = bad.text().await.unwrap();
    assert!(body.contains("The end must be after the start."));
    assert!(body.contains(r#"value="17:00""#) && body.contains(r#"<option value="3" selected>"#));
    for (from, to) in [("09:00", "12:00"), ("16:00", "19:00")] {
        let ok = sam
            .submit(page, "/trainer/availability/slots", &[("weekday", "3"), ("starts", from), ("ends", to)])
            .await;
        assert_eq!(ok.status(), 303);
    }
    let shown = sam.get_text(page).await;
    assert!(shown.contains("09:00–12:00") && shown.contains("16:00–19:00"), "two slots on one day");

    let exception = sam
        .submit(page, "/trainer/availability/exceptions", &[("date", "2027-03-14"), ("note", "Wedding")])
        .await;
    assert_eq!(exception.status(), 303);
    assert!(sam.get_text(page).await.contains("unavailable all day"));

    let missing = sam
        .submit(
            page,
            "/trainer/time-off",
            &[("kind", ""), ("from_date", "2027-04-01"), ("to_date", "2027-04-07")],
        )
        .await;
    assert_eq!(missing.status(), 422);
    assert!(missing.text().await.unwrap().contains(r#"value="2027-04-07""#));
    let requested = sam
        .submit(
            page,
            "/trainer/time-off",
            &[("kind", "holiday"), ("from_date", "2027-04-01"), ("to_date", "2027-04-07")],
        )
        .await;
    assert_eq!(requested.status(), 303);
    let request: i64 = sqlx::query_scalar("select id from time_off_requests where trainer_id = $1")
        .bind(sam_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let slot: i64 =
        sqlx::query_scalar("select min(id) from trainer_availability").fetch_one(&app.pool).await.unwrap();

    assert_eq!(other.submit(page, &format!("/trainer/time-off/{request}/withdraw"), &[]).await.status(), 404);
    assert_eq!(
        other.submit(page, &format!("/trainer/availability/slots/{slot}/remove"), &[]).await.status(),
        404
    );
    assert!(!other.get_text(page).await.contains("09:00–12:00"));

    assert_eq!(sam.submit(page, &format!("/trainer/time-off/{request}/withdraw"), &[]).await.status(), 303);
    let status: String =
        sqlx::query_scalar("select status from time_off_requests").fetch_one(&app.pool).await.unwrap();
    assert_eq!(status, "withdrawn");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trainers_get_one_reminder_the_evening_before() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let (sam_id, _) = trainer(&app, "sam@example.com", &football).await;
    let tomorrow_ten: time::OffsetDateTime =
        sqlx::query_scalar("select ((current_date + 1) + time '10:00') at time zone 'Europe/London'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let session_id: i64 = sqlx::query_scalar(
        "insert into sessions (activity_id, venue_id, starts_at, ends_at, capacity, price_pence)
         values ($1, $2, $3, $3 + interval '1 hour', 5, 650) returning id",
    )
    .bind(football.id)
    .bind(football.venue_id)
    .bind(tomorrow_ten)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    shift(&app.pool, session_id, Some(sam_id), "accepted").await;
    let today_at = |hour: i64| tomorrow_ten - time::Duration::hours(24 + 10 - hour);

    let too_early = portico::shifts::reminders::send_due(&app.state, today_at(12)).await.unwrap();
    assert_eq!(too_early, 0, "not before the evening");
    assert_eq!(portico::shifts::reminders::send_due(&app.state, today_at(18)).await.unwrap(), 1);
    assert_eq!(portico::shifts::reminders::send_due(&app.state, today_at(19)).await.unwrap(), 0, "once only");
    let mail = app.smtp.wait_for(1).await;
    let reminder = mail.iter().find(|m| m.contains("Subject: Your shifts tomorrow")).expect("a reminder");
    assert!(reminder.contains("To: sam@example.com") && reminder.contains("Football"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_shift_needs_the_activitys_qualifications_unexpired_on_the_day() {
    let app = spawn_app().await;
    let first_aid = activity(&app.pool, "First Aid", false, (4, 12), 24).await;
    sqlx::query("insert into activity_required_qualifications (activity_id, name) values ($1, 'Paediatric First Aid')")
        .bind(first_aid.id)
        .execute(&app.pool)
        .await
        .unwrap();
    let (sam_id, sam) = trainer(&app, "sam@example.com", &first_aid).await;
    let session_id = session(&app.pool, &first_aid, 24 * 10, 10, None).await;
    let open = shift(&app.pool, session_id, None, "open").await;
    // Expires before the session: not qualified on the day.
    sqlx::query(
        "insert into trainer_qualifications (trainer_id, name, expires_on) values ($1, 'Paediatric First Aid', current_date + 5)",
    )
    .bind(sam_id)
    .execute(&app.pool)
    .await
    .unwrap();

    assert!(sam.get_text("/trainer/open-shifts").await.contains("No open shifts for you right now."));
    let token = sam.csrf_token("/trainer/open-shifts").await;
    sam.post_raw(&format!("/trainer/shifts/{open}/accept"), &[("csrf_token", &token)]).await;
    assert_eq!(count(&app.pool, "select count(*) from shifts where status = 'open'").await, 1, "refused");

    sqlx::query("update trainer_qualifications set expires_on = current_date + 400 where trainer_id = $1")
        .bind(sam_id)
        .execute(&app.pool)
        .await
        .unwrap();
    assert!(sam.get_text("/trainer/open-shifts").await.contains("Accept shift"));
    let taken = sam.post_raw(&format!("/trainer/shifts/{open}/accept"), &[("csrf_token", &token)]).await;
    assert_eq!(location(&taken), format!("/trainer/shifts/{open}"));
}
