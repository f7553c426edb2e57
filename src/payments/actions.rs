//! Finance's actions on booking payments: recording cash or a bank transfer against a
//! booking, and refunding a payment. Each takes the caller's transaction and valid
//! input, and owns its checks, SQL, audit row and emails; the pages only parse, call
//! and render.

use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::{domain::Method, holds::Settled, store};
use crate::{
    AppState, audit,
    db::OnConstraint,
    error::{AppError, AppResult},
    ids::{BookingId, PaymentId},
    money::Money,
    web::{FormErrors, fmt},
};

/// `Record payment` as finance typed it, kept so a refused form comes back filled in.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct OfflinePaymentForm {
    #[serde(default)]
    pub booking: String,
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub reference: String,
}

/// Cash or a bank transfer to record against a booking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfflinePayment {
    pub booking_id: BookingId,
    pub amount: Money,
    pub method: Method,
    pub reference: String,
}

impl OfflinePaymentForm {
    /// The booking's number ("#12" or "12"), if it is one.
    pub fn booking_id(&self) -> Option<BookingId> {
        self.booking.trim().trim_start_matches('#').parse().ok()
    }

    /// The reference as kept: at most 200 characters.
    pub fn reference(&self) -> String {
        self.reference.trim().chars().take(200).collect()
    }

    pub fn parse(&self) -> Result<OfflinePayment, FormErrors> {
        let mut errors = FormErrors::default();
        let booking_id = self.booking_id();
        if booking_id.is_none() {
            errors.add("booking", NO_BOOKING);
        }
        let method = Method::parse_offline(&self.method);
        if method.is_none() {
            errors.add("method", "Choose cash or bank transfer.");
        }
        let amount = Money::parse_positive(&self.amount).map_err(|m| errors.add("amount", m)).ok();
        match (booking_id, amount, method) {
            (Some(booking_id), Some(amount), Some(method)) => {
                Ok(OfflinePayment { booking_id, amount, method, reference: self.reference() })
            }
            _ => Err(errors),
        }
    }
}

const NO_BOOKING: &str = "Enter the number of an existing booking.";

/// Why a payment was not recorded.
#[derive(Debug, PartialEq, Eq)]
pub enum PaymentRefused {
    NoBooking,
    NothingDue,
    /// More than the amount due, which is this.
    MoreThanDue(i64),
}

impl PaymentRefused {
    pub fn field(&self) -> &'static str {
        match self {
            Self::NoBooking => "booking",
            Self::NothingDue | Self::MoreThanDue(_) => "amount",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::NoBooking => NO_BOOKING.to_owned(),
            Self::NothingDue => "Nothing is due on this booking.".to_owned(),
            Self::MoreThanDue(due) => format!("Only {} is due; record at most that.", fmt::pounds(*due)),
        }
    }
}

/// A payment recorded.
pub struct Recorded {
    /// The booking waited for a card payment and is now paid in full at the office:
    /// close its Checkout Sessions once this commits.
    pub closes_hold: bool,
    /// The booking moves the payment causes, for the caller to carry out before commit.
    pub settled: Settled,
}

