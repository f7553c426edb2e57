//! Certificate numbers and states.
//!
//! A number is a course prefix and 12 characters drawn from a CSPRNG (the thread's
//! ChaCha generator, seeded by the operating system) from an alphabet without look-alike
//! characters: 30^12 ≈ 2^59 numbers, so neither counting nor another certificate's
//! number leads to a real one; the unique constraint catches the vanishing chance of a
//! repeat.

use rand::Rng;
use time::Date;

/// No 0/O, 1/I/L or U: easy to read aloud and to type from paper.
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
const GROUPS: usize = 3;
const GROUP_LEN: usize = 4;

/// The prefix: the initials of the course's first two words ("First Aid at Work" → FA).
pub fn prefix(course: &str) -> String {
    let initials: String = course
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .filter(char::is_ascii_alphabetic)
        .take(2)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if initials.len() == 2 { initials } else { "CE".to_owned() }
}

/// A new random number, like `FA-7K3M-9QPX-4TRW`.
pub fn new_number(course: &str) -> String {
    let mut rng = rand::rng();
    let mut number = prefix(course);
    for _ in 0..GROUPS {
        number.push('-');
        for _ in 0..GROUP_LEN {
            number.push(char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]));
        }
    }
    number
}

/// What someone typed, as numbers are stored: upper case, no spaces, dashes kept.
/// None if it cannot be a number (too long, or characters no number has).
pub fn normalise(input: &str) -> Option<String> {
    let number: String =
        input.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
    let plausible =
        (4..=40).contains(&number.len()) && number.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    plausible.then_some(number)
}

/// A certificate's state on a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Valid,
    Expired,
    Revoked,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Valid, Status::Expired, Status::Revoked];

    pub fn on(today: Date, expires_on: Date, revoked: bool) -> Self {
        if revoked {
            Status::Revoked
        } else if expires_on < today {
            Status::Expired
        } else {
            Status::Valid
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == input)
    }

    pub fn key(self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Expired => "expired",
            Status::Revoked => "revoked",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Valid => "Valid",
            Status::Expired => "Expired",
            Status::Revoked => "Revoked",
        }
    }
}

/// The day `months` after `from` (the 31st becomes the month's last day).
pub fn months_after(from: Date, months: i32) -> Date {
    let total = from.year() * 12 + i32::from(u8::from(from.month())) - 1 + months;
    let (year, month0) = (total.div_euclid(12), total.rem_euclid(12));
    let month = time::Month::try_from(u8::try_from(month0 + 1).unwrap_or(1)).unwrap_or(time::Month::January);
    let day = from.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).unwrap_or(from)
}

/// Which reminder is due for a certificate expiring on `expires_on`, seen `today`:
/// 30 days before (inside 30 days), else 90 (inside 90), else none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reminder {
    Days90,
    Days30,
}

impl Reminder {
    pub fn days(self) -> i64 {
        match self {
            Reminder::Days90 => 90,
            Reminder::Days30 => 30,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use time::macros::date;

    use super::*;

    #[test]
    fn a_number_has_the_course_prefix_and_three_groups_from_the_alphabet() {
        let n = new_number("First Aid at Work");
        assert_eq!(n.len(), 2 + 3 * 5);
        assert!(n.starts_with("FA-"), "{n}");
        assert!(n[3..].chars().all(|c| c == '-' || ALPHABET.contains(&(c as u8))), "{n}");
        assert_eq!(prefix("3-day course"), "CE");
        assert_eq!(normalise(&n.to_lowercase()), Some(n.clone()));
    }

    #[test]
    fn numbers_do_not_repeat_or_follow_from_each_other() {
        let numbers: Vec<String> = (0..10_000).map(|_| new_number("First Aid")).collect();
        let distinct: HashSet<&String> = numbers.iter().collect();
        assert_eq!(distinct.len(), numbers.len());
        // Consecutive numbers share no more characters in place than chance would.
        let same: usize = numbers
            .windows(2)
            .map(|w| w[0].bytes().zip(w[1].bytes()).skip(3).filter(|(a, b)| a == b && *a != b'-').count())
            .sum();
        let per_pair = same as f64 / 9_999.0;
        assert!(per_pair < 1.0, "{per_pair} characters in place per pair (chance: 0.4)");
    }

    #[test]
    fn typed_numbers_are_normalised_and_junk_is_refused() {
        assert_eq!(normalise(" fa-7k3m 9qpx "), Some("FA-7K3M9QPX".into()));
        assert_eq!(normalise("x"), None);
        assert_eq!(normalise("<script>"), None);
    }

    #[test]
    fn a_certificate_is_valid_until_its_expiry_day_and_revoked_wins() {
        let expiry = date!(2029 - 12 - 07);
        assert_eq!(Status::on(date!(2029 - 12 - 07), expiry, false), Status::Valid);
        assert_eq!(Status::on(date!(2029 - 12 - 08), expiry, false), Status::Expired);
        assert_eq!(Status::on(date!(2027 - 01 - 01), expiry, true), Status::Revoked);
    }

    #[test]
    fn months_after_keeps_the_day_or_the_months_last() {
        assert_eq!(months_after(date!(2026 - 12 - 07), 36), date!(2029 - 12 - 07));
        assert_eq!(months_after(date!(2026 - 01 - 31), 1), date!(2026 - 02 - 28));
        assert_eq!(months_after(date!(2026 - 11 - 15), 2), date!(2027 - 01 - 15));
    }
}
