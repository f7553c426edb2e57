//! One option of a `<select>` (or a radio group): the value sent, the words shown,
//! and whether it is the one chosen.

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    pub fn new(value: impl Into<String>, label: impl Into<String>, selected: bool) -> Self {
        Choice { value: value.into(), label: label.into(), selected }
    }
}
