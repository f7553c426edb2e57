//! Two-factor sign-in (TOTP, RFC 6238): setting it up and turning it off at
//! `/account/two-factor`, the second sign-in step at `/login/two-factor`, one-time
//! recovery codes, and the owner's "required for every admin" setting.
//!
//! `actions` holds the use cases and their rules, `store` their SQL, `key` the key
//! that encrypts secrets at rest; `pages` only parses, calls and renders.

mod actions;
mod key;
mod pages;
mod store;

pub use key::TwoFactorKey;
pub use pages::{begin, router};
pub use store::{is_enabled, must_set_up};
