//! Static files: embedded, under content-hashed names cached for a year.

use crate::common::spawn_app;

const APP_CSS: &str = include_str!("../../static/app.css");

fn stylesheet_in(page: &str) -> String {
    let start = page.find(r#"<link rel="stylesheet" href=""#).expect("a stylesheet link") + 29;
    page[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_layouts_stylesheet_has_a_hashed_name_cached_for_a_year() {
    let app = spawn_app().await;
    let client = app.client();
    let href = stylesheet_in(&client.get_text("/login").await);
    assert!(
        href.starts_with("/static/app.") && href.ends_with(".css") && href != "/static/app.css",
        "{href}"
    );

    let response = client.get(&href).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
    assert_eq!(response.text().await.unwrap(), APP_CSS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plain_name_is_still_answered_and_kept_briefly() {
    let app = spawn_app().await;
    let client = app.client();

    let response = client.get("/static/app.css").await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    assert_eq!(response.text().await.unwrap(), APP_CSS);
    assert_eq!(client.get("/static/app.00000000.css").await.status(), 404);
    assert_eq!(client.get("/static/../Cargo.toml").await.status(), 404);
}
