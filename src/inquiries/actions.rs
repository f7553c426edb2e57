//! The use cases of inquiries and holds, each inside the caller's transaction with its
//! audit row: the public asks; the office replies (by email, through the outbox),
//! closes, holds places, releases or books a hold; the sweep marks expired holds.

use sqlx::PgConnection;

use super::{
    domain::{HoldStatus, InquiryStatus, NewHold, NewInquiry},
    store::{self, Hold},
};
use crate::{
    AppState, audit,
    auth::User,
    bookings::{
        actions::{BookingRefused, BookingRequest},
        domain::PlaceRefused,
        store::NewItem,
    },
    db::OnConstraint,
    error::AppResult,
    ids::{BookingId, ChildId, HoldId, InquiryId},
    notifications::Email,
};

/// Records a question from the public (rate-limited by the page). Audited as
/// Portico's: nobody signed in asked it.
pub async fn ask(conn: &mut PgConnection, new: &NewInquiry) -> AppResult<InquiryId> {
    let id = store::insert(conn, new).await?;
    audit::record(conn)
        .action("inquiry.received")
        .entity("inquiry", id.0)
        .after(serde_json::json!({ "course_id": new.course.map(|c| c.0), "group_size": new.group_size }))
        .await?;
    Ok(id)
}

#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    Missing,
    /// The inquiry is closed (someone closed it meanwhile).
    Closed,
}

/// Emails the asker the office's reply (queued in the outbox in this transaction),
/// keeps it on the inquiry, and marks an open inquiry answered.
pub async fn reply(
    state: &AppState,
    conn: &mut PgConnection,
    by: &User,
    id: InquiryId,
    body: &str,
) -> AppResult<Result<(), Refused>> {
    let Some(status) = store::lock_status(conn, id).await? else { return Ok(Err(Refused::Missing)) };
    if !status.can_reply() {
        return Ok(Err(Refused::Closed));
    }
    let Some(inquiry) = store::find(conn, id).await? else { return Ok(Err(Refused::Missing)) };
    let about = inquiry.course.as_deref().unwrap_or("our courses");
    let email = Email {
        to: inquiry.email.clone(),
        subject: format!("Your question about {about}"),
        body: format!(
            "Hello {},\n\n{body}\n\nYou asked:\n> {}\n\nSee our courses: {}/courses\n",
            inquiry.name,
            inquiry.message.replace('\n', "\n> "),
            state.config.base_url.trim_end_matches('/'),
        ),
    };
    let outbox_id = state.outbox.queue(conn, &email).await?;
    store::insert_reply(conn, id, by.id.0, body, outbox_id).await?;
    store::set_status(conn, id, InquiryStatus::Answered, by.id.0).await?;
    audit::record(conn)
        .by(by.id)
        .action("inquiry.replied")
        .entity("inquiry", id.0)
        .before(serde_json::json!({ "status": status.as_str() }))
        .after(serde_json::json!({ "status": "answered", "outbox_email_id": outbox_id }))
        .await?;
    Ok(Ok(()))
}

/// Closes the inquiry. Its holds stay until released or lapsed: closing says the
/// conversation is over, not that the places are no longer wanted.
pub async fn close(conn: &mut PgConnection, by: &User, id: InquiryId) -> AppResult<Result<(), Refused>> {
    let Some(status) = store::lock_status(conn, id).await? else { return Ok(Err(Refused::Missing)) };
    if !status.can_close() {
        return Ok(Err(Refused::Closed));
    }
    store::set_status(conn, id, InquiryStatus::Closed, by.id.0).await?;
    audit::record(conn)
        .by(by.id)
        .action("inquiry.closed")
        .entity("inquiry", id.0)
        .before(serde_json::json!({ "status": status.as_str() }))
        .after(serde_json::json!({ "status": "closed" }))
        .await?;
    Ok(Ok(()))
}

#[derive(Debug, PartialEq, Eq)]
pub enum HoldRefused {
    /// No such session, or it has started or was cancelled.
    NotHoldable,
    /// Not that many places left (`provisional_holds_within_capacity`).
    NotEnoughPlaces,
}

/// Holds places on a session, from an inquiry or the session's own page. The database
/// refuses a hold that does not fit beside the bookings and other holds.
pub async fn place_hold(
    conn: &mut PgConnection,
    by: &User,
    inquiry: Option<InquiryId>,
    hold: &NewHold,
) -> AppResult<Result<HoldId, HoldRefused>> {
    if store::session_holdable(conn, hold.session).await? != Some(true) {
        return Ok(Err(HoldRefused::NotHoldable));
    }
    let inserted =
        store::insert_hold(conn, hold.session, inquiry, hold.places, hold.lasts, &hold.held_for, by.id.0)
            .await
            .on_constraint(|name| {
                (name == "provisional_holds_within_capacity").then_some(HoldRefused::NotEnoughPlaces)
            })?;
    let id = match inserted {
        Ok(id) => id,
        Err(refused) => return Ok(Err(refused)),
    };
    audit::record(conn)
        .by(by.id)
        .action("hold.placed")
        .entity("provisional_hold", id.0)
        .after(serde_json::json!({
            "session_id": hold.session.0,
            "inquiry_id": inquiry.map(|i| i.0),
            "places": hold.places,
            "days": hold.lasts.whole_days(),
            "held_for": hold.held_for,
        }))
        .await?;
    Ok(Ok(id))
}

