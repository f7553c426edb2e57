//! The SQL for activities and venues.

use sqlx::PgConnection;

use super::domain::{Activity, Audience, Package, Venue, VenueKind};

#[derive(Clone, Debug)]
pub struct ActivityRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub min_age_years: Option<i32>,
    pub max_age_years: Option<i32>,
    pub default_duration_minutes: i32,
    pub default_capacity: i32,
    pub price_pence: i32,
    pub requires_approval: bool,
    pub pay_at_booking: bool,
    pub booking_cutoff_hours: i32,
    pub cancellation_cutoff_hours: i32,
    pub waitlist_offer_hours: i32,
    pub children_per_trainer: Option<i32>,
    pub is_active: bool,
    /// Required qualifications, comma separated.
    pub qualifications: String,
    pub audience: Audience,
    pub syllabus: String,
    pub certificate_valid_months: Option<i32>,
}

// The two queries of `ActivityRow` share their column list, written out in each.

pub async fn activities(conn: &mut PgConnection, include_inactive: bool) -> sqlx::Result<Vec<ActivityRow>> {
    sqlx::query_as!(
        ActivityRow,
        r#"select a.id, a.name, a.description, a.min_age_years, a.max_age_years,
                a.default_duration_minutes, a.default_capacity, a.price_pence, a.requires_approval,
                a.pay_at_booking, a.booking_cutoff_hours, a.cancellation_cutoff_hours, a.waitlist_offer_hours,
                a.children_per_trainer, a.is_active,
                coalesce((select string_agg(q.name, ', ' order by q.name)
                          from activity_required_qualifications q where q.activity_id = a.id), '') as "qualifications!",
                a.audience as "audience: Audience", a.syllabus, a.certificate_valid_months
         from activities a
         where $1 or a.is_active order by a.is_active desc, a.name"#,
        include_inactive,
    )
    .fetch_all(conn)
    .await
}

pub async fn activity(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<ActivityRow>> {
    sqlx::query_as!(
        ActivityRow,
        r#"select a.id, a.name, a.description, a.min_age_years, a.max_age_years,
                a.default_duration_minutes, a.default_capacity, a.price_pence, a.requires_approval,
                a.pay_at_booking, a.booking_cutoff_hours, a.cancellation_cutoff_hours, a.waitlist_offer_hours,
                a.children_per_trainer, a.is_active,
                coalesce((select string_agg(q.name, ', ' order by q.name)
                          from activity_required_qualifications q where q.activity_id = a.id), '') as "qualifications!",
                a.audience as "audience: Audience", a.syllabus, a.certificate_valid_months
         from activities a
         where a.id = $1"#,
        id,
    )
    .fetch_optional(conn)
    .await
}

pub async fn insert_activity(conn: &mut PgConnection, a: &Activity) -> sqlx::Result<i64> {
    let id = sqlx::query_scalar!(
        "insert into activities (name, description, min_age_years, max_age_years, default_duration_minutes,
                                 default_capacity, price_pence, requires_approval, booking_cutoff_hours,
                                 cancellation_cutoff_hours, waitlist_offer_hours, children_per_trainer,
                                 pay_at_booking, audience, syllabus, certificate_valid_months)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) returning id",
        a.name,
        a.description,
        a.min_age,
        a.max_age,
        a.duration_minutes,
        a.capacity,
        a.price.pence(),
        a.requires_approval,
        a.booking_cutoff_hours,
        a.cancellation_cutoff_hours,
        a.waitlist_offer_hours,
        a.children_per_trainer,
        a.pay_at_booking,
        a.course.audience as _,
        a.course.syllabus,
        a.course.certificate_valid_months,
    )
    .fetch_one(&mut *conn)
    .await?;
    set_qualifications(conn, id, &a.qualifications).await?;
    Ok(id)
}

