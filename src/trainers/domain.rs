//! The trainer forms, parsed once: the profile the office keeps, a qualification with
//! its expiry, an emergency contact, an invitation and a public application.

use serde::Deserialize;
use time::Date;

use crate::{
    auth::domain::EmailAddress,
    catalogue::domain::{notes, short_name, whole_number},
    children::domain::{PersonName, Phone},
    money::Money,
    sessions::domain::parse_date,
    web::FormErrors,
};

/// Qualifications expiring within this many days are flagged.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// How a qualification stands on `today`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    Valid,
    Soon,
    Expired,
}

pub fn expiry(expires_on: Option<Date>, today: Date) -> Expiry {
    match expires_on {
        Some(d) if d < today => Expiry::Expired,
        Some(d) if (d - today).whole_days() <= EXPIRY_WARNING_DAYS => Expiry::Soon,
        _ => Expiry::Valid,
    }
}

#[derive(Clone, Debug, Default)]
pub struct ProfileForm {
    pub bio: String,
    pub hourly_rate: String,
    pub can_travel: bool,
    pub max_travel_miles: String,
    pub activities: Vec<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub bio: String,
    pub hourly_rate_pence: i32,
    pub can_travel: bool,
    pub max_travel_miles: Option<i32>,
    pub activities: Vec<i64>,
}

impl ProfileForm {
    pub fn from_fields(f: &crate::web::form::Fields) -> Self {
        ProfileForm {
            bio: f.get("bio").unwrap_or_default().to_owned(),
            hourly_rate: f.get("hourly_rate").unwrap_or_default().to_owned(),
            can_travel: f.get("can_travel").is_some(),
            max_travel_miles: f.get("max_travel_miles").unwrap_or_default().to_owned(),
            activities: f.ids("activity"),
        }
    }

    pub fn delivers(&self, activity_id: &i64) -> bool {
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
            Some(rate) if e.is_empty() => Ok(Profile {
                bio,
                hourly_rate_pence: rate.pence(),
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
            let date = parse_date(&self.expires_on);
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
        let ok = ProfileForm { max_travel_miles: "20".into(), activities: vec![3], ..form }.parse().unwrap();
        assert_eq!((ok.hourly_rate_pence, ok.max_travel_miles, ok.activities), (1450, Some(20), vec![3]));
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
