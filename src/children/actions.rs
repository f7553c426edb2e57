//! What a family does to its children, one use case per action. Each runs in the
//! caller's transaction, keeps the rules, and writes its audit row; the page parses,
//! calls, commits and renders.

use serde_json::{Value, json};
use sqlx::PgConnection;
use time::Date;

use super::{
    domain::{ChildInput, CollectorDetails, ContactDetails},
    store::{self, ChildRow},
};
use crate::{
    audit,
    error::{AppError, AppResult},
    ids::{ChecklistItemId, ChildId, CollectorId, EmergencyContactId},
};

/// Why an action on a child was refused; the page shows `message`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Archiving a child who still holds a place on a session to come.
    UpcomingPlaces,
    /// Removing the child's only emergency contact.
    LastContact,
}

pub const LAST_CONTACT: &str =
    "A child needs at least one emergency contact. Add another contact before removing this one.";

impl Refused {
    pub fn message(self, child: &ChildRow) -> String {
        match self {
            Refused::UpcomingPlaces => format!(
                "{} has sessions booked. Cancel those bookings before archiving {}.",
                child.first_name, child.first_name
            ),
            Refused::LastContact => LAST_CONTACT.to_owned(),
        }
    }
}

/// What the audit log keeps of a child: who they are, never their health details.
fn audit_summary(first_name: &str, last_name: &str, born: Date, photo_consent: bool) -> Value {
    json!({
        "first_name": first_name,
        "last_name": last_name,
        "date_of_birth": born.to_string(),
        "photo_consent": photo_consent,
    })
}

/// Adds a child with their first emergency contact and, if given, a collector.
pub async fn add_child(conn: &mut PgConnection, parent_id: i64, input: &ChildInput) -> sqlx::Result<ChildId> {
    let ChildInput { child, contact, collector } = input;
    let child_id = store::insert_child(conn, parent_id, child).await?;
    store::insert_contact(conn, child_id, contact).await?;
    if let Some(collector) = collector {
        store::insert_collector(conn, child_id, collector).await?;
    }
    let after = audit_summary(
        child.first_name.as_str(),
        child.last_name.as_str(),
        child.date_of_birth,
        child.photo_consent,
    );
    audit::record(conn).by(parent_id).action("child.created").entity("child", child_id).after(after).await?;
    Ok(child_id)
}

/// Saves the child's form over `before` (found locked): the child, their first
/// contact, and their first collector (cleared fields remove that collector).
pub async fn update_child(
    conn: &mut PgConnection,
    parent_id: i64,
    before: &ChildRow,
    input: &ChildInput,
) -> sqlx::Result<()> {
    let ChildInput { child, contact, collector } = input;
    let child_id = before.id;
    store::update_child(conn, parent_id, child_id, child).await?;
    match store::contacts(conn, parent_id, child_id).await?.first() {
        Some(first) => store::update_contact(conn, child_id, first.id, contact).await?,
        None => {
            store::insert_contact(conn, child_id, contact).await?;
        }
    }
    match (store::collectors(conn, parent_id, child_id).await?.first(), collector) {
        (Some(first), Some(collector)) => {
            store::update_collector(conn, child_id, first.id, collector).await?
        }
        (None, Some(collector)) => {
            store::insert_collector(conn, child_id, collector).await?;
        }
        (Some(first), None) => {
            store::delete_collector(conn, child_id, first.id).await?;
        }
        (None, None) => {}
    }
    let changed: Vec<&str> = [
        ("medical_notes", before.medical_notes != child.medical_notes),
        ("allergies", before.allergies != child.allergies),
        ("additional_needs", before.additional_needs != child.additional_needs),
        ("doctor_name", before.doctor_name != child.doctor_name),
        ("doctor_phone", before.doctor_phone != child.doctor_phone.as_ref().map_or("", |p| p.as_str())),
    ]
    .into_iter()
    .filter_map(|(field, differs)| differs.then_some(field))
    .collect();
    // Medical details are named, not copied, so the audit log holds no health data.
    let mut after = audit_summary(
        child.first_name.as_str(),
        child.last_name.as_str(),
        child.date_of_birth,
        child.photo_consent,
    );
    after["also_changed"] = json!(changed);
    let before_json =
        audit_summary(&before.first_name, &before.last_name, before.date_of_birth, before.photo_consent);
    audit::record(conn)
        .by(parent_id)
        .action("child.updated")
        .entity("child", child_id)
        .before(before_json)
        .after(after)
        .await
}

