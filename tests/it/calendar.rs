//! The secret calendar link: the family's own bookings, and nothing once reset.

use crate::common::{
    client::location,
    fixtures::{activity, book, child, parent, session},
    spawn_app,
};

fn feed_path(page: &str) -> String {
    let start = page.find("/calendar/").expect("a calendar link on the page");
    let end = page[start..].find(".ics").unwrap() + start + 4;
    page[start..end].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_calendar_feed_lists_the_familys_bookings_and_a_reset_kills_the_old_link() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session_id = session(&app.pool, &football, 72, 5, None).await;
    let (parent_id, client) = parent(&app, "parent@example.com").await;
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let token = client.csrf_token("/parent").await;
    book(&client, &token, session_id, &[maya]).await;
    let (other_id, other) = parent(&app, "other@example.com").await;
    let zed = child(&app.pool, other_id, "Zed", 7).await;
    let other_token = other.csrf_token("/parent").await;
    book(&other, &other_token, session_id, &[zed]).await;

    let link = feed_path(&client.get_text("/parent/bookings").await);
    let anonymous = app.client();
    let feed = anonymous.get(&link).await;
    assert_eq!(feed.status(), 200);
    assert!(feed.headers()["content-type"].to_str().unwrap().starts_with("text/calendar"));
    let ics = feed.text().await.unwrap();
    assert!(ics.starts_with("BEGIN:VCALENDAR"));
    assert!(ics.contains("SUMMARY:Maya: Football"), "{ics}");
    assert!(!ics.contains("Zed"), "only this family's bookings");

    let reset = client.submit("/parent/bookings", "/calendar/reset", &[]).await;
    assert_eq!(reset.status(), 303);
    assert_eq!(location(&reset), "/parent/bookings");
    assert_eq!(anonymous.get(&link).await.status(), 404, "the old link is dead");
    let new_link = feed_path(&client.get_text("/parent/bookings").await);
    assert_ne!(new_link, link);
    assert_eq!(anonymous.get(&new_link).await.status(), 200);
    assert_eq!(anonymous.get("/calendar/guessed-token.ics").await.status(), 404);
    assert_eq!(anonymous.get("/calendar/guessed-token").await.status(), 404, "not a feed file");
    assert_eq!(anonymous.get("/calendar/a%20b.ics").await.status(), 404);
}