/// A hold still counting, locked; `Err(None)` when there is none, `Err(Some(hold))`
/// when it has ended or expired.
async fn live_hold(conn: &mut PgConnection, id: HoldId) -> AppResult<Result<Hold, Option<Hold>>> {
    let Some(hold) = store::lock_hold(conn, id).await? else { return Ok(Err(None)) };
    if hold.counts(time::OffsetDateTime::now_utc()) { Ok(Ok(hold)) } else { Ok(Err(Some(hold))) }
}

/// Gives a hold's places back. `None`: there was no live hold to release.
pub async fn release(conn: &mut PgConnection, by: &User, id: HoldId) -> AppResult<Option<Hold>> {
    let Ok(hold) = live_hold(conn, id).await? else { return Ok(None) };
    store::end_hold(conn, id, HoldStatus::Released, Some(by.id.0), None).await?;
    audit::record(conn)
        .by(by.id)
        .action("hold.released")
        .entity("provisional_hold", id.0)
        .before(serde_json::json!({ "status": "held", "places": hold.places }))
        .after(serde_json::json!({ "status": "released" }))
        .await?;
    Ok(Some(hold))
}

#[derive(Debug, PartialEq, Eq)]
pub enum ConvertRefused {
    /// The hold has ended or expired.
    NotHeld,
    /// More people named than places held.
    TooMany(i32),
    Place(PlaceRefused),
}

/// Books the named people into a hold: the hold ends (its places stop counting) and
/// the same transaction books them through `bookings::book`, by the office, so the
/// places are taken under the same capacity rule. Places held but not named are freed.
pub async fn convert(
    state: &AppState,
    conn: &mut PgConnection,
    by: &User,
    id: HoldId,
    parent_id: i64,
    children: &[ChildId],
) -> AppResult<Result<(Hold, BookingId), ConvertRefused>> {
    let Ok(hold) = live_hold(conn, id).await? else { return Ok(Err(ConvertRefused::NotHeld)) };
    if children.len() > usize::try_from(hold.places).unwrap_or(0) {
        return Ok(Err(ConvertRefused::TooMany(hold.places)));
    }
    store::end_hold(conn, id, HoldStatus::Converted, Some(by.id.0), None).await?;
    let sessions = crate::bookings::store::sessions_by_id(conn, &[hold.session_id]).await?;
    let Some(session) = sessions.first() else { return Ok(Err(ConvertRefused::NotHeld)) };
    let items = children
        .iter()
        .map(|&child_id| NewItem { session_id: session.id, child_id, price_pence: session.price_pence })
        .collect();
    let request = BookingRequest {
        parent_id,
        sessions: &sessions,
        items,
        note: format!("Booked from the places held for {}", hold.held_for),
        draft: false,
        use_credits: false,
        discount: None,
    };
    let booked = match crate::bookings::book(state, conn, by, request).await? {
        Ok(booked) => booked,
        Err(BookingRefused::Place(refused)) => return Ok(Err(ConvertRefused::Place(refused))),
        Err(BookingRefused::Discount(_)) => return Ok(Err(ConvertRefused::NotHeld)),
    };
    store::end_hold_booking(conn, id, booked.id).await?;
    audit::record(conn)
        .by(by.id)
        .action("hold.converted")
        .entity("provisional_hold", id.0)
        .before(serde_json::json!({ "status": "held", "places": hold.places }))
        .after(
            serde_json::json!({ "status": "converted", "booking_id": booked.id.0, "booked": children.len() }),
        )
        .await?;
    Ok(Ok((hold, booked.id)))
}

/// The every-minute sweep: marks expired holds `lapsed`, audited as Portico's. They
/// stopped counting against capacity the moment they expired; this only records it.
pub async fn lapse_expired(state: &AppState) -> AppResult<usize> {
    let mut tx = state.pool.begin().await?;
    let lapsed = store::lapse_expired(&mut tx).await?;
    for (id, session, places) in &lapsed {
        audit::record(&mut tx)
            .action("hold.lapsed")
            .entity("provisional_hold", id.0)
            .after(serde_json::json!({ "session_id": session.0, "places": places }))
            .await?;
    }
    tx.commit().await?;
    Ok(lapsed.len())
}
