//! Who attends: an account books places for itself and named adult delegates on
//! adults' courses, children only on children's sessions; requirements reach the
//! register; course types are set by the office and shown to customers.

use sqlx::PgPool;

use crate::common::{
    TestApp,
    fixtures::{self, Activity, book, child, count, parent, session},
    spawn_app,
};

/// An activity for `audience` ('children', 'adults', 'both') with a session in two days.
pub async fn course(pool: &PgPool, name: &str, audience: &str, months: Option<i32>) -> (Activity, i64) {
    let activity = fixtures::activity(pool, name, false, (0, 120), 24).await;
    sqlx::query(
        "update activities set audience = $2, certificate_valid_months = $3, min_age_years = null,
                max_age_years = null, syllabus = 'CPR, the recovery position, bleeding.' where id = $1",
    )
    .bind(activity.id)
    .bind(audience)
    .bind(months)
    .execute(pool)
    .await
    .unwrap();
    let session_id = session(pool, &activity, 48, 10, None).await;
    (activity, session_id)
}

/// A participant of `kind` on `account`'s list, straight into the database.
pub async fn adult(pool: &PgPool, account: i64, kind: &str, first_name: &str, email: Option<&str>) -> i64 {
    sqlx::query_scalar(
        "insert into children (parent_id, kind, first_name, last_name, email, dietary_needs)
         values ($1, $2, $3, 'Adult', $4, 'Vegan') returning id",
    )
    .bind(account)
    .bind(kind)
    .bind(first_name)
    .bind(email)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn id_of(app: &TestApp, first_name: &str) -> i64 {
    sqlx::query_scalar("select id from children where first_name = $1")
        .bind(first_name)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_adds_themself_and_a_delegate_and_books_both_onto_an_adults_course() {
    let app = spawn_app().await;
    let (_, session_id) = course(&app.pool, "Emergency First Aid", "adults", Some(36)).await;
    let (_, client) = parent(&app, "learner@example.com").await;

    let me = [
        ("kind", "self"),
        ("first_name", "Jamie"),
        ("last_name", "Lee"),
        ("access_needs", "Step-free, please"),
    ];
    let response = client.submit("/parent/people/new", "/parent/people/new", &me).await;
    assert_eq!(response.status(), 303);
    let delegate = [
        ("kind", "delegate"),
        ("first_name", "Chris"),
        ("last_name", "Palmer"),
        ("email", "Chris@Example.com"),
        ("dietary_needs", "Vegan"),
    ];
    let response = client.submit("/parent/people/new", "/parent/people/new", &delegate).await;
    assert_eq!(response.status(), 303);
    let people = client.get_text("/parent/people").await;
    assert!(people.contains("Jamie Lee") && people.contains("chris@example.com"), "{people}");
    assert!(people.contains("Access: Step-free, please"), "{people}");

    let page = client.get_text(&format!("/parent/sessions/{session_id}")).await;
    assert!(page.contains("Jamie Lee (you)") && page.contains("Chris Palmer (delegate)"), "{page}");
    assert!(page.contains("valid for 3 years") && page.contains("CPR, the recovery position"), "{page}");
    let (jamie, chris) = (id_of(&app, "Jamie").await, id_of(&app, "Chris").await);
    let token = client.csrf_token("/parent").await;
    let response = book(&client, &token, session_id, &[jamie, chris]).await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    let places =
        format!("select count(*) from booking_participants where session_id = {session_id} and holds_place");
    assert_eq!(count(&app.pool, &places).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_self_or_a_delegate_without_an_email_is_refused_by_the_field_with_the_input_kept() {
    let app = spawn_app().await;
    let (_, client) = parent(&app, "learner@example.com").await;
    let delegate = [("kind", "delegate"), ("first_name", "Chris"), ("last_name", "Palmer"), ("email", "")];
    let response = client.submit("/parent/people/new", "/parent/people/new", &delegate).await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("Enter the delegate&#39;s email address."), "{page}");
    assert!(page.contains("value=\"Palmer\""), "{page}");

    let me = [("kind", "self"), ("first_name", "Jamie"), ("last_name", "Lee")];
    assert_eq!(client.submit("/parent/people/new", "/parent/people/new", &me).await.status(), 303);
    let response = client.submit("/parent/people/new", "/parent/people/new", &me).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("You are already on your list"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_childrens_session_refuses_an_adult_and_an_adults_session_refuses_a_child() {
    let app = spawn_app().await;
    let (_, kids_session) = course(&app.pool, "Football", "children", None).await;
    let (_, adults_session) = course(&app.pool, "First Aid at Work", "adults", Some(36)).await;
    let (account, client) = parent(&app, "family@example.com").await;
    let maya = child(&app.pool, account, "Maya", 7).await;
    let me = adult(&app.pool, account, "self", "Alex", None).await;

    let page = client.get_text(&format!("/parent/sessions/{kids_session}")).await;
    assert!(
        page.contains("Maya Test") && !page.contains("Alex Adult"),
        "a children's session lists no adults: {page}"
    );
    let page = client.get_text(&format!("/parent/sessions/{adults_session}")).await;
    assert!(page.contains("Alex Adult") && !page.contains("Maya Test"), "{page}");

    let token = client.csrf_token("/parent").await;
    assert_eq!(book(&client, &token, kids_session, &[me]).await.status(), 409);
    assert_eq!(book(&client, &token, adults_session, &[maya]).await.status(), 409);
    assert_eq!(count(&app.pool, "select count(*) from booking_participants").await, 0);
    assert_eq!(book(&client, &token, kids_session, &[maya]).await.status(), 303);
    assert_eq!(book(&client, &token, adults_session, &[me]).await.status(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_age_limit_applies_to_adults_with_a_date_of_birth() {
    let app = spawn_app().await;
    let (activity, session_id) = course(&app.pool, "Over-25s driving theory", "adults", None).await;
    sqlx::query("update activities set min_age_years = 25 where id = $1")
        .bind(activity.id)
        .execute(&app.pool)
        .await
        .unwrap();
    let (account, client) = parent(&app, "family@example.com").await;
    let young = adult(&app.pool, account, "delegate", "Young", Some("young@example.com")).await;
    sqlx::query("update children set date_of_birth = current_date - interval '20 years' where id = $1")
        .bind(young)
        .execute(&app.pool)
        .await
        .unwrap();
    let page = client.get_text(&format!("/parent/sessions/{session_id}")).await;
    assert!(page.contains("Young is 20; this is for ages 25 and over"), "{page}");
    let token = client.csrf_token("/parent").await;
    assert_eq!(book(&client, &token, session_id, &[young]).await.status(), 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_delegate_is_not_found_and_children_pages_do_not_show_adults() {
    let app = spawn_app().await;
    let (owner, owner_client) = parent(&app, "owner@example.com").await;
    let delegate = adult(&app.pool, owner, "delegate", "Chris", Some("chris@example.com")).await;
    let (_, stranger) = parent(&app, "stranger@example.com").await;
    assert_eq!(stranger.get(&format!("/parent/people/{delegate}/edit")).await.status(), 404);
    assert_eq!(owner_client.get(&format!("/parent/children/{delegate}")).await.status(), 404);
    assert!(!owner_client.get_text("/parent/children").await.contains("Chris"));
    assert_eq!(owner_client.get(&format!("/parent/people/{delegate}/edit")).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_register_shows_each_learners_special_requirements() {
    let app = spawn_app().await;
    let (activity, session_id) = course(&app.pool, "First Aid at Work", "adults", Some(36)).await;
    let (account, client) = parent(&app, "learner@example.com").await;
    let me = adult(&app.pool, account, "self", "Jamie", None).await;
    let token = client.csrf_token("/parent").await;
    assert_eq!(book(&client, &token, session_id, &[me]).await.status(), 303);
    let (trainer_id, trainer) = fixtures::trainer(&app, "aisha@example.com", &activity).await;
    fixtures::shift(&app.pool, session_id, Some(trainer_id), "accepted").await;
    let register = trainer.get_text(&format!("/trainer/sessions/{session_id}/register")).await;
    assert!(register.contains("Jamie Adult") && register.contains("Dietary: Vegan"), "{register}");
    assert!(register.contains("Record results"), "{register}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_makes_a_course_type_and_staffing_refuses_a_trainer_without_its_qualification() {
    let app = spawn_app().await;
    let office = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    let fields = [
        ("name", "Emergency First Aid at Work"),
        ("audience", "adults"),
        ("syllabus", "CPR and the recovery position"),
        ("certificate_valid_months", "36"),
        ("duration_minutes", "390"),
        ("capacity", "12"),
        ("price", "75"),
        ("qualifications", "Level 3 Award in Teaching First Aid"),
    ];
    let response = office.submit("/admin/activities/new", "/admin/activities/new", &fields).await;
    assert_eq!(response.status(), 303);
    let (id, audience, months): (i64, String, Option<i32>) = sqlx::query_as(
        "select id, audience, certificate_valid_months from activities where name = 'Emergency First Aid at Work'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((audience.as_str(), months), ("adults", Some(36)));
    let bad = [
        ("name", "Bad course"),
        ("duration_minutes", "60"),
        ("capacity", "5"),
        ("price", "1"),
        ("certificate_valid_months", "999"),
    ];
    let response = office.submit("/admin/activities/new", "/admin/activities/new", &bad).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("Enter a number from 1 to 240."));

    let venue_id: i64 = sqlx::query_scalar("insert into venues (name) values ('Hall') returning id")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let course = Activity { id, venue_id };
    let session_id = session(&app.pool, &course, 72, 12, None).await;
    let (trainer_id, _) = fixtures::trainer(&app, "sam@example.com", &course).await;
    let page = format!("/admin/sessions/{session_id}");
    let trainer = trainer_id.to_string();
    let fields = [("trainer", trainer.as_str()), ("role", "lead"), ("action", "assign")];
    let response = office.submit(&page, &format!("{page}/shifts"), &fields).await;
    assert_eq!(response.status(), 422);
    let body = response.text().await.unwrap();
    assert!(
        body.contains(
            "does not have Level 3 Award in Teaching First Aid, which Emergency First Aid at Work needs."
        ),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_has_a_course_its_learners_a_delegate_who_failed_and_a_certificate_expiring_soon() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let learner = app.client();
    assert_eq!(learner.login("learner@portico.test", portico::demo::DEMO_PASSWORD).await.status(), 303);
    let page = learner.get_text("/parent/certificates").await;
    assert!(page.contains("Emergency First Aid at Work: Jamie Lee"), "{page}");
    assert!(learner.get_text("/parent/people").await.contains("Chris Palmer"));
    let soon = count(
        &app.pool,
        "select count(*) from certificates where learner_name = 'Nadia Brooks' and expires_on < current_date + 90",
    )
    .await;
    assert_eq!(soon, 1);
    assert_eq!(count(&app.pool, "select count(*) from course_results where result = 'failed'").await, 1);
    let upcoming = count(
        &app.pool,
        "select count(*) from sessions s join activities a on a.id = s.activity_id
         where a.audience = 'adults' and s.starts_at > now() + interval '28 days'",
    )
    .await;
    assert_eq!(upcoming, 2);
}