/// Archives the child (found locked), unless they still hold a place to come.
pub async fn archive(
    conn: &mut PgConnection,
    parent_id: i64,
    child: &ChildRow,
) -> AppResult<Result<(), Refused>> {
    if store::has_upcoming_places(conn, parent_id, child.id).await? {
        return Ok(Err(Refused::UpcomingPlaces));
    }
    if !store::archive(conn, parent_id, child.id).await? {
        return Err(AppError::NotFound);
    }
    audit::record(conn).by(parent_id).action("child.archived").entity("child", child.id).await?;
    Ok(Ok(()))
}

pub async fn add_contact(
    conn: &mut PgConnection,
    parent_id: i64,
    child: &ChildRow,
    contact: &ContactDetails,
) -> sqlx::Result<EmergencyContactId> {
    let contact_id = store::insert_contact(conn, child.id, contact).await?;
    let after = json!({ "contact_id": contact_id, "name": contact.name.as_str() });
    audit::record(conn)
        .by(parent_id)
        .action("child.contact_added")
        .entity("child", child.id)
        .after(after)
        .await?;
    Ok(contact_id)
}

/// Removes a contact of the child (found locked, so two removals take turns and
/// cannot both pass the check); returns the contact's name. Another child's contact
/// is not found.
pub async fn remove_contact(
    conn: &mut PgConnection,
    parent_id: i64,
    child: &ChildRow,
    contact_id: EmergencyContactId,
) -> AppResult<Result<String, Refused>> {
    let contacts = store::contacts(conn, parent_id, child.id).await?;
    if !contacts.iter().any(|c| c.id == contact_id) {
        return Err(AppError::NotFound);
    }
    if contacts.len() < 2 {
        return Ok(Err(Refused::LastContact));
    }
    let name = store::delete_contact(conn, child.id, contact_id).await?.ok_or(AppError::NotFound)?;
    let before = json!({ "contact_id": contact_id, "name": name });
    audit::record(conn)
        .by(parent_id)
        .action("child.contact_removed")
        .entity("child", child.id)
        .before(before)
        .await?;
    Ok(Ok(name))
}

pub async fn add_collector(
    conn: &mut PgConnection,
    parent_id: i64,
    child: &ChildRow,
    collector: &CollectorDetails,
) -> sqlx::Result<CollectorId> {
    let collector_id = store::insert_collector(conn, child.id, collector).await?;
    let after = json!({ "collector_id": collector_id, "name": collector.name.as_str() });
    audit::record(conn)
        .by(parent_id)
        .action("child.collector_added")
        .entity("child", child.id)
        .after(after)
        .await?;
    Ok(collector_id)
}

/// Removes a collector of the child; returns their name. Another child's is not found.
pub async fn remove_collector(
    conn: &mut PgConnection,
    parent_id: i64,
    child: &ChildRow,
    collector_id: CollectorId,
) -> AppResult<String> {
    let name = store::delete_collector(conn, child.id, collector_id).await?.ok_or(AppError::NotFound)?;
    let before = json!({ "collector_id": collector_id, "name": name });
    audit::record(conn)
        .by(parent_id)
        .action("child.collector_removed")
        .entity("child", child.id)
        .before(before)
        .await?;
    Ok(name)
}

/// Marks a child checklist item done or not; returns the item's name. An item that
/// is not an active child item is not found.
pub async fn set_checklist_item(
    conn: &mut PgConnection,
    parent_id: i64,
    child: &ChildRow,
    item_id: ChecklistItemId,
    done: bool,
) -> AppResult<String> {
    let item =
        store::set_child_item(conn, child.id, item_id, done, parent_id).await?.ok_or(AppError::NotFound)?;
    let action = if done { "checklist.completed" } else { "checklist.reopened" };
    let after = json!({ "item_id": item_id, "item": item, "done": done });
    audit::record(conn).by(parent_id).action(action).entity("child", child.id).after(after).await?;
    Ok(item)
}

/// Marks one of the parent's own checklist items done or not (the profile page);
/// returns the item's name. The terms, once accepted, cannot be undone: not found.
pub async fn set_parent_checklist_item(
    conn: &mut PgConnection,
    parent_id: i64,
    item_id: ChecklistItemId,
    done: bool,
) -> AppResult<String> {
    let item = store::set_parent_item(conn, parent_id, item_id, done).await?.ok_or(AppError::NotFound)?;
    let action = if done { "checklist.completed" } else { "checklist.reopened" };
    let after = json!({ "item_id": item_id, "item": item, "done": done });
    audit::record(conn).by(parent_id).action(action).entity("user", parent_id).after(after).await?;
    Ok(item)
}
