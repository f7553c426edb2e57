//! Card payments through Stripe: the client built from configuration, Checkout
//! Sessions, and the checks on a webhook's signature.

use std::{collections::HashMap, future::Future, time::Duration};

use anyhow::Context;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::Config;

/// How far a webhook's signed timestamp may be from now, as Stripe recommends.
const TOLERANCE_SECONDS: i64 = 300;

/// The Stripe client, present only when `STRIPE_SECRET_KEY` is set. Every call gives
/// up after `STRIPE_TIMEOUT_MS` (10 s by default): a slow Stripe fails the payment's
/// start (the parent is told to try again or pay the office), never the page.
#[derive(Clone)]
pub struct Stripe {
    client: stripe::Client,
    timeout: Duration,
}

/// The fields of a Checkout Session we use; the rest of Stripe's object is ignored,
/// so a newer API version cannot break payments.
#[derive(Debug, Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    #[serde(default)]
    pub url: Option<String>,
    /// `open`, `complete` or `expired`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub payment_status: Option<String>,
    #[serde(default)]
    pub payment_intent: Option<String>,
}

pub struct NewCheckout<'a> {
    pub booking_id: i64,
    pub amount_pence: i64,
    pub currency: &'a str,
    pub description: &'a str,
    pub customer_email: &'a str,
    pub success_url: &'a str,
    pub cancel_url: &'a str,
    /// When Stripe closes the session (unix seconds, 30 minutes to 24 hours ahead);
    /// Stripe's default of 24 hours if None.
    pub expires_at: Option<i64>,
}

