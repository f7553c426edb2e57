//! Data rights (UK GDPR): a family downloads everything held about it, and only its own;
//! asks to close the account; the owner erases the family's personal details while the
//! bookings, payments and safeguarding records stay.

use std::io::{Cursor, Read};

use portico::data_rights::domain::ErasureStatus;

use crate::common::{
    TestApp, TestClient,
    client::location,
    fixtures::{Activity, activity, book, count, parent, session},
    spawn_app,
};

/// A child added through the real form, with medical details, a contact and a collector.
async fn add_child(client: &TestClient, first: &str, last: &str, medical: &str) -> i64 {
    let fields = [
        ("first_name", first),
        ("last_name", last),
        ("date_of_birth", "2018-05-31"),
        ("medical_notes", medical),
        ("allergies", "Peanuts and sesame"),
        ("additional_needs", ""),
        ("doctor_name", "Dr Okonkwo-Hale"),
        ("doctor_phone", "020 8549 8818"),
        ("photo_consent", "yes"),
        ("contact_name", &format!("Contact of {first}")),
        ("contact_relationship", "Aunt"),
        ("contact_phone", "07700 900301"),
        ("collector_name", &format!("Collector of {first}")),
        ("collector_relationship", "Grandmother"),
        ("collector_phone", "07700 900302"),
        ("collector_password", "bluebell"),
        ("collector_notes", ""),
    ];
    let response = client.submit("/parent/children/new", "/parent/children/new", &fields).await;
    assert_eq!(response.status(), 303, "the child is added");
    location(&response).trim_start_matches("/parent/children/").parse().expect("the child's id")
}

/// A family with a child booked on a session (`hours` from now); returns the parent's
/// id, client, child id and booking id.
async fn family_with_booking(
    app: &TestApp,
    club: &Activity,
    email: &str,
    child: (&str, &str, &str),
    hours: i64,
) -> (i64, TestClient, i64, i64) {
    let (parent_id, client) = parent(app, email).await;
    sqlx::query!("update users set phone = '07700 900999' where id = $1", parent_id)
        .execute(&app.pool)
        .await
        .unwrap();
    let child_id = add_child(&client, child.0, child.1, child.2).await;
    let session_id = session(&app.pool, club, hours, 10, None).await;
    let token = client.csrf_token("/parent").await;
    let booked = book(&client, &token, session_id, &[child_id]).await;
    assert_eq!(booked.status(), 303, "booked");
    let booking_id: i64 =
        location(&booked).trim_start_matches("/parent/bookings/").parse().expect("booking id");
    (parent_id, client, child_id, booking_id)
}

/// Presses `Download my data` and returns the ZIP's files by name.
async fn download(client: &TestClient) -> Vec<(String, String)> {
    let page = client.get_text("/parent/account").await;
    assert!(page.contains("Download my data"), "{page}");
    let response = client.submit("/parent/account", "/parent/account/export", &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.starts_with("attachment; filename=\"portico-my-data-"), "{disposition}");
    let bytes = response.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes.to_vec())).expect("a ZIP file");
    (0..zip.len())
        .map(|i| {
            let mut file = zip.by_index(i).unwrap();
            let mut text = String::new();
            file.read_to_string(&mut text).unwrap();
            (file.name().expect("a file name").to_string(), text)
        })
        .collect()
}

