//! The SQL for children, their contacts and collectors, and the checklists. Every
//! query about a child names the parent too, so another family's child is never found.

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use super::domain::{ChildDetails, CollectorDetails, ContactDetails};
use crate::ids::{ChecklistItemId, ChildId, CollectorId, EmergencyContactId};

#[derive(Clone, Debug)]
pub struct ChildRow {
    pub id: ChildId,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Date,
    pub medical_notes: String,
    pub allergies: String,
    pub additional_needs: String,
    pub doctor_name: String,
    pub doctor_phone: String,
    pub photo_consent: bool,
}

impl ChildRow {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

#[derive(Clone, Debug)]
pub struct ContactRow {
    pub id: EmergencyContactId,
    pub name: String,
    pub relationship: String,
    pub phone: String,
}

#[derive(Clone, Debug)]
pub struct CollectorRow {
    pub id: CollectorId,
    pub name: String,
    pub relationship: String,
    pub phone: String,
    pub password: String,
    pub notes: String,
}

/// One checklist item and, if done, when.
#[derive(Clone, Debug)]
pub struct ChecklistRow {
    pub item_id: ChecklistItemId,
    pub code: String,
    pub name: String,
    pub description: String,
    pub required: bool,
    pub completed_at: Option<OffsetDateTime>,
}

/// A required checklist item not yet done: for a child (`child_id`) or the parent.
#[derive(Clone, Debug)]
pub struct MissingItem {
    pub child_id: Option<ChildId>,
    pub child_name: Option<String>,
    pub item: String,
}

/// The family's current (not archived) children, youngest last.
pub async fn list(conn: &mut PgConnection, parent_id: i64) -> sqlx::Result<Vec<ChildRow>> {
    sqlx::query_as!(
        ChildRow,
        r#"select id as "id: ChildId", first_name, last_name, date_of_birth as "date_of_birth!", medical_notes, allergies,
                  additional_needs, doctor_name, doctor_phone, photo_consent
           from children
           where parent_id = $1 and archived_at is null and kind = 'child'
           order by date_of_birth, first_name"#,
        parent_id
    )
    .fetch_all(conn)
    .await
}

/// The child, if it is this parent's and not archived.
pub async fn find(
    conn: &mut PgConnection,
    parent_id: i64,
    child_id: ChildId,
) -> sqlx::Result<Option<ChildRow>> {
    sqlx::query_as!(
        ChildRow,
        r#"select id as "id: ChildId", first_name, last_name, date_of_birth as "date_of_birth!", medical_notes, allergies,
                  additional_needs, doctor_name, doctor_phone, photo_consent
           from children where id = $1 and parent_id = $2 and archived_at is null and kind = 'child'"#,
        child_id.0,
        parent_id
    )
    .fetch_optional(conn)
    .await
}

/// Like `find`, holding the row for the rest of the transaction, so two requests
/// changing the child's contacts take turns.
pub async fn lock(
    conn: &mut PgConnection,
    parent_id: i64,
    child_id: ChildId,
) -> sqlx::Result<Option<ChildRow>> {
    sqlx::query_as!(
        ChildRow,
        r#"select id as "id: ChildId", first_name, last_name, date_of_birth as "date_of_birth!", medical_notes, allergies,
                  additional_needs, doctor_name, doctor_phone, photo_consent
           from children where id = $1 and parent_id = $2 and archived_at is null and kind = 'child' for update"#,
        child_id.0,
        parent_id
    )
    .fetch_optional(conn)
    .await
}

pub async fn insert_child(
    conn: &mut PgConnection,
    parent_id: i64,
    child: &ChildDetails,
) -> sqlx::Result<ChildId> {
    sqlx::query_scalar!(
        r#"insert into children (parent_id, first_name, last_name, date_of_birth, medical_notes,
                                 allergies, additional_needs, doctor_name, doctor_phone, photo_consent)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning id as "id: ChildId""#,
        parent_id,
        child.first_name.as_str(),
        child.last_name.as_str(),
        child.date_of_birth,
        child.medical_notes,
        child.allergies,
        child.additional_needs,
        child.doctor_name,
        child.doctor_phone.as_ref().map_or("", |p| p.as_str()),
        child.photo_consent
    )
    .fetch_one(conn)
    .await
}

