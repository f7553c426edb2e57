//! `/parent`: the family's children, what still needs doing, and what is coming up.

use askama::Template;
use axum::{extract::State, response::Response};
use serde::Deserialize;
use sqlx::{PgConnection, types::Json};
use time::{Date, OffsetDateTime};
use time_tz::Tz;

use crate::{
    AppState,
    auth::Parent,
    bookings::domain::BookingStatus,
    error::AppResult,
    ids::ChildId,
    web::{PageContext, fmt, form::render},
};

#[derive(Deserialize)]
struct ChildRow {
    id: ChildId,
    first_name: String,
    last_name: String,
    #[serde(with = "crate::db::json::date")]
    date_of_birth: Date,
    has_medical_flags: bool,
    has_emergency_contact: bool,
}

pub struct ChildCard {
    pub id: ChildId,
    pub name: String,
    pub age: i32,
    pub has_medical_flags: bool,
}

#[derive(Deserialize)]
struct UpcomingRow {
    child_name: String,
    activity: String,
    venue: String,
    #[serde(with = "crate::db::json::timestamp")]
    starts_at: OffsetDateTime,
    #[serde(with = "crate::db::json::timestamp")]
    ends_at: OffsetDateTime,
    status: BookingStatus,
}

pub struct Upcoming {
    pub child_name: String,
    pub activity: String,
    pub venue: String,
    pub when: String,
    pub until: String,
    pub status: BookingStatus,
}

impl Upcoming {
    pub fn status_label(&self) -> &'static str {
        self.status.label()
    }

    pub fn status_key(&self) -> &'static str {
        self.status.as_str()
    }
}

/// A place offered from the waitlist, still to claim.
#[derive(Deserialize)]
struct OfferRow {
    child_name: String,
    activity: String,
    #[serde(with = "crate::db::json::timestamp")]
    starts_at: OffsetDateTime,
    #[serde(with = "crate::db::json::timestamp::option")]
    offer_expires_at: Option<OffsetDateTime>,
}

/// A booking waiting on the parent.
#[derive(Deserialize)]
struct WaitingRow {
    id: i64,
    status: BookingStatus,
    #[serde(with = "crate::db::json::timestamp::option")]
    payment_due_by: Option<OffsetDateTime>,
}

/// A checklist item still to do, for the parent (no child) or one child.
#[derive(Deserialize)]
struct MissingRow {
    child_id: Option<ChildId>,
    child_name: Option<String>,
    item: String,
}

/// Everything the page shows, read in one round trip (see `db::json`).
struct Panels {
    children: Json<Vec<ChildRow>>,
    upcoming: Json<Vec<UpcomingRow>>,
    offers: Json<Vec<OfferRow>>,
    waiting: Json<Vec<WaitingRow>>,
    missing: Json<Vec<MissingRow>>,
    credits_left: i64,
}

#[derive(Template)]
#[template(path = "dashboards/parent.html")]
pub struct ParentDashboard {
    pub ctx: PageContext,
    pub children: Vec<ChildCard>,
    pub upcoming: Vec<Upcoming>,
    pub attention: Vec<Attention>,
    /// Package credits left to use.
    pub credits_left: i64,
}

/// Something the family still has to do, and where to do it.
pub struct Attention {
    pub href: String,
    /// The child's name; None for the parent's own items.
    pub who: Option<String>,
    pub what: String,
}

pub async fn show(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let today = super::local_today(tz);
    let mut conn = state.pool.acquire().await?;
    let panels = panels(&mut conn, parent.id.0).await?;
    let Panels { children, upcoming, offers, waiting, missing, credits_left } = panels;
    let attention = attention(offers.0, waiting.0, &children, missing.0, tz);
    let upcoming = upcoming
        .0
        .into_iter()
        .map(|u| Upcoming {
            child_name: u.child_name,
            activity: u.activity,
            venue: u.venue,
            when: fmt::day_time(u.starts_at, tz),
            until: fmt::time_of_day(u.ends_at, tz),
            status: u.status,
        })
        .collect();
    let children = children
        .0
        .into_iter()
        .map(|c| ChildCard {
            id: c.id,
            name: format!("{} {}", c.first_name, c.last_name),
            age: crate::bookings::domain::age_on(c.date_of_birth, today),
            has_medical_flags: c.has_medical_flags,
        })
        .collect();
    render(&ParentDashboard { ctx, children, upcoming, attention, credits_left })
}

