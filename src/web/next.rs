//! Where to go after signing in (`?next=`): only a path on this site, so a link
//! cannot send someone who signs in on to another site.

/// `raw` if it is a local path (`/courses/7/book`), else `None`: it must start with one
/// `/` (never `//` or `/\`, which browsers read as another host), be at most 300
/// characters, and use only the characters of a plain path and query.
pub fn local_path(raw: &str) -> Option<&str> {
    let ok = raw.len() <= 300
        && raw.starts_with('/')
        && !raw.starts_with("//")
        && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b"/-_.~?=&%".contains(&b));
    ok.then_some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path("/courses/7/book"), Some("/courses/7/book"));
        assert_eq!(
            local_path("/parent/sessions?course=2&month=2027-01"),
            Some("/parent/sessions?course=2&month=2027-01")
        );
        for bad in [
            "",
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "/a\\b",
            "javascript:alert(1)",
            "courses",
            "/a\nb",
            "/a b",
            "/a@evil",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
        assert_eq!(local_path(&format!("/{}", "a".repeat(400))), None);
    }
}
