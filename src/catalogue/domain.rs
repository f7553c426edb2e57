//! The activity and venue forms, parsed once: money in exact pence, whole-number
//! limits, a list of required qualifications.

use serde::Deserialize;

use crate::{money::Money, web::FormErrors};

/// A whole number in `range`; empty is `None` when `optional`.
pub fn whole_number(
    errors: &mut FormErrors,
    field: &'static str,
    input: &str,
    range: std::ops::RangeInclusive<i32>,
    missing: Option<&'static str>,
) -> Option<i32> {
    let text = input.trim();
    if text.is_empty() {
        if let Some(message) = missing {
            errors.add(field, message);
        }
        return None;
    }
    match text.parse::<i32>() {
        Ok(n) if range.contains(&n) => Some(n),
        Ok(_) => {
            errors.add(field, format!("Enter a number from {} to {}.", range.start(), range.end()));
            None
        }
        Err(_) => {
            errors.add(field, "Enter a whole number, like 8.");
            None
        }
    }
}

/// A required short name: trimmed, 1 to 100 characters, no control characters.
pub fn short_name(
    errors: &mut FormErrors,
    field: &'static str,
    input: &str,
    missing: &'static str,
) -> String {
    let name = input.trim();
    if name.is_empty() {
        errors.add(field, missing);
    } else if name.chars().count() > 100 {
        errors.add(field, "Use at most 100 characters.");
    } else if name.chars().any(char::is_control) {
        errors.add(field, "Use letters, numbers, spaces and punctuation only.");
    }
    name.to_owned()
}

/// Optional free text, trimmed, at most 2,000 characters.
pub fn notes(errors: &mut FormErrors, field: &'static str, input: &str) -> String {
    let text = input.trim();
    if text.chars().count() > 2000 {
        errors.add(field, "Use at most 2,000 characters.");
    }
    text.to_owned()
}

/// Qualification names, one per line or separated by commas; blanks and repeats dropped.
pub fn qualification_names(errors: &mut FormErrors, field: &'static str, input: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in input.split([',', '\n']).map(str::trim).filter(|n| !n.is_empty()) {
        if name.chars().count() > 100 {
            errors.add(field, "Each qualification name can be at most 100 characters.");
        } else if !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            names.push(name.to_owned());
        }
    }
    names
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ActivityForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub min_age: String,
    #[serde(default)]
    pub max_age: String,
    #[serde(default)]
    pub duration_minutes: String,
    #[serde(default)]
    pub capacity: String,
    #[serde(default)]
    pub price: String,
    #[serde(default)]
    pub requires_approval: Option<String>,
    #[serde(default)]
    pub pay_at_booking: Option<String>,
    #[serde(default)]
    pub booking_cutoff_hours: String,
    #[serde(default)]
    pub cancellation_cutoff_hours: String,
    #[serde(default)]
    pub waitlist_offer_hours: String,
    #[serde(default)]
    pub children_per_trainer: String,
    #[serde(default)]
    pub qualifications: String,
    #[serde(default)]
    pub audience: String,
    #[serde(default)]
    pub syllabus: String,
    #[serde(default)]
    pub certificate_valid_months: String,
}

/// A valid activity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Activity {
    pub name: String,
    pub description: String,
    pub min_age: Option<i32>,
    pub max_age: Option<i32>,
    pub duration_minutes: i32,
    pub capacity: i32,
    pub price: Money,
    pub requires_approval: bool,
    /// Parents pay by card when they book; unpaid places go back when the checkout expires.
    pub pay_at_booking: bool,
    pub booking_cutoff_hours: i32,
    pub cancellation_cutoff_hours: i32,
    pub waitlist_offer_hours: i32,
    pub children_per_trainer: Option<i32>,
    pub qualifications: Vec<String>,
    pub course: CourseType,
}

/// Who an activity is for (`activities.audience`): who may take a place on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, sqlx::Type, serde::Serialize)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    #[default]
    Children,
    Adults,
    Both,
}

impl Audience {
    pub const ALL: [Audience; 3] = [Audience::Children, Audience::Adults, Audience::Both];

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == input.trim())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Children => "children",
            Audience::Adults => "adults",
            Audience::Both => "both",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Audience::Children => "Children",
            Audience::Adults => "Adults",
            Audience::Both => "Children and adults",
        }
    }

    pub fn admits_children(self) -> bool {
        self != Audience::Adults
    }

    pub fn admits_adults(self) -> bool {
        self != Audience::Children
    }
}

/// What makes an activity a course: who it is for, its syllabus, and how long the
/// certificate a pass earns is valid (None: no certificate).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CourseType {
    pub audience: Audience,
    pub syllabus: String,
    pub certificate_valid_months: Option<i32>,
}