/// The family's children; their places in the next two weeks; waitlist offers to
/// claim; bookings waiting on the parent (payment for held places, changes asked for,
/// drafts never submitted); checklist items still to do (the same list as
/// `children::store::missing_items`); and package credits left — one statement.
async fn panels(conn: &mut PgConnection, parent_id: i64) -> sqlx::Result<Panels> {
    sqlx::query_as!(
        Panels,
        r#"select
             coalesce((select json_agg(x order by x.date_of_birth) from (
                 select id, first_name, last_name, date_of_birth,
                        (medical_notes <> '' or allergies <> '' or additional_needs <> '') as has_medical_flags,
                        exists(select 1 from child_emergency_contacts e where e.child_id = c.id)
                            as has_emergency_contact
                 from children c where parent_id = $1 and archived_at is null and kind = 'child') x), '[]')
               as "children!: Json<Vec<ChildRow>>",
             coalesce((select json_agg(x order by x.starts_at, x.child_name) from (
                 select c.first_name as child_name, a.name as activity,
                        v.name as venue, s.starts_at, s.ends_at, b.status
                 from booking_participants p
                 join bookings b on b.id = p.booking_id
                 join children c on c.id = p.child_id
                 join sessions s on s.id = p.session_id
                 join activities a on a.id = s.activity_id
                 join venues v on v.id = s.venue_id
                 where b.parent_id = $1 and p.holds_place and s.status <> 'cancelled'
                   and s.starts_at > now() and s.starts_at < now() + interval '14 days') x), '[]')
               as "upcoming!: Json<Vec<UpcomingRow>>",
             coalesce((select json_agg(x order by x.starts_at) from (
                 select c.first_name as child_name, a.name as activity, s.starts_at, w.offer_expires_at
                 from waitlist_entries w
                 join children c on c.id = w.child_id
                 join sessions s on s.id = w.session_id
                 join activities a on a.id = s.activity_id
                 where w.parent_id = $1 and w.status = 'offered' and s.starts_at > now()) x), '[]')
               as "offers!: Json<Vec<OfferRow>>",
             coalesce((select json_agg(x order by x.status = 'awaiting_payment' desc, x.created_at) from (
                 select id, status, payment_due_by, created_at from bookings
                 where parent_id = $1 and status in ('awaiting_payment', 'changes_requested', 'draft')) x), '[]')
               as "waiting!: Json<Vec<WaitingRow>>",
             coalesce((select json_agg(m order by m.born nulls first, m.child_id, m.position, m.item) from (
                 select null::bigint as child_id, null::text as child_name, i.name as item,
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
                                  where d.item_id = i.id and d.child_id = c.id)) m), '[]')
               as "missing!: Json<Vec<MissingRow>>",
             (select coalesce(sum(balance), 0)::bigint from package_credits
              where parent_id = $1 and balance > 0 and expires_at > now()) as "credits_left!""#,
        parent_id,
    )
    .fetch_one(conn)
    .await
}

/// What the family still has to do, and where: offers to claim, bookings waiting on
/// them, children without an emergency contact, and checklist items.
fn attention(
    offers: Vec<OfferRow>,
    waiting: Vec<WaitingRow>,
    children: &[ChildRow],
    missing: Vec<MissingRow>,
    tz: &Tz,
) -> Vec<Attention> {
    let offers = offers.into_iter().map(|o| Attention {
        href: "/parent/waitlist".to_owned(),
        who: Some(o.child_name),
        what: format!(
            "a place at {} on {} is yours to claim until {}",
            o.activity,
            fmt::day_time(o.starts_at, tz),
            o.offer_expires_at.map(|t| fmt::day_time(t, tz)).unwrap_or_default()
        ),
    });
    let bookings = waiting.into_iter().map(|b| Attention {
        href: format!("/parent/bookings/{}", b.id),
        who: None,
        what: match (b.status, b.payment_due_by) {
            (BookingStatus::AwaitingPayment, Some(due_by)) => {
                format!("Booking #{}: pay by {} to keep the places", b.id, fmt::time_of_day(due_by, tz))
            }
            (BookingStatus::Draft, _) => {
                format!("Booking #{} is a draft: submit it to hold the places", b.id)
            }
            _ => format!("Booking #{}: the office asks for a change", b.id),
        },
    });
    let no_contact = children.iter().filter(|c| !c.has_emergency_contact).map(|c| Attention {
        href: format!("/parent/children/{}#contacts", c.id),
        who: Some(format!("{} {}", c.first_name, c.last_name)),
        what: "Add an emergency contact".to_owned(),
    });
    let checklist = missing.into_iter().map(|m| Attention {
        href: m.child_id.map_or_else(
            || "/parent/profile#checklist".to_owned(),
            |id| format!("/parent/children/{id}#checklist"),
        ),
        who: m.child_name,
        what: format!("{} (still to do)", m.item),
    });
    offers.chain(bookings).chain(no_contact).chain(checklist).collect()
}
