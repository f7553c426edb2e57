//! Inquiries and provisional holds: the public's question parsed once, the office's
//! reply and hold forms, and the two state machines.

use serde::Deserialize;
use time::Duration;

use crate::{
    auth::domain::EmailAddress,
    catalogue::domain::{notes, short_name, whole_number},
    ids::{ActivityId, SessionId},
    web::FormErrors,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum InquiryStatus {
    /// Waiting for the office.
    Open,
    /// The office has replied; the asker may write back.
    Answered,
    Closed,
}

impl InquiryStatus {
    pub const ALL: [Self; 3] = [Self::Open, Self::Answered, Self::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Answered => "answered",
            Self::Closed => "closed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::Answered => "Answered",
            Self::Closed => "Closed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Replying answers an open inquiry (and keeps an answered one answered).
    pub fn can_reply(self) -> bool {
        self != Self::Closed
    }

    pub fn can_close(self) -> bool {
        self != Self::Closed
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum HoldStatus {
    Held,
    Released,
    Converted,
    Lapsed,
}

impl HoldStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Held => "Held",
            Self::Released => "Released",
            Self::Converted => "Booked",
            Self::Lapsed => "Lapsed",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Released => "released",
            Self::Converted => "converted",
            Self::Lapsed => "lapsed",
        }
    }
}

/// The public's "Ask about a course" form, as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct InquiryForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    /// A course's id, or empty / "any".
    #[serde(default)]
    pub course: String,
    #[serde(default)]
    pub group_size: String,
    #[serde(default)]
    pub preferred_dates: String,
    #[serde(default)]
    pub message: String,
}

/// A valid inquiry.
#[derive(Debug)]
pub struct NewInquiry {
    pub name: String,
    pub email: EmailAddress,
    pub phone: String,
    pub course: Option<ActivityId>,
    pub group_size: i32,
    pub preferred_dates: String,
    pub message: String,
}

/// The largest group one inquiry may be about.
pub const MAX_GROUP: i32 = 500;

impl InquiryForm {
    /// `courses`: the ids the form offered; another id is refused like junk.
    pub fn parse(&self, courses: &[ActivityId]) -> Result<NewInquiry, FormErrors> {
        let mut errors = FormErrors::default();
        let name = short_name(&mut errors, "name", &self.name, "Enter your name.");
        let email = EmailAddress::parse(&self.email).map_err(|m| errors.add("email", m)).ok();
        let phone = self.phone.trim().to_owned();
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        if !phone.is_empty()
            && (!(7..=15).contains(&digits)
                || !phone.chars().all(|c| c.is_ascii_digit() || " +()-".contains(c)))
        {
            errors.add("phone", "Enter a phone number like 07700 900123, or leave it empty.");
        }
        let course = match self.course.trim() {
            "" | "any" => None,
            raw => match raw.parse().ok().map(ActivityId).filter(|id| courses.contains(id)) {
                Some(id) => Some(id),
                None => {
                    errors.add("course", "Choose a course from the list, or “Any course”.");
                    None
                }
            },
        };
        let group_size = whole_number(
            &mut errors,
            "group_size",
            &self.group_size,
            1..=MAX_GROUP,
            Some("Enter how many people."),
        );
        let preferred_dates = self.preferred_dates.trim().to_owned();
        if preferred_dates.chars().count() > 200 {
            errors.add("preferred_dates", "Use at most 200 characters.");
        }
        let message = notes(&mut errors, "message", &self.message);
        if message.is_empty() {
            errors.add("message", "Tell us what you would like to know.");
        }
        match (email, group_size) {
            (Some(email), Some(group_size)) if errors.is_empty() => {
                Ok(NewInquiry { name, email, phone, course, group_size, preferred_dates, message })
            }
            _ => Err(errors),
        }
    }
}

/// The office's reply.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    pub body: String,
}

impl ReplyForm {
    pub fn parse(&self) -> Result<String, FormErrors> {
        let mut errors = FormErrors::default();
        let body = self.body.trim().replace("\r\n", "\n");
        if body.is_empty() {
            errors.add("body", "Write the reply.");
        } else if body.chars().count() > 5000 {
            errors.add("body", "Use at most 5,000 characters.");
        }
        if errors.is_empty() { Ok(body) } else { Err(errors) }
    }
}

