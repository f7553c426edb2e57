//! Bookings: parents find sessions and book their children; admins approve, reject,
//! ask for changes and cancel. Every change is one transaction with its history row
//! and its email.

mod admin;
pub mod domain;
mod emails;
mod office;
mod parent;
pub mod reminders;
pub mod rules;
pub mod store;

use axum::{
    Router,
    routing::{get, post},
};
use sqlx::PgConnection;

use crate::{AppState, audit, error::AppResult};
use domain::BookingStatus;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/parent/sessions", get(parent::browse))
        .route("/parent/sessions/{id}", get(parent::session))
        .route("/parent/series/{id}", get(parent::series))
        .route("/parent/bookings", get(parent::index).post(parent::create))
        .route("/parent/bookings/new", get(parent::review))
        .route("/parent/bookings/{id}", get(parent::show))
        .route("/parent/bookings/{id}/cancel", post(parent::cancel))
        .route("/parent/bookings/{id}/resubmit", post(parent::resubmit))
        .route("/parent/bookings/{id}/submit", post(parent::submit))
        .route("/admin/bookings", get(admin::index))
        .route("/admin/bookings.csv", get(admin::export))
        .route("/admin/bookings/new", get(office::new).post(office::create))
        .route("/admin/bookings/approve", post(admin::approve_many))
        .route("/admin/bookings/{id}", get(admin::show))
        .route("/admin/bookings/{id}/approve", post(admin::approve))
        .route("/admin/bookings/{id}/reject", post(admin::reject))
        .route("/admin/bookings/{id}/request-changes", post(admin::request_changes))
        .route("/admin/bookings/{id}/cancel", post(admin::cancel))
        .route("/admin/bookings/{id}/move", post(office::move_place))
}

/// What happened to a requested status change.
pub enum Transition {
    Done,
    /// The booking is no longer in a state that allows it (someone else acted first).
    NotAllowed(BookingStatus),
    Missing,
}

/// Moves booking `id` to `to` within `conn`'s transaction: locks it, checks the state
/// machine, releases places if needed, records history, audit (for staff and for
/// Portico itself, `actor` None) and email.
pub async fn transition(
    state: &AppState,
    conn: &mut PgConnection,
    id: i64,
    to: BookingStatus,
    actor: Option<&crate::auth::User>,
    reason: &str,
) -> AppResult<Transition> {
    let Some(from) = store::lock_status(conn, id).await? else { return Ok(Transition::Missing) };
    if !from.can_become(to) {
        return Ok(Transition::NotAllowed(from));
    }
    let mut released = store::change_status(conn, id, from, to, actor.map(|a| a.id), reason).await?;
    released.sort_unstable();
    released.dedup();
    crate::waitlist::offer_free_places(state, conn, &released).await?;
    if actor.is_none_or(|a| a.role == crate::auth::Role::Admin) {
        audit::record(conn)
            .actor(actor.map(|a| a.id))
            .action(format!("booking.{to}"))
            .entity("booking", id)
            .before(serde_json::json!({ "status": from.as_str() }))
            .after(serde_json::json!({ "status": to.as_str(), "reason": reason }))
            .await?;
    }
    if let Some(booking) = store::find(conn, id).await?
        && let Some(email) = emails::for_status(&booking, to, reason, &state.config.base_url)
    {
        state.outbox.queue(conn, &email).await?;
    }
    Ok(Transition::Done)
}

/// Emails the parent that their new booking was received (or is confirmed).
pub async fn notify_created(
    state: &AppState,
    conn: &mut PgConnection,
    id: i64,
    status: BookingStatus,
) -> AppResult<()> {
    if let Some(booking) = store::find(conn, id).await?
        && let Some(email) = emails::for_status(&booking, status, "", &state.config.base_url)
    {
        state.outbox.queue(conn, &email).await?;
    }
    Ok(())
}

// Path ids are parsed in one place for every area; bookings re-exports it for its pages.
pub(crate) use crate::web::parse_id;
