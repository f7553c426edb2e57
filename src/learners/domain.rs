//! What a customer types about an adult participant, parsed once.

use serde::Deserialize;
use time::Date;

use crate::{
    auth::domain::EmailAddress,
    children::domain::{ParticipantKind, PersonName},
    web::FormErrors,
};

const MAX_NEEDS_CHARS: usize = 500;

/// Special requirements, one field each so staff can act on them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requirements {
    pub access: String,
    pub dietary: String,
    pub language: String,
    pub other: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct AdultForm {
    /// `self` or `delegate`.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub date_of_birth: String,
    #[serde(default)]
    pub access_needs: String,
    #[serde(default)]
    pub dietary_needs: String,
    #[serde(default)]
    pub language_needs: String,
    #[serde(default)]
    pub other_needs: String,
}

/// A valid adult participant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adult {
    pub kind: ParticipantKind,
    pub first_name: PersonName,
    pub last_name: PersonName,
    /// Required for a delegate (their joining details and certificate go to them).
    pub email: Option<EmailAddress>,
    pub date_of_birth: Option<Date>,
    pub needs: Requirements,
}

impl Adult {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name.as_str(), self.last_name.as_str())
    }
}

/// An adult's date of birth, if given: a real date, at least 16 and at most 120 years ago.
pub fn parse_adult_birth(input: &str, today: Date) -> Result<Option<Date>, &'static str> {
    let input = input.trim();
    if input.is_empty() {
        return Ok(None);
    }
    let date = crate::web::date::parse(input).ok_or("Enter a real date, like 1990-05-31.")?;
    let years = today.year() - date.year();
    if date > today || years < 16 {
        return Err("An adult is at least 16 years old.");
    }
    if years > 120 {
        return Err("Enter a date of birth within the last 120 years.");
    }
    Ok(Some(date))
}

fn needs(errors: &mut FormErrors, field: &'static str, input: &str) -> String {
    let text = input.trim();
    if text.chars().count() > MAX_NEEDS_CHARS {
        errors.add(field, "Use at most 500 characters.");
    }
    text.to_owned()
}

impl AdultForm {
    /// The kind the form's radio buttons say, if one of the two an adult may be.
    pub fn chosen_kind(&self) -> Option<ParticipantKind> {
        match self.kind.trim() {
            "self" => Some(ParticipantKind::Myself),
            "delegate" => Some(ParticipantKind::Delegate),
            _ => None,
        }
    }

    /// Whether the "me" radio is ticked (the form shown again keeps the choice).
    pub fn is_myself(&self) -> bool {
        self.chosen_kind() == Some(ParticipantKind::Myself)
    }

    pub fn is_delegate(&self) -> bool {
        self.chosen_kind() == Some(ParticipantKind::Delegate)
    }

    pub fn parse(&self, today: Date) -> Result<Adult, FormErrors> {
        let mut e = FormErrors::default();
        let kind = self.chosen_kind();
        if kind.is_none() {
            e.add("kind", "Choose whether this is you or a delegate.");
        }
        let first =
            PersonName::parse(&self.first_name, "Enter the first name.").map_err(|m| e.add("first_name", m));
        let last =
            PersonName::parse(&self.last_name, "Enter the last name.").map_err(|m| e.add("last_name", m));
        let email = if self.email.trim().is_empty() && kind != Some(ParticipantKind::Delegate) {
            None
        } else {
            match EmailAddress::parse(&self.email) {
                Ok(email) => Some(email),
                Err(_) if self.email.trim().is_empty() => {
                    e.add("email", "Enter the delegate's email address.");
                    None
                }
                Err(m) => {
                    e.add("email", m);
                    None
                }
            }
        };
        let born = parse_adult_birth(&self.date_of_birth, today).map_err(|m| e.add("date_of_birth", m));
        let needs = Requirements {
            access: needs(&mut e, "access_needs", &self.access_needs),
            dietary: needs(&mut e, "dietary_needs", &self.dietary_needs),
            language: needs(&mut e, "language_needs", &self.language_needs),
            other: needs(&mut e, "other_needs", &self.other_needs),
        };
        match (kind, first, last, born) {
            (Some(kind), Ok(first_name), Ok(last_name), Ok(date_of_birth)) if e.is_empty() => {
                Ok(Adult { kind, first_name, last_name, email, date_of_birth, needs })
            }
            _ => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    const TODAY: Date = date!(2026 - 12 - 07);

    fn form(kind: &str, email: &str) -> AdultForm {
        AdultForm {
            kind: kind.into(),
            first_name: " Sam ".into(),
            last_name: "Okafor".into(),
            email: email.into(),
            dietary_needs: "Vegetarian".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_delegate_needs_an_email_and_the_account_holder_does_not() {
        let errors = form("delegate", "").parse(TODAY).unwrap_err();
        assert_eq!(errors.get("email"), Some("Enter the delegate's email address."));
        let me = form("self", "").parse(TODAY).unwrap();
        assert_eq!((me.kind, me.full_name()), (ParticipantKind::Myself, "Sam Okafor".into()));
        assert_eq!(me.email, None);
        let delegate = form("delegate", "Sam@Example.com").parse(TODAY).unwrap();
        assert_eq!(delegate.email.unwrap().as_str(), "sam@example.com");
        assert_eq!(delegate.needs.dietary, "Vegetarian");
    }

    #[test]
    fn an_adults_date_of_birth_is_optional_and_at_least_16_years_ago() {
        assert_eq!(parse_adult_birth("", TODAY), Ok(None));
        assert_eq!(parse_adult_birth("1990-05-31", TODAY), Ok(Some(date!(1990 - 05 - 31))));
        assert!(parse_adult_birth("2015-01-01", TODAY).is_err());
        assert!(parse_adult_birth("1890-01-01", TODAY).is_err());
        assert!(parse_adult_birth("31/05/1990", TODAY).is_err());
    }

    #[test]
    fn a_kind_other_than_self_or_delegate_is_refused() {
        let errors = form("child", "").parse(TODAY).unwrap_err();
        assert!(errors.get("kind").is_some());
    }
}