pub async fn update_activity(conn: &mut PgConnection, id: i64, a: &Activity) -> sqlx::Result<()> {
    sqlx::query!(
        "update activities set name = $2, description = $3, min_age_years = $4, max_age_years = $5,
                default_duration_minutes = $6, default_capacity = $7, price_pence = $8,
                requires_approval = $9, booking_cutoff_hours = $10, cancellation_cutoff_hours = $11,
                waitlist_offer_hours = $12, children_per_trainer = $13, pay_at_booking = $14,
                audience = $15, syllabus = $16, certificate_valid_months = $17
         where id = $1",
        id,
        a.name,
        a.description,
        a.min_age,
        a.max_age,
        a.duration_minutes,
        a.capacity,
        a.price.pence(),
        a.requires_approval,
        a.booking_cutoff_hours,
        a.cancellation_cutoff_hours,
        a.waitlist_offer_hours,
        a.children_per_trainer,
        a.pay_at_booking,
        a.course.audience as _,
        a.course.syllabus,
        a.course.certificate_valid_months,
    )
    .execute(&mut *conn)
    .await?;
    set_qualifications(conn, id, &a.qualifications).await
}

async fn set_qualifications(conn: &mut PgConnection, id: i64, names: &[String]) -> sqlx::Result<()> {
    sqlx::query!("delete from activity_required_qualifications where activity_id = $1", id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "insert into activity_required_qualifications (activity_id, name)
         select $1, unnest($2::text[]) on conflict do nothing",
        id,
        names,
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Clone, Debug)]
pub struct VenueRow {
    pub id: i64,
    pub name: String,
    pub kind: VenueKind,
    pub address: String,
    pub postcode: String,
    pub capacity: Option<i32>,
    pub notes: String,
    pub is_active: bool,
}

pub async fn venues(conn: &mut PgConnection, include_inactive: bool) -> sqlx::Result<Vec<VenueRow>> {
    sqlx::query_as!(
        VenueRow,
        r#"select id, name, kind as "kind: VenueKind", address, postcode, capacity, notes, is_active from venues
         where $1 or is_active order by is_active desc, name"#,
        include_inactive,
    )
    .fetch_all(conn)
    .await
}

pub async fn venue(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<VenueRow>> {
    sqlx::query_as!(
        VenueRow,
        r#"select id, name, kind as "kind: VenueKind", address, postcode, capacity, notes, is_active from venues
         where id = $1"#,
        id,
    )
    .fetch_optional(conn)
    .await
}

pub async fn insert_venue(conn: &mut PgConnection, v: &Venue) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "insert into venues (name, kind, address, postcode, capacity, notes)
         values ($1, $2, $3, $4, $5, $6) returning id",
        v.name,
        v.kind as _,
        v.address,
        v.postcode,
        v.capacity,
        v.notes,
    )
    .fetch_one(conn)
    .await
}

pub async fn update_venue(conn: &mut PgConnection, id: i64, v: &Venue) -> sqlx::Result<()> {
    sqlx::query!(
        "update venues set name = $2, kind = $3, address = $4, postcode = $5, capacity = $6, notes = $7
         where id = $1",
        id,
        v.name,
        v.kind as _,
        v.address,
        v.postcode,
        v.capacity,
        v.notes,
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Clone, Debug)]
pub struct PackageRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub kind: String,
    pub credits: Option<i32>,
    pub price_pence: i32,
    pub valid_days: i32,
    pub is_active: bool,
    /// The activities covered, by name, comma separated.
    pub activities: String,
    pub activity_ids: Vec<i64>,
}

// The two queries of `PackageRow` share their column list, written out in each.

pub async fn packages(conn: &mut PgConnection) -> sqlx::Result<Vec<PackageRow>> {
    sqlx::query_as!(
        PackageRow,
        r#"select p.id, p.name, p.description, p.kind, p.credits, p.price_pence, p.valid_days, p.is_active,
                coalesce((select string_agg(a.name, ', ' order by a.name) from package_activities pa
                          join activities a on a.id = pa.activity_id where pa.package_id = p.id), '') as "activities!",
                array(select pa.activity_id from package_activities pa where pa.package_id = p.id
                      order by pa.activity_id) as "activity_ids!"
         from packages p
         order by p.is_active desc, p.name"#
    )
    .fetch_all(conn)
    .await
}

