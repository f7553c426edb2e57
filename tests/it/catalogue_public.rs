//! The public catalogue at /courses: no sign-in, places left, filters kept across
//! pages, schema.org Event markup, and `Book` through sign-in and back.

use crate::common::{
    PASSWORD, TestApp,
    client::location,
    fixtures::{self, Activity},
    spawn_app,
};

async fn course(app: &TestApp, name: &str) -> Activity {
    let activity = fixtures::activity(&app.pool, name, false, (0, 120), 24).await;
    sqlx::query("update activities set description = $2 where id = $1")
        .bind(activity.id)
        .bind(format!("{name}: two days of practice. Certificate on passing."))
        .execute(&app.pool)
        .await
        .unwrap();
    activity
}

fn next_link(page: &str) -> Option<String> {
    let end = page.find(r#"" rel="next""#)?;
    let start = page[..end].rfind("href=\"")? + 6;
    Some(page[start..end].replace("&#38;", "&"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_without_sign_in_shows_places_left_and_keeps_filters_across_pages() {
    let app = spawn_app().await;
    let faw = course(&app, "First Aid at Work").await;
    let other = course(&app, "Paediatric First Aid").await;
    for day in 0..55 {
        fixtures::session(&app.pool, &faw, 48 + day * 24, 12, None).await;
        fixtures::session(&app.pool, &other, 50 + day * 24, 12, None).await;
    }
    let first = fixtures::session(&app.pool, &faw, 30, 12, None).await;
    sqlx::query("update sessions set places_taken = 5 where id = $1")
        .bind(first)
        .execute(&app.pool)
        .await
        .unwrap();
    // Past, cancelled and closed sessions are not on offer.
    let past = fixtures::session(&app.pool, &faw, -30, 12, None).await;
    let cancelled = fixtures::session(&app.pool, &faw, 40, 12, None).await;
    sqlx::query("update sessions set status = 'cancelled' where id = $1")
        .bind(cancelled)
        .execute(&app.pool)
        .await
        .unwrap();

    let visitor = app.client();
    let response = visitor.get("/courses").await;
    assert_eq!(response.status(), 200, "no sign-in needed");
    let all = response.text().await.unwrap();
    assert!(all.contains("7 places left"), "12 places, 5 taken");
    assert!(all.contains("First Aid at Work") && all.contains("Paediatric First Aid"));
    assert!(
        !all.contains(&format!("/courses/{past}\"")) && !all.contains(&format!("/courses/{cancelled}\""))
    );

    let filtered = format!("/courses?course={}&junk=1", faw.id);
    let page1 = visitor.get_text(&filtered).await;
    assert!(!page1.contains("Paediatric First Aid</h2>"), "only the chosen course");
    assert_eq!(page1.matches("itemtype=\"https://schema.org/Event\"").count(), 50);
    let next = next_link(&page1).expect("a second page");
    assert!(next.contains(&format!("course={}", faw.id)), "{next}");
    assert!(!next.contains("junk"), "only filters the page understood: {next}");
    let page2 = visitor.get_text(&next).await;
    assert_eq!(
        page2.matches("itemtype=\"https://schema.org/Event\"").count(),
        6,
        "56 sessions in all: {next}"
    );
    assert!(!page2.contains("Paediatric First Aid</h2>"));
    assert!(page2.contains("rel=\"prev\""));
    assert!(page2.contains(&format!(
        "<link rel=\"canonical\" href=\"{}/courses?course={}&#38;after=",
        app.config.base_url, faw.id
    )));

    // A month and a venue narrow it further; a junk month is ignored.
    let venue_page = visitor.get_text(&format!("/courses?venue={}", other.venue_id)).await;
    assert!(!venue_page.contains("First Aid at Work</h2>"));
    assert_eq!(visitor.get("/courses?month=2027-13&course=x").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_course_page_has_its_title_description_canonical_link_and_event_markup() {
    let app = spawn_app().await;
    let faw = course(&app, "Emergency First Aid at Work").await;
    let id = fixtures::session(&app.pool, &faw, 72, 12, None).await;
    let page = app.client().get_text(&format!("/courses/{id}")).await;
    assert!(page.contains("<title>Emergency First Aid at Work, "), "a real title");
    assert!(page.contains("<meta name=\"description\" content=\"Emergency First Aid at Work on "));
    assert!(
        page.contains(&format!("<link rel=\"canonical\" href=\"{}/courses/{id}\">", app.config.base_url))
    );
    for attribute in [
        r#"itemscope itemtype="https://schema.org/Event""#,
        r#"itemprop="name""#,
        r#"itemprop="startDate" datetime=""#,
        r#"itemprop="endDate""#,
        r#"itemprop="location" itemscope itemtype="https://schema.org/Place""#,
        r#"itemprop="offers" itemscope itemtype="https://schema.org/Offer""#,
        r#"itemprop="price" content="6.50""#,
        r#"itemprop="priceCurrency" content="GBP""#,
        r#"itemprop="availability" href="https://schema.org/InStock""#,
        r#"itemprop="description""#,
    ] {
        assert!(page.contains(attribute), "{attribute}");
    }
    assert!(!page.contains("<script"), "no script: the CSP forbids inline script");
    assert_eq!(app.client().get("/courses/999999").await.status(), 404);
    assert_eq!(app.client().get("/courses/abc").await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn book_sends_a_visitor_to_sign_in_and_back_and_a_customer_to_the_booking_page() {
    let app = spawn_app().await;
    let faw = course(&app, "First Aid at Work").await;
    let id = fixtures::session(&app.pool, &faw, 72, 12, None).await;
    app.create_user("learner@example.com", "parent", None).await;

    let visitor = app.client();
    let response = visitor.get(&format!("/courses/{id}/book")).await;
    assert_eq!(response.status(), 303);
    let to_login = location(&response).to_owned();
    assert_eq!(to_login, format!("/login?next=/courses/{id}/book"));
    let login = visitor.get_text(&to_login).await;
    assert!(login.contains(&format!(r#"name="next" value="/courses/{id}/book""#)));
    assert!(login.contains(&format!("/signup?next=/courses/{id}/book")));
    let token = visitor.csrf_token(&to_login).await;
    let next = format!("/courses/{id}/book");
    let signed_in = visitor
        .post_raw(
            "/login",
            &[
                ("csrf_token", &token),
                ("email", "learner@example.com"),
                ("password", PASSWORD),
                ("next", &next),
            ],
        )
        .await;
    assert_eq!(signed_in.status(), 303);
    assert_eq!(location(&signed_in), next, "back to book");
    let on = visitor.get(&next).await;
    assert_eq!(location(&on), format!("/parent/sessions/{id}"), "on to the booking flow");

    // Another site is never where signing in leads.
    let other = app.client();
    app.create_user("other@example.com", "parent", None).await;
    let token = other.csrf_token("/login?next=//evil.example/").await;
    let response = other
        .post_raw(
            "/login",
            &[
                ("csrf_token", &token),
                ("email", "other@example.com"),
                ("password", PASSWORD),
                ("next", "https://evil.example/"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/parent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_out_visitors_find_the_catalogue_from_every_page() {
    let app = spawn_app().await;
    let login = app.client().get_text("/login").await;
    assert!(login.contains(r#"<a href="/courses">Courses</a>"#), "in the layout");
    assert!(login.contains(r#"<a href="/courses">See our courses</a>"#), "and on the sign-in page");
}
