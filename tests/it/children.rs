//! A family's children: adding, checking, editing, archiving, contacts, collectors and
//! the checklist; and nobody else's children, ever.

use crate::common::{
    TestApp, TestClient,
    client::location,
    fixtures::{activity, book, session},
    spawn_app,
};

/// The form as a parent fills it in correctly.
fn maya() -> Vec<(&'static str, &'static str)> {
    vec![
        ("first_name", "Maya"),
        ("last_name", "Morgan"),
        ("date_of_birth", "2018-05-31"),
        ("medical_notes", "Mild asthma: blue inhaler in her bag."),
        ("allergies", "Peanuts"),
        ("additional_needs", ""),
        ("doctor_name", "Dr Patel"),
        ("doctor_phone", "020 8549 8818"),
        ("photo_consent", "yes"),
        ("contact_name", "Jamie Morgan"),
        ("contact_relationship", "Father"),
        ("contact_phone", "07700 900301"),
        ("collector_name", "Ruth Morgan"),
        ("collector_relationship", "Grandmother"),
        ("collector_phone", "07700 900302"),
        ("collector_password", "bluebell"),
        ("collector_notes", ""),
    ]
}

/// `fields` with `name` set to `value`.
fn with<'a>(fields: &[(&'a str, &'a str)], name: &str, value: &'a str) -> Vec<(&'a str, &'a str)> {
    fields.iter().map(|&(k, v)| if k == name { (k, value) } else { (k, v) }).collect()
}

/// Text as askama escapes it in a page.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn field_error(field: &str, message: &str) -> String {
    format!(r#"<p class="field-error" id="{field}-error">{}</p>"#, escaped(message))
}

