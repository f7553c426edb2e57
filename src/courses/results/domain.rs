//! A learner's result on a course, and the results form parsed.

use std::collections::HashMap;

use crate::{ids::ChildId, web::FormErrors};

/// What the trainer records for a learner (`course_results.result`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type, serde::Serialize)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum CourseResult {
    /// Came, but not assessed (or the course has no assessment).
    Attended,
    Passed,
    Failed,
    /// Not yet competent: to be reassessed.
    Referred,
}

impl CourseResult {
    pub const ALL: [CourseResult; 4] =
        [CourseResult::Attended, CourseResult::Passed, CourseResult::Failed, CourseResult::Referred];

    pub fn key(self) -> &'static str {
        match self {
            CourseResult::Attended => "attended",
            CourseResult::Passed => "passed",
            CourseResult::Failed => "failed",
            CourseResult::Referred => "referred",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CourseResult::Attended => "Attended",
            CourseResult::Passed => "Passed",
            CourseResult::Failed => "Failed",
            CourseResult::Referred => "Referred",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.key() == input.trim())
    }
}

/// One learner's result as the form gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub child_id: ChildId,
    pub result: CourseResult,
    pub note: String,
}

const MAX_NOTE_CHARS: usize = 1000;

/// The results typed for `learners` (`result_{id}`, `note_{id}`); a learner left without
/// a result is skipped, a note without a result is refused.
pub fn entries(form: &HashMap<String, String>, learners: &[ChildId]) -> Result<Vec<Entry>, FormErrors> {
    let mut errors = FormErrors::default();
    let mut entries = Vec::new();
    for id in learners {
        let result = form.get(&format!("result_{id}")).map_or("", String::as_str);
        let note = form.get(&format!("note_{id}")).map_or("", |n| n.trim()).to_owned();
        if note.chars().count() > MAX_NOTE_CHARS {
            errors.add("results", "Keep each note to 1,000 characters.");
            continue;
        }
        match (CourseResult::parse(result), result.trim().is_empty()) {
            (Some(result), _) => entries.push(Entry { child_id: *id, result, note }),
            (None, true) if note.is_empty() => {}
            (None, true) => errors.add("results", "Choose a result for each learner with a note."),
            (None, false) => errors.add("results", "Choose attended, passed, failed or referred."),
        }
    }
    if errors.is_empty() { Ok(entries) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &[u8]) -> HashMap<String, String> {
        serde_html_form::from_bytes(body).unwrap()
    }

    #[test]
    fn results_are_read_per_learner_and_blank_ones_skipped() {
        let form =
            parse(b"result_1=passed&note_1=Good+CPR&result_2=&note_2=&result_3=referred&result_9=passed");
        let got = entries(&form, &[ChildId(1), ChildId(2), ChildId(3)]).unwrap();
        assert_eq!(
            got,
            vec![
                Entry { child_id: ChildId(1), result: CourseResult::Passed, note: "Good CPR".into() },
                Entry { child_id: ChildId(3), result: CourseResult::Referred, note: String::new() },
            ],
            "learner 9 is not on this course"
        );
    }

    #[test]
    fn an_unknown_result_or_a_note_without_one_is_refused() {
        let form = parse(b"result_1=excellent");
        assert!(entries(&form, &[ChildId(1)]).is_err());
        let form = parse(b"result_1=&note_1=came+late");
        assert!(entries(&form, &[ChildId(1)]).is_err());
    }
}
