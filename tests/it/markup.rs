//! Every page's headings in order and every section with a heading, as the Nu HTML
//! checker wants: each demo account walks its portal, following every link once per
//! kind of page, and the pages anyone can open are read too. (Every page any test
//! reads with `get_text` is checked as well; see `common::outline`.)

use std::collections::{BTreeSet, VecDeque};

use crate::common::{TestClient, outline, spawn_app};

/// A page's kind: its path with every number as `N`, so a list of fifty bookings
/// costs one visit to a booking.
fn kind(path: &str) -> String {
    let mut out = String::new();
    let mut in_number = false;
    for c in path.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('N');
            }
            in_number = true;
        } else {
            out.push(c);
            in_number = false;
        }
    }
    out
}

/// The site's own links on `page`, without their query or fragment, skipping files.
fn links(page: &str) -> Vec<String> {
    page.split(r#"href="/"#)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|href| format!("/{}", href.split(['?', '#']).next().unwrap_or("")))
        .filter(|path| {
            ![".csv", ".ics", ".zip", ".css", ".js", ".png", ".svg", ".ico"].iter().any(|e| path.ends_with(e))
                && !path.starts_with("/static/")
        })
        .collect()
}

/// Walks from `start`, checking the outline of every HTML page reached; the paths seen.
async fn walk(client: &TestClient, start: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut visited = Vec::new();
    let mut queue = VecDeque::from([start.to_owned()]);
    while let Some(path) = queue.pop_front() {
        if !seen.insert(kind(&path)) || visited.len() >= 200 {
            continue;
        }
        let response = client.get(&path).await;
        let html = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/html"));
        if response.status() != 200 || !html {
            continue;
        }
        let page = response.text().await.unwrap();
        outline::assert_outline(&path, &page);
        queue.extend(links(&page));
        visited.push(path);
    }
    visited
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_the_demo_accounts_reach_has_its_headings_in_order() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let anonymous = app.client();
    for page in ["/login", "/signup", "/apply", "/password/forgot", "/certificates/verify"] {
        walk(&anonymous, page).await;
    }
    for email in [
        "admin@portico.test",
        "coordinator@portico.test",
        "finance@portico.test",
        "safeguarding@portico.test",
        "trainer@portico.test",
        "parent@portico.test",
        "learner@portico.test",
    ] {
        let client = app.client();
        let response = client.login(email, portico::demo::DEMO_PASSWORD).await;
        assert_eq!(response.status(), 303, "{email} signs in");
        let portal = response.headers()["location"].to_str().unwrap().to_owned();
        let visited = walk(&client, &portal).await;
        assert!(visited.len() >= 3, "{email} reached {visited:?}");
        if email == "trainer@portico.test" {
            assert!(visited.iter().any(|p| p == "/trainer/open-shifts"), "{visited:?}");
        }
    }
}