/// Adds a child through the form and returns its id.
async fn add_child(client: &TestClient, fields: &[(&str, &str)]) -> i64 {
    let response = client.submit("/parent/children/new", "/parent/children/new", fields).await;
    assert_eq!(response.status(), 303, "the child is added");
    let to = location(&response).to_owned();
    to.strip_prefix("/parent/children/").and_then(|id| id.parse().ok()).unwrap_or_else(|| panic!("{to}"))
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_adds_a_child_and_sees_them_listed() {
    let app = spawn_app().await;
    let client = app.signed_in("parent@example.com", "parent", None).await;
    let form = client.get_text("/parent/children/new").await;
    assert!(form.contains(r#"<input id="date_of_birth" name="date_of_birth" type="date""#), "{form}");
    assert!(form.contains(">Add child</button>"));

    let id = add_child(&client, &maya()).await;

    let page = client.get_text(&format!("/parent/children/{id}")).await;
    assert!(page.contains("Maya Morgan has been added."));
    let list = client.get_text("/parent/children").await;
    assert!(list.contains(&format!(r#"<a class="list-title" href="/parent/children/{id}">Maya Morgan</a>"#)));
    assert!(list.contains("Medical form signed"), "the list says what is still needed");
    for shown in
        ["31 May 2018", "Mild asthma", "Peanuts", "Dr Patel", "Jamie Morgan", "07700 900301", "Ruth Morgan"]
    {
        assert!(page.contains(shown), "the child's page shows {shown}");
    }
    let (contacts, collectors): (i64, i64) = sqlx::query_as(
        "select (select count(*) from child_emergency_contacts where child_id = $1),
                (select count(*) from child_authorised_collectors where child_id = $1)",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((contacts, collectors), (1, 1));
    assert_eq!(count(&app, "select count(*) from audit_log where action = 'child.created'").await, 1);
    let home = client.get_text("/parent").await;
    assert!(
        home.contains(&format!(r#"href="/parent/children/{id}">Maya Morgan</a>"#)),
        "the dashboard links"
    );
    assert!(home.contains(r#"href="/parent/children">Children</a>"#), "the nav links to the children");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_field_comes_back_with_its_message_and_the_values_kept_and_nothing_is_written() {
    let app = spawn_app().await;
    let client = app.signed_in("parent@example.com", "parent", None).await;
    let long_name = "M".repeat(101);
    let long_notes = "n".repeat(2001);
    let cases: Vec<(&str, &str, &str)> = vec![
        ("first_name", "  ", "Enter the child's first name."),
        ("first_name", &long_name, "Use at most 100 characters."),
        ("last_name", "", "Enter the child's last name."),
        ("date_of_birth", "", "Enter the child's date of birth."),
        ("date_of_birth", "2018-02-30", "Enter a real date, like 2018-05-31."),
        ("date_of_birth", "2099-01-01", "The date of birth cannot be in the future."),
        ("date_of_birth", "9999-12-31", "Enter a real date, like 2018-05-31."),
        ("date_of_birth", "1990-01-01", "The date of birth must be within the last 25 years."),
        ("allergies", &long_notes, "Use at most 2,000 characters."),
        ("doctor_phone", "ask the surgery", "Enter a phone number like 07700 900123 or +44 7700 900123."),
        ("contact_name", "", "Enter the emergency contact's name."),
        ("contact_phone", "", "Enter the emergency contact's phone number."),
        ("contact_phone", "123 45", "Enter a phone number like 07700 900123 or +44 7700 900123."),
        ("collector_name", "", "Enter the name of the person collecting."),
        ("collector_phone", "07700-900302", "Enter a phone number like 07700 900123 or +44 7700 900123."),
    ];
    for (field, value, message) in cases {
        let fields = with(&maya(), field, value);
        let response = client.submit("/parent/children/new", "/parent/children/new", &fields).await;

        assert_eq!(response.status(), 422, "{field} = {value:?}");
        let page = response.text().await.unwrap();
        assert!(page.contains(&field_error(field, message)), "{field} = {value:?} says {message:?}");
        assert_eq!(page.matches(r#"class="field-error""#).count(), 1, "only {field} is wrong");
        for (kept, typed) in fields.iter().filter(|(k, _)| !k.ends_with("notes") && !k.starts_with("photo")) {
            if !typed.trim().is_empty() && *kept != "allergies" {
                assert!(page.contains(&format!(r#"value="{}""#, escaped(typed))), "{kept} is kept");
            }
        }
        assert!(page.contains("Mild asthma: blue inhaler in her bag.</textarea>"), "text areas are kept");
        assert!(
            page.contains(r#"name="photo_consent" type="checkbox" value="yes" checked"#),
            "ticks are kept"
        );
    }
    let written = count(
        &app,
        "select (select count(*) from children) + (select count(*) from child_emergency_contacts)
              + (select count(*) from child_authorised_collectors) + (select count(*) from audit_log)",
    )
    .await;
    assert_eq!(written, 0, "nothing is half-written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_edits_a_child_and_the_first_contact_and_collector() {
    let app = spawn_app().await;
    let client = app.signed_in("parent@example.com", "parent", None).await;
    let id = add_child(&client, &maya()).await;
    let edit = format!("/parent/children/{id}/edit");
    let form = client.get_text(&edit).await;
    assert!(form.contains(r#"value="2018-05-31""#) && form.contains(r#"value="Jamie Morgan""#), "{form}");

    let bad = with(&maya(), "contact_phone", "nope");
    let response = client.submit(&edit, &edit, &bad).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains(&field_error(
        "contact_phone",
        "Enter a phone number like 07700 900123 or +44 7700 900123."
    )));

    let mut fields = with(&maya(), "allergies", "Peanuts and sesame");
    fields = with(&fields, "contact_phone", "+44 7700 900999");
    fields = with(&fields, "collector_name", "");
    fields = with(&fields, "collector_relationship", "");
    fields = with(&fields, "collector_phone", "");
    fields = with(&fields, "collector_password", "");
    fields.retain(|(k, _)| *k != "photo_consent");
    let response = client.submit(&edit, &edit, &fields).await;

    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), format!("/parent/children/{id}"));
    let page = client.get_text(&format!("/parent/children/{id}")).await;
    assert!(page.contains("Peanuts and sesame") && page.contains("+44 7700 900999"));
    assert!(page.contains("No photos, please"), "unticking the box withdraws consent");
    let (allergies, photo, contacts, collectors): (String, bool, i64, i64) = sqlx::query_as(
        "select allergies, photo_consent,
                (select count(*) from child_emergency_contacts where child_id = $1),
                (select count(*) from child_authorised_collectors where child_id = $1)
         from children where id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((allergies.as_str(), photo, contacts, collectors), ("Peanuts and sesame", false, 1, 0));
    let audit: serde_json::Value =
        sqlx::query_scalar("select after from audit_log where action = 'child.updated'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        audit["also_changed"],
        serde_json::json!(["allergies"]),
        "health details are named, not copied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archiving_a_child_hides_them() {
    let app = spawn_app().await;
    let client = app.signed_in("parent@example.com", "parent", None).await;
    let id = add_child(&client, &maya()).await;
    let page = format!("/parent/children/{id}");

    let response = client.submit(&page, &format!("{page}/archive"), &[]).await;

    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/parent/children");
    let list = client.get_text("/parent/children").await;
    assert!(list.contains("Maya Morgan has been archived"));
    assert!(!list.contains(&format!("/parent/children/{id}")), "{list}");
    assert!(!client.get_text("/parent").await.contains("Maya Morgan"));
    assert_eq!(client.get(&page).await.status(), 404);
    assert_eq!(count(&app, "select count(*) from children where archived_at is not null").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_booked_on_a_session_to_come_is_not_archived() {
    let app = spawn_app().await;
    let client = app.signed_in("parent@example.com", "parent", None).await;
    let id = add_child(&client, &maya()).await;
    let club = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session_id = session(&app.pool, &club, 48, 10, None).await;
    let token = client.csrf_token("/parent").await;
    assert_eq!(book(&client, &token, session_id, &[id]).await.status(), 303, "booked");
    let page = format!("/parent/children/{id}");

    let response = client.submit(&page, &format!("{page}/archive"), &[]).await;

    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), page, "back to the child's page");
    let shown = client.get_text(&page).await;
    assert!(
        shown.contains("Maya has sessions booked. Cancel those bookings before archiving Maya."),
        "{shown}"
    );
    assert_eq!(count(&app, "select count(*) from children where archived_at is not null").await, 0);
    assert_eq!(count(&app, "select count(*) from audit_log where action = 'child.archived'").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_emergency_contact_cannot_be_removed() {
    let app = spawn_app().await;
    let client = app.signed_in("parent@example.com", "parent", None).await;
    let id = add_child(&client, &maya()).await;
    let page = format!("/parent/children/{id}");
    let first: i64 = sqlx::query_scalar("select id from child_emergency_contacts where child_id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();

    let response = client.submit(&page, &format!("{page}/contacts/{first}/remove"), &[]).await;

    assert_eq!(response.status(), 422);
    let text = response.text().await.unwrap();
    assert!(text.contains(&escaped("A child needs at least one emergency contact.")), "{text}");
    assert_eq!(count(&app, "select count(*) from child_emergency_contacts").await, 1);

    let bad = client
        .submit(&page, &format!("{page}/contacts"), &[("contact_name", "Sam"), ("contact_phone", "1")])
        .await;
    assert_eq!(bad.status(), 422);
    let text = bad.text().await.unwrap();
    assert!(text.contains(&field_error(
        "contact_phone",
        "Enter a phone number like 07700 900123 or +44 7700 900123."
    )));
    assert!(text.contains(r#"value="Sam""#), "the typed name is kept");

    let added = client
        .submit(
            &page,
            &format!("{page}/contacts"),
            &[("contact_name", "Sam Lee"), ("contact_phone", "07700 900555")],
        )
        .await;
    assert_eq!(added.status(), 303);
    let removed = client.submit(&page, &format!("{page}/contacts/{first}/remove"), &[]).await;
    assert_eq!(removed.status(), 303);
    let left: Vec<String> =
        sqlx::query_scalar("select name from child_emergency_contacts").fetch_all(&app.pool).await.unwrap();
    assert_eq!(left, ["Sam Lee"]);
    assert!(client.get_text(&page).await.contains("Jamie Morgan is no longer an emergency contact"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collectors_are_added_and_removed_on_the_childs_page() {
    let app = spawn_app().await;
    let client = app.signed_in("parent@example.com", "parent", None).await;
    let fields: Vec<_> = maya().into_iter().filter(|(k, _)| !k.starts_with("collector_")).collect();
    let id = add_child(&client, &fields).await;
    let page = format!("/parent/children/{id}");

    let added = client
        .submit(
            &page,
            &format!("{page}/collectors"),
            &[
                ("collector_name", "Ruth Morgan"),
                ("collector_phone", "07700 900302"),
                ("collector_password", "bluebell"),
            ],
        )
        .await;
    assert_eq!(added.status(), 303);
    assert!(client.get_text(&page).await.contains("password: bluebell"));
    let collector: i64 =
        sqlx::query_scalar("select id from child_authorised_collectors").fetch_one(&app.pool).await.unwrap();
    let removed = client.submit(&page, &format!("{page}/collectors/{collector}/remove"), &[]).await;
    assert_eq!(removed.status(), 303);
    assert_eq!(count(&app, "select count(*) from child_authorised_collectors").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_gets_404_for_another_familys_child_and_it_is_unchanged() {
    let app = spawn_app().await;
    let other = app.signed_in("other@example.com", "parent", None).await;
    let theirs = add_child(&other, &maya()).await;
    let contact: i64 =
        sqlx::query_scalar("select id from child_emergency_contacts").fetch_one(&app.pool).await.unwrap();
    let item: i64 = sqlx::query_scalar("select id from checklist_items where code = 'medical_form'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let client = app.signed_in("parent@example.com", "parent", None).await;
    let mine = add_child(&client, &maya()).await;
    let base = format!("/parent/children/{theirs}");

    for path in [
        base.clone(),
        format!("{base}/edit"),
        "/parent/children/abc".into(),
        "/parent/children/1x/edit".into(),
    ] {
        let response = client.get(&path).await;
        assert_eq!(response.status(), 404, "GET {path}");
        assert!(response.text().await.unwrap().contains("Page not found"), "a styled 404 for {path}");
    }
    let token = client.csrf_token("/parent/children/new").await;
    let t = token.as_str();
    let renamed = with(&maya(), "first_name", "Hacked");
    let mut edit = vec![("csrf_token", t)];
    edit.extend_from_slice(&renamed);
    let mine_page = format!("/parent/children/{mine}");
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("{base}/edit"), edit),
        (format!("{base}/archive"), vec![("csrf_token", t)]),
        (
            format!("{base}/contacts"),
            vec![("csrf_token", t), ("contact_name", "X"), ("contact_phone", "07700 900000")],
        ),
        (format!("{base}/contacts/{contact}/remove"), vec![("csrf_token", t)]),
        (format!("{mine_page}/contacts/{contact}/remove"), vec![("csrf_token", t)]),
        (format!("{base}/checklist/{item}"), vec![("csrf_token", t), ("done", "true")]),
        ("/parent/children/abc/archive".into(), vec![("csrf_token", t)]),
    ];
    for (path, fields) in posts {
        assert_eq!(client.post_raw(&path, &fields).await.status(), 404, "POST {path}");
    }

    let (name, archived, contacts, done): (String, bool, i64, i64) = sqlx::query_as(
        "select first_name, archived_at is not null,
                (select count(*) from child_emergency_contacts where child_id = $1),
                (select count(*) from checklist_completions where child_id = $1)
         from children where id = $1",
    )
    .bind(theirs)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((name.as_str(), archived, contacts, done), ("Maya", false, 1, 0), "their child is unchanged");
    assert!(!client.get_text("/parent/children").await.contains(&format!("/parent/children/{theirs}\"")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trainers_and_admins_are_forbidden_from_the_childrens_pages() {
    let app = spawn_app().await;
    let trainer = app.signed_in("trainer@example.com", "trainer", None).await;
    assert_eq!(trainer.get("/parent/children").await.status(), 403);
    assert_eq!(trainer.get("/parent/children/new").await.status(), 403);
    let admin = app.signed_in("admin@example.com", "admin", Some("owner")).await;
    assert_eq!(admin.get("/parent/children").await.status(), 403);
    assert_eq!(app.client().get("/parent/children").await.status(), 303, "anonymous visitors sign in first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_checklist_item_shows_and_leaves_the_dashboard() {
    let app = spawn_app().await;
    let client = app.signed_in("parent@example.com", "parent", None).await;
    let id = add_child(&client, &maya()).await;
    let page = format!("/parent/children/{id}");
    let needed = "Maya Morgan: Medical form signed";
    let home = client.get_text("/parent").await;
    assert!(home.contains("Needs your attention") && home.contains(needed), "{home}");
    let item: i64 = sqlx::query_scalar("select id from checklist_items where code = 'medical_form'")
        .fetch_one(&app.pool)
        .await
        .unwrap();

    let response = client.submit(&page, &format!("{page}/checklist/{item}"), &[("done", "true")]).await;

    assert_eq!(response.status(), 303);
    let shown = client.get_text(&page).await;
    assert!(shown.contains("“Medical form signed” is done for Maya."));
    assert!(shown.contains(r#"<span class="badge ok">Done "#));
    let home = client.get_text("/parent").await;
    assert!(!home.contains(needed), "the dashboard stops listing it");
    assert!(home.contains("Maya Morgan: Photo consent recorded"), "the rest are still listed");
    let list = client.get_text("/parent/children").await;
    assert!(!list.contains("Medical form signed"));

    let undone = client.submit(&page, &format!("{page}/checklist/{item}"), &[("done", "false")]).await;
    assert_eq!(undone.status(), 303);
    assert!(client.get_text("/parent").await.contains(needed), "undoing lists it again");
    assert_eq!(count(&app, "select count(*) from audit_log where action like 'checklist.%'").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_family_has_contacts_collectors_and_a_part_done_checklist() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let client = app.client();
    assert_eq!(client.login("parent@portico.test", portico::demo::DEMO_PASSWORD).await.status(), 303);
    let maya: i64 = sqlx::query_scalar("select id from children where first_name = 'Maya'")
        .fetch_one(&app.pool)
        .await
        .unwrap();

    let page = client.get_text(&format!("/parent/children/{maya}")).await;

    assert!(page.contains("Jamie Morgan") && page.contains("Ruth Morgan") && page.contains("Dr Anita Patel"));
    let home = client.get_text("/parent").await;
    assert!(home.contains("Maya Morgan: Photo consent recorded"));
    assert!(!home.contains("Maya Morgan: Medical form signed"));
}
