//! Typed states that more than one area reads. The area owning the column decides how
//! the state moves; the others only read it, through the same type, from below both.

/// Where a session is in its life (`sessions.status`, `text` with a CHECK). The
/// sessions area moves it; bookings, the register and the dashboards read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum SessionStatus {
    Scheduled,
    InProgress,
    Completed,
    Cancelled,
}

impl SessionStatus {
    /// The stored value, which the stylesheet's `status-…` classes are named after.
    pub fn key(self) -> &'static str {
        match self {
            SessionStatus::Scheduled => "scheduled",
            SessionStatus::InProgress => "in_progress",
            SessionStatus::Completed => "completed",
            SessionStatus::Cancelled => "cancelled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SessionStatus::Scheduled => "scheduled",
            SessionStatus::InProgress => "in progress",
            SessionStatus::Completed => "completed",
            SessionStatus::Cancelled => "cancelled",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_statuses_have_words_for_people() {
        assert_eq!(SessionStatus::InProgress.label(), "in progress");
        assert_eq!(SessionStatus::InProgress.key(), "in_progress");
    }
}
