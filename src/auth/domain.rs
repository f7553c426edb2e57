//! Input types for sign-in and passwords: parsed once, valid thereafter.

/// A plausible email address, lower-cased: addresses are matched case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let email = input.trim().to_lowercase();
        if email.is_empty() {
            return Err("Enter your email address.");
        }
        let valid = email.len() <= 254
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && matches!(email.split_once('@'), Some((local, domain))
                if !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
                    && !domain.ends_with('.') && !domain.contains('@'));
        if valid { Ok(Self(email)) } else { Err("Enter an email address like name@example.com.") }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: long enough to resist guessing, short enough to hash cheaply.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 200;

    pub fn parse(password: &str, confirmation: &str) -> Result<Self, (&'static str, &'static str)> {
        let chars = password.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(("password", "Use at least 10 characters."));
        }
        if chars > Self::MAX_CHARS {
            return Err(("password", "Use at most 200 characters."));
        }
        if password != confirmation {
            return Err(("password_confirmation", "The two passwords do not match."));
        }
        Ok(Self(password.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(EmailAddress::parse("  Parent@Portico.TEST ").unwrap().as_str(), "parent@portico.test");
    }

    #[test]
    fn implausible_emails_are_refused() {
        for bad in ["", "no-at-sign", "@portico.test", "a@b", "a@.com", "a b@c.com", "a@b@c.com", "a@c.com."]
        {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn passwords_need_length_and_a_matching_confirmation() {
        assert_eq!(NewPassword::parse("short", "short").unwrap_err().0, "password");
        assert_eq!(
            NewPassword::parse("long enough pw", "different pw").unwrap_err().0,
            "password_confirmation"
        );
        assert!(NewPassword::parse("long enough pw", "long enough pw").is_ok());
        assert!(
            format!("{:?}", NewPassword::parse("long enough pw", "long enough pw").unwrap())
                == "NewPassword(..)"
        );
    }
}
