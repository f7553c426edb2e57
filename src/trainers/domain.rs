//! The trainer forms, parsed once: the profile the office keeps, a qualification with
//! its expiry, an emergency contact, a note, an invitation and a public application,
//! and the decisions on applications and time off; and where an application stands.

use serde::Deserialize;
use time::Date;

use crate::{
    auth::domain::EmailAddress,
    catalogue::domain::{notes, short_name, whole_number},
    children::domain::{PersonName, Phone},
    ids::ActivityId,
    money::Money,
    web::{FormErrors, date},
};

/// Where an application to work with the provider stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ApplicationStatus {
    Pending,
    Approved,
    Rejected,
}

impl ApplicationStatus {
    /// The badge's class.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Approved => "Approved",
            Self::Rejected => "Rejected",
        }
    }

    /// Only a pending application is decided.
    pub fn is_pending(self) -> bool {
        matches!(self, Self::Pending)
    }
}

/// Qualifications expiring within this many days are flagged.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// How a qualification stands on `today`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    Valid,
    Soon,
    Expired,
}

impl Expiry {
    /// What the profile says beside the expiry date (nothing while valid).
    pub fn label(self) -> &'static str {
        match self {
            Self::Valid => "",
            Self::Soon => "expiring soon",
            Self::Expired => "expired",
        }
    }

    pub fn css(self) -> &'static str {
        match self {
            Self::Valid => "muted",
            Self::Soon => "qual-warn",
            Self::Expired => "qual-expired",
        }
    }
}

pub fn expiry(expires_on: Option<Date>, today: Date) -> Expiry {
    match expires_on {
        Some(d) if d < today => Expiry::Expired,
        Some(d) if (d - today).whole_days() <= EXPIRY_WARNING_DAYS => Expiry::Soon,
        _ => Expiry::Valid,
    }
}

/// The profile form as typed (`web::form::Form`): `activity` repeats, once per activity
/// ticked.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProfileForm {
    pub bio: String,
    pub hourly_rate: String,
    #[serde(deserialize_with = "crate::web::form::ticked")]
    pub can_travel: bool,
    pub max_travel_miles: String,
    #[serde(rename = "activity", deserialize_with = "crate::web::form::ids")]
    pub activities: Vec<ActivityId>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub bio: String,
    pub hourly_rate: Money,
    pub can_travel: bool,
    pub max_travel_miles: Option<i32>,
    pub activities: Vec<ActivityId>,
}

impl ProfileForm {
    pub fn delivers(&self, activity_id: &ActivityId) -> bool {
        self.activities.contains(activity_id)
    }

    pub fn parse(&self) -> Result<Profile, FormErrors> {
        let mut e = FormErrors::default();
        let bio = notes(&mut e, "bio", &self.bio);
        let rate = Money::parse(&self.hourly_rate, "Enter the hourly rate, like 14.50.")
            .map_err(|m| e.add("hourly_rate", m))
            .ok();
        let miles = whole_number(&mut e, "max_travel_miles", &self.max_travel_miles, 0..=1000, None);
        if self.can_travel && miles.is_none() && e.get("max_travel_miles").is_none() {
            e.add("max_travel_miles", "Enter how far they will travel, in miles.");
        }
        match rate {
            Some(hourly_rate) if e.is_empty() => Ok(Profile {
                bio,
                hourly_rate,
                can_travel: self.can_travel,
                max_travel_miles: if self.can_travel { miles } else { None },
                activities: self.activities.clone(),
            }),
            _ => Err(e),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct QualificationForm {
    #[serde(default)]
    pub qualification_name: String,
    #[serde(default)]
    pub reference: String,
    #[serde(default)]
    pub expires_on: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Qualification {
    pub name: String,
    pub reference: String,
    pub expires_on: Option<Date>,
}

impl QualificationForm {
    pub fn parse(&self) -> Result<Qualification, FormErrors> {
        let mut e = FormErrors::default();
        let name = short_name(
            &mut e,
            "qualification_name",
            &self.qualification_name,
            "Enter the qualification, like DBS check.",
        );
        let reference = self.reference.trim().to_owned();
        if reference.chars().count() > 100 {
            e.add("reference", "Use at most 100 characters.");
        }
        let expires_on = if self.expires_on.trim().is_empty() {
            None
        } else {
            let date = date::parse(&self.expires_on);
            if date.is_none() {
                e.add(
                    "expires_on",
                    "Enter the expiry date, like 2027-03-31, or leave it blank if it never expires.",
                );
            }
            date
        };
        if e.is_empty() { Ok(Qualification { name, reference, expires_on }) } else { Err(e) }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    pub contact_name: String,
    #[serde(default)]
    pub contact_relationship: String,
    #[serde(default)]
    pub contact_phone: String,
}

#[derive(Clone, Debug)]
pub struct Contact {
    pub name: PersonName,
    pub relationship: String,
    pub phone: Phone,
}

impl ContactForm {
    pub fn parse(&self) -> Result<Contact, FormErrors> {
        let mut e = FormErrors::default();
        let name = PersonName::parse(&self.contact_name, "Enter the contact's name.")
            .map_err(|m| e.add("contact_name", m))
            .ok();
        let relationship = notes(&mut e, "contact_relationship", &self.contact_relationship);
        let phone = Phone::parse(&self.contact_phone, "Enter the contact's phone number.")
            .map_err(|m| e.add("contact_phone", m))
            .ok();
        match (name, phone) {
            (Some(name), Some(phone)) if e.is_empty() => Ok(Contact { name, relationship, phone }),
            _ => Err(e),
        }
    }
}

/// The office inviting a trainer, and the public application: who they are.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PersonForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub experience: String,
    #[serde(default)]
    pub qualifications: String,
}

#[derive(Clone, Debug)]
pub struct Person {
    pub name: PersonName,
    pub email: EmailAddress,
    pub phone: Option<Phone>,
    pub experience: String,
    pub qualifications: String,
}

impl PersonForm {
    /// `applying`: the public form, where experience is required.
    pub fn parse(&self, applying: bool) -> Result<Person, FormErrors> {
        let mut e = FormErrors::default();
        let name = PersonName::parse(
            &self.name,
            if applying { "Enter your name." } else { "Enter the trainer's name." },
        )
        .map_err(|m| e.add("name", m))
        .ok();
        let email = EmailAddress::parse(&self.email).map_err(|m| e.add("email", m)).ok();
        let phone = Phone::parse_optional(&self.phone).map_err(|m| e.add("phone", m)).ok().flatten();
        if applying && phone.is_none() && e.get("phone").is_none() {
            e.add("phone", "Enter a phone number we can reach you on.");
        }
        let experience = notes(&mut e, "experience", &self.experience);
        if applying && experience.is_empty() {
            e.add("experience", "Tell us about your experience with groups or coaching.");
        }
        let qualifications = notes(&mut e, "qualifications", &self.qualifications);
        match (name, email) {
            (Some(name), Some(email)) if e.is_empty() => {
                Ok(Person { name, email, phone, experience, qualifications })
            }
            _ => Err(e),
        }
    }
}

/// An internal note on a trainer's record.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct NoteForm {
    pub note: String,
}

impl NoteForm {
    pub fn parse(&self) -> Result<String, FormErrors> {
        let mut e = FormErrors::default();
        let body = notes(&mut e, "note", &self.note);
        if body.is_empty() {
            e.add("note", "Write the note first.");
        }
        if e.is_empty() { Ok(body) } else { Err(e) }
    }
}

/// Rejecting an application: the reason is sent to the applicant.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RejectForm {
    pub reason: String,
}

impl RejectForm {
    pub fn parse(&self) -> Result<String, &'static str> {
        crate::bookings::domain::parse_reason(&self.reason)
    }
}

/// The office's note on a time-off decision, for the trainer (optional).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct DecisionForm {
    pub note: String,
}

