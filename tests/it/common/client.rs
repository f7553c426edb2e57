//! A browser-like client: keeps cookies, does not follow redirects (tests assert
//! them), and submits forms with the CSRF token the page gave it.

use std::sync::Arc;

use reqwest::{
    Response,
    cookie::{CookieStore, Jar},
    redirect::Policy,
};

pub struct TestClient {
    pub base: String,
    pub http: reqwest::Client,
    jar: Arc<Jar>,
}

impl TestClient {
    pub fn new(base: &str) -> Self {
        Self::with_headers(base, reqwest::header::HeaderMap::new())
    }

    /// A client that sends `headers` with every request (as a proxy in front would).
    pub fn with_headers(base: &str, headers: reqwest::header::HeaderMap) -> Self {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(Policy::none())
            .default_headers(headers)
            .build()
            .expect("build the HTTP client");
        Self { base: base.to_owned(), http, jar }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.http.get(format!("{}{path}", self.base)).send().await.expect("GET")
    }

    /// The body at `path`; an HTML page's heading outline is checked on the way, so
    /// every page the suite reads is held to it.
    pub async fn get_text(&self, path: &str) -> String {
        let response = self.get(path).await;
        let html = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/html"));
        let body = response.text().await.expect("body");
        if html {
            super::outline::assert_outline(path, &body);
        }
        body
    }

    /// The CSRF token in the form on the page at `path`.
    pub async fn csrf_token(&self, path: &str) -> String {
        let page = self.get_text(path).await;
        csrf_token_in(&page).unwrap_or_else(|| panic!("no CSRF token on {path}"))
    }

    /// Posts `fields` to `path` exactly as given (no token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(fields))
            .send()
            .await
            .expect("POST")
    }

    /// Submits the form found on `page_path` to `action` with `fields` and its token.
    pub async fn submit(&self, page_path: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf_token(page_path).await;
        let mut all = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(action, &all).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.submit("/login", "/login", &[("email", email), ("password", password)]).await
    }

    /// Presses "Sign out" on the page at `page_path`.
    pub async fn logout(&self, page_path: &str) -> Response {
        self.submit(page_path, "/logout", &[]).await
    }

    /// The session id in the cookie jar.
    pub fn session_id(&self) -> Option<String> {
        let url = self.base.parse().expect("base URL");
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|pair| pair.strip_prefix("portico_session="))
            .map(str::to_owned)
    }

    /// Puts `id` in the jar as the session cookie, as a thief replaying it would.
    pub fn set_session_id(&self, id: &str) {
        let url = self.base.parse().expect("base URL");
        self.jar.add_cookie_str(&format!("portico_session={id}; Path=/"), &url);
    }
}

pub fn csrf_token_in(page: &str) -> Option<String> {
    let marker = r#"name="csrf_token" value=""#;
    let start = page.find(marker)? + marker.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_owned())
}

pub fn encode(fields: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        out.append_pair(k, v);
    }
    out.finish()
}

pub fn location(response: &Response) -> &str {
    response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("")
}
