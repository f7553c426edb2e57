//! The catalogue's use cases: adding and changing activities, venues and packages, and
//! taking them out of use. Each takes the transaction and valid input, turns the rules
//! the database keeps (unique names, age ranges, credits matching the kind) into errors
//! by the form's fields, and writes the audit row; the pages parse, call and render.

use serde_json::json;
use sqlx::PgConnection;

use super::{
    domain::{Activity, CREDITS_POSITIVE, PRICE_NOT_NEGATIVE, Package, Venue},
    store::{self, ActivityRow, Offerable, PackageRow, VenueRow},
};
use crate::{audit, db::OnConstraint, web::FormErrors};

/// Why a change to an existing entry was not made.
#[derive(Debug)]
pub enum Refused {
    NotFound,
    /// The database refused a value: the form's errors, by field.
    Invalid(FormErrors),
}

/// The form's errors when the database refused it for one field.
fn field_error((field, message): (&'static str, &'static str)) -> FormErrors {
    let mut errors = FormErrors::default();
    errors.add(field, message);
    errors
}

// Activities ----------------------------------------------------------------------------

/// The message by the field for a constraint the database refused.
fn activity_constraint_error(constraint: &str) -> Option<(&'static str, &'static str)> {
    match constraint {
        "activities_name_key" => Some(("name", "An activity already has this name.")),
        "activities_age_range" => Some(("max_age", "The oldest age must not be below the youngest.")),
        "activities_certificate_months_range" => {
            Some(("certificate_valid_months", "Enter a number of months from 1 to 240."))
        }
        _ => None,
    }
}

fn activity_json(a: &Activity) -> serde_json::Value {
    json!({
        "name": a.name, "min_age": a.min_age, "max_age": a.max_age,
        "duration_minutes": a.duration_minutes, "capacity": a.capacity, "price_pence": a.price.pence(),
        "requires_approval": a.requires_approval, "pay_at_booking": a.pay_at_booking,
        "booking_cutoff_hours": a.booking_cutoff_hours,
        "cancellation_cutoff_hours": a.cancellation_cutoff_hours,
        "waitlist_offer_hours": a.waitlist_offer_hours, "children_per_trainer": a.children_per_trainer,
        "qualifications": a.qualifications, "audience": a.course.audience,
        "syllabus": a.course.syllabus, "certificate_valid_months": a.course.certificate_valid_months,
    })
}

fn activity_row_json(a: &ActivityRow) -> serde_json::Value {
    json!({
        "name": a.name, "min_age": a.min_age_years, "max_age": a.max_age_years,
        "duration_minutes": a.default_duration_minutes, "capacity": a.default_capacity,
        "price_pence": a.price_pence, "requires_approval": a.requires_approval, "pay_at_booking": a.pay_at_booking,
        "booking_cutoff_hours": a.booking_cutoff_hours, "cancellation_cutoff_hours": a.cancellation_cutoff_hours,
        "waitlist_offer_hours": a.waitlist_offer_hours, "children_per_trainer": a.children_per_trainer,
        "qualifications": a.qualifications, "is_active": a.is_active, "audience": a.audience,
        "syllabus": a.syllabus, "certificate_valid_months": a.certificate_valid_months,
    })
}

/// Adds an activity to the catalogue; returns its id.
pub async fn create_activity(
    tx: &mut PgConnection,
    by: i64,
    activity: &Activity,
) -> sqlx::Result<Result<i64, FormErrors>> {
    let id = match store::insert_activity(tx, activity).await.on_constraint(activity_constraint_error)? {
        Ok(id) => id,
        Err(refused) => return Ok(Err(field_error(refused))),
    };
    audit::record(tx)
        .by(by)
        .action("activity.created")
        .entity("activity", id)
        .after(activity_json(activity))
        .await?;
    Ok(Ok(id))
}

/// Changes an activity's definition (sessions already made keep their own price and
/// capacity).
pub async fn update_activity(
    tx: &mut PgConnection,
    by: i64,
    id: i64,
    activity: &Activity,
) -> sqlx::Result<Result<(), Refused>> {
    let Some(before) = store::activity(tx, id).await? else {
        return Ok(Err(Refused::NotFound));
    };
    if let Err(refused) =
        store::update_activity(tx, id, activity).await.on_constraint(activity_constraint_error)?
    {
        return Ok(Err(Refused::Invalid(field_error(refused))));
    }
    audit::record(tx)
        .by(by)
        .action("activity.updated")
        .entity("activity", id)
        .before(activity_row_json(&before))
        .after(activity_json(activity))
        .await?;
    Ok(Ok(()))
}

// Venues --------------------------------------------------------------------------------

fn venue_constraint_error(constraint: &str) -> Option<(&'static str, &'static str)> {
    match constraint {
        "venues_name_key" => Some(("name", "A venue already has this name.")),
        _ => None,
    }
}

fn venue_json(v: &Venue) -> serde_json::Value {
    json!({ "name": v.name, "kind": v.kind.as_str(), "address": v.address, "postcode": v.postcode,
            "capacity": v.capacity, "notes": v.notes })
}

