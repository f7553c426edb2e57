//! The waitlist's SQL. A freed place is offered to the first waiting child with the
//! place held (`sessions.places_offered`), so nobody can book it under them; an
//! unclaimed offer expires and passes on.

use sqlx::PgConnection;
use time::OffsetDateTime;

use crate::{
    ids::{BookingId, ChildId, SessionId, WaitlistEntryId},
    web::page::{PageRequest, paged},
};

/// Where a child stands on a session's waitlist (`waitlist_entries.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum WaitlistStatus {
    Waiting,
    /// A place is held for the child until the offer expires.
    Offered,
    Claimed,
    Expired,
    Withdrawn,
}

impl WaitlistStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Waiting => "Waiting",
            Self::Offered => "Place offered",
            Self::Claimed => "Claimed",
            Self::Expired => "Offer expired",
            Self::Withdrawn => "Withdrawn",
        }
    }

    /// Whether the entry holds a place for its child (given back when it ends).
    pub fn holds_place(self) -> bool {
        match self {
            Self::Offered => true,
            Self::Waiting | Self::Claimed | Self::Expired | Self::Withdrawn => false,
        }
    }
}

#[derive(Debug)]
pub struct Offer {
    pub entry_id: i64,
    pub session_id: i64,
    pub child_name: String,
    pub parent_email: String,
    pub parent_name: String,
    pub activity: String,
    pub starts_at: OffsetDateTime,
    pub offer_expires_at: OffsetDateTime,
}

