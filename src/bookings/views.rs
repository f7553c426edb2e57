//! Pieces the parent's and the office's booking pages share.

use super::store;
use crate::{money::Money, web::fmt};

/// One option of a select (or one filter choice).
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct ParticipantLine {
    pub when: String,
    pub until: String,
    pub child: String,
    pub activity: String,
    pub venue: String,
    pub price: String,
    pub holds_place: bool,
}

pub struct HistoryLine {
    pub when: String,
    pub to: String,
    pub by: String,
    pub reason: String,
}

pub fn history_lines(history: Vec<store::Change>, tz: &time_tz::Tz) -> Vec<HistoryLine> {
    history
        .into_iter()
        .map(|h| HistoryLine {
            when: fmt::day_time(h.created_at, tz),
            to: h.to_status.label().to_owned(),
            by: h.by_name.unwrap_or_else(|| "Portico".into()),
            reason: h.reason,
        })
        .collect()
}

pub fn participant_lines(participants: &[store::Participant], tz: &time_tz::Tz) -> Vec<ParticipantLine> {
    participants
        .iter()
        .map(|p| ParticipantLine {
            when: fmt::day_time(p.starts_at, tz),
            until: fmt::time_of_day(p.ends_at, tz),
            child: p.child_name.clone(),
            activity: p.activity.clone(),
            venue: p.venue.clone(),
            price: Money::from_pence(p.price_pence).to_string(),
            holds_place: p.holds_place,
        })
        .collect()
}
