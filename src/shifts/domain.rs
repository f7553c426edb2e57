//! A shift's role and where it is in its life, as `shifts.role` and `shifts.status`
//! keep them (both `text` with a CHECK), so the state machine is a `match`.

use serde::Deserialize;

/// What a trainer does on the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ShiftRole {
    Lead,
    Assistant,
    Steward,
}

impl ShiftRole {
    pub const ALL: [ShiftRole; 3] = [ShiftRole::Lead, ShiftRole::Assistant, ShiftRole::Steward];

    /// The value a form posts and the database keeps.
    pub fn key(self) -> &'static str {
        match self {
            ShiftRole::Lead => "lead",
            ShiftRole::Assistant => "assistant",
            ShiftRole::Steward => "steward",
        }
    }

    /// How pages and emails name it ("you are on it as lead").
    pub fn label(self) -> &'static str {
        self.key()
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.key() == raw.trim())
    }
}

/// A shift's state: open to anyone eligible, offered to one trainer, held (accepted,
/// checked in or out), or over (declined, no show, cancelled).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ShiftStatus {
    Open,
    Offered,
    Accepted,
    Declined,
    CheckedIn,
    CheckedOut,
    NoShow,
    Cancelled,
}

impl ShiftStatus {
    /// The stored value, which the stylesheet's `status-…` classes are named after.
    pub fn key(self) -> &'static str {
        match self {
            ShiftStatus::Open => "open",
            ShiftStatus::Offered => "offered",
            ShiftStatus::Accepted => "accepted",
            ShiftStatus::Declined => "declined",
            ShiftStatus::CheckedIn => "checked_in",
            ShiftStatus::CheckedOut => "checked_out",
            ShiftStatus::NoShow => "no_show",
            ShiftStatus::Cancelled => "cancelled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ShiftStatus::Open => "open",
            ShiftStatus::Offered => "offered",
            ShiftStatus::Accepted => "accepted",
            ShiftStatus::Declined => "declined",
            ShiftStatus::CheckedIn => "checked in",
            ShiftStatus::CheckedOut => "checked out",
            ShiftStatus::NoShow => "no show",
            ShiftStatus::Cancelled => "cancelled",
        }
    }

    /// A trainer holds the shift: the set `shifts_no_overlap_per_trainer` counts.
    pub fn is_held(self) -> bool {
        matches!(self, ShiftStatus::Accepted | ShiftStatus::CheckedIn | ShiftStatus::CheckedOut)
    }

    /// The office may still fill, reassign or take it away (not yet worked).
    pub fn is_changeable(self) -> bool {
        matches!(
            self,
            ShiftStatus::Open | ShiftStatus::Offered | ShiftStatus::Accepted | ShiftStatus::Declined
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_from_their_keys_only() {
        assert_eq!(ShiftRole::parse(" assistant "), Some(ShiftRole::Assistant));
        assert_eq!(ShiftRole::parse("Lead"), None);
        assert_eq!(ShiftRole::parse(""), None);
        assert!(ShiftRole::ALL.iter().all(|r| ShiftRole::parse(r.key()) == Some(*r)));
    }

    #[test]
    fn only_accepted_and_worked_shifts_are_held() {
        let held: Vec<_> = [
            ShiftStatus::Open,
            ShiftStatus::Offered,
            ShiftStatus::Accepted,
            ShiftStatus::Declined,
            ShiftStatus::CheckedIn,
            ShiftStatus::CheckedOut,
            ShiftStatus::NoShow,
            ShiftStatus::Cancelled,
        ]
        .into_iter()
        .filter(|s| s.is_held())
        .collect();
        assert_eq!(held, [ShiftStatus::Accepted, ShiftStatus::CheckedIn, ShiftStatus::CheckedOut]);
        assert_eq!(ShiftStatus::CheckedIn.label(), "checked in");
        assert!(!ShiftStatus::CheckedIn.is_changeable());
    }
}