impl CourseType {
    fn parse(e: &mut FormErrors, form: &ActivityForm) -> CourseType {
        let audience = if form.audience.trim().is_empty() {
            Audience::Children
        } else {
            Audience::parse(&form.audience).unwrap_or_else(|| {
                e.add("audience", "Choose who the activity is for.");
                Audience::Children
            })
        };
        let syllabus = notes(e, "syllabus", &form.syllabus);
        let certificate_valid_months =
            whole_number(e, "certificate_valid_months", &form.certificate_valid_months, 1..=240, None);
        CourseType { audience, syllabus, certificate_valid_months }
    }
}

impl ActivityForm {
    pub fn requires_approval(&self) -> bool {
        self.requires_approval.is_some()
    }

    pub fn pay_at_booking(&self) -> bool {
        self.pay_at_booking.is_some()
    }

    pub fn parse(&self) -> Result<Activity, FormErrors> {
        let mut e = FormErrors::default();
        let name = short_name(&mut e, "name", &self.name, "Enter the activity's name.");
        let description = notes(&mut e, "description", &self.description);
        let min_age = whole_number(&mut e, "min_age", &self.min_age, 0..=120, None);
        let max_age = whole_number(&mut e, "max_age", &self.max_age, 0..=120, None);
        if let (Some(min), Some(max)) = (min_age, max_age)
            && min > max
        {
            e.add("max_age", "The oldest age must not be below the youngest.");
        }
        let duration = whole_number(
            &mut e,
            "duration_minutes",
            &self.duration_minutes,
            5..=24 * 60,
            Some("Enter how long a session lasts, in minutes."),
        );
        let capacity = whole_number(
            &mut e,
            "capacity",
            &self.capacity,
            0..=10_000,
            Some("Enter how many places a session has."),
        );
        let price = Money::parse(&self.price, "Enter the price per session, like 6.50 (0 if free).")
            .map_err(|m| e.add("price", m))
            .ok();
        let hours = |e: &mut FormErrors, field, input: &str, default| {
            if input.trim().is_empty() {
                Some(default)
            } else {
                whole_number(e, field, input, 0..=24 * 90, None)
            }
        };
        let booking_cutoff = hours(&mut e, "booking_cutoff_hours", &self.booking_cutoff_hours, 0);
        let cancellation_cutoff =
            hours(&mut e, "cancellation_cutoff_hours", &self.cancellation_cutoff_hours, 24);
        let waitlist_hours = if self.waitlist_offer_hours.trim().is_empty() {
            Some(24)
        } else {
            whole_number(&mut e, "waitlist_offer_hours", &self.waitlist_offer_hours, 1..=24 * 14, None)
        };
        let ratio = whole_number(&mut e, "children_per_trainer", &self.children_per_trainer, 1..=1000, None);
        let qualifications = qualification_names(&mut e, "qualifications", &self.qualifications);
        let course = CourseType::parse(&mut e, self);
        match (duration, capacity, price, booking_cutoff, cancellation_cutoff, waitlist_hours) {
            (Some(duration_minutes), Some(capacity), Some(price), Some(b), Some(c), Some(w))
                if e.is_empty() =>
            {
                Ok(Activity {
                    name,
                    description,
                    min_age,
                    max_age,
                    duration_minutes,
                    capacity,
                    price,
                    requires_approval: self.requires_approval(),
                    pay_at_booking: self.pay_at_booking(),
                    booking_cutoff_hours: b,
                    cancellation_cutoff_hours: c,
                    waitlist_offer_hours: w,
                    children_per_trainer: ratio,
                    qualifications,
                    course,
                })
            }
            _ => Err(e),
        }
    }
}

/// What kind of place a venue is (`venues.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum VenueKind {
    /// A site of the provider's own: it needs an address.
    Site,
    Online,
    ClientSite,
}

