//! The booking use cases, one function per action, each inside the caller's
//! transaction: it owns the rules, the SQL, the history, audit and emails, and answers
//! with the outcome or a typed refusal. Pages parse, call, commit and render.

use std::collections::BTreeMap;

use sqlx::PgConnection;
use time::OffsetDateTime;

use super::{
    domain::{BookingStatus, PlaceRefused},
    emails, rules,
    store::{self, NewItem, SessionInfo},
};
use crate::{
    AppState, audit,
    auth::{Role, User},
    error::AppResult,
    ids::{BookingId, SessionId},
    payments::{
        self,
        cancellation::{CancellationRefund, Cause},
        holds,
    },
    web::fmt,
};

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
    id: BookingId,
    to: BookingStatus,
    actor: Option<&User>,
    reason: &str,
) -> AppResult<Transition> {
    let Some(from) = store::lock_status(conn, id).await? else { return Ok(Transition::Missing) };
    if !from.can_become(to) {
        return Ok(Transition::NotAllowed(from));
    }
    let mut released = store::change_status(conn, id, from, to, actor.map(|a| a.id.0), reason).await?;
    released.sort_unstable();
    released.dedup();
    crate::waitlist::offer_free_places(state, conn, &raw(&released)).await?;
    if actor.is_none_or(|a| a.role == Role::Admin) {
        audit::record(conn)
            .actor(actor.map(|a| a.id.0))
            .action(format!("booking.{to}"))
            .entity("booking", id.0)
            .before(serde_json::json!({ "status": from.as_str() }))
            .after(serde_json::json!({ "status": to.as_str(), "reason": reason }))
            .await?;
    }
    notify(state, conn, id, to, reason).await.map(|()| Transition::Done)
}

/// Emails the parent what `status` means for their booking, if it tells them anything.
async fn notify(
    state: &AppState,
    conn: &mut PgConnection,
    id: BookingId,
    status: BookingStatus,
    reason: &str,
) -> AppResult<()> {
    if let Some(booking) = store::find(conn, id).await?
        && let Some(email) = emails::for_status(&booking, status, reason, &state.config.base_url)
    {
        state.outbox.queue(conn, &email).await?;
    }
    Ok(())
}

pub(crate) fn raw(ids: &[SessionId]) -> Vec<i64> {
    ids.iter().map(|id| id.0).collect()
}

/// What to book: places for one family's children, with what the parent chose.
pub struct BookingRequest<'a> {
    pub parent_id: i64,
    /// The sessions the places are on (their rules decide approval and paying first).
    pub sessions: &'a [SessionInfo],
    pub items: Vec<NewItem>,
    pub note: String,
    /// "Save for later": a draft holds no place and uses no credit until submitted.
    pub draft: bool,
    pub use_credits: bool,
    pub discount: Option<DiscountCode>,
}

/// A typed discount code, and whether the parent may still guess one this hour.
pub struct DiscountCode {
    pub code: String,
    pub allowed: bool,
}

pub struct Booked {
    pub id: BookingId,
    pub status: BookingStatus,
    pub credits_used: usize,
    /// What the discount code took off, in words.
    pub discount_note: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum BookingRefused {
    Place(PlaceRefused),
    /// The code does not apply; the words say why.
    Discount(String),
}

/// What the office is asked to confirm, and whether the places wait for a card payment.
#[derive(Clone, Copy)]
pub struct Rules {
    pub requires_approval: bool,
    pub pay_first: bool,
}

impl Rules {
    pub fn of(state: &AppState, sessions: &[SessionInfo]) -> Self {
        Self {
            requires_approval: sessions.iter().any(|s| s.requires_approval),
            pay_first: super::holds::pay_first(state, sessions),
        }
    }

