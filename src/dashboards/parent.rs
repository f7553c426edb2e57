//! `/parent`: the family's children, what still needs doing, and what is coming up.

use askama::Template;
use axum::{extract::State, response::Response};
use sqlx::FromRow;
use time::{Date, OffsetDateTime};

use crate::{
    AppState,
    auth::Parent,
    error::AppResult,
    web::{PageContext, fmt, form::render},
};

#[derive(FromRow)]
struct ChildRow {
    id: i64,
    first_name: String,
    last_name: String,
    date_of_birth: Date,
    has_medical_flags: bool,
    has_emergency_contact: bool,
}

pub struct ChildCard {
    pub id: i64,
    pub name: String,
    pub age: i32,
    pub has_medical_flags: bool,
}

#[derive(FromRow)]
struct UpcomingRow {
    child_name: String,
    activity: String,
    venue: String,
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
    status: String,
}

pub struct Upcoming {
    pub child_name: String,
    pub activity: String,
    pub venue: String,
    pub when: String,
    pub until: String,
    pub status: String,
    pub status_key: String,
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
    let children: Vec<ChildRow> = sqlx::query_as(
        "select id, first_name, last_name, date_of_birth,
                (medical_notes <> '' or allergies <> '' or additional_needs <> '') as has_medical_flags,
                exists(select 1 from child_emergency_contacts e where e.child_id = c.id)
                    as has_emergency_contact
         from children c where parent_id = $1 and archived_at is null
         order by date_of_birth",
    )
    .bind(parent.id)
    .fetch_all(&state.pool)
    .await?;
    let upcoming: Vec<UpcomingRow> = sqlx::query_as(
        "select c.first_name as child_name, a.name as activity,
                v.name as venue, s.starts_at, s.ends_at, b.status
         from booking_participants p
         join bookings b on b.id = p.booking_id
         join children c on c.id = p.child_id
         join sessions s on s.id = p.session_id
         join activities a on a.id = s.activity_id
         join venues v on v.id = s.venue_id
         where b.parent_id = $1 and p.holds_place and s.status <> 'cancelled'
           and s.starts_at > now() and s.starts_at < now() + interval '14 days'
         order by s.starts_at, c.first_name",
    )
    .bind(parent.id)
    .fetch_all(&state.pool)
    .await?;

    let mut conn = state.pool.acquire().await?;
    let missing = crate::children::store::missing_items(&mut conn, parent.id).await?;
    // Bookings waiting on the parent: payment for held places, changes asked for,
    // drafts never submitted.
    let waiting_on_parent: Vec<(i64, String, Option<time::OffsetDateTime>)> = sqlx::query_as(
        "select id, status, payment_due_by from bookings
          where parent_id = $1 and status in ('awaiting_payment', 'changes_requested', 'draft')
          order by status = 'awaiting_payment' desc, created_at",
    )
    .bind(parent.id)
    .fetch_all(&mut *conn)
    .await?;
    let offers = crate::waitlist::store::for_parent(&mut conn, parent.id).await?;
    let credits_left = crate::payments::packages::total_left(&mut conn, parent.id).await?;

    let no_contact = children.iter().filter(|c| !c.has_emergency_contact).map(|c| Attention {
        href: format!("/parent/children/{}#contacts", c.id),
        who: Some(format!("{} {}", c.first_name, c.last_name)),
        what: "Add an emergency contact".to_owned(),
    });
    let bookings = waiting_on_parent.into_iter().map(|(id, status, due_by)| Attention {
        href: format!("/parent/bookings/{id}"),
        who: None,
        what: match (status.as_str(), due_by) {
            ("awaiting_payment", Some(due_by)) => {
                format!("Booking #{id}: pay by {} to keep the places", fmt::time_of_day(due_by, tz))
            }
            ("draft", _) => format!("Booking #{id} is a draft: submit it to hold the places"),
            _ => format!("Booking #{id}: the office asks for a change"),
        },
    });
    let offers = offers
        .into_iter()
        .filter(|o| o.status == crate::waitlist::store::WaitlistStatus::Offered)
        .map(|o| Attention {
            href: "/parent/waitlist".to_owned(),
            who: Some(o.child_name),
            what: format!(
                "a place at {} on {} is yours to claim until {}",
                o.activity,
                fmt::day_time(o.starts_at, tz),
                o.offer_expires_at.map(|t| fmt::day_time(t, tz)).unwrap_or_default()
            ),
        });
    let attention = offers
        .chain(bookings)
        .chain(no_contact)
        .chain(missing.into_iter().map(|m| Attention {
            href: m.child_id.map_or_else(
                || "/parent/profile#checklist".to_owned(),
                |id| format!("/parent/children/{id}#checklist"),
            ),
            who: m.child_name,
            what: format!("{} (still to do)", m.item),
        }))
        .collect();
    let children = children
        .into_iter()
        .map(|c| ChildCard {
            id: c.id,
            name: format!("{} {}", c.first_name, c.last_name),
            age: crate::bookings::domain::age_on(c.date_of_birth, today),
            has_medical_flags: c.has_medical_flags,
        })
        .collect();
    let upcoming = upcoming
        .into_iter()
        .map(|u| Upcoming {
            child_name: u.child_name,
            activity: u.activity,
            venue: u.venue,
            when: fmt::day_time(u.starts_at, tz),
            until: fmt::time_of_day(u.ends_at, tz),
            status: u.status.replace('_', " "),
            status_key: u.status,
        })
        .collect();
    render(&ParentDashboard { ctx, children, upcoming, attention, credits_left })
}
