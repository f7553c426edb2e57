//! Money typed by a person, how a payment was made, and where it stands.

/// An amount of money in pence, more than zero, parsed exactly from pounds ("12.50").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pence(i32);

impl Pence {
    /// "12.50", "12.5", "12" or "£1,012.50" → pence; never through a float.
    pub fn parse_pounds(raw: &str) -> Result<Self, &'static str> {
        let cleaned: String = raw.trim().trim_start_matches('£').chars().filter(|c| *c != ',').collect();
        if cleaned.is_empty() {
            return Err("Enter an amount in pounds, like 12.50.");
        }
        let (whole, fraction) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
        let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty() && fraction.is_empty() || !digits(whole) || !digits(fraction) {
            return Err("Enter an amount in pounds, like 12.50.");
        }
        if fraction.len() > 2 {
            return Err("Use at most two decimal places (pence).");
        }
        let pounds: i64 =
            if whole.is_empty() { 0 } else { whole.parse().map_err(|_| "That amount is too large.")? };
        let pence: i64 =
            format!("{fraction:0<2}").parse().map_err(|_| "Enter an amount in pounds, like 12.50.")?;
        let total =
            pounds.checked_mul(100).and_then(|p| p.checked_add(pence)).ok_or("That amount is too large.")?;
        let total = i32::try_from(total).map_err(|_| "That amount is too large.")?;
        if total == 0 {
            return Err("Enter an amount greater than zero.");
        }
        Ok(Pence(total))
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

/// How the money came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Card,
    Cash,
    BankTransfer,
}

impl Method {
    pub const OFFLINE: [Method; 2] = [Method::Cash, Method::BankTransfer];

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "card" => Some(Self::Card),
            "cash" => Some(Self::Cash),
            "bank_transfer" => Some(Self::BankTransfer),
            _ => None,
        }
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
}

/// Labels for stored values, falling back to the value itself.
pub fn method_label(raw: &str) -> &str {
    Method::parse(raw).map_or(raw, |m| m.label())
}

pub fn status_label(raw: &str) -> &str {
    PaymentStatus::parse(raw).map_or(raw, |s| s.label())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pounds_parse_exactly_to_pence() {
        assert_eq!(Pence::parse_pounds("12.50").unwrap().get(), 1250);
        assert_eq!(Pence::parse_pounds("12.5").unwrap().get(), 1250);
        assert_eq!(Pence::parse_pounds("12").unwrap().get(), 1200);
        assert_eq!(Pence::parse_pounds("£1,012.05").unwrap().get(), 101_205);
        assert_eq!(Pence::parse_pounds(".99").unwrap().get(), 99);
        assert_eq!(Pence::parse_pounds("0.01").unwrap().get(), 1);
    }

    #[test]
    fn amounts_that_are_not_money_are_refused() {
        for bad in ["", "0", "0.00", "-5", "1.234", "abc", "1e3", ".", "12.5.0", "99999999999"] {
            assert!(Pence::parse_pounds(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn statuses_round_trip() {
        for s in PaymentStatus::ALL {
            assert_eq!(PaymentStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(Method::parse("bank_transfer"), Some(Method::BankTransfer));
        assert_eq!(Method::parse("cheque"), None);
    }
}