pub async fn update_child(
    conn: &mut PgConnection,
    parent_id: i64,
    child_id: ChildId,
    child: &ChildDetails,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update children set first_name = $3, last_name = $4, date_of_birth = $5, medical_notes = $6,
                allergies = $7, additional_needs = $8, doctor_name = $9, doctor_phone = $10,
                photo_consent = $11
         where id = $1 and parent_id = $2 and archived_at is null",
        child_id.0,
        parent_id,
        child.first_name.as_str(),
        child.last_name.as_str(),
        child.date_of_birth,
        child.medical_notes,
        child.allergies,
        child.additional_needs,
        child.doctor_name,
        child.doctor_phone.as_ref().map_or("", |p| p.as_str()),
        child.photo_consent
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Archives the child; false when it is not this parent's (or already archived).
pub async fn archive(conn: &mut PgConnection, parent_id: i64, child_id: ChildId) -> sqlx::Result<bool> {
    let result = sqlx::query!(
        "update children set archived_at = now()
         where id = $1 and parent_id = $2 and archived_at is null",
        child_id.0,
        parent_id
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Whether the child holds a place on a session still to come.
pub async fn has_upcoming_places(
    conn: &mut PgConnection,
    parent_id: i64,
    child_id: ChildId,
) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select exists(
               select 1 from booking_participants p
               join bookings b on b.id = p.booking_id
               join sessions s on s.id = p.session_id
               where p.child_id = $1 and b.parent_id = $2 and p.holds_place
                 and s.status <> 'cancelled' and s.starts_at > now()) as "exists!""#,
        child_id.0,
        parent_id
    )
    .fetch_one(conn)
    .await
}

// Emergency contacts -----------------------------------------------------------------

pub async fn contacts(
    conn: &mut PgConnection,
    parent_id: i64,
    child_id: ChildId,
) -> sqlx::Result<Vec<ContactRow>> {
    sqlx::query_as!(
        ContactRow,
        r#"select e.id as "id: EmergencyContactId", e.name, e.relationship, e.phone
           from child_emergency_contacts e join children c on c.id = e.child_id
           where e.child_id = $1 and c.parent_id = $2
           order by e.id"#,
        child_id.0,
        parent_id
    )
    .fetch_all(conn)
    .await
}

pub async fn insert_contact(
    conn: &mut PgConnection,
    child_id: ChildId,
    contact: &ContactDetails,
) -> sqlx::Result<EmergencyContactId> {
    sqlx::query_scalar!(
        r#"insert into child_emergency_contacts (child_id, name, relationship, phone)
           values ($1, $2, $3, $4) returning id as "id: EmergencyContactId""#,
        child_id.0,
        contact.name.as_str(),
        contact.relationship,
        contact.phone.as_str()
    )
    .fetch_one(conn)
    .await
}

pub async fn update_contact(
    conn: &mut PgConnection,
    child_id: ChildId,
    contact_id: EmergencyContactId,
    contact: &ContactDetails,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update child_emergency_contacts set name = $3, relationship = $4, phone = $5
         where id = $1 and child_id = $2",
        contact_id.0,
        child_id.0,
        contact.name.as_str(),
        contact.relationship,
        contact.phone.as_str()
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes the contact; its name, or None when it is not this child's.
pub async fn delete_contact(
    conn: &mut PgConnection,
    child_id: ChildId,
    contact_id: EmergencyContactId,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!(
        "delete from child_emergency_contacts where id = $1 and child_id = $2 returning name",
        contact_id.0,
        child_id.0
    )
    .fetch_optional(conn)
    .await
}

// Authorised collectors --------------------------------------------------------------

pub async fn collectors(
    conn: &mut PgConnection,
    parent_id: i64,
    child_id: ChildId,
) -> sqlx::Result<Vec<CollectorRow>> {
    sqlx::query_as!(
        CollectorRow,
        r#"select a.id as "id: CollectorId", a.name, a.relationship, a.phone, a.password, a.notes
           from child_authorised_collectors a join children c on c.id = a.child_id
           where a.child_id = $1 and c.parent_id = $2
           order by a.id"#,
        child_id.0,
        parent_id
    )
    .fetch_all(conn)
    .await
}

pub async fn insert_collector(
    conn: &mut PgConnection,
    child_id: ChildId,
    collector: &CollectorDetails,
) -> sqlx::Result<CollectorId> {
    sqlx::query_scalar!(
        r#"insert into child_authorised_collectors (child_id, name, relationship, phone, password, notes)
           values ($1, $2, $3, $4, $5, $6) returning id as "id: CollectorId""#,
        child_id.0,
        collector.name.as_str(),
        collector.relationship,
        collector.phone.as_str(),
        collector.password,
        collector.notes
    )
    .fetch_one(conn)
    .await
}

pub async fn update_collector(
    conn: &mut PgConnection,
    child_id: ChildId,
    collector_id: CollectorId,
    collector: &CollectorDetails,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update child_authorised_collectors
         set name = $3, relationship = $4, phone = $5, password = $6, notes = $7
         where id = $1 and child_id = $2",
        collector_id.0,
        child_id.0,
        collector.name.as_str(),
        collector.relationship,
        collector.phone.as_str(),
        collector.password,
        collector.notes
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes the collector; their name, or None when they are not this child's.
pub async fn delete_collector(
    conn: &mut PgConnection,
    child_id: ChildId,
    collector_id: CollectorId,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!(
        "delete from child_authorised_collectors where id = $1 and child_id = $2 returning name",
        collector_id.0,
        child_id.0
    )
    .fetch_optional(conn)
    .await
}

// Checklists -------------------------------------------------------------------------

/// The active child items, each with when it was done for this child (if it was).
pub async fn child_checklist(
    conn: &mut PgConnection,
    parent_id: i64,
    child_id: ChildId,
) -> sqlx::Result<Vec<ChecklistRow>> {
    sqlx::query_as!(
        ChecklistRow,
        r#"select i.id as "item_id: ChecklistItemId", i.code, i.name, i.description, i.required,
                  d.completed_at as "completed_at?"
           from checklist_items i
           left join checklist_completions d on d.item_id = i.id
                and d.child_id = (select c.id from children c where c.id = $1 and c.parent_id = $2)
           where i.applies_to = 'child' and i.active
           order by i.position, i.id"#,
        child_id.0,
        parent_id
    )
    .fetch_all(conn)
    .await
}

/// The active parent items, each with when this parent did it (if they did).
pub async fn parent_checklist(conn: &mut PgConnection, parent_id: i64) -> sqlx::Result<Vec<ChecklistRow>> {
    sqlx::query_as!(
        ChecklistRow,
        r#"select i.id as "item_id: ChecklistItemId", i.code, i.name, i.description, i.required,
                  d.completed_at as "completed_at?"
           from checklist_items i
           left join checklist_completions d on d.item_id = i.id and d.user_id = $1
           where i.applies_to = 'parent' and i.active
           order by i.position, i.id"#,
        parent_id
    )
    .fetch_all(conn)
    .await
}

/// Marks an active child item done or not done for a child the caller has found.
/// Returns the item's name, or None when there is no such active child item.
pub async fn set_child_item(
    conn: &mut PgConnection,
    child_id: ChildId,
    item_id: ChecklistItemId,
    done: bool,
    by: i64,
) -> sqlx::Result<Option<String>> {
    let item = sqlx::query_scalar!(
        "select name from checklist_items where id = $1 and applies_to = 'child' and active",
        item_id.0
    )
    .fetch_optional(&mut *conn)
    .await?;
    if item.is_some() {
        if done {
            sqlx::query!(
                "insert into checklist_completions (item_id, applies_to, child_id, completed_by)
                 values ($1, 'child', $2, $3)
                 on conflict on constraint checklist_completions_item_child_key do nothing",
                item_id.0,
                child_id.0,
                by
            )
            .execute(&mut *conn)
            .await?;
        } else {
            sqlx::query!(
                "delete from checklist_completions where item_id = $1 and child_id = $2",
                item_id.0,
                child_id.0
            )
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(item)
}

/// Marks an active parent item done or not done for `parent_id`; accepting the terms
/// also records when on the user. Accepted terms stay accepted: they are a record of
/// what was agreed. Returns the item's name, or None when there is no such active
/// parent item (or it is the terms, to be undone).
pub async fn set_parent_item(
    conn: &mut PgConnection,
    parent_id: i64,
    item_id: ChecklistItemId,
    done: bool,
) -> sqlx::Result<Option<String>> {
    let item = sqlx::query!(
        "select name, code from checklist_items
         where id = $1 and applies_to = 'parent' and active and ($2 or code <> $3)",
        item_id.0,
        done,
        TERMS
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(item) = item else { return Ok(None) };
    if done {
        sqlx::query!(
            "insert into checklist_completions (item_id, applies_to, user_id, completed_by)
             values ($1, 'parent', $2, $2)
             on conflict on constraint checklist_completions_item_user_key do nothing",
            item_id.0,
            parent_id
        )
        .execute(&mut *conn)
        .await?;
    } else {
        sqlx::query!(
            "delete from checklist_completions where item_id = $1 and user_id = $2",
            item_id.0,
            parent_id
        )
        .execute(&mut *conn)
        .await?;
    }
    if item.code == TERMS {
        sqlx::query!(
            "update users set terms_accepted_at = coalesce(terms_accepted_at, now()) where id = $1",
            parent_id
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(Some(item.name))
}

/// The parent item that records the terms of service.
pub const TERMS: &str = "terms";

/// Records that `parent_id` accepted the terms now (at sign-up).
pub async fn accept_terms(conn: &mut PgConnection, parent_id: i64) -> sqlx::Result<()> {
    sqlx::query!("update users set terms_accepted_at = now() where id = $1", parent_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "insert into checklist_completions (item_id, applies_to, user_id, completed_by)
         select id, 'parent', $1, $1 from checklist_items where code = $2
         on conflict on constraint checklist_completions_item_user_key do nothing",
        parent_id,
        TERMS
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Required, active items not yet done: the parent's own, then each current child's
/// (eldest first, as the lists show them).
pub async fn missing_items(conn: &mut PgConnection, parent_id: i64) -> sqlx::Result<Vec<MissingItem>> {
    sqlx::query_as!(
        MissingItem,
        r#"select m.child_id as "child_id?: ChildId", m.child_name as "child_name?", m.item as "item!"
           from (select null::bigint as child_id, null::text as child_name, i.name as item,
                        null::date as born, i.position
                 from checklist_items i
                 where i.applies_to = 'parent' and i.active and i.required
                   and not exists(select 1 from checklist_completions d
                                  where d.item_id = i.id and d.user_id = $1)
                 union all
                 select c.id, c.first_name || ' ' || c.last_name, i.name, c.date_of_birth, i.position
                 from children c cross join checklist_items i
                 where c.parent_id = $1 and c.archived_at is null and c.kind = 'child'
                   and i.applies_to = 'child' and i.active and i.required
                   and not exists(select 1 from checklist_completions d
                                  where d.item_id = i.id and d.child_id = c.id)) m
           order by m.born nulls first, m.child_id, m.position, m.item"#,
        parent_id
    )
    .fetch_all(conn)
    .await
}

/// Demo data: emergency contacts, a collector and some of the checklist for each of
/// `parent_id`'s children; the photo and contact checks are left for the parent.
pub async fn seed_demo(conn: &mut PgConnection, parent_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into child_emergency_contacts (child_id, name, relationship, phone)
         select c.id, contact.name, contact.relationship, contact.phone
         from children c
         cross join (values ('Jamie Morgan', 'Father', '07700 900301'),
                            ('Ruth Morgan', 'Grandmother', '07700 900302'))
              as contact (name, relationship, phone)
         where c.parent_id = $1",
        parent_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into child_authorised_collectors (child_id, name, relationship, phone, password)
         select c.id, 'Ruth Morgan', 'Grandmother', '07700 900302', 'bluebell'
         from children c where c.parent_id = $1",
        parent_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "update children set doctor_name = 'Dr Anita Patel, Canbury Medical Centre',
                doctor_phone = '020 8549 8818'
         where parent_id = $1",
        parent_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into checklist_completions (item_id, applies_to, child_id, completed_by)
         select i.id, 'child', c.id, $1
         from children c cross join checklist_items i
         where c.parent_id = $1 and i.code = 'medical_form'",
        parent_id
    )
    .execute(&mut *conn)
    .await?;
    accept_terms(conn, parent_id).await
}
