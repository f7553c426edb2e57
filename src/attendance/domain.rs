//! The register's marks and the forms beside it, as typed values: `attendance.status`
//! and `incidents.severity` are `text` with a CHECK, read and written through enums.

use serde::Deserialize;

use super::store::{Booked, Collector, Mark};
use crate::{ids::ChildId, web::FormErrors};

/// A child's mark on the register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum AttendanceStatus {
    Present,
    Late,
    Absent,
    Excused,
}

impl AttendanceStatus {
    pub const ALL: [AttendanceStatus; 4] = [
        AttendanceStatus::Present,
        AttendanceStatus::Late,
        AttendanceStatus::Absent,
        AttendanceStatus::Excused,
    ];

    /// The value the register's radio buttons post.
    pub fn key(self) -> &'static str {
        match self {
            AttendanceStatus::Present => "present",
            AttendanceStatus::Late => "late",
            AttendanceStatus::Absent => "absent",
            AttendanceStatus::Excused => "excused",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AttendanceStatus::Present => "Present",
            AttendanceStatus::Late => "Late",
            AttendanceStatus::Absent => "Absent",
            AttendanceStatus::Excused => "Excused",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == raw.trim())
    }

    /// The child came (late or not): the first such mark signs them in.
    pub fn is_present(self) -> bool {
        match self {
            AttendanceStatus::Present | AttendanceStatus::Late => true,
            AttendanceStatus::Absent | AttendanceStatus::Excused => false,
        }
    }
}

/// How serious an incident was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Low, Severity::Medium, Severity::High];

    pub fn key(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Severity::Low => "Low: no harm",
            Severity::Medium => "Medium: minor harm or first aid",
            Severity::High => "High: medical help or parents called",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == raw.trim())
    }
}

/// Free text a trainer types on the register, bounded; empty is refused with `missing`.
fn required(errors: &mut FormErrors, field: &'static str, raw: &str, missing: &'static str) -> String {
    let value: String = raw.trim().chars().take(5000).collect();
    if value.is_empty() {
        errors.add(field, missing);
    }
    value
}

/// A note for the rest of the team.
#[derive(Debug, Default, Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    pub body: String,
}

impl NoteForm {
    pub fn parse(&self) -> Result<String, FormErrors> {
        let mut errors = FormErrors::default();
        let body = required(&mut errors, "body", &self.body, "Write the note.");
        if errors.is_empty() { Ok(body) } else { Err(errors) }
    }
}

/// An incident report, as typed (kept for a 422).
#[derive(Debug, Default, Deserialize)]
pub struct IncidentForm {
    #[serde(default)]
    pub what_happened: String,
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub actions_taken: String,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Incident {
    pub what_happened: String,
    pub severity: Severity,
    pub actions_taken: String,
}

impl IncidentForm {
    pub fn parse(&self) -> Result<Incident, FormErrors> {
        let mut errors = FormErrors::default();
        let what_happened =
            required(&mut errors, "what_happened", &self.what_happened, "Describe what happened.");
        let severity = Severity::parse(&self.severity);
        if severity.is_none() {
            errors.add("severity", "Choose how serious it was.");
        }
        let actions_taken = self.actions_taken.trim().chars().take(5000).collect();
        match severity {
            Some(severity) if errors.is_empty() => Ok(Incident { what_happened, severity, actions_taken }),
            _ => Err(errors),
        }
    }
}

/// A safeguarding concern about one of the session's children.
#[derive(Debug, Default, Deserialize)]
pub struct ConcernForm {
    #[serde(default)]
    pub child_id: String,
    #[serde(default)]
    pub concern: String,
}

impl ConcernForm {
    /// `booked`: the children on the register; a concern is about one of them.
    pub fn parse(&self, booked: &[ChildId]) -> Result<(ChildId, String), FormErrors> {
        let mut errors = FormErrors::default();
        let child = self.child_id.trim().parse::<ChildId>().ok().filter(|id| booked.contains(id));
        if child.is_none() {
            errors.add("child_id", "Choose the child this is about.");
        }
        let concern = required(
            &mut errors,
            "concern",
            &self.concern,
            "Describe the concern: what you saw or heard, and when.",
        );
        match child {
            Some(child) if errors.is_empty() => Ok((child, concern)),
            _ => Err(errors),
        }
    }
}

/// The register form as typed (`web::form::Form`): for each child booked,
/// `status_<child>`, `collector_<child>` (a collector's id, or `other` with
/// `other_<child>` naming them) and `note_<child>`. The names carry the child's id.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct RegisterForm(std::collections::HashMap<String, String>);

impl RegisterForm {
    /// The value of `name` for `child`, trimmed; blank counts as not given.
    pub fn get(&self, name: &str, child: ChildId) -> Option<&str> {
        self.0.get(&format!("{name}_{child}")).map(|v| v.trim()).filter(|v| !v.is_empty())
    }
}

/// The marks a register form gives, for the children booked.
pub fn marks(
    form: &RegisterForm,
    booked: &[Booked],
    collectors: &[Collector],
) -> Result<Vec<Mark>, FormErrors> {
    let mut errors = FormErrors::default();
    let mut marks = Vec::new();
    for child in booked {
        let field = |name: &str| form.get(name, child.child_id);
        let Some(status) = field("status").and_then(AttendanceStatus::parse) else { continue };
        let note = field("note").unwrap_or_default().chars().take(500).collect();
        let collected_by = match field("collector") {
            None => None,
            Some("other") => match field("other") {
                Some(name) => Some((name.chars().take(100).collect::<String>(), false)),
                None => {
                    errors.add(
                        "collector",
                        format!("Write the name of the person collecting {}.", child.first_name),
                    );
                    continue;
                }
            },
            Some(id) => collectors
                .iter()
                .find(|c| c.child_id == child.child_id && c.id.to_string() == id)
                .map(|c| (c.name.clone(), true)),
        };
        marks.push(Mark { child_id: child.child_id, status, collected_by, note });
    }
    if errors.is_empty() { Ok(marks) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_parse_from_their_keys_and_late_counts_as_present() {
        assert_eq!(AttendanceStatus::parse("late"), Some(AttendanceStatus::Late));
        assert_eq!(AttendanceStatus::parse("here"), None);
        assert!(AttendanceStatus::Late.is_present());
        assert!(!AttendanceStatus::Excused.is_present());
    }

    #[test]
    fn an_incident_needs_what_happened_and_a_known_severity() {
        let form =
            IncidentForm { what_happened: " Fell ".into(), severity: "medium".into(), ..Default::default() };
        assert_eq!(
            form.parse().ok().map(|i| (i.what_happened, i.severity)),
            Some(("Fell".into(), Severity::Medium))
        );
        let bad =
            IncidentForm { severity: "dire".into(), ..Default::default() }.parse().err().unwrap_or_default();
        assert!(bad.get("what_happened").is_some() && bad.get("severity").is_some());
    }

    #[test]
    fn a_concern_is_about_a_child_on_the_register() {
        let form = ConcernForm { child_id: "7".into(), concern: "Bruise".into() };
        assert_eq!(form.parse(&[ChildId(7)]).ok(), Some((ChildId(7), "Bruise".into())));
        let errors = form.parse(&[ChildId(8)]).err().unwrap_or_default();
        assert!(errors.get("child_id").is_some());
    }
}