impl VenueKind {
    pub const ALL: [Self; 3] = [Self::Site, Self::Online, Self::ClientSite];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Site => "site",
            Self::Online => "online",
            Self::ClientSite => "client_site",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Site => "A site of ours",
            Self::Online => "Online",
            Self::ClientSite => "At the client's site",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct VenueForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub postcode: String,
    #[serde(default)]
    pub capacity: String,
    #[serde(default)]
    pub notes: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Venue {
    pub name: String,
    pub kind: VenueKind,
    pub address: String,
    pub postcode: String,
    pub capacity: Option<i32>,
    pub notes: String,
}

impl VenueForm {
    pub fn parse(&self) -> Result<Venue, FormErrors> {
        let mut e = FormErrors::default();
        let name = short_name(&mut e, "name", &self.name, "Enter the venue's name.");
        let kind = VenueKind::parse(self.kind.trim());
        if kind.is_none() {
            e.add("kind", "Choose what kind of venue this is.");
        }
        let address = notes(&mut e, "address", &self.address);
        if kind == Some(VenueKind::Site) && address.is_empty() {
            e.add("address", "Enter the address, so trainers and families can find it.");
        }
        let postcode = self.postcode.trim().to_uppercase();
        if postcode.chars().count() > 10 {
            e.add("postcode", "Enter a postcode like SW1A 1AA.");
        }
        let capacity = whole_number(&mut e, "capacity", &self.capacity, 0..=100_000, None);
        let notes = notes(&mut e, "notes", &self.notes);
        match kind {
            Some(kind) if e.is_empty() => Ok(Venue { name, kind, address, postcode, capacity, notes }),
            _ => Err(e),
        }
    }
}

/// A package is either a number of sessions to use, or a whole term of a series.
pub const PACKAGE_KINDS: &[(&str, &str)] =
    &[("credits", "A number of sessions"), ("term", "A term (every session of a series)")];

pub const CREDITS_POSITIVE: &str = "A package needs at least one session.";
pub const PRICE_NOT_NEGATIVE: &str = "The price cannot be below £0.00.";

/// The package form as typed (`web::form::Form`); activities are repeated checkbox fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PackageForm {
    pub name: String,
    pub description: String,
    pub kind: String,
    pub credits: String,
    pub price: String,
    pub valid_days: String,
    #[serde(rename = "activity", deserialize_with = "crate::web::form::ids")]
    pub activities: Vec<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackageKind {
    Credits(i32),
    Term,
}

impl PackageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Credits(_) => "credits",
            Self::Term => "term",
        }
    }

    /// As stored: `kind` with `credits` (the database keeps the two matched).
    pub fn from_stored(kind: &str, credits: Option<i32>) -> Option<Self> {
        match (kind, credits) {
            ("credits", Some(n)) => Some(Self::Credits(n)),
            ("term", None) => Some(Self::Term),
            _ => None,
        }
    }

    pub fn credits(self) -> Option<i32> {
        match self {
            Self::Credits(n) => Some(n),
            Self::Term => None,
        }
    }
}

/// A valid package definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub description: String,
    pub kind: PackageKind,
    pub price: Money,
    pub valid_days: i32,
    pub activities: Vec<i64>,
}

impl PackageForm {
    pub fn covers(&self, activity_id: &i64) -> bool {
        self.activities.contains(activity_id)
    }