/// The office's hold form: how many places on which session, for how many days.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct HoldForm {
    #[serde(default)]
    pub session: String,
    #[serde(default)]
    pub places: String,
    #[serde(default)]
    pub days: String,
    #[serde(default)]
    pub held_for: String,
}

#[derive(Debug)]
pub struct NewHold {
    pub session: SessionId,
    pub places: i32,
    pub lasts: Duration,
    pub held_for: String,
}

/// The longest a hold may last: long enough to decide, short enough not to forget.
pub const MAX_HOLD_DAYS: i32 = 30;

impl HoldForm {
    /// `fixed`: the session when the form is on a session's page.
    pub fn parse(&self, fixed: Option<SessionId>) -> Result<NewHold, FormErrors> {
        let mut errors = FormErrors::default();
        let session = fixed.or_else(|| self.session.trim().parse().ok().map(SessionId));
        if session.is_none() {
            errors.add("session", "Choose the course date to hold places on.");
        }
        let places =
            whole_number(&mut errors, "places", &self.places, 1..=MAX_GROUP, Some("Enter how many places."));
        let days = whole_number(
            &mut errors,
            "days",
            &self.days,
            1..=MAX_HOLD_DAYS,
            Some("Enter for how many days."),
        );
        let held_for = short_name(&mut errors, "held_for", &self.held_for, "Say who the places are for.");
        match (session, places, days) {
            (Some(session), Some(places), Some(days)) if errors.is_empty() => {
                Ok(NewHold { session, places, lasts: Duration::days(i64::from(days)), held_for })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> InquiryForm {
        InquiryForm {
            name: "Priya Shah".into(),
            email: "Priya@Example.com".into(),
            phone: "0113 496 0000".into(),
            course: "3".into(),
            group_size: "6".into(),
            preferred_dates: "Any Tuesday in March".into(),
            message: "Can we book six staff together?".into(),
        }
    }

    #[test]
    fn a_complete_inquiry_parses() {
        let parsed = form().parse(&[ActivityId(3)]).unwrap();
        assert_eq!(parsed.email.as_str(), "priya@example.com");
        assert_eq!(parsed.course, Some(ActivityId(3)));
        assert_eq!(parsed.group_size, 6);
        let any = InquiryForm { course: "any".into(), ..form() }.parse(&[]).unwrap();
        assert_eq!(any.course, None);
    }

    #[test]
    fn every_wrong_field_gets_its_message() {
        let bad = InquiryForm {
            name: " ".into(),
            email: "nope".into(),
            phone: "call me".into(),
            course: "99".into(),
            group_size: "0".into(),
            preferred_dates: "x".repeat(201),
            message: "  ".into(),
        };
        let errors = bad.parse(&[ActivityId(3)]).unwrap_err();
        for field in ["name", "email", "phone", "course", "group_size", "preferred_dates", "message"] {
            assert!(errors.get(field).is_some(), "{field}");
        }
    }

    #[test]
    fn a_hold_needs_a_date_places_days_and_a_name() {
        let ok =
            HoldForm { session: "5".into(), places: "4".into(), days: "3".into(), held_for: "Acme".into() };
        let hold = ok.parse(None).unwrap();
        assert_eq!((hold.session, hold.places, hold.lasts), (SessionId(5), 4, Duration::days(3)));
        let errors =
            HoldForm { days: "31".into(), places: "0".into(), ..Default::default() }.parse(None).unwrap_err();
        for field in ["session", "places", "days", "held_for"] {
            assert!(errors.get(field).is_some(), "{field}");
        }
        assert!(HoldForm { session: String::new(), ..ok }.parse(Some(SessionId(9))).is_ok());
    }

    #[test]
    fn a_closed_inquiry_takes_no_reply() {
        assert!(InquiryStatus::Open.can_reply());
        assert!(InquiryStatus::Answered.can_reply());
        assert!(!InquiryStatus::Closed.can_reply());
        assert!(!InquiryStatus::Closed.can_close());
        assert_eq!(InquiryStatus::parse("answered"), Some(InquiryStatus::Answered));
        assert_eq!(InquiryStatus::parse("x"), None);
    }
}
