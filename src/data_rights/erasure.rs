//! Carrying out an erasure request: the family's personal data anonymised in the
//! owner's one transaction. Bookings, payments and refunds stay (now about an
//! anonymous account) because the accounts must; safeguarding records stay untouched
//! because the law requires them kept (their triggers refuse any change anyway).

use serde_json::{Value, json};
use sqlx::PgConnection;
use time::OffsetDateTime;

use super::{domain::ErasureStatus, store};
use crate::{
    AppState, audit,
    error::{AppError, AppResult},
    ids::ErasureRequestId,
    notifications::Email,
};

/// The password hash an erased account gets: not a PHC string, so no password ever
/// matches it, and it differs from the old one, which ends every session of the user.
const ERASED_PASSWORD_HASH: &str = "!erased";
/// What replaces erased free text that must stay non-empty.
const ERASED: &str = "[erased]";
/// axum-login's key for the signed-in user in a session (its default `data_key`).
const AUTH_SESSION_KEY: &str = "axum-login.data";

/// Why the owner cannot carry a request out (yet).
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Already carried out, declined or withdrawn.
    NotPending,
    /// Places still to come: they are cancelled first through the bookings' own
    /// cancellation, which settles refunds and credits and tells the waitlist.
    FutureBookings(i64),
}

/// What was done, for the owner's message.
#[derive(Debug)]
pub struct Erased {
    pub user_id: i64,
    pub children: i64,
}

/// The unique address an erased account gets: it can never receive mail.
pub fn placeholder_email(user_id: i64) -> String {
    format!("erased-{user_id}@erased.invalid")
}

struct Family {
    email: String,
    name: String,
    phone: Option<String>,
    created_at: OffsetDateTime,
}

/// Carries out request `request_id` as `actor_id` inside the caller's transaction, and
/// queues the email telling the parent (at their address before erasure).
pub async fn carry_out(
    state: &AppState,
    conn: &mut PgConnection,
    request_id: ErasureRequestId,
    actor_id: i64,
) -> AppResult<Result<Erased, Refused>> {
    let Some(user_id) = store::lock_pending(conn, request_id).await? else {
        return Ok(Err(Refused::NotPending));
    };
    let family = sqlx::query_as!(
        Family,
        "select email, name, phone, created_at from users where id = $1 and role = 'parent' for update",
        user_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound)?;

    // Refused rather than cancelled here: cancelling settles refunds, credits and the
    // waitlist, which the bookings' own cancellation does (and the office checks).
    let future = sqlx::query_scalar!(
        r#"select count(distinct b.id) as "future!" from bookings b
           join booking_participants p on p.booking_id = b.id
           join sessions s on s.id = p.session_id
           where b.parent_id = $1 and p.holds_place and s.status <> 'cancelled' and s.ends_at > now()"#,
        user_id
    )
    .fetch_one(&mut *conn)
    .await?;
    if future > 0 {
        return Ok(Err(Refused::FutureBookings(future)));
    }

    let personal = personal_values(conn, user_id, &family).await?;
    withdraw_from_waitlists(state, conn, user_id).await?;

    let child_ids = sqlx::query_scalar!("select id from children where parent_id = $1", user_id)
        .fetch_all(&mut *conn)
        .await?;
    let booking_ids = sqlx::query_scalar!("select id from bookings where parent_id = $1", user_id)
        .fetch_all(&mut *conn)
        .await?;
    let counts = anonymise_family(conn, user_id, &family.email, &child_ids).await?;
    close_account(conn, user_id, &family.email).await?;
    let sessions_ended = end_sessions(conn, user_id).await?;
    let audit_rows =
        scrub_audit_log(conn, user_id, family.created_at, &child_ids, &booking_ids, &personal).await?;

    store::decide(conn, request_id, ErasureStatus::Completed, actor_id, "").await?;
    // Counts only: the erasure's own record must not keep what it erased.
    let after = json!({
        "request_id": request_id,
        "children": child_ids.len(),
        "emergency_contacts_removed": counts.contacts,
        "collectors_removed": counts.collectors,
        "sessions_ended": sessions_ended,
        "audit_rows_scrubbed": audit_rows,
    });
    audit::record(conn).by(actor_id).action("family.erased").entity("user", user_id).after(after).await?;

    let email = Email {
        to: family.email,
        subject: "Your Portico account is closed".into(),
        body: format!(
            "Hello {name},\n\nAs you asked, we have closed your Portico account and erased your \
             family's personal details: names, contact details, medical information, emergency \
             contacts and collectors.\n\nWe keep a record of past bookings and payments, without \
             your details, because the law requires us to keep accounts. Records kept for \
             children's safety are kept as the law requires.\n\nThis is the last email we will send \
             to this address.\n",
            name = family.name,
        ),
    };
    state.outbox.queue(conn, &email).await?;
    Ok(Ok(Erased { user_id, children: child_ids.len() as i64 }))
}