    /// Where a booking that is not waiting for a payment starts.
    fn submitted(self) -> BookingStatus {
        if self.requires_approval { BookingStatus::Pending } else { BookingStatus::Approved }
    }
}

/// Books places: by the parent (`Book`, a waitlist claim) under the sessions' rules, or
/// by the office for a family (confirmed at once, audited). Takes the places, uses
/// credits and a discount code, holds the places for a card payment when the activity
/// is paid first, and emails the parent. A refusal leaves the transaction to be rolled
/// back.
pub async fn book(
    state: &AppState,
    conn: &mut PgConnection,
    who: &User,
    request: BookingRequest<'_>,
) -> AppResult<Result<Booked, BookingRefused>> {
    let BookingRequest { parent_id, sessions, mut items, note, draft, use_credits, discount } = request;
    let by_office = who.role == Role::Admin;
    let rules = Rules::of(state, sessions);
    let submitted = if by_office { BookingStatus::Approved } else { rules.submitted() };
    let credit_uses = if use_credits && !draft {
        spend_credits(conn, parent_id, sessions, &mut items).await?
    } else {
        Vec::new()
    };
    let (status, hold) = if draft {
        (BookingStatus::Draft, None)
    } else if !by_office && rules.pay_first && items.iter().any(|i| i.price_pence > 0) {
        (BookingStatus::AwaitingPayment, Some(holds::deadline()))
    } else {
        (submitted, None)
    };
    let id = match store::create(conn, parent_id, who.id.0, (status, hold), &mut items, &note).await? {
        Ok(id) => id,
        Err(refused) => return Ok(Err(BookingRefused::Place(refused))),
    };
    crate::payments::packages::record_uses(conn, id, &credit_uses, who.id.0).await?;
    let mut discount_note = None;
    if let Some(DiscountCode { code, allowed }) = discount {
        match crate::payments::discounts::apply_to_new_booking(state, conn, id, &code, allowed, who.id.0)
            .await?
        {
            Ok(words) => discount_note = Some(words),
            Err(words) => return Ok(Err(BookingRefused::Discount(words))),
        }
    }
    let status = nothing_to_wait_for(conn, id, status, submitted, who.id.0).await?;
    if by_office {
        let place = items.first().map(|i| (i.child_id, i.session_id));
        audit::record(conn)
            .by(who.id)
            .action("booking.created_for_family")
            .entity("booking", id.0)
            .after(serde_json::json!({
                "parent_id": parent_id,
                "child_id": place.map(|p| p.0),
                "session_id": place.map(|p| p.1),
            }))
            .await?;
    }
    notify(state, conn, id, status, "").await?;
    Ok(Ok(Booked { id, status, credits_used: credit_uses.len(), discount_note }))
}

/// Package credits for the places, one a place of a covered activity while the parent
/// has any; those places then cost nothing.
async fn spend_credits(
    conn: &mut PgConnection,
    parent_id: i64,
    sessions: &[SessionInfo],
    items: &mut [NewItem],
) -> AppResult<Vec<crate::payments::packages::CreditUse>> {
    let places: Vec<(i64, i64, i64)> = items
        .iter()
        .filter_map(|i| {
            let activity = sessions.iter().find(|s| s.id == i.session_id)?.activity_id;
            Some((i.session_id.0, i.child_id.0, activity))
        })
        .collect();
    let uses = crate::payments::packages::choose_credits(conn, parent_id, &places).await?;
    for item in items.iter_mut() {
        if uses.iter().any(|u| (u.session_id, u.child_id) == (item.session_id.0, item.child_id.0)) {
            item.price_pence = 0;
        }
    }
    Ok(uses)
}

/// A booking about to wait for a card payment goes straight on when credits and a
/// discount left nothing to pay.
async fn nothing_to_wait_for(
    conn: &mut PgConnection,
    id: BookingId,
    status: BookingStatus,
    submitted: BookingStatus,
    by: i64,
) -> AppResult<BookingStatus> {
    if status != BookingStatus::AwaitingPayment {
        return Ok(status);
    }
    let balance = payments::store::lock_balance(conn, id).await?;
    if balance.is_some_and(|b| b.due_pence() > 0) {
        return Ok(status);
    }
    store::change_status(conn, id, status, submitted, Some(by), "Nothing to pay").await?;
    Ok(submitted)
}

pub struct Submitted {
    pub status: BookingStatus,
    pub requires_approval: bool,
    /// The total when the draft was saved, and now (today's prices).
    pub was_pence: i64,
    pub now_pence: i64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum SubmitRefused {
    AlreadySubmitted,
    /// What stops each place being booked now, as "when · child: why".
    Problems(Vec<String>),
    /// The database refused a place (taken between the check and the update).
    PlaceGone,
}

/// Submits a draft: it may be days old, so every rule `Book` checks is checked again
/// now, by the same function (the session may have been cancelled, closed or filled, or
/// the child grown out of its ages), and its places are priced at today's prices.
pub async fn submit_draft(
    state: &AppState,
    conn: &mut PgConnection,
    parent: &User,
    id: BookingId,
) -> AppResult<Result<Submitted, SubmitRefused>> {
    if store::lock_status(conn, id).await? != Some(BookingStatus::Draft) {
        return Ok(Err(SubmitRefused::AlreadySubmitted));
    }
    let participants = store::participants(conn, id).await?;
    let ids: Vec<SessionId> = participants.iter().map(|p| p.session_id).collect();
    let sessions = store::sessions_by_id(conn, &ids).await?;
    let problems = draft_problems(state, conn, parent.id.0, &participants, &sessions).await?;
    if !problems.is_empty() {
        return Ok(Err(SubmitRefused::Problems(problems)));
    }
    let (was_pence, now_pence) = store::reprice(conn, id).await?;
    if was_pence != now_pence {
        crate::payments::discounts::reprice(conn, id, now_pence).await?;
    }
    let rules = Rules::of(state, &sessions);
    let submitted = rules.submitted();
    let to = if rules.pay_first && now_pence > 0 { BookingStatus::AwaitingPayment } else { submitted };
    if store::take_places(conn, id).await?.is_err() {
        return Ok(Err(SubmitRefused::PlaceGone));
    }
    if to == BookingStatus::AwaitingPayment {
        holds::set_deadline(conn, id.0, holds::deadline()).await?;
    }
    store::change_status(conn, id, BookingStatus::Draft, to, Some(parent.id.0), "Submitted").await?;
    let status = nothing_to_wait_for(conn, id, to, submitted, parent.id.0).await?;
    notify(state, conn, id, status, "").await?;
    Ok(Ok(Submitted { status, requires_approval: rules.requires_approval, was_pence, now_pence }))
}

/// What stops each of a draft's places being booked now, as "when · child: why".
async fn draft_problems(
    state: &AppState,
    conn: &mut PgConnection,
    parent_id: i64,
    participants: &[store::Participant],
    sessions: &[SessionInfo],
) -> AppResult<Vec<String>> {
    let tz = state.config.timezone;
    let now = OffsetDateTime::now_utc();
    let children = store::children_of(conn, parent_id).await?;
    let session_ids: Vec<SessionId> = sessions.iter().map(|s| s.id).collect();
    let child_ids: Vec<_> = participants.iter().map(|p| p.child_id).collect();
    let held = store::places_held(conn, &session_ids, &child_ids).await?;
    let mut taken: BTreeMap<SessionId, i32> = BTreeMap::new();
    let mut problems = Vec::new();
    for p in participants {
        let s = sessions.iter().find(|s| s.id == p.session_id);
        let child = children.iter().find(|c| c.id == p.child_id);
        let problem = match (s, child) {
            (Some(s), Some(c)) => {
                let before = taken.entry(s.id).or_default();
                let problem = rules::place_problem(s, c, held.contains(&(s.id, c.id)), *before, now, tz);
                if problem.is_none() {
                    *before += 1;
                }
                problem
            }
            (None, _) => Some("Cancelled".to_owned()),
            (_, None) => Some("no longer on your account".to_owned()),
        };
        if let Some(problem) = problem {
            problems.push(format!("{} · {}: {problem}", fmt::day_time(p.starts_at, tz), p.child_name));
        }
    }
    Ok(problems)
}

/// The parent sends a booking the office asked to change back for approval.
pub async fn resubmit(
    state: &AppState,
    conn: &mut PgConnection,
    parent: &User,
    booking: &store::Booking,
    reply: &str,
) -> AppResult<bool> {
    match booking.status {
        BookingStatus::ChangesRequested => Ok(matches!(
            transition(state, conn, booking.id, BookingStatus::Pending, Some(parent), reply).await?,
            Transition::Done
        )),
        _ => Ok(false),
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum CancelRefused {
    /// Past the cut-off, or nothing left to cancel; the words say why.
    Closed(String),
    /// Someone else changed the booking first.
    NoLonger,
}

/// The parent cancels their booking while the rules allow it: places still before
/// their cut-off are refunded (money and credits), the places go to the waitlist.
/// Card refunds are returned for `settle` once committed.
pub async fn cancel_by_parent(
    state: &AppState,
    conn: &mut PgConnection,
    parent: &User,
    booking: &store::Booking,
    reason: &str,
) -> AppResult<Result<CancellationRefund, CancelRefused>> {
    let tz = state.config.timezone;
    let now = OffsetDateTime::now_utc();
    let participants = store::participants(conn, booking.id).await?;
    if let Err(why) = rules::cancellation(booking.status, &participants, now, tz) {
        let why = why.unwrap_or_else(|| "This booking can no longer be cancelled.".into());
        return Ok(Err(CancelRefused::Closed(why)));
    }
    // Only places still ahead of their cut-off come back, worked out (as the page said)
    // while the places still count: sessions already held are not refunded.
    let refundable = raw(&rules::refundable_sessions(&participants, now));
    let refund = payments::cancellation::refund_cancelled(
        state,
        conn,
        booking.id,
        Some(&refundable),
        &format!("Booking #{} was cancelled: {reason}", booking.id),
        Some(parent.id.0),
    )
    .await?;
    match transition(state, conn, booking.id, BookingStatus::Cancelled, Some(parent), reason).await? {
        Transition::Done => Ok(Ok(refund)),
        Transition::NotAllowed(_) | Transition::Missing => Ok(Err(CancelRefused::NoLonger)),
    }
}

/// An office decision on a booking, with the words the parent reads.
pub struct Decision {
    pub to: BookingStatus,
    pub reason: String,
    /// For a cancellation: the office's own refund instead of the rules' amount.
    pub refund: Option<OfficeRefund>,
}

pub struct OfficeRefund {
    pub pence: i64,
    pub why: String,
}

#[derive(Debug)]
pub enum DecisionRefused {
    /// The booking moved on first; it is now in this state.
    NotAllowed(BookingStatus),
    Missing,
    /// The office's refund is wrong: (field, message).
    Refund(Vec<(&'static str, String)>),
}

/// Approves, rejects, asks for changes or cancels. Rejecting gives back everything
/// paid (and any package credits); cancelling gives back what the rules give the
/// family, or the office's own amount with its reason (audited). Card refunds are
/// returned for `settle` once committed.
pub async fn decide(
    state: &AppState,
    conn: &mut PgConnection,
    admin: &User,
    id: BookingId,
    decision: Decision,
) -> AppResult<Result<Option<CancellationRefund>, DecisionRefused>> {
    let Decision { to, reason, refund } = decision;
    let refund = match to {
        BookingStatus::Rejected => Some(
            payments::cancellation::refund_cancelled(state, conn, id, None, &reason, Some(admin.id.0))
                .await?,
        ),
        BookingStatus::Cancelled => match cancellation_refund(state, conn, admin, id, &reason, refund).await?
        {
            Ok(refund) => Some(refund),
            Err(errors) => return Ok(Err(DecisionRefused::Refund(errors))),
        },
        _ => None,
    };
    match transition(state, conn, id, to, Some(admin), &reason).await? {
        Transition::Done => Ok(Ok(refund)),
        Transition::NotAllowed(now) => Ok(Err(DecisionRefused::NotAllowed(now))),
        Transition::Missing => Ok(Err(DecisionRefused::Missing)),
    }
}

/// The refund of an office cancellation: the rules' amount, or the office's own (never
/// above what is paid; a reason required when it differs from the rules). Credits come
/// back by the rules either way.
async fn cancellation_refund(
    state: &AppState,
    conn: &mut PgConnection,
    admin: &User,
    id: BookingId,
    reason: &str,
    own: Option<OfficeRefund>,
) -> AppResult<Result<CancellationRefund, Vec<(&'static str, String)>>> {
    use crate::payments::{cancellation, packages};
    let participants = store::participants(conn, id).await?;
    let refundable = raw(&rules::refundable_sessions(&participants, OffsetDateTime::now_utc()));
    let Some(OfficeRefund { pence, why }) = own else {
        return Ok(Ok(cancellation::refund_cancelled(
            state,
            conn,
            id,
            Some(&refundable),
            reason,
            Some(admin.id.0),
        )
        .await?));
    };
    let quote = cancellation::quote(conn, id, Some(&refundable)).await?;
    let mut errors = Vec::new();
    if pence > quote.paid_pence {
        errors.push((
            "refund",
            format!("At most {} is paid and not yet refunded.", fmt::pounds(quote.paid_pence)),
        ));
    }
    if pence != quote.amount_pence && why.is_empty() {
        let rules = fmt::pounds(quote.amount_pence);
        errors.push((
            "refund_reason",
            format!("Say why you are refunding this rather than {rules} (the rules' amount)."),
        ));
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let credits = packages::return_credits(conn, id.0, Some(&refundable), Some(admin.id.0)).await?;
    let words = if why.is_empty() { reason.to_owned() } else { format!("{reason} (refund: {why})") };
    let mut refund =
        cancellation::refund_amount(state, conn, id, pence, &words, Some(admin.id.0), Cause::Cancellation)
            .await?;
    refund.credits_returned = credits;
    audit::record(conn)
        .by(admin.id)
        .action("booking.refund_override")
        .entity("booking", id.0)
        .before(serde_json::json!({ "rules_pence": quote.amount_pence }))
        .after(serde_json::json!({ "refund_pence": pence, "reason": why }))
        .await?;
    Ok(Ok(refund))
}

#[derive(Debug, PartialEq, Eq)]
pub enum MoveRefused {
    /// The booking holds no places, or the session is not open.
    NotPossible,
    /// No such place on the booking.
    NoPlace,
    Place(PlaceRefused),
}

pub struct Moved {
    /// The history's words: from when to when, and what it did to the money.
    pub reason: String,
    pub card_refunds: Vec<i64>,
}

/// The office moves one booked place (a child on a session) to another session,
/// releasing the old place to the waitlist. A place paid with a credit stays paid by
/// it; any other costs what the new session costs, and the total follows (more is
/// owed, or what was paid beyond the new total is refunded).
pub async fn move_place(
    state: &AppState,
    conn: &mut PgConnection,
    admin: &User,
    id: BookingId,
    (from_session, child_id): (SessionId, crate::ids::ChildId),
    to_session: SessionId,
) -> AppResult<Result<Moved, MoveRefused>> {
    let status = store::lock_status(conn, id).await?.ok_or(crate::error::AppError::NotFound)?;
    let target = store::session(conn, to_session).await?;
    let Some(target) =
        target.filter(|s| s.status == crate::states::SessionStatus::Scheduled && status.holds_places())
    else {
        return Ok(Err(MoveRefused::NotPossible));
    };
    let Some((old_place, old_price)) = store::release_place(conn, id, from_session, child_id).await? else {
        return Ok(Err(MoveRefused::NoPlace));
    };
    let new_price = if store::used_credit(conn, old_place).await? { 0 } else { target.price_pence };
    if let Err(refused) = store::add_place(conn, id, target.id, child_id, new_price).await? {
        return Ok(Err(MoveRefused::Place(refused)));
    }
    let tz = state.config.timezone;
    let old = store::session(conn, from_session).await?.ok_or(crate::error::AppError::NotFound)?;
    let mut reason = format!(
        "Moved by the office from {} to {}",
        fmt::day_time(old.starts_at, tz),
        fmt::day_time(target.starts_at, tz)
    );
    let change = i64::from(new_price) - i64::from(old_price);
    let card_refunds = settle_price_change(state, conn, admin, id, change, &mut reason).await?;
    store::record_change(conn, id, Some(status), status, Some(admin.id.0), &reason).await?;
    audit::record(conn)
        .by(admin.id)
        .action("booking.moved")
        .entity("booking", id.0)
        .before(
            serde_json::json!({ "session_id": from_session, "child_id": child_id, "price_pence": old_price }),
        )
        .after(serde_json::json!({ "session_id": target.id, "child_id": child_id, "price_pence": new_price }))
        .await?;
    crate::waitlist::offer_free_places(state, conn, &[from_session.0]).await?;
    Ok(Ok(Moved { reason, card_refunds }))
}

/// A moved place's new price: the total follows; a cheaper place refunds what was paid
/// beyond the new total, never more than the difference. Says so in `reason`.
async fn settle_price_change(
    state: &AppState,
    conn: &mut PgConnection,
    admin: &User,
    id: BookingId,
    change: i64,
    reason: &mut String,
) -> AppResult<Vec<i64>> {
    if change != 0 {
        store::adjust_total(conn, id, change).await?;
    }
    if change > 0 {
        reason.push_str(&format!(
            "; the new session costs {} more, added to the amount due",
            fmt::pounds(change)
        ));
        return Ok(Vec::new());
    }
    if change == 0 {
        return Ok(Vec::new());
    }
    let balance = payments::store::lock_balance(conn, id).await?.ok_or(crate::error::AppError::NotFound)?;
    let overpaid = balance.paid_pence + balance.discount_pence - i64::from(balance.total_pence);
    let refund_pence = overpaid.min(-change).max(0);
    reason.push_str(&format!("; the new session costs {} less", fmt::pounds(-change)));
    if refund_pence == 0 {
        return Ok(Vec::new());
    }
    reason.push_str(&format!(", {} refunded", fmt::pounds(refund_pence)));
    let refund = payments::cancellation::refund_amount(
        state,
        conn,
        id,
        refund_pence,
        reason,
        Some(admin.id.0),
        Cause::Move,
    )
    .await?;
    Ok(refund.card_refunds)
}

#[derive(Debug, PartialEq, Eq)]
pub enum ClaimRefused {
    /// The offer expired (or was never this parent's): the place went on.
    OfferEnded,
    Booking(BookingRefused),
}

/// The parent claims a place held for their child from the waitlist: the held place
/// goes back to the pool and is booked at once through [`book`], under the session's
/// rules (held for a card payment when the activity is paid first).
pub async fn claim_waitlist_offer(
    state: &AppState,
    conn: &mut PgConnection,
    parent: &User,
    entry: crate::ids::WaitlistEntryId,
) -> AppResult<Result<Booked, ClaimRefused>> {
    use crate::waitlist::store as waitlist;
    let Some(offer) = waitlist::take_offer(conn, entry, parent.id.0).await? else {
        return Ok(Err(ClaimRefused::OfferEnded));
    };
    let info = store::session(conn, offer.session_id).await?.ok_or(crate::error::AppError::NotFound)?;
    let request = BookingRequest {
        parent_id: parent.id.0,
        sessions: std::slice::from_ref(&info),
        items: vec![NewItem {
            session_id: offer.session_id,
            child_id: offer.child_id,
            price_pence: offer.price_pence,
        }],
        note: "From the waitlist".into(),
        draft: false,
        use_credits: false,
        discount: None,
    };
    let booked = match book(state, conn, parent, request).await? {
        Ok(booked) => booked,
        Err(refused) => return Ok(Err(ClaimRefused::Booking(refused))),
    };
    waitlist::mark_claimed(conn, entry, booked.id).await?;
    Ok(Ok(booked))
}
