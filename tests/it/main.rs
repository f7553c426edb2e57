//! The integration suite: one binary, every test against the real server and real
//! PostgreSQL (a throwaway cluster, or databases created on `DATABASE_URL`).

mod common;

mod auth;
mod binary;
mod bookings;
mod calendar;
mod calendar_admin;
mod catalogue_admin;
mod children;
mod dashboards;
mod health;
mod outbox;
mod reset;
mod security;
mod signup;
mod staffing_admin;
mod timesheets;
mod trainer_portal;
mod trainers_admin;
mod waitlist;
