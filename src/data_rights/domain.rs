//! What a parent and the owner type about an erasure request, parsed once.

use serde::Deserialize;

use crate::web::FormErrors;

/// Where an erasure request stands (`erasure_requests.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ErasureStatus {
    Pending,
    Withdrawn,
    Declined,
    Completed,
}

impl ErasureStatus {
    /// What the parent and the owner read.
    pub fn label(self) -> &'static str {
        match self {
            ErasureStatus::Pending => "Waiting",
            ErasureStatus::Withdrawn => "Withdrawn",
            ErasureStatus::Declined => "Declined",
            ErasureStatus::Completed => "Carried out",
        }
    }

    /// The stored value, for the badge's CSS class.
    pub fn as_str(self) -> &'static str {
        match self {
            ErasureStatus::Pending => "pending",
            ErasureStatus::Withdrawn => "withdrawn",
            ErasureStatus::Declined => "declined",
            ErasureStatus::Completed => "completed",
        }
    }
}

/// The longest reason either side may give.
pub const MAX_REASON_CHARS: usize = 2000;

/// "Close my account": an optional reason and the box that confirms it.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub confirm: String,
}

/// A valid request to close the account.
pub struct Closure {
    pub reason: String,
}

impl CloseForm {
    pub fn parse(&self) -> Result<Closure, FormErrors> {
        let mut errors = FormErrors::default();
        let reason = self.reason.trim();
        if let Err(message) = check_text(reason) {
            errors.add("reason", message);
        }
        if self.confirm != "yes" {
            errors.add("confirm", "Tick the box to confirm you want your account closed.");
        }
        if errors.is_empty() { Ok(Closure { reason: reason.to_owned() }) } else { Err(errors) }
    }
}

/// The owner declining a request: the reason is required, since the parent reads it.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct DeclineForm {
    #[serde(default)]
    pub reason: String,
}

impl DeclineForm {
    pub fn parse(&self) -> Result<String, FormErrors> {
        let mut errors = FormErrors::default();
        let reason = self.reason.trim();
        if reason.is_empty() {
            errors.add("reason", "Give a reason: the parent will read it.");
        } else if let Err(message) = check_text(reason) {
            errors.add("reason", message);
        }
        if errors.is_empty() { Ok(reason.to_owned()) } else { Err(errors) }
    }
}

/// "Carry out erasure": the owner confirms, since it cannot be undone.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CarryOutForm {
    #[serde(default)]
    pub confirm: String,
}

impl CarryOutForm {
    pub fn parse(&self) -> Result<(), FormErrors> {
        let mut errors = FormErrors::default();
        if self.confirm != "yes" {
            errors.add("confirm", "Tick the box to confirm: erasure cannot be undone.");
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

fn check_text(text: &str) -> Result<(), &'static str> {
    if text.chars().count() > MAX_REASON_CHARS {
        Err("Keep it under 2,000 characters.")
    } else if text.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        // PostgreSQL refuses NUL in text; other control characters are never meant.
        Err("Use letters, numbers and punctuation only.")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_needs_the_box_ticked_but_not_a_reason() {
        let form = CloseForm { reason: "  ".into(), confirm: String::new() };
        assert!(form.parse().is_err_and(|e| e.get("confirm").is_some() && e.get("reason").is_none()));
        let form = CloseForm { reason: " Moving away ".into(), confirm: "yes".into() };
        assert_eq!(form.parse().map(|c| c.reason).ok().as_deref(), Some("Moving away"));
    }

    #[test]
    fn a_reason_with_a_nul_byte_or_too_long_is_refused() {
        let nul = CloseForm { reason: "a\0b".into(), confirm: "yes".into() };
        assert!(nul.parse().is_err_and(|e| e.get("reason").is_some()));
        let long = DeclineForm { reason: "x".repeat(2001) };
        assert!(long.parse().is_err_and(|e| e.get("reason").is_some()));
        assert!(DeclineForm { reason: " ".into() }.parse().is_err());
    }

    #[test]
    fn carrying_out_needs_the_box_ticked() {
        assert!(CarryOutForm::default().parse().is_err_and(|e| e.get("confirm").is_some()));
        assert!(CarryOutForm { confirm: "yes".into() }.parse().is_ok());
    }

    #[test]
    fn every_status_has_its_own_label_and_value() {
        let all = [
            ErasureStatus::Pending,
            ErasureStatus::Withdrawn,
            ErasureStatus::Declined,
            ErasureStatus::Completed,
        ];
        let labels: std::collections::HashSet<_> = all.iter().map(|s| s.label()).collect();
        let values: std::collections::HashSet<_> = all.iter().map(|s| s.as_str()).collect();
        assert_eq!((labels.len(), values.len()), (4, 4));
        assert_eq!(ErasureStatus::Completed.label(), "Carried out");
    }
}