impl Stripe {
    /// `None` without a secret key: card payment is then hidden and bookings are paid
    /// at the office. `STRIPE_API_BASE` points the client at a local mock.
    pub fn from_config(config: &Config) -> anyhow::Result<Option<Self>> {
        let Some(key) = config.stripe_secret_key.as_deref() else { return Ok(None) };
        let base = config.stripe_api_base.as_deref().unwrap_or("https://api.stripe.com/");
        // async-stripe panics on a URL it cannot parse; refuse it here with a message.
        let uri: axum::http::Uri = base.parse().context("STRIPE_API_BASE must be a URL")?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            anyhow::bail!("STRIPE_API_BASE must be an http(s) URL");
        }
        Ok(Some(Self { client: stripe::Client::from_url(base, key), timeout: config.stripe_timeout }))
    }

    /// `call`, or an error once it has taken longer than the timeout.
    async fn within<T>(
        &self,
        call: impl Future<Output = Result<T, stripe::StripeError>>,
        what: &'static str,
    ) -> anyhow::Result<T> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(answer) => answer.context(what),
            Err(_) => Err(anyhow::anyhow!("Stripe did not answer within {:?}", self.timeout).context(what)),
        }
    }

    /// Creates a Checkout Session for one payment of `amount_pence`.
    pub async fn create_checkout(&self, new: &NewCheckout<'_>) -> anyhow::Result<CheckoutSession> {
        let currency: stripe::Currency =
            new.currency.to_ascii_lowercase().parse().context("Failed to read the booking's currency")?;
        let booking = new.booking_id.to_string();
        let mut params = stripe::CreateCheckoutSession::new();
        params.mode = Some(stripe::CheckoutSessionMode::Payment);
        params.success_url = Some(new.success_url);
        params.cancel_url = Some(new.cancel_url);
        params.client_reference_id = Some(&booking);
        params.customer_email = Some(new.customer_email);
        params.metadata = Some(HashMap::from([("booking_id".to_owned(), booking.clone())]));
        params.expires_at = new.expires_at;
        params.line_items = Some(vec![stripe::CreateCheckoutSessionLineItems {
            quantity: Some(1),
            price_data: Some(stripe::CreateCheckoutSessionLineItemsPriceData {
                currency,
                unit_amount: Some(new.amount_pence),
                product_data: Some(stripe::CreateCheckoutSessionLineItemsPriceDataProductData {
                    name: new.description.to_owned(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }]);
        self.within(
            self.client.post_form::<CheckoutSession, _>("/checkout/sessions", &params),
            "Failed to create a Stripe Checkout Session",
        )
        .await
    }

    /// The session as Stripe sees it now (the success page checks it itself).
    pub async fn checkout_session(&self, id: &str) -> anyhow::Result<CheckoutSession> {
        anyhow::ensure!(is_checkout_id(id), "not a Checkout Session id");
        self.within(
            self.client.get::<CheckoutSession>(&format!("/checkout/sessions/{id}")),
            "Failed to read a Stripe Checkout Session",
        )
        .await
    }

    /// Closes an open session so it can no longer be paid; Stripe refuses one that is
    /// not open (already paid or expired).
    pub async fn expire_checkout(&self, id: &str) -> anyhow::Result<CheckoutSession> {
        anyhow::ensure!(is_checkout_id(id), "not a Checkout Session id");
        self.within(
            self.client.post::<CheckoutSession>(&format!("/checkout/sessions/{id}/expire")),
            "Failed to expire a Stripe Checkout Session",
        )
        .await
    }
}

/// Only ids of Stripe's shape go into a request path.
fn is_checkout_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The fields of a Stripe Refund we keep.
#[derive(Debug, Deserialize)]
pub struct StripeRefund {
    pub id: String,
}

impl Stripe {
    /// Refunds `amount_pence` of a card payment through Stripe.
    pub async fn refund(
        &self,
        payment_intent: &str,
        amount_pence: i64,
        payment_id: i64,
    ) -> anyhow::Result<StripeRefund> {
        let mut params = stripe::CreateRefund::new();
        params.payment_intent = Some(payment_intent.parse().context("not a PaymentIntent id")?);
        params.amount = Some(amount_pence);
        params.metadata = Some(HashMap::from([("payment_id".to_owned(), payment_id.to_string())]));
        self.within(
            self.client.post_form::<StripeRefund, _>("/refunds", &params),
            "Failed to create a Stripe refund",
        )
        .await
    }
}

impl Stripe {
    /// Refunds `amount_pence` of a package purchase paid by card. The metadata names the
    /// purchase, so Stripe's dashboard says what the money was for.
    pub async fn refund_package_purchase(
        &self,
        payment_intent: &str,
        amount_pence: i64,
        purchase_id: i64,
    ) -> anyhow::Result<StripeRefund> {
        let mut params = stripe::CreateRefund::new();
        params.payment_intent = Some(payment_intent.parse().context("not a PaymentIntent id")?);
        params.amount = Some(amount_pence);
        params.metadata = Some(HashMap::from([("package_purchase_id".to_owned(), purchase_id.to_string())]));
        self.within(
            self.client.post_form::<StripeRefund, _>("/refunds", &params),
            "Failed to create a Stripe refund for a package purchase",
        )
        .await
    }
}

/// Checks a `Stripe-Signature` header (`t=…,v1=…[,v1=…]`) against the raw body:
/// HMAC-SHA256 of "{t}.{body}" with the endpoint secret, `t` within five minutes of `now`.
pub fn signature_is_valid(header: &str, body: &[u8], secret: &str, now: i64) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else { return false };
    // `abs_diff`: a timestamp near i64::MIN must not overflow the subtraction.
    if now.abs_diff(timestamp) > TOLERANCE_SECONDS.unsigned_abs() || secret.is_empty() {
        return false;
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return false };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    signatures.iter().any(|s| bool::from(s.as_bytes().ct_eq(expected.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(body: &[u8], secret: &str, t: i64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        format!("t={t},v1={hex}")
    }

    #[test]
    fn a_timestamp_at_the_edge_of_i64_is_refused_without_overflow() {
        let header = format!("t={},v1=00", i64::MIN);
        assert!(!signature_is_valid(&header, b"{}", "whsec_test", 1_700_000_000));
    }

    #[test]
    fn only_a_fresh_signature_of_this_body_with_this_secret_passes() {
        let body = br#"{"id":"evt_1"}"#;
        let now = 1_700_000_000;
        assert!(signature_is_valid(&sign(body, "whsec_a", now), body, "whsec_a", now));
        assert!(signature_is_valid(&sign(body, "whsec_a", now - 299), body, "whsec_a", now));
        assert!(!signature_is_valid(&sign(body, "whsec_a", now - 301), body, "whsec_a", now));
        assert!(!signature_is_valid(&sign(body, "whsec_b", now), body, "whsec_a", now));
        assert!(!signature_is_valid(&sign(body, "whsec_a", now), br#"{"id":"evt_2"}"#, "whsec_a", now));
        assert!(!signature_is_valid("", body, "whsec_a", now));
        assert!(!signature_is_valid(&format!("t={now},v1=00"), body, "whsec_a", now));
        let rotated = format!("{},v1=deadbeef", sign(body, "whsec_a", now));
        assert!(signature_is_valid(&rotated, body, "whsec_a", now));
    }
}
