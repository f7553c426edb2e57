//! The sign-up, profile and new-family forms, parsed into valid values.

use serde::Deserialize;

use crate::{
    auth::domain::{EmailAddress, NewPassword},
    children::domain::{PersonName, Phone},
    web::FormErrors,
};

pub const TERMS_REQUIRED: &str = "Tick the box to accept the terms: we cannot open an account without it.";

/// A parent's own details, as they or the office typed them.
#[derive(Clone, Debug)]
pub struct ParentDetails {
    pub name: PersonName,
    pub email: EmailAddress,
    pub phone: Phone,
}

fn parse_name(errors: &mut FormErrors, input: &str) -> Option<PersonName> {
    PersonName::parse(input, "Enter your name.").map_err(|m| errors.add("name", m)).ok()
}

fn parse_phone(errors: &mut FormErrors, input: &str) -> Option<Phone> {
    Phone::parse(input, "Enter a phone number we can reach you on.").map_err(|m| errors.add("phone", m)).ok()
}

fn parse_email(errors: &mut FormErrors, input: &str) -> Option<EmailAddress> {
    EmailAddress::parse(input).map_err(|m| errors.add("email", m)).ok()
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_confirmation: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    pub accept_terms: Option<String>,
    /// Where to go once the account is confirmed (a local path), or empty.
    #[serde(default)]
    pub next: String,
}

/// A valid sign-up: the parent, their password, and their acceptance of the terms
/// (which the form cannot be valid without).
#[derive(Debug)]
pub struct Signup {
    pub parent: ParentDetails,
    pub password: NewPassword,
}

impl SignupForm {
    pub fn parse(&self) -> Result<Signup, FormErrors> {
        let mut errors = FormErrors::default();
        let name = parse_name(&mut errors, &self.name);
        let email = parse_email(&mut errors, &self.email);
        let phone = parse_phone(&mut errors, &self.phone);
        let password = NewPassword::parse(&self.password, &self.password_confirmation)
            .map_err(|(field, message)| errors.add(field, message))
            .ok();
        if self.accept_terms.is_none() {
            errors.add("accept_terms", TERMS_REQUIRED);
        }
        match (name, email, phone, password) {
            (Some(name), Some(email), Some(phone), Some(password)) if errors.is_empty() => {
                Ok(Signup { parent: ParentDetails { name, email, phone }, password })
            }
            _ => Err(errors),
        }
    }
}

/// The office's form to open an account for a family.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct NewFamilyForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
}

impl NewFamilyForm {
    pub fn parse(&self) -> Result<ParentDetails, FormErrors> {
        let mut errors = FormErrors::default();
        let name =
            PersonName::parse(&self.name, "Enter the parent's name.").map_err(|m| errors.add("name", m)).ok();
        let email = parse_email(&mut errors, &self.email);
        let phone = Phone::parse(&self.phone, "Enter the parent's phone number.")
            .map_err(|m| errors.add("phone", m))
            .ok();
        match (name, email, phone) {
            (Some(name), Some(email), Some(phone)) => Ok(ParentDetails { name, email, phone }),
            _ => Err(errors),
        }
    }
}

/// A parent's own name and phone number.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: String,
}

#[derive(Clone, Debug)]
pub struct Profile {
    pub name: PersonName,
    pub phone: Phone,
}

impl ProfileForm {
    pub fn parse(&self) -> Result<Profile, FormErrors> {
        let mut errors = FormErrors::default();
        let name = parse_name(&mut errors, &self.name);
        let phone = parse_phone(&mut errors, &self.phone);
        match (name, phone) {
            (Some(name), Some(phone)) => Ok(Profile { name, phone }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signup() -> SignupForm {
        SignupForm {
            name: "Alex Morgan".into(),
            email: "Alex@Example.com".into(),
            phone: "07700 900201".into(),
            password: "a long enough password".into(),
            password_confirmation: "a long enough password".into(),
            accept_terms: Some("yes".into()),
            next: String::new(),
        }
    }

    #[test]
    fn a_complete_sign_up_parses_with_the_email_lower_cased() {
        let parsed = signup().parse().unwrap();
        assert_eq!(parsed.parent.email.as_str(), "alex@example.com");
        assert_eq!(parsed.parent.name.as_str(), "Alex Morgan");
    }

    #[test]
    fn a_sign_up_without_the_terms_is_refused() {
        let errors = SignupForm { accept_terms: None, ..signup() }.parse().unwrap_err();
        assert_eq!(errors.get("accept_terms"), Some(TERMS_REQUIRED));
    }

    #[test]
    fn every_wrong_sign_up_field_gets_its_message() {
        let form = SignupForm {
            name: " ".into(),
            email: "nope".into(),
            phone: "12".into(),
            password: "short".into(),
            password_confirmation: "short".into(),
            accept_terms: None,
            next: String::new(),
        };
        let errors = form.parse().unwrap_err();
        assert_eq!(errors.get("name"), Some("Enter your name."));
        assert_eq!(errors.get("email"), Some("Enter an email address like name@example.com."));
        assert_eq!(errors.get("phone"), Some(Phone::IMPLAUSIBLE));
        assert_eq!(errors.get("password"), Some("Use at least 10 characters."));
        assert!(errors.get("accept_terms").is_some());
    }

    #[test]
    fn a_profile_needs_a_name_and_a_plausible_phone() {
        let errors = ProfileForm { name: String::new(), phone: "ring me".into() }.parse().unwrap_err();
        assert_eq!(errors.get("name"), Some("Enter your name."));
        assert_eq!(errors.get("phone"), Some(Phone::IMPLAUSIBLE));
        assert!(ProfileForm { name: "Alex".into(), phone: "+44 7700 900201".into() }.parse().is_ok());
    }
}