fn venue_row_json(v: &VenueRow) -> serde_json::Value {
    json!({ "name": v.name, "kind": v.kind.as_str(), "address": v.address, "postcode": v.postcode,
            "capacity": v.capacity, "notes": v.notes })
}

/// Adds a venue; returns its id.
pub async fn create_venue(
    tx: &mut PgConnection,
    by: i64,
    venue: &Venue,
) -> sqlx::Result<Result<i64, FormErrors>> {
    let id = match store::insert_venue(tx, venue).await.on_constraint(venue_constraint_error)? {
        Ok(id) => id,
        Err(refused) => return Ok(Err(field_error(refused))),
    };
    audit::record(tx).by(by).action("venue.created").entity("venue", id).after(venue_json(venue)).await?;
    Ok(Ok(id))
}

/// Changes a venue's details.
pub async fn update_venue(
    tx: &mut PgConnection,
    by: i64,
    id: i64,
    venue: &Venue,
) -> sqlx::Result<Result<(), Refused>> {
    let Some(before) = store::venue(tx, id).await? else {
        return Ok(Err(Refused::NotFound));
    };
    if let Err(refused) = store::update_venue(tx, id, venue).await.on_constraint(venue_constraint_error)? {
        return Ok(Err(Refused::Invalid(field_error(refused))));
    }
    audit::record(tx)
        .by(by)
        .action("venue.updated")
        .entity("venue", id)
        .before(venue_row_json(&before))
        .after(venue_json(venue))
        .await?;
    Ok(Ok(()))
}

// Packages ------------------------------------------------------------------------------

/// The message by the field for a constraint the database refused.
fn package_constraint_error(constraint: &str) -> Option<(&'static str, &'static str)> {
    match constraint {
        "packages_name_key" => Some(("name", "A package already has this name.")),
        "packages_price_not_negative" => Some(("price", PRICE_NOT_NEGATIVE)),
        "packages_credits_positive" | "packages_credits_match_kind" => Some(("credits", CREDITS_POSITIVE)),
        "packages_valid_days_positive" => Some(("valid_days", "Enter at least 1 day.")),
        "package_activities_activity_id_fkey" => Some(("activities", "Choose the activities from the list.")),
        _ => None,
    }
}

fn package_json(p: &Package) -> serde_json::Value {
    json!({ "name": p.name, "description": p.description, "kind": p.kind.as_str(),
            "credits": p.kind.credits(), "price_pence": p.price.pence(), "valid_days": p.valid_days,
            "activities": p.activities })
}

fn package_row_json(p: &PackageRow) -> serde_json::Value {
    json!({ "name": p.name, "description": p.description, "kind": p.kind, "credits": p.credits,
            "price_pence": p.price_pence, "valid_days": p.valid_days, "activities": p.activity_ids,
            "is_active": p.is_active })
}

/// Puts a package on sale; returns its id.
pub async fn create_package(
    tx: &mut PgConnection,
    by: i64,
    package: &Package,
) -> sqlx::Result<Result<i64, FormErrors>> {
    let id = match store::insert_package(tx, package).await.on_constraint(package_constraint_error)? {
        Ok(id) => id,
        Err(refused) => return Ok(Err(field_error(refused))),
    };
    audit::record(tx)
        .by(by)
        .action("package.created")
        .entity("package", id)
        .after(package_json(package))
        .await?;
    Ok(Ok(id))
}

/// Changes a package's definition (packages already bought keep what they hold).
pub async fn update_package(
    tx: &mut PgConnection,
    by: i64,
    id: i64,
    package: &Package,
) -> sqlx::Result<Result<(), Refused>> {
    let Some(before) = store::package(tx, id).await? else {
        return Ok(Err(Refused::NotFound));
    };
    if let Err(refused) =
        store::update_package(tx, id, package).await.on_constraint(package_constraint_error)?
    {
        return Ok(Err(Refused::Invalid(field_error(refused))));
    }
    audit::record(tx)
        .by(by)
        .action("package.updated")
        .entity("package", id)
        .before(package_row_json(&before))
        .after(package_json(package))
        .await?;
    Ok(Ok(()))
}

// Taking entries out of use -------------------------------------------------------------

fn entity(table: Offerable) -> &'static str {
    match table {
        Offerable::Activities => "activity",
        Offerable::Venues => "venue",
        Offerable::Packages => "package",
    }
}

/// Deactivates (`active` false) or reactivates an activity, venue or package, with its
/// audit row; returns its name, or None if there is no such entry.
pub async fn set_active(
    tx: &mut PgConnection,
    by: i64,
    table: Offerable,
    id: i64,
    active: bool,
) -> sqlx::Result<Option<String>> {
    let Some((name, was_active)) = store::set_active(tx, table, id, active).await? else {
        return Ok(None);
    };
    let verb = if active { "reactivated" } else { "deactivated" };
    let entity = entity(table);
    audit::record(tx)
        .by(by)
        .action(format!("{entity}.{verb}"))
        .entity(entity, id)
        .before(json!({ "is_active": was_active }))
        .after(json!({ "is_active": active }))
        .await?;
    Ok(Some(name))
}