    pub fn parse(&self) -> Result<Package, FormErrors> {
        let mut e = FormErrors::default();
        let name = short_name(&mut e, "name", &self.name, "Enter the package's name.");
        let description = notes(&mut e, "description", &self.description);
        let kind = match self.kind.as_str() {
            "credits" => match self.credits.trim().parse::<i64>() {
                Ok(n) if n <= 0 => {
                    e.add("credits", CREDITS_POSITIVE);
                    None
                }
                Ok(n) if n > 1000 => {
                    e.add("credits", "Enter a number from 1 to 1000.");
                    None
                }
                Ok(n) => i32::try_from(n).ok().map(PackageKind::Credits),
                Err(_) if self.credits.trim().is_empty() => {
                    e.add("credits", "Enter how many sessions the package holds.");
                    None
                }
                Err(_) => {
                    e.add("credits", "Enter a whole number, like 10.");
                    None
                }
            },
            "term" => Some(PackageKind::Term),
            _ => {
                e.add("kind", "Choose whether the package is a number of sessions or a term.");
                None
            }
        };
        let price = if self.price.trim().starts_with('-') {
            e.add("price", PRICE_NOT_NEGATIVE);
            None
        } else {
            Money::parse(&self.price, "Enter the package's price, like 60.00 (0 if free).")
                .map_err(|m| e.add("price", m))
                .ok()
        };
        let valid_days = whole_number(
            &mut e,
            "valid_days",
            &self.valid_days,
            1..=3660,
            Some("Enter how many days the package can be used for after it is bought."),
        );
        if self.activities.is_empty() {
            e.add("activities", "Choose at least one activity the package covers.");
        }
        match (kind, price, valid_days) {
            (Some(kind), Some(price), Some(valid_days)) if e.is_empty() => Ok(Package {
                name,
                description,
                kind,
                price,
                valid_days,
                activities: self.activities.clone(),
            }),
            _ => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn football() -> ActivityForm {
        ActivityForm {
            name: " Football 5–8s ".into(),
            description: "Games and skills".into(),
            min_age: "5".into(),
            max_age: "8".into(),
            duration_minutes: "60".into(),
            capacity: "16".into(),
            price: "6.50".into(),
            requires_approval: Some("yes".into()),
            pay_at_booking: None,
            booking_cutoff_hours: "2".into(),
            cancellation_cutoff_hours: "24".into(),
            waitlist_offer_hours: "12".into(),
            children_per_trainer: "8".into(),
            qualifications: "DBS check, First aid\nDBS check".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_course_type_reads_its_audience_and_certificate_months() {
        let form = ActivityForm {
            audience: "adults".into(),
            certificate_valid_months: "36".into(),
            syllabus: " CPR ".into(),
            ..football()
        };
        let course = form.parse().unwrap().course;
        assert_eq!(
            course,
            CourseType {
                audience: Audience::Adults,
                syllabus: "CPR".into(),
                certificate_valid_months: Some(36)
            }
        );
        let form =
            ActivityForm { audience: "pets".into(), certificate_valid_months: "0".into(), ..football() };
        let errors = form.parse().unwrap_err();
        assert!(errors.get("audience").is_some() && errors.get("certificate_valid_months").is_some());
        assert_eq!(football().parse().unwrap().course.audience, Audience::Children, "children by default");
    }

    #[test]
    fn a_complete_activity_parses() {
        let a = football().parse().unwrap();
        assert_eq!(a.name, "Football 5–8s");
        assert_eq!(a.price.pence(), 650);
        assert_eq!(a.children_per_trainer, Some(8));
        assert!(a.requires_approval);
        assert!(!a.pay_at_booking, "an unticked box is no");
        assert_eq!(a.qualifications, vec!["DBS check".to_owned(), "First aid".to_owned()]);
    }

    #[test]
    fn cut_offs_default_when_left_blank() {
        let a = ActivityForm {
            booking_cutoff_hours: String::new(),
            cancellation_cutoff_hours: String::new(),
            waitlist_offer_hours: String::new(),
            ..football()
        }
        .parse()
        .unwrap();
        assert_eq!(
            (a.booking_cutoff_hours, a.cancellation_cutoff_hours, a.waitlist_offer_hours),
            (0, 24, 24)
        );
    }

    #[test]
    fn every_wrong_activity_field_gets_its_message() {
        let form = ActivityForm {
            name: String::new(),
            min_age: "9".into(),
            max_age: "5".into(),
            duration_minutes: "ten".into(),
            capacity: String::new(),
            price: "6.505".into(),
            children_per_trainer: "0".into(),
            waitlist_offer_hours: "0".into(),
            ..football()
        };
        let e = form.parse().unwrap_err();
        assert_eq!(e.get("name"), Some("Enter the activity's name."));
        assert!(e.get("max_age").is_some());
        assert_eq!(e.get("duration_minutes"), Some("Enter a whole number, like 8."));
        assert!(e.get("capacity").is_some());
        assert_eq!(e.get("price"), Some("Use at most two decimal places (pence)."));
        assert!(e.get("children_per_trainer").is_some());
        assert!(e.get("waitlist_offer_hours").is_some());
    }

    #[test]
    fn venues_need_a_known_kind_and_an_address_for_a_site() {
        let e = VenueForm { name: "Hall".into(), kind: "castle".into(), ..Default::default() }
            .parse()
            .unwrap_err();
        assert!(e.get("kind").is_some());
        let e =
            VenueForm { name: "Hall".into(), kind: "site".into(), ..Default::default() }.parse().unwrap_err();
        assert!(e.get("address").is_some());
        let online = VenueForm { name: "Online".into(), kind: "online".into(), ..Default::default() }.parse();
        assert_eq!(online.unwrap().capacity, None);
    }
}

#[cfg(test)]
mod package_tests {
    use super::*;

    fn ten_sessions() -> PackageForm {
        PackageForm {
            name: "Ten sessions".into(),
            kind: "credits".into(),
            credits: "10".into(),
            price: "55.50".into(),
            valid_days: "180".into(),
            activities: vec![3],
            ..Default::default()
        }
    }

    #[test]
    fn a_credit_package_parses_to_exact_pence() {
        let package = ten_sessions().parse().unwrap();
        assert_eq!(package.kind, PackageKind::Credits(10));
        assert_eq!(package.price.pence(), 5550);
    }

    #[test]
    fn a_term_needs_no_credits() {
        let form = PackageForm { kind: "term".into(), credits: String::new(), ..ten_sessions() };
        assert_eq!(form.parse().unwrap().kind, PackageKind::Term);
    }

    #[test]
    fn wrong_packages_get_a_message_by_each_field() {
        let form = PackageForm {
            name: String::new(),
            credits: "0".into(),
            price: "-1".into(),
            valid_days: "0".into(),
            activities: vec![],
            ..ten_sessions()
        };
        let errors = form.parse().unwrap_err();
        assert!(errors.get("name").is_some());
        assert_eq!(errors.get("credits"), Some(CREDITS_POSITIVE));
        assert_eq!(errors.get("price"), Some(PRICE_NOT_NEGATIVE));
        assert!(errors.get("valid_days").is_some());
        assert!(errors.get("activities").is_some());
        let unknown = PackageForm { kind: "gift".into(), ..ten_sessions() };
        assert!(unknown.parse().unwrap_err().get("kind").is_some());
    }
}