/// Adds children to the session's waitlist; a child already on it stays where it is.
pub async fn join(
    conn: &mut PgConnection,
    session_id: SessionId,
    parent_id: i64,
    child_ids: &[ChildId],
) -> sqlx::Result<u64> {
    let child_ids: Vec<i64> = child_ids.iter().map(|c| c.0).collect();
    let result = sqlx::query!(
        "insert into waitlist_entries (session_id, child_id, parent_id)
         select $1, c.id, $2 from children c
         where c.id = any($3) and c.parent_id = $2 and c.archived_at is null
         on conflict do nothing",
        session_id.0,
        parent_id,
        &child_ids,
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// Offers each of `session_ids`' free places to the first children waiting, holding
/// the places. Returns the offers made, for the emails.
pub async fn offer_free_places(conn: &mut PgConnection, session_ids: &[i64]) -> sqlx::Result<Vec<Offer>> {
    let mut offers = Vec::new();
    for &session_id in session_ids {
        // Lock the session so two releases do not offer the same place twice. `no key
        // update`, the lock the places trigger takes anyway: a plain `for update` would
        // also wait for bookings holding the foreign-key lock on the session while they
        // wait for this transaction's release — a deadlock.
        let free: Option<i32> = sqlx::query_scalar!(
            r#"select capacity - places_taken - places_offered - session_places_held(id) as "free!" from sessions
             where id = $1 and status = 'scheduled' and starts_at > now() for no key update"#,
            session_id,
        )
        .fetch_optional(&mut *conn)
        .await?;
        let Some(free) = free.filter(|f| *f > 0) else { continue };
        let offered: Vec<i64> = sqlx::query_scalar!(
            "update waitlist_entries w
             set status = 'offered', offered_at = now(),
                 offer_expires_at = now() + make_interval(hours => a.waitlist_offer_hours)
             from sessions s join activities a on a.id = s.activity_id
             where s.id = w.session_id and w.id in (
                 select id from waitlist_entries where session_id = $1 and status = 'waiting'
                 order by created_at, id limit $2 for update skip locked)
             returning w.id",
            session_id,
            i64::from(free),
        )
        .fetch_all(&mut *conn)
        .await?;
        if offered.is_empty() {
            continue;
        }
        sqlx::query!(
            "update sessions set places_offered = places_offered + $2 where id = $1",
            session_id,
            offered.len() as i32,
        )
        .execute(&mut *conn)
        .await?;
        offers.extend(offers_by_id(conn, &offered).await?);
    }
    Ok(offers)
}

async fn offers_by_id(conn: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<Offer>> {
    // Only offers are read, and an offer always has its expiry.
    sqlx::query_as!(
        Offer,
        r#"select w.id as entry_id, w.session_id, c.first_name as child_name, u.email as parent_email,
                u.name as parent_name, a.name as activity, s.starts_at, w.offer_expires_at as "offer_expires_at!"
         from waitlist_entries w
         join children c on c.id = w.child_id
         join users u on u.id = w.parent_id
         join sessions s on s.id = w.session_id
         join activities a on a.id = s.activity_id
         where w.id = any($1) order by w.id"#,
        ids,
    )
    .fetch_all(conn)
    .await
}

/// Ends offers past their time, releasing their held places. Returns the sessions
/// whose places are free again. SKIP LOCKED lets several app processes sweep at once.
pub async fn expire_offers(conn: &mut PgConnection) -> sqlx::Result<Vec<i64>> {
    let expired: Vec<i64> = sqlx::query_scalar!(
        "update waitlist_entries set status = 'expired'
         where id in (select id from waitlist_entries
                      where status = 'offered' and offer_expires_at <= now()
                      for update skip locked)
         returning session_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    release_offered(conn, &expired).await?;
    let mut sessions = expired;
    sessions.sort_unstable();
    sessions.dedup();
    Ok(sessions)
}

/// Gives back one held place per entry in `session_ids` (one id per place).
async fn release_offered(conn: &mut PgConnection, session_ids: &[i64]) -> sqlx::Result<()> {
    for session_id in session_ids {
        sqlx::query!("update sessions set places_offered = places_offered - 1 where id = $1", session_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Whether the session exists (a waitlist is joined from its page).
pub async fn session_exists(conn: &mut PgConnection, session_id: SessionId) -> sqlx::Result<bool> {
    sqlx::query_scalar!(r#"select exists (select 1 from sessions where id = $1) as "exists!""#, session_id.0)
        .fetch_one(conn)
        .await
}

#[derive(Debug)]
pub struct ClaimableOffer {
    pub session_id: SessionId,
    pub child_id: ChildId,
    pub price_pence: i32,
}

/// Locks the parent's live offer and gives its held place back to the pool, so the
/// booking made next in the same transaction can take it.
pub async fn take_offer(
    conn: &mut PgConnection,
    entry_id: WaitlistEntryId,
    parent_id: i64,
) -> sqlx::Result<Option<ClaimableOffer>> {
    let offer = sqlx::query_as!(
        ClaimableOffer,
        r#"select w.session_id as "session_id: SessionId", w.child_id as "child_id: ChildId", s.price_pence
         from waitlist_entries w join sessions s on s.id = w.session_id
         where w.id = $1 and w.parent_id = $2 and w.status = 'offered' and w.offer_expires_at > now()
         for update of w"#,
        entry_id.0,
        parent_id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(offer) = &offer {
        release_offered(conn, &[offer.session_id.0]).await?;
    }
    Ok(offer)
}

pub async fn mark_claimed(
    conn: &mut PgConnection,
    entry_id: WaitlistEntryId,
    booking_id: BookingId,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update waitlist_entries set status = 'claimed', booking_id = $2 where id = $1",
        entry_id.0,
        booking_id.0,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes a child off the list; an open offer's held place is released.
pub async fn withdraw(
    conn: &mut PgConnection,
    entry_id: WaitlistEntryId,
    parent_id: i64,
) -> sqlx::Result<Option<(i64, bool)>> {
    let row = sqlx::query!(
        r#"select session_id, status as "status: WaitlistStatus" from waitlist_entries
         where id = $1 and parent_id = $2 and status in ('waiting', 'offered') for update"#,
        entry_id.0,
        parent_id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let (session_id, status) = (row.session_id, row.status);
    sqlx::query!("update waitlist_entries set status = 'withdrawn' where id = $1", entry_id.0)
        .execute(&mut *conn)
        .await?;
    let was_offered = status.holds_place();
    if was_offered {
        release_offered(conn, &[session_id]).await?;
    }
    Ok(Some((session_id, was_offered)))
}

#[derive(Debug)]
pub struct Entry {
    pub id: WaitlistEntryId,
    pub status: WaitlistStatus,
    pub child_name: String,
    pub activity: String,
    pub starts_at: OffsetDateTime,
    pub offer_expires_at: Option<OffsetDateTime>,
    pub position: i64,
}

/// The parent's live offers, soonest session first: all of them, since an offer lasts
/// only hours and each holds a place.
pub async fn offers_for_parent(conn: &mut PgConnection, parent_id: i64) -> sqlx::Result<Vec<Entry>> {
    sqlx::query_as!(
        Entry,
        r#"select w.id as "id: WaitlistEntryId", w.status as "status: WaitlistStatus", c.first_name as child_name,
                a.name as activity, s.starts_at, w.offer_expires_at, 0::bigint as "position!"
         from waitlist_entries w
         join children c on c.id = w.child_id
         join sessions s on s.id = w.session_id
         join activities a on a.id = s.activity_id
         where w.parent_id = $1 and w.status = 'offered' and s.starts_at > now()
         order by s.starts_at, w.id"#,
        parent_id,
    )
    .fetch_all(conn)
    .await
}

/// One page of the parent's children still waiting, soonest session first, each with
/// its place in the queue.
pub async fn waiting_for_parent(
    conn: &mut PgConnection,
    parent_id: i64,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<Entry>> {
    paged!(
        conn,
        page,
        Entry,
        r#"select w.id as "id: WaitlistEntryId", w.status as "status: WaitlistStatus", c.first_name as child_name,
                a.name as activity, s.starts_at, w.offer_expires_at,
                (select count(*) from waitlist_entries ahead
                  where ahead.session_id = w.session_id and ahead.status = 'waiting'
                    and (ahead.created_at, ahead.id) <= (w.created_at, w.id)) as "position!"
         from waitlist_entries w
         join children c on c.id = w.child_id
         join sessions s on s.id = w.session_id
         join activities a on a.id = s.activity_id
         where w.parent_id = $3 and w.status = 'waiting' and s.starts_at > now()"#,
        "s.starts_at",
        "w.id",
        parent_id,
    )
}