/// Records cash or a bank transfer, never more than the amount due (checked with the
/// booking locked, so two at once cannot both fit), with its audit row and the
/// parent's receipt; places held for a card payment become the booking's.
pub async fn record_offline_payment(
    state: &AppState,
    conn: &mut PgConnection,
    by: i64,
    payment: &OfflinePayment,
) -> AppResult<Result<Recorded, PaymentRefused>> {
    let Some(balance) = store::lock_balance(&mut *conn, payment.booking_id).await? else {
        return Ok(Err(PaymentRefused::NoBooking));
    };
    let due = balance.due_pence();
    let amount = i64::from(payment.amount.pence());
    if due == 0 {
        return Ok(Err(PaymentRefused::NothingDue));
    }
    if amount > due {
        return Ok(Err(PaymentRefused::MoreThanDue(due)));
    }
    let new = store::NewOfflinePayment {
        booking_id: balance.booking_id,
        amount_pence: payment.amount.pence(),
        currency: &balance.currency,
        method: payment.method,
        reference: &payment.reference,
        recorded_by: by,
    };
    let id = store::insert_offline(&mut *conn, &new).await?;
    audit::record(&mut *conn)
        .by(by)
        .action("payment.recorded")
        .entity("payment", id)
        .after(json!({
            "booking_id": balance.booking_id,
            "amount_pence": payment.amount.pence(),
            "method": payment.method.as_str(),
            "reference": payment.reference,
        }))
        .await?;
    let mut settled = Settled::default();
    if let Some(recorded) = store::by_id(&mut *conn, PaymentId(id)).await? {
        state.outbox.queue(&mut *conn, &super::receipt_email(&recorded, &state.config.base_url)).await?;
        settled = super::holds::after_payment(state, &mut *conn, &recorded).await?;
    }
    Ok(Ok(Recorded { closes_hold: balance.awaits_payment() && amount == due, settled }))
}

/// `Refund` as finance typed it.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RefundForm {
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub reason: String,
}

/// Money to give back from a payment, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundRequest {
    pub amount: Money,
    pub reason: String,
}

impl RefundForm {
    /// The reason as kept: at most 500 characters.
    pub fn reason(&self) -> String {
        self.reason.chars().take(500).collect()
    }

    pub fn parse(&self) -> Result<RefundRequest, FormErrors> {
        let mut errors = FormErrors::default();
        let amount = Money::parse_positive(&self.amount).map_err(|m| errors.add("amount", m)).ok();
        let reason = self.reason().trim().to_owned();
        if reason.is_empty() {
            errors.add("reason", "Give a reason for the refund.");
        }
        match amount {
            Some(amount) if errors.is_empty() => Ok(RefundRequest { amount, reason }),
            _ => Err(errors),
        }
    }
}

/// Why a refund was not made; nothing was written.
#[derive(Debug, PartialEq, Eq)]
pub enum RefundRefused {
    /// More than is left to refund, which is this.
    MoreThanLeft(i64),
    /// Raced past the check by another refund: the database refused it.
    NoLongerFits,
    StripeNotSetUp,
    StripeRefused,
}

impl RefundRefused {
    pub fn message(&self) -> String {
        match self {
            Self::MoreThanLeft(0) => "Nothing is left to refund on this payment.".to_owned(),
            Self::MoreThanLeft(left) => format!("At most {} can be refunded.", fmt::pounds(*left)),
            Self::NoLongerFits => "That is more than is left to refund on this payment.".to_owned(),
            Self::StripeNotSetUp => {
                "This card payment cannot be refunded here: Stripe is not set up for it.".to_owned()
            }
            Self::StripeRefused => {
                "Stripe did not accept the refund; nothing was refunded. Please try again.".to_owned()
            }
        }
    }

    /// The form's field the message belongs by; None for a message about Stripe.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::MoreThanLeft(_) | Self::NoLongerFits => Some("amount"),
            Self::StripeNotSetUp | Self::StripeRefused => None,
        }
    }
}

/// What a payment still has to give back: only taken money can go back.
pub fn refundable_pence(p: &store::Payment) -> i64 {
    if p.status.is_refundable() { i64::from(p.amount_pence) - i64::from(p.refunded_pence) } else { 0 }
}