pub const MAX_DECISION_NOTE_CHARS: usize = 500;

impl DecisionForm {
    /// Never refused: a longer note is cut to its first 500 characters.
    pub fn parse(&self) -> String {
        self.note.chars().take(MAX_DECISION_NOTE_CHARS).collect()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn qualifications_warn_thirty_days_ahead_and_expire_after_their_day() {
        let today = date!(2026 - 11 - 23);
        assert_eq!(expiry(None, today), Expiry::Valid);
        assert_eq!(expiry(Some(date!(2026 - 12 - 23)), today), Expiry::Soon);
        assert_eq!(expiry(Some(date!(2026 - 12 - 24)), today), Expiry::Valid);
        assert_eq!(expiry(Some(today), today), Expiry::Soon);
        assert_eq!(expiry(Some(date!(2026 - 11 - 22)), today), Expiry::Expired);
    }

    #[test]
    fn a_profile_needs_a_rate_and_miles_when_they_travel() {
        let form = ProfileForm { hourly_rate: "14.50".into(), can_travel: true, ..Default::default() };
        assert!(form.parse().unwrap_err().get("max_travel_miles").is_some());
        let ok = ProfileForm { max_travel_miles: "20".into(), activities: vec![ActivityId(3)], ..form }
            .parse()
            .unwrap();
        assert_eq!(
            (ok.hourly_rate.pence(), ok.max_travel_miles, ok.activities),
            (1450, Some(20), vec![ActivityId(3)])
        );
        let stays =
            ProfileForm { hourly_rate: "12".into(), max_travel_miles: "20".into(), ..Default::default() };
        assert_eq!(stays.parse().unwrap().max_travel_miles, None);
    }

    #[test]
    fn a_qualification_needs_a_name_and_a_real_expiry() {
        let e = QualificationForm { expires_on: "soon".into(), ..Default::default() }.parse().unwrap_err();
        assert!(e.get("qualification_name").is_some() && e.get("expires_on").is_some());
        let q = QualificationForm { qualification_name: "DBS check".into(), ..Default::default() }
            .parse()
            .unwrap();
        assert_eq!(q.expires_on, None);
    }

    #[test]
    fn a_note_needs_words_and_a_decision_note_is_cut_to_size() {
        assert_eq!(
            NoteForm { note: "  ".into() }.parse().unwrap_err().get("note"),
            Some("Write the note first.")
        );
        assert_eq!(NoteForm { note: " Late twice ".into() }.parse().unwrap(), "Late twice");
        assert_eq!(DecisionForm { note: "x".repeat(600) }.parse().chars().count(), MAX_DECISION_NOTE_CHARS);
        assert!(RejectForm { reason: " ".into() }.parse().is_err());
        assert!(ApplicationStatus::Pending.is_pending() && !ApplicationStatus::Rejected.is_pending());
    }

    #[test]
    fn an_application_needs_contact_details_and_experience() {
        let e = PersonForm { name: "Sam".into(), email: "sam@example".into(), ..Default::default() }
            .parse(true)
            .unwrap_err();
        assert!(e.get("email").is_some() && e.get("phone").is_some() && e.get("experience").is_some());
        let invite = PersonForm { name: "Sam".into(), email: "Sam@Example.com".into(), ..Default::default() }
            .parse(false);
        assert_eq!(invite.unwrap().email.as_str(), "sam@example.com");
    }
}