/// Every piece of the family's personal text, lower-cased, to find it in the audit log.
async fn personal_values(
    conn: &mut PgConnection,
    user_id: i64,
    family: &Family,
) -> sqlx::Result<Vec<String>> {
    let mut values =
        vec![family.email.clone(), family.name.clone(), family.phone.clone().unwrap_or_default()];
    let children = sqlx::query!(
        "select first_name, last_name, medical_notes, allergies, additional_needs, doctor_name, doctor_phone
         from children where parent_id = $1",
        user_id
    )
    .fetch_all(&mut *conn)
    .await?;
    for child in children {
        values.extend([
            format!("{} {}", child.first_name, child.last_name),
            child.first_name,
            child.last_name,
            child.medical_notes,
            child.allergies,
            child.additional_needs,
            child.doctor_name,
            child.doctor_phone,
        ]);
    }
    let others = sqlx::query!(
        r#"select e.name as "name!", e.phone as "phone!", '' as "password!", '' as "notes!"
           from child_emergency_contacts e join children c on c.id = e.child_id
           where c.parent_id = $1
           union all
           select a.name, a.phone, a.password, a.notes from child_authorised_collectors a
           join children c on c.id = a.child_id where c.parent_id = $1"#,
        user_id
    )
    .fetch_all(&mut *conn)
    .await?;
    for other in others {
        values.extend([other.name, other.phone, other.password, other.notes]);
    }
    let mut values: Vec<String> =
        values.into_iter().map(|v| v.trim().to_lowercase()).filter(|v| v.chars().count() >= 2).collect();
    values.sort_unstable();
    values.dedup();
    Ok(values)
}

