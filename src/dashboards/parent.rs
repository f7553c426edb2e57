//! `/parent`: the family's children, what still needs doing, and what is coming up.

use askama::Template;
use axum::{extract::State, response::Response};
use sqlx::PgConnection;
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

struct ChildRow {
    id: ChildId,
    first_name: String,
    last_name: String,
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

struct UpcomingRow {
    child_name: String,
    activity: String,
    venue: String,
    starts_at: OffsetDateTime,
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
struct OfferRow {
    child_name: String,
    activity: String,
    starts_at: OffsetDateTime,
    offer_expires_at: Option<OffsetDateTime>,
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
    let children = sqlx::query_as!(
        ChildRow,
        r#"select id as "id: ChildId", first_name, last_name, date_of_birth as "date_of_birth!",
                  (medical_notes <> '' or allergies <> '' or additional_needs <> '') as "has_medical_flags!",
                  exists(select 1 from child_emergency_contacts e where e.child_id = c.id)
                      as "has_emergency_contact!"
           from children c where parent_id = $1 and archived_at is null and kind = 'child'
           order by date_of_birth"#,
        parent.id,
    )
    .fetch_all(&mut *conn)
    .await?;
    let upcoming = upcoming(&mut conn, parent.id, tz).await?;
    let attention = attention(&mut conn, parent.id, &children, tz).await?;
    let credits_left = crate::payments::packages::total_left(&mut conn, parent.id).await?;
    let children = children
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

/// The family's places in the next two weeks.
async fn upcoming(conn: &mut PgConnection, parent_id: i64, tz: &Tz) -> sqlx::Result<Vec<Upcoming>> {
    let rows = sqlx::query_as!(
        UpcomingRow,
        r#"select c.first_name as child_name, a.name as activity,
                  v.name as venue, s.starts_at, s.ends_at, b.status as "status: BookingStatus"
           from booking_participants p
           join bookings b on b.id = p.booking_id
           join children c on c.id = p.child_id
           join sessions s on s.id = p.session_id
           join activities a on a.id = s.activity_id
           join venues v on v.id = s.venue_id
           where b.parent_id = $1 and p.holds_place and s.status <> 'cancelled'
             and s.starts_at > now() and s.starts_at < now() + interval '14 days'
           order by s.starts_at, c.first_name"#,
        parent_id,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|u| Upcoming {
            child_name: u.child_name,
            activity: u.activity,
            venue: u.venue,
            when: fmt::day_time(u.starts_at, tz),
            until: fmt::time_of_day(u.ends_at, tz),
            status: u.status,
        })
        .collect())
}

/// What the family still has to do: offers to claim, bookings waiting on them
/// (payment for held places, changes asked for, drafts never submitted), children
/// without an emergency contact, and checklist items.
async fn attention(
    conn: &mut PgConnection,
    parent_id: i64,
    children: &[ChildRow],
    tz: &Tz,
) -> sqlx::Result<Vec<Attention>> {
    let offers = sqlx::query_as!(
        OfferRow,
        "select c.first_name as child_name, a.name as activity, s.starts_at, w.offer_expires_at
         from waitlist_entries w
         join children c on c.id = w.child_id
         join sessions s on s.id = w.session_id
         join activities a on a.id = s.activity_id
         where w.parent_id = $1 and w.status = 'offered' and s.starts_at > now()
         order by s.starts_at",
        parent_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    let waiting_on_parent = sqlx::query!(
        r#"select id, status as "status: BookingStatus", payment_due_by from bookings
           where parent_id = $1 and status in ('awaiting_payment', 'changes_requested', 'draft')
           order by status = 'awaiting_payment' desc, created_at"#,
        parent_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    let missing = crate::children::store::missing_items(conn, parent_id).await?;

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
    let bookings = waiting_on_parent.into_iter().map(|b| Attention {
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
    Ok(offers.chain(bookings).chain(no_contact).chain(checklist).collect())
}
