//! How a payment was made and where it stands, what a package purchase, a discount
//! code and a queued card refund are: each the `text` column it is stored in, read
//! and written as an enum, with the one label every page, email and CSV shows.

use serde::Deserialize;

/// How the money came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Card,
    Cash,
    BankTransfer,
}

impl Method {
    /// What finance records by hand; card payments come only through Stripe.
    pub const OFFLINE: [Method; 2] = [Method::Cash, Method::BankTransfer];

    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "card" => Some(Self::Card),
            "cash" => Some(Self::Cash),
            "bank_transfer" => Some(Self::BankTransfer),
            _ => None,
        }
    }

    /// One of [`Method::OFFLINE`], from a form's `method` field.
    pub fn parse_offline(raw: &str) -> Option<Self> {
        Self::parse(raw).filter(|m| Self::OFFLINE.contains(m))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Card => "card",
            Self::Cash => "cash",
            Self::BankTransfer => "bank_transfer",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Card => "Card",
            Self::Cash => "Cash",
            Self::BankTransfer => "Bank transfer",
        }
    }
}

/// A payment's state; refunds move a taken payment to partly or fully refunded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum PaymentStatus {
    Pending,
    Succeeded,
    Failed,
    PartiallyRefunded,
    Refunded,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 5] =
        [Self::Pending, Self::Succeeded, Self::Failed, Self::PartiallyRefunded, Self::Refunded];

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::PartiallyRefunded => "partially_refunded",
            Self::Refunded => "refunded",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Succeeded => "Paid",
            Self::Failed => "Failed",
            Self::PartiallyRefunded => "Partly refunded",
            Self::Refunded => "Refunded",
        }
    }

    /// The money was taken (some of it may have gone back since).
    pub fn is_taken(self) -> bool {
        match self {
            Self::Succeeded | Self::PartiallyRefunded | Self::Refunded => true,
            Self::Pending | Self::Failed => false,
        }
    }

    /// Taken, with something left to refund.
    pub fn is_refundable(self) -> bool {
        match self {
            Self::Succeeded | Self::PartiallyRefunded => true,
            Self::Pending | Self::Failed | Self::Refunded => false,
        }
    }
}

/// A package purchase's state. A refund keeps it `Paid` (granting relies on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum PurchaseStatus {
    Pending,
    Paid,
    Failed,
}

impl PurchaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Failed => "failed",
        }
    }

    /// The purchase's state in words; "refunded" is read from the amounts.
    pub fn label(self, amount_pence: i32, refunded_pence: i32) -> &'static str {
        match self {
            Self::Paid if refunded_pence > 0 && refunded_pence >= amount_pence => "Refunded",
            Self::Paid if refunded_pence > 0 => "Partly refunded",
            Self::Paid => "Paid",
            Self::Failed => "Not paid",
            Self::Pending => "Waiting for payment",
        }
    }
}

/// What a discount code takes off, as stored in `discount_codes.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum DiscountKind {
    Percent,
    Fixed,
}

impl DiscountKind {
    pub const ALL: [DiscountKind; 2] = [Self::Percent, Self::Fixed];

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw.trim())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Percent => "percent",
            Self::Fixed => "fixed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Percent => "Percentage off",
            Self::Fixed => "Amount off (£)",
        }
    }
}

/// Where a refund a cancellation or a move owes stands (`cancellation_refunds`):
/// queued, claimed by a sender, made, or refused by Stripe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum QueuedRefundStatus {
    Pending,
    Sending,
    Done,
    Failed,
}

impl QueuedRefundStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Done => "Refunded",
            Self::Failed => "Stripe refused",
            Self::Pending | Self::Sending => "Sending to Stripe",
        }
    }
}

/// Who or what caused a refund, for finance's list of refunds cancellations caused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Cause {
    Cancellation,
    /// The office moved a place to a cheaper session.
    Move,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Cancellation => "cancellation",
            Cause::Move => "move",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Cause::Cancellation => "Cancellation",
            Cause::Move => "Moved to a cheaper session",
        }
    }
}

/// A select's option: the value posted, the words shown, and whether it is chosen.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for s in PaymentStatus::ALL {
            assert_eq!(PaymentStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(Method::parse("bank_transfer"), Some(Method::BankTransfer));
        assert_eq!(Method::parse("cheque"), None);
    }

    #[test]
    fn only_cash_and_bank_transfers_are_recorded_by_hand() {
        assert_eq!(Method::parse_offline("cash"), Some(Method::Cash));
        assert_eq!(Method::parse_offline(" bank_transfer "), Some(Method::BankTransfer));
        assert_eq!(Method::parse_offline("card"), None);
        assert_eq!(Method::parse_offline(""), None);
    }

    #[test]
    fn taken_and_refundable_payments() {
        let taken: Vec<_> = PaymentStatus::ALL.into_iter().filter(|s| s.is_taken()).collect();
        assert_eq!(
            taken,
            [PaymentStatus::Succeeded, PaymentStatus::PartiallyRefunded, PaymentStatus::Refunded]
        );
        assert!(PaymentStatus::PartiallyRefunded.is_refundable());
        assert!(!PaymentStatus::Refunded.is_refundable());
        assert!(!PaymentStatus::Pending.is_refundable());
    }

    #[test]
    fn a_purchase_reads_refunded_from_its_amounts() {
        assert_eq!(PurchaseStatus::Paid.label(2500, 2500), "Refunded");
        assert_eq!(PurchaseStatus::Paid.label(2500, 100), "Partly refunded");
        assert_eq!(PurchaseStatus::Paid.label(0, 0), "Paid");
        assert_eq!(PurchaseStatus::Failed.label(2500, 0), "Not paid");
        assert_eq!(PurchaseStatus::Pending.label(2500, 0), "Waiting for payment");
    }

    #[test]
    fn discount_kinds_and_queued_refunds_have_words() {
        assert_eq!(DiscountKind::parse("percent"), Some(DiscountKind::Percent));
        assert_eq!(DiscountKind::parse("half"), None);
        assert_eq!(QueuedRefundStatus::Sending.label(), "Sending to Stripe");
        assert_eq!(Cause::Move.label(), "Moved to a cheaper session");
    }
}
