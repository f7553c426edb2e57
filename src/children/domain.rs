//! What a family types about a child, parsed once: names, phone numbers, a date of
//! birth, the child's form with its first emergency contact and collector.

use serde::Deserialize;
use time::{Date, Month};

use crate::web::FormErrors;

/// Who a participant is to the account that books (`children.kind`): the table holds
/// every participant, its name kept from when it held only children.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type, serde::Serialize, serde::Deserialize)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ParticipantKind {
    Child,
    /// The account holder themself.
    #[sqlx(rename = "self")]
    #[serde(rename = "self")]
    Myself,
    /// A named adult the account books for (a colleague, an employee).
    Delegate,
}

impl ParticipantKind {
    pub fn is_adult(self) -> bool {
        self != ParticipantKind::Child
    }

    pub fn label(self) -> &'static str {
        match self {
            ParticipantKind::Child => "Child",
            ParticipantKind::Myself => "You",
            ParticipantKind::Delegate => "Delegate",
        }
    }
}

/// Names and other short answers.
pub const MAX_SHORT_CHARS: usize = 100;
/// Medical notes, allergies, additional needs.
pub const MAX_NOTES_CHARS: usize = 2000;
/// Children are at most this old; an older date of birth is a typing mistake.
pub const MAX_AGE_YEARS: i32 = 25;

const TOO_LONG_SHORT: &str = "Use at most 100 characters.";
const TOO_LONG_NOTES: &str = "Use at most 2,000 characters.";

