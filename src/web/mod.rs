//! What every page shares: the layout's context, flash messages, form errors,
//! formatting, and the headers every response carries.

pub mod assets;
pub mod choice;
pub mod csv;
pub mod date;
pub mod flash;
pub mod fmt;
pub mod form;
pub mod headers;
pub mod next;
pub mod nul;
pub mod outage;
pub mod page;
pub mod path;

use axum::{extract::FromRequestParts, http::request::Parts};
use time_tz::TimeZone;
use tower_sessions::Session;

use crate::{
    AppState,
    auth::{self, AdminRole, Role, User},
    error::{AppError, AppResult},
};
pub use choice::Choice;
pub use flash::Flash;
pub use form::FormErrors;
pub use path::Path;

/// The layout's data: who is signed in, their navigation, the CSRF token for forms
/// (the sign-out button is a form on every page), and a flash message.
pub struct PageContext {
    pub user: Option<User>,
    pub csrf: String,
    pub flash: Option<Flash>,
    pub nav: Vec<NavLink>,
    pub demo: bool,
    /// The provider's time zone, which every time on the page is in.
    pub timezone: &'static str,
}

pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

impl PageContext {
    /// Admins and trainers, who see children's details: offered two-factor sign-in.
    pub fn is_staff(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.role != Role::Parent)
    }

    pub fn role_label(&self) -> &'static str {
        match &self.user {
            Some(User { role: Role::Admin, admin_role: Some(r), .. }) => r.label(),
            Some(User { role: Role::Trainer, .. }) => "Trainer",
            Some(User { role: Role::Parent, .. }) => "Parent",
            _ => "",
        }
    }
}

impl FromRequestParts<AppState> for PageContext {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        let user = auth::current_user(parts, state).await?;
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| anyhow::anyhow!("the session layer is missing"))?;
        let anonymous = parts.extensions.get::<auth::csrf::AnonymousToken>();
        let csrf = auth::csrf::token_for_page(&session, anonymous).await?;
        let flash = flash::take(&session).await?.or_else(|| ignored_query_date(parts.uri.query()));
        let path = parts.uri.path();
        let nav = user.as_ref().map(|u| nav_for(u, path)).unwrap_or_default();
        Ok(Self { user, csrf, flash, nav, demo: state.config.demo, timezone: state.config.timezone.name() })
    }
}

/// The query parameters that hold dates, on every page that filters by date.
const DATE_PARAMETERS: [&str; 4] = ["from", "to", "date", "week"];

/// Pages ignore a date in their address they cannot use (see `date::parse_query`);
/// the layout says so here, once, rather than each page finding words for it.
fn ignored_query_date(query: Option<&str>) -> Option<Flash> {
    let fields = form::Fields::parse(query?.as_bytes());
    DATE_PARAMETERS
        .iter()
        .find_map(|name| date::parse_query(fields.get(name))?.err())
        .map(|message| Flash { kind: flash::FlashKind::Info, message })
}

fn nav_for(user: &User, path: &str) -> Vec<NavLink> {
    let links: &[(&'static str, &'static str)] = match (user.role, user.admin_role) {
        (Role::Parent, _) => &[
            ("/parent", "Home"),
            ("/parent/children", "Children"),
            ("/parent/people", "People"),
            ("/parent/sessions", "Book"),
            ("/parent/bookings", "Bookings"),
            ("/parent/payments", "Payments"),
            ("/parent/profile", "Profile"),
            ("/parent/account", "Account"),
        ],
        (Role::Trainer, _) => &[
            ("/trainer", "Today"),
            ("/trainer/shifts", "Shifts"),
            ("/trainer/open-shifts", "Open shifts"),
            ("/trainer/availability", "Availability"),
            ("/trainer/timesheets", "Timesheets"),
        ],
        (Role::Admin, Some(AdminRole::Owner)) => &[
            ("/admin", "Dashboard"),
            ("/admin/bookings", "Bookings"),
            ("/admin/sessions", "Sessions"),
            ("/admin/trainers", "Trainers"),
            ("/admin/clients", "Clients"),
            ("/admin/activities", "Catalogue"),
            ("/admin/certificates", "Certificates"),
            ("/admin/inquiries", "Inquiries"),
            ("/admin/audit", "Audit"),
            ("/admin/outbox", "Outbox"),
            ("/admin/timesheets", "Timesheets"),
            ("/admin/payments", "Payments"),
            ("/admin/erasure-requests", "Erasure requests"),
        ],
        (Role::Admin, Some(AdminRole::Finance)) => &[
            ("/admin", "Dashboard"),
            ("/admin/bookings", "Bookings"),
            ("/admin/timesheets", "Timesheets"),
            ("/admin/payments", "Payments"),
        ],
        (Role::Admin, Some(AdminRole::Coordinator)) => &[
            ("/admin", "Dashboard"),
            ("/admin/bookings", "Bookings"),
            ("/admin/sessions", "Sessions"),
            ("/admin/trainers", "Trainers"),
            ("/admin/clients", "Clients"),
            ("/admin/activities", "Catalogue"),
            ("/admin/certificates", "Certificates"),
            ("/admin/inquiries", "Inquiries"),
            ("/admin/audit", "Audit"),
        ],
        (Role::Admin, Some(AdminRole::SafeguardingLead)) => {
            &[("/admin", "Dashboard"), ("/admin/safeguarding", "Safeguarding"), ("/admin/outbox", "Outbox")]
        }
        (Role::Admin, None) => &[("/admin", "Dashboard")],
    };
    links
        .iter()
        .map(|&(href, label)| NavLink {
            href,
            label,
            // A section stays lit on its sub-pages; a portal's home only on itself.
            current: path == href || (href.matches('/').count() > 1 && path.starts_with(&format!("{href}/"))),
        })
        .collect()
}
