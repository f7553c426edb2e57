//! Portico: one web server for a provider of taught sessions.
//!
//! `app` builds the router; each area of the domain has its own module with a
//! `router()`, its pages, its SQL and its domain types.

pub mod app;
pub mod attendance;
pub mod audit;
pub mod audit_log;
pub mod auth;
pub mod availability;
pub mod bookings;
pub mod calendar;
pub mod catalogue;
pub mod certificates;
pub mod children;
pub mod cli;
pub mod clients;
pub mod clock;
pub mod config;
pub mod courses;
pub mod dashboards;
pub mod data_rights;
pub mod db;
pub mod demo;
pub mod error;
pub mod families;
pub mod health;
pub mod housekeeping;
pub mod ids;
pub mod inquiries;
pub mod jobs;
pub mod learners;
pub mod money;
pub mod notifications;
pub mod payments;
pub mod safeguarding;
pub mod sessions;
pub mod shifts;
pub mod state;
pub mod states;
pub mod telemetry;
pub mod timesheets;
pub mod trainers;
pub mod waitlist;
pub mod web;
pub mod workers;

pub use app::Application;
pub use config::Config;
pub use state::{AppState, Workers};
