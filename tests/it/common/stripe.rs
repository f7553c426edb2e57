//! Stripe in tests: the app pointed at a local mock of Stripe's API (the real
//! async-stripe client talks to it), and webhook deliveries signed exactly as Stripe
//! signs them.

use std::sync::atomic::{AtomicUsize, Ordering};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use wiremock::{
    Mock, MockServer, Request, Respond, ResponseTemplate,
    matchers::{header, method, path},
};

use super::{TestApp, spawn_app_with};

pub const SECRET: &str = "whsec_test_portico";

/// The app with card payments and webhooks set up, and the mock it calls.
pub async fn stripe_app() -> (TestApp, MockServer) {
    let mock = MockServer::start().await;
    let app = spawn_app_with(&[
        ("STRIPE_SECRET_KEY", "sk_test_portico"),
        ("STRIPE_WEBHOOK_SECRET", SECRET),
        ("STRIPE_API_BASE", &mock.uri()),
    ])
    .await;
    (app, mock)
}

/// The URL the mock's Checkout Session `session_id` sends the parent to.
pub fn checkout_url(session_id: &str) -> String {
    format!("https://checkout.stripe.test/pay/{session_id}")
}

/// The next Checkout Session the app creates is `session_id`.
pub async fn mount_checkout(mock: &MockServer, session_id: &str) {
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .and(header("authorization", "Bearer sk_test_portico"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": session_id,
            "object": "checkout.session",
            "url": checkout_url(session_id),
            "payment_status": "unpaid",
            "status": "open",
        })))
        .up_to_n_times(1)
        .mount(mock)
        .await;
}

/// Every Checkout Session the app creates from now on, numbered: `cs_auto_0`, `cs_auto_1`…
pub async fn mount_numbered_checkouts(mock: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(Numbered::default())
        .mount(mock)
        .await;
}

#[derive(Default)]
struct Numbered(AtomicUsize);

impl Respond for Numbered {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let id = format!("cs_auto_{}", self.0.fetch_add(1, Ordering::SeqCst));
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": id, "object": "checkout.session", "url": checkout_url(&id),
            "payment_status": "unpaid", "status": "open",
        }))
    }
}

/// `Stripe-Signature` for `body`: HMAC-SHA256 of "{t}.{body}" with the endpoint secret.
pub fn sign(body: &str, secret: &str, timestamp: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A `checkout.session.*` event for `session_id`.
pub fn checkout_event(id: &str, kind: &str, session_id: &str, payment_status: &str) -> String {
    serde_json::json!({
        "id": id,
        "object": "event",
        "type": kind,
        "data": { "object": {
            "id": session_id,
            "object": "checkout.session",
            "payment_status": payment_status,
            "payment_intent": format!("pi_{session_id}"),
        }},
    })
    .to_string()
}

/// Posts `body` to the webhook of the app at `address` with `signature`; the status.
pub async fn deliver(address: &str, body: &str, signature: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{address}/webhooks/stripe"))
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Posts `body` signed now with [`SECRET`], as Stripe would.
pub async fn deliver_signed(address: &str, body: &str) -> u16 {
    deliver(address, body, &sign(body, SECRET, now())).await
}

/// Posts a JSON event signed now with [`SECRET`].
pub async fn deliver_event(address: &str, event: &serde_json::Value) -> u16 {
    deliver_signed(address, &event.to_string()).await
}