/// A person's name: trimmed, present, at most 100 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    /// `missing` is the message when nothing was typed ("Enter the child's first name.").
    pub fn parse(input: &str, missing: &'static str) -> Result<Self, &'static str> {
        let name = input.trim();
        if name.is_empty() {
            Err(missing)
        } else if name.chars().count() > MAX_SHORT_CHARS {
            Err(TOO_LONG_SHORT)
        } else if name.chars().any(char::is_control) {
            Err("Use letters, spaces and punctuation only.")
        } else {
            Ok(Self(name.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A plausible phone number: digits and spaces, perhaps a leading `+`, 7 to 15 digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub const IMPLAUSIBLE: &str = "Enter a phone number like 07700 900123 or +44 7700 900123.";

    pub fn parse(input: &str, missing: &'static str) -> Result<Self, &'static str> {
        let phone = input.split_whitespace().collect::<Vec<_>>().join(" ");
        if phone.is_empty() {
            return Err(missing);
        }
        let body = phone.strip_prefix('+').unwrap_or(&phone);
        let digits = body.chars().filter(char::is_ascii_digit).count();
        let only_digits_and_spaces = body.chars().all(|c| c.is_ascii_digit() || c == ' ');
        if only_digits_and_spaces && (7..=15).contains(&digits) {
            Ok(Self(phone))
        } else {
            Err(Self::IMPLAUSIBLE)
        }
    }

    /// Empty input is no number; anything typed must be plausible.
    pub fn parse_optional(input: &str) -> Result<Option<Self>, &'static str> {
        if input.trim().is_empty() { Ok(None) } else { Self::parse(input, Self::IMPLAUSIBLE).map(Some) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A date of birth from `<input type="date">` (`YYYY-MM-DD`): a real date, not after
/// `today` and not more than 25 years before it.
pub fn parse_date_of_birth(input: &str, today: Date) -> Result<Date, &'static str> {
    let input = input.trim();
    if input.is_empty() {
        return Err("Enter the child's date of birth.");
    }
    let date = crate::web::date::parse(input).ok_or("Enter a real date, like 2018-05-31.")?;
    if date > today {
        return Err("The date of birth cannot be in the future.");
    }
    if date < years_before(today, MAX_AGE_YEARS) {
        return Err("The date of birth must be within the last 25 years.");
    }
    Ok(date)
}

/// The same day `years` earlier; 29 February becomes the 28th in a common year.
fn years_before(date: Date, years: i32) -> Date {
    let year = date.year() - years;
    date.replace_year(year)
        .or_else(|_| Date::from_calendar_date(year, Month::February, 28))
        .unwrap_or(Date::MIN)
}

/// Optional free text, trimmed, at most `max` characters.
fn optional_text(
    errors: &mut FormErrors,
    field: &'static str,
    input: &str,
    (max, too_long): (usize, &'static str),
) -> String {
    let text = input.trim();
    if text.chars().count() > max {
        errors.add(field, too_long);
    }
    text.to_owned()
}

const SHORT: (usize, &str) = (MAX_SHORT_CHARS, TOO_LONG_SHORT);
const NOTES: (usize, &str) = (MAX_NOTES_CHARS, TOO_LONG_NOTES);

fn required<T>(errors: &mut FormErrors, field: &'static str, parsed: Result<T, &'static str>) -> Option<T> {
    parsed.map_err(|message| errors.add(field, message)).ok()
}

/// The child's own details.
#[derive(Clone, Debug)]
pub struct ChildDetails {
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub date_of_birth: Date,
    pub medical_notes: String,
    pub allergies: String,
    pub additional_needs: String,
    pub doctor_name: String,
    pub doctor_phone: Option<Phone>,
    pub photo_consent: bool,
}

impl ChildDetails {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name.as_str(), self.last_name.as_str())
    }
}

/// Someone to call in an emergency.
#[derive(Clone, Debug)]
pub struct ContactDetails {
    pub name: PersonName,
    pub relationship: String,
    pub phone: Phone,
}

/// Someone allowed to collect the child.
#[derive(Clone, Debug)]
pub struct CollectorDetails {
    pub name: PersonName,
    pub relationship: String,
    pub phone: Phone,
    pub password: String,
    pub notes: String,
}

/// The add-contact form (and the contact part of the child's form).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    pub contact_name: String,
    #[serde(default)]
    pub contact_relationship: String,
    #[serde(default)]
    pub contact_phone: String,
}

impl ContactForm {
    pub fn parse(&self) -> Result<ContactDetails, FormErrors> {
        let mut errors = FormErrors::default();
        match self.parse_into(&mut errors) {
            Some(contact) if errors.is_empty() => Ok(contact),
            _ => Err(errors),
        }
    }

    fn parse_into(&self, errors: &mut FormErrors) -> Option<ContactDetails> {
        let name = required(
            errors,
            "contact_name",
            PersonName::parse(&self.contact_name, "Enter the emergency contact's name."),
        );
        let relationship = optional_text(errors, "contact_relationship", &self.contact_relationship, SHORT);
        let phone = required(
            errors,
            "contact_phone",
            Phone::parse(&self.contact_phone, "Enter the emergency contact's phone number."),
        );
        Some(ContactDetails { name: name?, relationship, phone: phone? })
    }
}

/// The add-collector form (and the collector part of the child's form).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CollectorForm {
    #[serde(default)]
    pub collector_name: String,
    #[serde(default)]
    pub collector_relationship: String,
    #[serde(default)]
    pub collector_phone: String,
    #[serde(default)]
    pub collector_password: String,
    #[serde(default)]
    pub collector_notes: String,
}

impl CollectorForm {
    pub fn parse(&self) -> Result<CollectorDetails, FormErrors> {
        let mut errors = FormErrors::default();
        match self.parse_into(&mut errors) {
            Some(collector) if errors.is_empty() => Ok(collector),
            _ => Err(errors),
        }
    }

    fn is_blank(&self) -> bool {
        [
            &self.collector_name,
            &self.collector_relationship,
            &self.collector_phone,
            &self.collector_password,
            &self.collector_notes,
        ]
        .iter()
        .all(|field| field.trim().is_empty())
    }

    fn parse_into(&self, errors: &mut FormErrors) -> Option<CollectorDetails> {
        let name = required(
            errors,
            "collector_name",
            PersonName::parse(&self.collector_name, "Enter the name of the person collecting."),
        );
        let relationship =
            optional_text(errors, "collector_relationship", &self.collector_relationship, SHORT);
        let phone = required(
            errors,
            "collector_phone",
            Phone::parse(&self.collector_phone, "Enter the collector's phone number."),
        );
        let password = optional_text(errors, "collector_password", &self.collector_password, SHORT);
        let notes = optional_text(errors, "collector_notes", &self.collector_notes, NOTES);
        Some(CollectorDetails { name: name?, relationship, phone: phone?, password, notes })
    }
}

/// The add and edit form: the child, one emergency contact (required) and one
/// authorised collector (optional: all blank means none).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ChildForm {
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub date_of_birth: String,
    #[serde(default)]
    pub medical_notes: String,
    #[serde(default)]
    pub allergies: String,
    #[serde(default)]
    pub additional_needs: String,
    #[serde(default)]
    pub doctor_name: String,
    #[serde(default)]
    pub doctor_phone: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    pub photo_consent: Option<String>,
    #[serde(default)]
    pub contact_name: String,
    #[serde(default)]
    pub contact_relationship: String,
    #[serde(default)]
    pub contact_phone: String,
    #[serde(default)]
    pub collector_name: String,
    #[serde(default)]
    pub collector_relationship: String,
    #[serde(default)]
    pub collector_phone: String,
    #[serde(default)]
    pub collector_password: String,
    #[serde(default)]
    pub collector_notes: String,
}

/// A valid child's form.
#[derive(Clone, Debug)]
pub struct ChildInput {
    pub child: ChildDetails,
    pub contact: ContactDetails,
    pub collector: Option<CollectorDetails>,
}

impl ChildForm {
    pub fn photo_consent(&self) -> bool {
        self.photo_consent.is_some()
    }

    fn contact(&self) -> ContactForm {
        ContactForm {
            contact_name: self.contact_name.clone(),
            contact_relationship: self.contact_relationship.clone(),
            contact_phone: self.contact_phone.clone(),
        }
    }

    fn collector(&self) -> CollectorForm {
        CollectorForm {
            collector_name: self.collector_name.clone(),
            collector_relationship: self.collector_relationship.clone(),
            collector_phone: self.collector_phone.clone(),
            collector_password: self.collector_password.clone(),
            collector_notes: self.collector_notes.clone(),
        }
    }

    /// Every wrong field gets its message, not only the first.
    pub fn parse(&self, today: Date) -> Result<ChildInput, FormErrors> {
        let mut errors = FormErrors::default();
        let e = &mut errors;
        let first_name =
            required(e, "first_name", PersonName::parse(&self.first_name, "Enter the child's first name."));
        let last_name =
            required(e, "last_name", PersonName::parse(&self.last_name, "Enter the child's last name."));
        let date_of_birth = required(e, "date_of_birth", parse_date_of_birth(&self.date_of_birth, today));
        let medical_notes = optional_text(e, "medical_notes", &self.medical_notes, NOTES);
        let allergies = optional_text(e, "allergies", &self.allergies, NOTES);
        let additional_needs = optional_text(e, "additional_needs", &self.additional_needs, NOTES);
        let doctor_name = optional_text(e, "doctor_name", &self.doctor_name, SHORT);
        let doctor_phone = required(e, "doctor_phone", Phone::parse_optional(&self.doctor_phone));
        let contact = self.contact().parse_into(e);
        let collector = self.collector();
        let collector = if collector.is_blank() { Some(None) } else { collector.parse_into(e).map(Some) };

        match (first_name, last_name, date_of_birth, doctor_phone, contact, collector) {
            (
                Some(first_name),
                Some(last_name),
                Some(date_of_birth),
                Some(doctor_phone),
                Some(contact),
                Some(collector),
            ) if errors.is_empty() => {
                let child = ChildDetails {
                    first_name,
                    last_name,
                    date_of_birth,
                    medical_notes,
                    allergies,
                    additional_needs,
                    doctor_name,
                    doctor_phone,
                    photo_consent: self.photo_consent(),
                };
                Ok(ChildInput { child, contact, collector })
            }
            _ => Err(errors),
        }
    }
}

/// A checklist tick box: the form posts `done=true` to mark an item done and
/// `done=false` (or nothing) to mark it not done.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ChecklistForm {
    #[serde(default)]
    pub done: String,
}

impl ChecklistForm {
    /// Whether the item is to be marked done; anything but `true` reopens it.
    pub fn parse(&self) -> bool {
        self.done.trim() == "true"
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    const TODAY: Date = date!(2026 - 11 - 23);

    fn valid_form() -> ChildForm {
        ChildForm {
            first_name: " Maya ".into(),
            last_name: "Morgan".into(),
            date_of_birth: "2018-05-31".into(),
            contact_name: "Sam Morgan".into(),
            contact_relationship: "Aunt".into(),
            contact_phone: "07700 900123".into(),
            ..ChildForm::default()
        }
    }

    #[test]
    fn names_are_trimmed_required_and_at_most_100_characters() {
        assert_eq!(PersonName::parse("  Maya ", "missing").unwrap().as_str(), "Maya");
        assert_eq!(PersonName::parse("   ", "missing").unwrap_err(), "missing");
        assert!(PersonName::parse(&"a".repeat(100), "missing").is_ok());
        assert_eq!(
            PersonName::parse(&"a".repeat(101), "missing").unwrap_err(),
            "Use at most 100 characters."
        );
        assert!(PersonName::parse("Zoë O'Neill-Ñúñez", "missing").is_ok(), "letters of every language");
        assert!(PersonName::parse("a\u{7}b", "missing").is_err());
    }

    #[test]
    fn phone_numbers_need_seven_digits_and_only_digits_spaces_and_a_leading_plus() {
        for good in ["07700 900123", "+44 7700 900123", "0207 946 0000", "1234567", " 07700   900123 "] {
            assert!(Phone::parse(good, "missing").is_ok(), "{good:?} should be accepted");
        }
        assert_eq!(Phone::parse(" 07700   900123 ", "missing").unwrap().as_str(), "07700 900123");
        for bad in
            ["123456", "phone me", "07700-900123", "0770 0+900123", "++447700900123", "1234567890123456"]
        {
            assert_eq!(Phone::parse(bad, "missing"), Err(Phone::IMPLAUSIBLE), "{bad:?} should be refused");
        }
        assert_eq!(Phone::parse("", "missing"), Err("missing"));
        assert_eq!(Phone::parse_optional("  "), Ok(None));
        assert!(Phone::parse_optional("12").is_err());
    }

    #[test]
    fn a_date_of_birth_is_real_not_in_the_future_and_within_25_years() {
        assert_eq!(parse_date_of_birth("2018-05-31", TODAY), Ok(date!(2018 - 05 - 31)));
        assert_eq!(parse_date_of_birth("2026-11-23", TODAY), Ok(TODAY), "born today");
        assert_eq!(parse_date_of_birth("2001-11-23", TODAY), Ok(date!(2001 - 11 - 23)), "25 today");
        assert!(parse_date_of_birth("2001-11-22", TODAY).unwrap_err().contains("25 years"));
        assert!(parse_date_of_birth("2026-11-24", TODAY).unwrap_err().contains("future"));
        for bad in ["2018-02-30", "31/05/2018", "yesterday", "2018-13-01"] {
            assert_eq!(parse_date_of_birth(bad, TODAY), Err("Enter a real date, like 2018-05-31."), "{bad}");
        }
        assert_eq!(parse_date_of_birth(" ", TODAY), Err("Enter the child's date of birth."));
    }

    #[test]
    fn twenty_five_years_before_a_leap_day_is_the_28th() {
        assert_eq!(years_before(date!(2028 - 02 - 29), 25), date!(2003 - 02 - 28));
    }

    #[test]
    fn a_valid_form_parses_with_no_collector_when_those_fields_are_blank() {
        let input = valid_form().parse(TODAY).unwrap();
        assert_eq!(input.child.full_name(), "Maya Morgan");
        assert_eq!(input.contact.phone.as_str(), "07700 900123");
        assert!(input.collector.is_none());
        assert!(!input.child.photo_consent);
    }

    #[test]
    fn every_wrong_field_gets_its_own_message() {
        let form = ChildForm {
            first_name: String::new(),
            last_name: "x".repeat(101),
            date_of_birth: "2030-01-01".into(),
            doctor_phone: "call the surgery".into(),
            allergies: "x".repeat(2001),
            contact_phone: "12".into(),
            collector_notes: "Only on Tuesdays".into(),
            ..valid_form()
        };
        let errors = form.parse(TODAY).unwrap_err();
        assert_eq!(errors.get("first_name"), Some("Enter the child's first name."));
        assert_eq!(errors.get("last_name"), Some("Use at most 100 characters."));
        assert_eq!(errors.get("date_of_birth"), Some("The date of birth cannot be in the future."));
        assert_eq!(errors.get("doctor_phone"), Some(Phone::IMPLAUSIBLE));
        assert_eq!(errors.get("allergies"), Some("Use at most 2,000 characters."));
        assert_eq!(errors.get("contact_phone"), Some(Phone::IMPLAUSIBLE));
        assert_eq!(errors.get("collector_name"), Some("Enter the name of the person collecting."));
        assert_eq!(errors.get("collector_phone"), Some("Enter the collector's phone number."));
        assert_eq!(errors.get("contact_name"), None);
    }

    #[test]
    fn the_emergency_contact_is_required() {
        let form = ChildForm { contact_name: String::new(), contact_phone: String::new(), ..valid_form() };
        let errors = form.parse(TODAY).unwrap_err();
        assert_eq!(errors.get("contact_name"), Some("Enter the emergency contact's name."));
        assert_eq!(errors.get("contact_phone"), Some("Enter the emergency contact's phone number."));
    }

    #[test]
    fn a_long_relationship_is_refused_even_when_the_rest_is_valid() {
        let form = ContactForm {
            contact_name: "Sam".into(),
            contact_relationship: "r".repeat(101),
            contact_phone: "07700 900123".into(),
        };
        assert_eq!(
            form.parse().unwrap_err().get("contact_relationship"),
            Some("Use at most 100 characters.")
        );
    }

    #[test]
    fn only_true_marks_a_checklist_item_done() {
        assert!(ChecklistForm { done: "true".into() }.parse());
        assert!(!ChecklistForm { done: "false".into() }.parse());
        assert!(!ChecklistForm::default().parse());
    }
}