/// Takes the family's children off every waitlist; a held place goes to the next child.
async fn withdraw_from_waitlists(state: &AppState, conn: &mut PgConnection, user_id: i64) -> AppResult<()> {
    let entries = sqlx::query_scalar!(
        "select id from waitlist_entries where parent_id = $1 and status in ('waiting', 'offered') order by id",
        user_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut freed = Vec::new();
    for entry in entries {
        if let Some((session_id, true)) =
            crate::waitlist::store::withdraw(conn, crate::ids::WaitlistEntryId(entry), user_id).await?
        {
            freed.push(session_id);
        }
    }
    if !freed.is_empty() {
        crate::waitlist::offer_free_places(state, conn, &freed).await?;
    }
    Ok(())
}

struct Counts {
    contacts: u64,
    collectors: u64,
}

/// The anonymising updates of the family's records, table by table.
async fn anonymise_family(
    conn: &mut PgConnection,
    user_id: i64,
    old_email: &str,
    child_ids: &[i64],
) -> sqlx::Result<Counts> {
    // Contacts and collectors are other people's details, kept only for the children:
    // nothing needs them once the family is gone.
    let contacts = sqlx::query!("delete from child_emergency_contacts where child_id = any($1)", child_ids)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let collectors =
        sqlx::query!("delete from child_authorised_collectors where child_id = any($1)", child_ids)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    sqlx::query!(
        "delete from checklist_completions where child_id = any($1) or user_id = $2",
        child_ids,
        user_id
    )
    .execute(&mut *conn)
    .await?;
    // The row stays (bookings, registers and safeguarding records point at it); the year
    // of birth stays for the provider's age statistics, nothing that names the child.
    sqlx::query!(
        "update children set
             first_name = 'Erased', last_name = 'child ' || id,
             date_of_birth = make_date(extract(year from date_of_birth)::int, 1, 1),
             medical_notes = '', allergies = '', additional_needs = '',
             doctor_name = '', doctor_phone = '', photo_consent = false,
             archived_at = coalesce(archived_at, now())
         where parent_id = $1",
        user_id
    )
    .execute(&mut *conn)
    .await?;
    // Who collected a child names a person; the mark itself stays for the register.
    sqlx::query!(
        "update attendance set
             collected_by = case when collected_by = '' then '' else $2 end,
             collection_note = case when collection_note = '' then '' else $2 end
         where child_id = any($1)",
        child_ids,
        ERASED
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("update bookings set notes = $2 where parent_id = $1 and notes <> ''", user_id, ERASED)
        .execute(&mut *conn)
        .await?;
    // Reasons the parent typed (a cancellation's); the office's own reasons stay.
    sqlx::query!(
        "update booking_status_changes set reason = $2
         where changed_by = $1 and reason <> ''",
        user_id,
        ERASED
    )
    .execute(&mut *conn)
    .await?;
    // Copies of emails to the family; one still waiting is not sent to nobody.
    sqlx::query!(
        "update outbox_emails set
             to_address = $2, subject = $3, body_text = $3,
             status = case when status = 'pending' then 'failed' else status end,
             last_error = case when status = 'pending' then 'recipient erased' else last_error end
         where to_address = $1",
        old_email,
        placeholder_email(user_id),
        ERASED
    )
    .execute(&mut *conn)
    .await?;
    Ok(Counts { contacts, collectors })
}

/// What lets the account sign in or be reached goes; the row stays, anonymous.
async fn close_account(conn: &mut PgConnection, user_id: i64, old_email: &str) -> sqlx::Result<()> {
    sqlx::query!("delete from sign_in_attempts where email = $1", old_email).execute(&mut *conn).await?;
    sqlx::query!("delete from signup_requests where email = $1", old_email).execute(&mut *conn).await?;
    sqlx::query!("delete from two_factor_recovery_codes where user_id = $1", user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!("delete from two_factor where user_id = $1", user_id).execute(&mut *conn).await?;
    sqlx::query!("delete from password_reset_tokens where user_id = $1", user_id).execute(&mut *conn).await?;
    sqlx::query!("delete from calendar_feeds where user_id = $1", user_id).execute(&mut *conn).await?;
    sqlx::query!(
        "update client_assignments set ended_at = now() where parent_id = $1 and ended_at is null",
        user_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "update erasure_requests set reason = case when reason = '' then '' else $2 end
         where user_id = $1",
        user_id,
        ERASED
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "update users set
             name = 'Erased account ' || id, email = $2, phone = null,
             password_hash = $3, is_active = false, last_sign_in_at = null, erased_at = now()
         where id = $1",
        user_id,
        placeholder_email(user_id),
        ERASED_PASSWORD_HASH
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Deletes the user's sessions from the session store. The store keeps each session
/// as MessagePack, so the user's are found by decoding them; a family's account
/// closes rarely, and only live sessions are read.
async fn end_sessions(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<u64> {
    let sessions =
        sqlx::query!("select id, data from tower_sessions.session where expiry_date > now() for update")
            .fetch_all(&mut *conn)
            .await?;
    let theirs: Vec<String> =
        sessions.into_iter().filter(|s| session_user(&s.data) == Some(user_id)).map(|s| s.id).collect();
    let deleted = sqlx::query!("delete from tower_sessions.session where id = any($1)", &theirs)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(deleted)
}

/// The signed-in user of a stored session, if it decodes and has one.
fn session_user(data: &[u8]) -> Option<i64> {
    let record: tower_sessions::session::Record = rmp_serde::from_slice(data).ok()?;
    record.data.get(AUTH_SESSION_KEY)?.get("user_id")?.as_i64()
}

/// Replaces the family's personal text in the audit log's before/after JSON with
/// "[erased]", keeping each row's who, what and when (and amounts, ids, statuses).
/// Rows about the family (by them, about the account, a child or a booking) are read,
/// plus any other row whose JSON mentions one of the values.
async fn scrub_audit_log(
    conn: &mut PgConnection,
    user_id: i64,
    since: OffsetDateTime,
    child_ids: &[i64],
    booking_ids: &[i64],
    personal: &[String],
) -> sqlx::Result<u64> {
    let patterns: Vec<String> = personal
        .iter()
        .map(|v| format!("%{}%", v.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")))
        .collect();
    let rows = sqlx::query!(
        "select id, before, after from audit_log
         where created_at >= $1
           and (actor_id = $2
                or (entity_type = 'user' and entity_id = $2)
                or (entity_type = 'child' and entity_id = any($3))
                or (entity_type = 'booking' and entity_id = any($4))
                or before::text ilike any($5) or after::text ilike any($5))
         for update",
        since,
        user_id,
        child_ids,
        booking_ids,
        &patterns
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut changed = 0;
    for row in rows {
        let (mut before, mut after) = (row.before, row.after);
        let touched_before = before.as_mut().is_some_and(|v| scrub(v, personal));
        let touched_after = after.as_mut().is_some_and(|v| scrub(v, personal));
        if touched_before || touched_after {
            sqlx::query!("update audit_log set before = $2, after = $3 where id = $1", row.id, before, after)
                .execute(&mut *conn)
                .await?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// Values this short only count when a whole string is one of them: "Al" must not
/// erase every "Approved".
const MIN_CONTAINED_CHARS: usize = 6;

/// Replaces every string in `value` that is, or contains, a personal value. Returns
/// whether anything changed.
fn scrub(value: &mut Value, personal: &[String]) -> bool {
    match value {
        Value::String(s) => {
            let text = s.trim().to_lowercase();
            let personal_text = personal.iter().any(|p| {
                text == *p || (p.chars().count() >= MIN_CONTAINED_CHARS && text.contains(p.as_str()))
            });
            if personal_text && s != ERASED {
                *s = ERASED.to_owned();
                true
            } else {
                false
            }
        }
        // Every item is visited (no short circuit): all of them may need scrubbing.
        Value::Array(items) => items.iter_mut().map(|v| scrub(v, personal)).filter(|&c| c).count() > 0,
        Value::Object(map) => map.values_mut().map(|v| scrub(v, personal)).filter(|&c| c).count() > 0,
        _ => false,
    }
}

/// A summary of the family for the owner deciding: how much there is and what blocks.
#[derive(Debug, Default)]
pub struct FamilySummary {
    pub children: i64,
    pub bookings: i64,
    pub future_bookings: i64,
    pub payments: i64,
}

pub async fn family_summary(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<FamilySummary> {
    let counts = sqlx::query!(
        r#"select
               (select count(*) from children where parent_id = $1) as "children!",
               (select count(*) from bookings where parent_id = $1) as "bookings!",
               (select count(distinct b.id) from bookings b
                    join booking_participants p on p.booking_id = b.id join sessions s on s.id = p.session_id
                    where b.parent_id = $1 and p.holds_place and s.status <> 'cancelled' and s.ends_at > now())
                   as "future!",
               (select count(*) from payments p join bookings b on b.id = p.booking_id
                    where b.parent_id = $1) as "payments!""#,
        user_id
    )
    .fetch_one(conn)
    .await?;
    Ok(FamilySummary {
        children: counts.children,
        bookings: counts.bookings,
        future_bookings: counts.future,
        payments: counts.payments,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn scrubbing_replaces_personal_strings_and_keeps_the_rest() {
        let personal = vec!["jane doe".to_owned(), "al".to_owned(), "jane@example.com".to_owned()];
        let mut value = json!({
            "name": "Jane Doe", "email": "JANE@example.com", "status": "Approved",
            "child": "Al", "note": "Sent to jane@example.com today", "amount_pence": 650,
            "items": ["al", "other"],
        });
        assert!(scrub(&mut value, &personal));
        assert_eq!(
            value,
            json!({
                "name": ERASED, "email": ERASED, "status": "Approved", "child": ERASED,
                "note": ERASED, "amount_pence": 650, "items": [ERASED, "other"],
            })
        );
        assert!(!scrub(&mut value, &personal), "a second pass changes nothing");
    }

    #[test]
    fn a_session_record_names_its_user() {
        let mut data = HashMap::new();
        data.insert(AUTH_SESSION_KEY.to_owned(), json!({ "user_id": 42, "auth_hash": [1, 2] }));
        let record = tower_sessions::session::Record {
            id: tower_sessions::session::Id::default(),
            data,
            expiry_date: OffsetDateTime::now_utc(),
        };
        let bytes = rmp_serde::to_vec(&record).expect("encodes");
        assert_eq!(session_user(&bytes), Some(42));
        assert_eq!(session_user(b"not msgpack"), None);
    }
}