/// Refunds a payment with its row locked: through Stripe for a card (before anything
/// is written), recorded for cash and bank transfers, with its audit row.
pub async fn refund_payment(
    state: &AppState,
    conn: &mut PgConnection,
    by: i64,
    id: PaymentId,
    request: &RefundRequest,
) -> AppResult<Result<Money, RefundRefused>> {
    let payment = store::lock(&mut *conn, id).await?.ok_or(AppError::NotFound)?;
    let refundable = refundable_pence(&payment);
    if i64::from(request.amount.pence()) > refundable {
        return Ok(Err(RefundRefused::MoreThanLeft(refundable)));
    }
    let stripe_refund = match payment.method {
        Method::Card => {
            let intent = store::payment_intent(&mut *conn, id).await?;
            let (Some(stripe), Some(intent)) = (state.stripe.as_ref(), intent) else {
                return Ok(Err(RefundRefused::StripeNotSetUp));
            };
            match stripe.refund(&intent, i64::from(request.amount.pence()), id.0).await {
                Ok(refund) => Some(refund.id),
                Err(err) => {
                    tracing::error!(error = ?err, "Stripe refund failed");
                    return Ok(Err(RefundRefused::StripeRefused));
                }
            }
        }
        Method::Cash | Method::BankTransfer => None,
    };
    let new = store::NewRefund {
        payment_id: id.0,
        amount_pence: request.amount.pence(),
        reason: &request.reason,
        stripe_refund_id: stripe_refund.as_deref(),
        recorded_by: Some(by),
    };
    let inserted = store::insert_refund(&mut *conn, &new).await.on_constraint(|name| match name {
        "payments_refunds_within_amount" => Some(RefundRefused::NoLongerFits),
        _ => None,
    })?;
    let refund_id = match inserted {
        Ok(refund_id) => refund_id,
        Err(refused) => return Ok(Err(refused)),
    };
    audit::record(&mut *conn)
        .by(by)
        .action("payment.refunded")
        .entity("payment", id.0)
        .before(json!({ "refunded_pence": payment.refunded_pence }))
        .after(json!({
            "refund_id": refund_id,
            "amount_pence": request.amount.pence(),
            "reason": request.reason,
            "stripe_refund_id": stripe_refund,
        }))
        .await?;
    Ok(Ok(request.amount))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(booking: &str, amount: &str, method: &str) -> OfflinePaymentForm {
        OfflinePaymentForm {
            booking: booking.into(),
            amount: amount.into(),
            method: method.into(),
            reference: " REF-1 ".into(),
        }
    }

    #[test]
    fn an_offline_payment_is_read_whole() {
        let payment = typed("#12", "6.50", "bank_transfer").parse().unwrap();
        assert_eq!(payment.booking_id, BookingId(12));
        assert_eq!(payment.amount, Money::from_pence(650));
        assert_eq!((payment.method, payment.reference.as_str()), (Method::BankTransfer, "REF-1"));
    }

    #[test]
    fn an_offline_payment_is_refused_field_by_field() {
        let errors = typed("twelve", "0", "card").parse().unwrap_err();
        assert_eq!(errors.get("booking"), Some(NO_BOOKING));
        assert_eq!(errors.get("amount"), Some("Enter an amount greater than zero."));
        assert_eq!(errors.get("method"), Some("Choose cash or bank transfer."));
    }

    #[test]
    fn a_refund_needs_an_amount_and_a_reason() {
        let form = RefundForm { amount: "2".into(), reason: "  Moved away ".into() };
        assert_eq!(
            form.parse().unwrap(),
            RefundRequest { amount: Money::from_pence(200), reason: "Moved away".into() }
        );
        let errors = RefundForm { amount: "1.234".into(), reason: " ".into() }.parse().unwrap_err();
        assert!(errors.get("amount").is_some());
        assert_eq!(errors.get("reason"), Some("Give a reason for the refund."));
    }

    #[test]
    fn refusals_have_their_words() {
        assert_eq!(RefundRefused::MoreThanLeft(0).message(), "Nothing is left to refund on this payment.");
        assert_eq!(RefundRefused::MoreThanLeft(450).message(), "At most £4.50 can be refunded.");
        assert_eq!(RefundRefused::StripeRefused.field(), None);
        assert_eq!(PaymentRefused::MoreThanDue(650).message(), "Only £6.50 is due; record at most that.");
        assert_eq!(PaymentRefused::NoBooking.field(), "booking");
    }
}
