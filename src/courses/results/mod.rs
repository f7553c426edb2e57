//! Courses for adults on the day: the trainer records each learner's result on the
//! session's results form (attended, passed, failed, referred, with a note); a pass on a
//! course that gives a certificate issues it in the same transaction.

pub mod domain;
pub mod pages;
pub mod record;