pub async fn package(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<PackageRow>> {
    sqlx::query_as!(
        PackageRow,
        r#"select p.id, p.name, p.description, p.kind, p.credits, p.price_pence, p.valid_days, p.is_active,
                coalesce((select string_agg(a.name, ', ' order by a.name) from package_activities pa
                          join activities a on a.id = pa.activity_id where pa.package_id = p.id), '') as "activities!",
                array(select pa.activity_id from package_activities pa where pa.package_id = p.id
                      order by pa.activity_id) as "activity_ids!"
         from packages p
         where p.id = $1"#,
        id,
    )
    .fetch_optional(conn)
    .await
}

pub async fn insert_package(conn: &mut PgConnection, p: &Package) -> sqlx::Result<i64> {
    let id = sqlx::query_scalar!(
        "insert into packages (name, description, kind, credits, price_pence, valid_days)
         values ($1, $2, $3, $4, $5, $6) returning id",
        p.name,
        p.description,
        p.kind.as_str(),
        p.kind.credits(),
        p.price.pence(),
        p.valid_days,
    )
    .fetch_one(&mut *conn)
    .await?;
    set_package_activities(conn, id, &p.activities).await?;
    Ok(id)
}

pub async fn update_package(conn: &mut PgConnection, id: i64, p: &Package) -> sqlx::Result<()> {
    sqlx::query!(
        "update packages set name = $2, description = $3, kind = $4, credits = $5, price_pence = $6,
                valid_days = $7
         where id = $1",
        id,
        p.name,
        p.description,
        p.kind.as_str(),
        p.kind.credits(),
        p.price.pence(),
        p.valid_days,
    )
    .execute(&mut *conn)
    .await?;
    set_package_activities(conn, id, &p.activities).await
}

async fn set_package_activities(conn: &mut PgConnection, id: i64, activities: &[i64]) -> sqlx::Result<()> {
    sqlx::query!("delete from package_activities where package_id = $1", id).execute(&mut *conn).await?;
    sqlx::query!(
        "insert into package_activities (package_id, activity_id)
         select $1, unnest($2::bigint[]) on conflict do nothing",
        id,
        activities,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The catalogue's tables whose rows are taken out of use and brought back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offerable {
    Activities,
    Venues,
    Packages,
}

/// Activates or deactivates a row of one of the catalogue's tables, locked; returns
/// its name and whether it was active, or None if there is no such row.
pub async fn set_active(
    conn: &mut PgConnection,
    table: Offerable,
    id: i64,
    active: bool,
) -> sqlx::Result<Option<(String, bool)>> {
    // One literal per table: a table's name cannot be a parameter.
    let row = match table {
        Offerable::Activities => sqlx::query!(
            "with old as (select id, is_active from activities where id = $1 for update)
             update activities t set is_active = $2 from old where t.id = old.id
             returning t.name, old.is_active",
            id,
            active,
        )
        .fetch_optional(conn)
        .await?
        .map(|r| (r.name, r.is_active)),
        Offerable::Venues => sqlx::query!(
            "with old as (select id, is_active from venues where id = $1 for update)
             update venues t set is_active = $2 from old where t.id = old.id
             returning t.name, old.is_active",
            id,
            active,
        )
        .fetch_optional(conn)
        .await?
        .map(|r| (r.name, r.is_active)),
        Offerable::Packages => sqlx::query!(
            "with old as (select id, is_active from packages where id = $1 for update)
             update packages t set is_active = $2 from old where t.id = old.id
             returning t.name, old.is_active",
            id,
            active,
        )
        .fetch_optional(conn)
        .await?
        .map(|r| (r.name, r.is_active)),
    };
    Ok(row)
}
