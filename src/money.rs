//! Money: amounts held as whole pence (`i32`, as the database's `integer` columns),
//! typed by people as pounds ("12.50", "£1,012.5", "6") and parsed from the digits,
//! never through a float.

use std::fmt;

/// Far above any price, rate or payment, far below where an `integer` column overflows.
const MAX_PENCE: i64 = 100_000_000;

/// An amount of money in pence; never negative.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i32);

impl Money {
    pub const ZERO: Money = Money(0);
    pub const INVALID: &str = "Enter an amount in pounds, like 6.50.";
    pub const TOO_LARGE: &str = "That amount is too large.";

    /// A stored amount (the database keeps them non-negative by constraint).
    pub fn from_pence(pence: i32) -> Self {
        Money(pence.max(0))
    }

    /// "12.50", "12.5", "12", "£1,012.50" → pence. Zero is allowed; `missing` is the
    /// message for an empty field.
    pub fn parse(input: &str, missing: &'static str) -> Result<Self, &'static str> {
        let text = input.trim();
        let text = text.strip_prefix('£').unwrap_or(text).trim().replace(',', "");
        if text.is_empty() {
            return Err(missing);
        }
        let (pounds, fraction) = text.split_once('.').unwrap_or((&text, ""));
        let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if (pounds.is_empty() && fraction.is_empty()) || !digits(pounds) || !digits(fraction) {
            return Err(Self::INVALID);
        }
        if fraction.len() > 2 {
            return Err("Use at most two decimal places (pence).");
        }
        if pounds.len() > 7 {
            return Err(Self::TOO_LARGE);
        }
        let pounds: i64 = if pounds.is_empty() { 0 } else { pounds.parse().map_err(|_| Self::INVALID)? };
        let pence: i64 = format!("{fraction:0<2}").parse().map_err(|_| Self::INVALID)?;
        let total = pounds * 100 + pence;
        if total > MAX_PENCE {
            return Err(Self::TOO_LARGE);
        }
        i32::try_from(total).map(Money).map_err(|_| Self::TOO_LARGE)
    }

    /// As `parse`, for an amount that must be more than zero (a payment, a refund).
    pub fn parse_positive(input: &str) -> Result<Self, &'static str> {
        match Self::parse(input, "Enter an amount in pounds, like 12.50.")? {
            Money(0) => Err("Enter an amount greater than zero."),
            money => Ok(money),
        }
    }

    pub fn pence(self) -> i32 {
        self.0
    }

    /// "6.50": how a form shows a stored amount.
    pub fn to_input(self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// "£6.50".
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "£{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::Money;

    #[test]
    fn parses_pounds_exactly() {
        let ok = |s| Money::parse(s, "missing").map(Money::pence);
        assert_eq!(ok("12.50"), Ok(1250));
        assert_eq!(ok("12.5"), Ok(1250));
        assert_eq!(ok("£1,012.05"), Ok(101_205));
        assert_eq!(ok(".5"), Ok(50));
        assert_eq!(ok("0"), Ok(0));
        assert_eq!(ok(""), Err("missing"));
        assert_eq!(ok("1.234"), Err("Use at most two decimal places (pence)."));
        assert_eq!(ok("-1"), Err(Money::INVALID));
        assert_eq!(ok("1e3"), Err(Money::INVALID));
        assert_eq!(ok("."), Err(Money::INVALID));
        assert_eq!(ok("99999999"), Err(Money::TOO_LARGE));
        assert_eq!(Money::parse_positive("0.00"), Err("Enter an amount greater than zero."));
        assert_eq!(Money::from_pence(650).to_string(), "£6.50");
        assert_eq!(Money::from_pence(650).to_input(), "6.50");
    }
}