fn file<'a>(files: &'a [(String, String)], name: &str) -> &'a str {
    files.iter().find(|(n, _)| n == name).map(|(_, t)| t.as_str()).unwrap_or_else(|| panic!("no {name}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_download_holds_the_familys_child_and_booking_and_never_another_familys() {
    let app = spawn_app().await;
    let club = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let (poppy_parent, poppy_client, _, poppy_booking) = family_with_booking(
        &app,
        &club,
        "poppy.parent@example.com",
        ("Poppy", "Quill", "Asthma: inhaler"),
        48,
    )
    .await;
    let (_, zeb_client, _, zeb_booking) =
        family_with_booking(&app, &club, "zeb.parent@example.com", ("Zebedee", "Marsh", "Epipen in bag"), 48)
            .await;
    // A reset link emailed to the family: the copy in the download must not sign in.
    sqlx::query!(
        "insert into outbox_emails (to_address, subject, body_text, status)
         values ('poppy.parent@example.com', 'Reset your password',
                 'Choose a new one: http://127.0.0.1/password/reset/SECRETTOKEN123 within an hour.', 'sent')"
    )
    .execute(&app.pool)
    .await
    .unwrap();

    let files = download(&poppy_client).await;

    let children = file(&files, "children.json");
    assert!(children.contains("Poppy") && children.contains("Asthma: inhaler"), "{children}");
    assert!(file(&files, "children.csv").contains("Poppy"));
    assert!(file(&files, "emergency_contacts.csv").contains("Contact of Poppy"));
    assert!(file(&files, "authorised_collectors.json").contains("Collector of Poppy"));
    assert!(file(&files, "account.json").contains("poppy.parent@example.com"));
    let bookings = file(&files, "bookings.csv");
    assert!(
        bookings.lines().nth(1).is_some_and(|l| l.starts_with(&format!("{poppy_booking},"))),
        "{bookings}"
    );
    assert!(file(&files, "booking_places.json").contains("Football"));
    assert!(file(&files, "booking_history.csv").lines().count() >= 2, "the booking's history");
    let emails = file(&files, "emails.json");
    assert!(emails.contains("[link withheld]") && !emails.contains("SECRETTOKEN123"), "{emails}");
    assert!(
        files.iter().any(|(n, _)| n == "payments.csv") && files.iter().any(|(n, _)| n == "attendance.csv")
    );
    for (name, text) in &files {
        assert!(
            !text.contains("Zebedee") && !text.contains("zeb.parent"),
            "{name} holds another family's data"
        );
        assert!(!text.contains("argon2"), "{name} holds a password hash");
    }
    assert!(!file(&files, "bookings.json").contains(&format!("\"id\": {zeb_booking},")));
    let exported = count(
        &app.pool,
        &format!("select count(*) from audit_log where action = 'family.data_exported' and actor_id = {poppy_parent}"),
    )
    .await;
    assert_eq!(exported, 1);

    // The other family gets only theirs from the same route: it takes no id at all.
    let theirs = download(&zeb_client).await;
    assert!(file(&theirs, "children.json").contains("Zebedee"));
    assert!(theirs.iter().all(|(_, text)| !text.contains("Poppy")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_download_needs_a_csrf_token_and_a_parent() {
    let app = spawn_app().await;
    let (_, client) = parent(&app, "parent@example.com").await;
    let forged = client.post_raw("/parent/account/export", &[]).await;
    assert_eq!(forged.status(), 403);
    let owner = app.signed_in("owner@example.com", "admin", Some("owner")).await;
    let token = owner.csrf_token("/admin").await;
    let as_owner = owner.post_raw("/parent/account/export", &[("csrf_token", &token)]).await;
    assert_eq!(as_owner.status(), 403);
    assert_eq!(
        count(&app.pool, "select count(*) from audit_log where action = 'family.data_exported'").await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_asks_to_close_the_account_sees_it_waiting_and_can_withdraw_it() {
    let app = spawn_app().await;
    let (parent_id, client) = parent(&app, "parent@example.com").await;

    let unconfirmed =
        client.submit("/parent/account", "/parent/account/close", &[("reason", "Moving to Leeds")]).await;
    assert_eq!(unconfirmed.status(), 422);
    let page = unconfirmed.text().await.unwrap();
    assert!(page.contains("Tick the box to confirm you want your account closed."), "{page}");
    assert!(page.contains("Moving to Leeds"), "the reason is kept");
    assert_eq!(count(&app.pool, "select count(*) from erasure_requests").await, 0);

    let asked = client
        .submit(
            "/parent/account",
            "/parent/account/close",
            &[("reason", "Moving to Leeds"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(asked.status(), 303);
    let page = client.get_text("/parent/account").await;
    assert!(page.contains("You asked us to close your account"), "{page}");
    assert!(page.contains("Withdraw my request"));

    let again = client.submit("/parent/account", "/parent/account/close", &[("confirm", "yes")]).await;
    assert_eq!(again.status(), 303, "a second request while one waits changes nothing");
    assert_eq!(count(&app.pool, "select count(*) from erasure_requests").await, 1);

    let withdrawn = client.submit("/parent/account", "/parent/account/close/withdraw", &[]).await;
    assert_eq!(withdrawn.status(), 303);
    let status = sqlx::query_scalar!(
        r#"select status as "status: ErasureStatus" from erasure_requests where user_id = $1"#,
        parent_id
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(status, ErasureStatus::Withdrawn);
    assert!(client.get_text("/parent/account").await.contains("Close my account"));
    let audited = count(
        &app.pool,
        "select count(*) from audit_log where action in ('family.erasure_requested', 'family.erasure_withdrawn')",
    )
    .await;
    assert_eq!(audited, 2);
}

/// Every safeguarding concern and action, exactly as stored.
async fn safeguarding_rows(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar!(
        r#"select row_to_json(c)::text as "row!" from safeguarding_concerns c
           union all select row_to_json(a)::text from safeguarding_actions a order by 1"#
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_erases_a_family_keeping_bookings_payments_and_safeguarding_records() {
    let app = spawn_app().await;
    let club = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let (parent_id, client, child_id, booking_id) = family_with_booking(
        &app,
        &club,
        "poppy.parent@example.com",
        ("Poppy", "Quill", "Asthma: inhaler"),
        48,
    )
    .await;
    let (_, _, other_child, _) =
        family_with_booking(&app, &club, "zeb.parent@example.com", ("Zebedee", "Marsh", "Epipen in bag"), 48)
            .await;
    // The session is held and paid for: move it into the past, as if delivered.
    sqlx::query!(
        "update sessions set starts_at = now() - interval '7 days', ends_at = now() - interval '7 days' + interval '1 hour'
         where id = (select session_id from booking_participants where booking_id = $1)",
        booking_id
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query!(
        "insert into payments (booking_id, amount_pence, method, status, paid_at) values ($1, 650, 'cash', 'succeeded', now())",
        booking_id
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let lead = app.create_user("lead@example.com", "admin", Some("safeguarding_lead")).await;
    sqlx::query!(
        "insert into safeguarding_concerns (child_id, raised_by, concern)
         values ($1, $2, 'Poppy Quill said something worrying.')",
        child_id,
        lead
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query!("insert into calendar_feeds (user_id, token) values ($1, 'feed-token-of-poppy')", parent_id)
        .execute(&app.pool)
        .await
        .unwrap();
    let safeguarding_before = safeguarding_rows(&app).await;
    let mentions_sql = "select count(*) from audit_log
         where coalesce(before::text, '') || coalesce(after::text, '') ~* '(poppy|quill|asthma|poppy\\.parent)'";
    assert!(count(&app.pool, mentions_sql).await > 0, "the log mentions the family before erasure");
    let session_id = client.session_id().expect("the parent's session");
    let paid_before = count(&app.pool, "select coalesce(sum(amount_pence), 0) from payments").await;
    let asked = client
        .submit("/parent/account", "/parent/account/close", &[("reason", "Moving away"), ("confirm", "yes")])
        .await;
    assert_eq!(asked.status(), 303);
    let request_id = count(&app.pool, "select id from erasure_requests").await;

    let owner = app.signed_in("owner@example.com", "admin", Some("owner")).await;
    let owner_id = count(&app.pool, "select id from users where email = 'owner@example.com'").await;
    let list = owner.get_text("/admin/erasure-requests").await;
    assert!(list.contains("Test parent") && list.contains("poppy.parent@example.com"), "{list}");
    let page_path = format!("/admin/erasure-requests/{request_id}");
    let action = format!("{page_path}/carry-out");
    let unconfirmed = owner.submit(&page_path, &action, &[]).await;
    assert_eq!(unconfirmed.status(), 422);
    assert!(unconfirmed.text().await.unwrap().contains("Tick the box to confirm"));

    let done = owner.submit(&page_path, &action, &[("confirm", "yes")]).await;
    assert_eq!(done.status(), 303);
    assert!(owner.get_text(&page_path).await.contains("Carried out"));

    // The account: anonymised and closed.
    let account = sqlx::query!("select email, name, phone, is_active from users where id = $1", parent_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (email, name, phone, active) = (account.email, account.name, account.phone, account.is_active);
    assert_eq!(email, format!("erased-{parent_id}@erased.invalid"));
    assert!(!name.contains("Test parent") && phone.is_none() && !active, "{name}");
    // The child: no name, no medical details; contacts and collectors gone.
    let child = sqlx::query!(
        "select first_name, last_name, medical_notes, allergies, doctor_name from children where id = $1",
        child_id
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (first, last, medical, allergies, doctor) =
        (child.first_name, child.last_name, child.medical_notes, child.allergies, child.doctor_name);
    assert!(first != "Poppy" && !last.contains("Quill"), "{first} {last}");
    assert!(medical.is_empty() && allergies.is_empty() && doctor.is_empty());
    let theirs = format!("(select id from children where parent_id = {parent_id})");
    assert_eq!(
        count(
            &app.pool,
            &format!("select count(*) from child_emergency_contacts where child_id in {theirs}")
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app.pool,
            &format!("select count(*) from child_authorised_collectors where child_id in {theirs}")
        )
        .await,
        0
    );
    // Bookings and payments stay, with their totals, for the accounts.
    assert_eq!(count(&app.pool, &format!("select count(*) from bookings where id = {booking_id}")).await, 1);
    assert_eq!(count(&app.pool, "select coalesce(sum(amount_pence), 0) from payments").await, paid_before);
    assert_eq!(count(&app.pool, "select count(*) from payments").await, 1);
    // Safeguarding records: byte for byte as they were.
    assert_eq!(safeguarding_rows(&app).await, safeguarding_before);
    // No way back in: the session is gone, the password no longer works, no calendar.
    let stored =
        count(&app.pool, &format!("select count(*) from tower_sessions.session where id = '{session_id}'"))
            .await;
    assert_eq!(stored, 0, "the parent's session is deleted");
    assert_eq!(client.get("/parent").await.status(), 303, "the old session is signed out");
    assert_eq!(location(&client.get("/parent").await), "/login");
    assert_ne!(app.client().login("poppy.parent@example.com", crate::common::PASSWORD).await.status(), 303);
    assert_eq!(
        count(&app.pool, &format!("select count(*) from calendar_feeds where user_id = {parent_id}")).await,
        0
    );
    // Who did it is recorded; the log keeps no copy of what was erased.
    let erased_by = count(
        &app.pool,
        &format!("select actor_id from audit_log where action = 'family.erased' and entity_id = {parent_id}"),
    )
    .await;
    assert_eq!(erased_by, owner_id);
    assert_eq!(count(&app.pool, mentions_sql).await, 0, "the log keeps no erased details");
    // The parent hears, at the address they had.
    let told = count(
        &app.pool,
        "select count(*) from outbox_emails where to_address = 'poppy.parent@example.com' and subject = 'Your Portico account is closed'",
    )
    .await;
    assert_eq!(told, 1);
    // The other family is untouched.
    let other = sqlx::query_scalar!("select first_name from children where id = $1", other_child)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(other, "Zebedee");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_waits_until_the_familys_bookings_to_come_are_cancelled() {
    let app = spawn_app().await;
    let club = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let (parent_id, client, child_id, _) =
        family_with_booking(&app, &club, "poppy.parent@example.com", ("Poppy", "Quill", "Asthma"), 48).await;
    client.submit("/parent/account", "/parent/account/close", &[("confirm", "yes")]).await;
    let request_id = count(&app.pool, "select id from erasure_requests").await;
    let owner = app.signed_in("owner@example.com", "admin", Some("owner")).await;
    let page_path = format!("/admin/erasure-requests/{request_id}");

    let refused = owner.submit(&page_path, &format!("{page_path}/carry-out"), &[("confirm", "yes")]).await;

    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("This family has 1 booking still to come."));
    let first = sqlx::query_scalar!("select first_name from children where id = $1", child_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(first, "Poppy", "nothing was erased");
    assert_eq!(
        count(&app.pool, &format!("select count(*) from users where id = {parent_id} and is_active")).await,
        1
    );
    assert_eq!(count(&app.pool, "select count(*) from erasure_requests where status = 'pending'").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_declines_a_request_with_a_reason_the_parent_reads() {
    let app = spawn_app().await;
    let (_, client) = parent(&app, "parent@example.com").await;
    client.submit("/parent/account", "/parent/account/close", &[("confirm", "yes")]).await;
    let request_id = count(&app.pool, "select id from erasure_requests").await;
    let owner = app.signed_in("owner@example.com", "admin", Some("owner")).await;
    let page_path = format!("/admin/erasure-requests/{request_id}");
    let action = format!("{page_path}/decline");

    let no_reason = owner.submit(&page_path, &action, &[("reason", "  ")]).await;
    assert_eq!(no_reason.status(), 422);
    assert!(no_reason.text().await.unwrap().contains("Give a reason: the parent will read it."));

    let declined =
        owner.submit(&page_path, &action, &[("reason", "An unpaid invoice must be settled first.")]).await;
    assert_eq!(declined.status(), 303);
    assert!(client.get_text("/parent/account").await.contains("An unpaid invoice must be settled first."));
    let emailed = count(
        &app.pool,
        "select count(*) from outbox_emails where to_address = 'parent@example.com' and body_text like '%unpaid invoice%'",
    )
    .await;
    assert_eq!(emailed, 1);
    let again = owner.submit(&page_path, &format!("{page_path}/carry-out"), &[("confirm", "yes")]).await;
    assert_eq!(again.status(), 303, "a decided request is not carried out");
    assert_eq!(
        count(&app.pool, "select count(*) from users where email = 'parent@example.com' and is_active").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decided_request_is_not_declined_twice_and_a_made_up_one_is_not_found() {
    let app = spawn_app().await;
    let (_, client) = parent(&app, "parent@example.com").await;
    let withdrawn_none = client.submit("/parent/account", "/parent/account/close/withdraw", &[]).await;
    assert_eq!(withdrawn_none.status(), 303, "nothing to withdraw changes nothing");
    assert!(
        client.get_text("/parent/account").await.contains("No request to close your account is waiting.")
    );
    client.submit("/parent/account", "/parent/account/close", &[("confirm", "yes")]).await;
    let request_id = count(&app.pool, "select id from erasure_requests").await;
    let owner = app.signed_in("owner@example.com", "admin", Some("owner")).await;
    let page_path = format!("/admin/erasure-requests/{request_id}");
    let action = format!("{page_path}/decline");
    let reason = [("reason", "An unpaid invoice must be settled first.")];
    assert_eq!(owner.submit(&page_path, &action, &reason).await.status(), 303);

    let again = owner.submit(&page_path, &action, &[("reason", "A second reason.")]).await;

    assert_eq!(again.status(), 303);
    assert_eq!(location(&again), page_path);
    assert!(owner.get_text(&page_path).await.contains("This request has already been decided."));
    let emailed =
        count(&app.pool, "select count(*) from outbox_emails where to_address = 'parent@example.com'").await;
    assert_eq!(emailed, 1, "the parent is told once");
    let decided =
        count(&app.pool, "select count(*) from audit_log where action = 'family.erasure_declined'").await;
    assert_eq!(decided, 1);
    let made_up = owner.submit(&page_path, "/admin/erasure-requests/999999/decline", &reason).await;
    assert_eq!(made_up.status(), 404);
    let not_a_number =
        owner.submit(&page_path, "/admin/erasure-requests/abc/carry-out", &[("confirm", "yes")]).await;
    assert_eq!(not_a_number.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_owner_may_see_and_decide_erasure_requests() {
    let app = spawn_app().await;
    let (_, client) = parent(&app, "parent@example.com").await;
    client.submit("/parent/account", "/parent/account/close", &[("confirm", "yes")]).await;
    let request_id = count(&app.pool, "select id from erasure_requests").await;
    let page_path = format!("/admin/erasure-requests/{request_id}");

    for role in ["coordinator", "finance", "safeguarding_lead"] {
        let admin = app.signed_in(&format!("{role}@example.com"), "admin", Some(role)).await;
        assert_eq!(admin.get("/admin/erasure-requests").await.status(), 403, "{role}");
        assert_eq!(admin.get(&page_path).await.status(), 403, "{role}");
        let token = admin.csrf_token("/admin").await;
        let post = admin
            .post_raw(&format!("{page_path}/carry-out"), &[("csrf_token", &token), ("confirm", "yes")])
            .await;
        assert_eq!(post.status(), 403, "{role}");
        let post = admin
            .post_raw(&format!("{page_path}/decline"), &[("csrf_token", &token), ("reason", "no")])
            .await;
        assert_eq!(post.status(), 403, "{role}");
    }
    assert_eq!(client.get("/admin/erasure-requests").await.status(), 403, "a parent");
    let trainer = app.signed_in("trainer@example.com", "trainer", None).await;
    assert_eq!(trainer.get(&page_path).await.status(), 403, "a trainer");
    let owner = app.signed_in("owner@example.com", "admin", Some("owner")).await;
    assert_eq!(owner.get(&page_path).await.status(), 200);
    assert_eq!(owner.get("/admin/erasure-requests/999999").await.status(), 404);
    assert_eq!(count(&app.pool, "select count(*) from erasure_requests where status = 'pending'").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owners_list_of_requests_is_paged_fifty_at_a_time() {
    let app = spawn_app().await;
    sqlx::query!(
        "with parents as (
             insert into users (email, name, role, password_hash)
             select 'parent' || n || '@example.com', 'Parent number ' || n, 'parent', 'x'
             from generate_series(1, 51) n returning id)
         insert into erasure_requests (user_id) select id from parents order by id"
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let owner = app.signed_in("owner@example.com", "admin", Some("owner")).await;

    let first = owner.get_text("/admin/erasure-requests").await;
    assert!(first.contains("Parent number 51<") && !first.contains("Parent number 1<"), "newest first");
    assert!(first.contains(">Next</a>") && !first.contains(">Previous</a>"));
    let next = first
        .split("href=\"/admin/erasure-requests?before=")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap();
    let second = owner.get_text(&format!("/admin/erasure-requests?before={next}")).await;
    assert!(second.contains("Parent number 1<") && !second.contains("Parent number 2<"), "{second}");
    assert!(second.contains(">Previous</a>") && !second.contains(">Next</a>"));
    let previous = second
        .split("href=\"/admin/erasure-requests?after=")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap();
    let back = owner.get_text(&format!("/admin/erasure-requests?after={previous}")).await;
    assert!(
        back.contains("Parent number 51<")
            && back.contains("Parent number 2<")
            && !back.contains("Parent number 1<")
    );
    assert!(back.contains(">Next</a>") && !back.contains(">Previous</a>"), "back on the first page");
}
