//! The integration suite: one binary, every test against the real server and real
//! PostgreSQL (a throwaway cluster, or databases created on `DATABASE_URL`).

mod common;

mod assets;
mod auth;
mod binary;
mod booking_discounts;
mod bookings;
mod calendar;
mod calendar_admin;
mod cancellation_refunds;
mod card_payments;
mod catalogue_admin;
mod children;
mod clients_admin;
mod dashboards;
mod data_rights;
mod discount_guessing;
mod discounts;
mod draft_rules;
mod health;
mod moved_places;
mod odd_input;
mod outbox;
mod package_refunds;
mod packages_admin;
mod packages_sold;
mod paging;
mod payment_holds;
mod payments;
mod permissions;
mod refunds;
mod reset;
mod security;
mod seed_large;
mod series_cancel;
mod shift_emails;
mod signup;
mod staffing_admin;
mod term_refunds;
mod timesheets;
mod trainer_portal;
mod trainers_admin;
mod trust;
mod two_factor;
mod waitlist;
