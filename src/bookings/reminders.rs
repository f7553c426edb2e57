//! The reminder the day before: each family with confirmed places tomorrow gets one
//! email listing them. The (family, day) row makes it once only, whichever app
//! process gets there first.

use time::{Duration, OffsetDateTime};
use time_tz::OffsetDateTimeExt;

use crate::{AppState, clock::start_of_day, error::AppResult, notifications::Email, web::fmt};

struct Place {
    parent_id: i64,
    parent_name: String,
    parent_email: String,
    child: String,
    activity: String,
    venue: String,
    starts_at: OffsetDateTime,
}

/// Sends tomorrow's reminders that have not gone yet; returns how many families.
pub async fn send_due(state: &AppState) -> AppResult<usize> {
    let tz = state.config.timezone;
    let tomorrow = OffsetDateTime::now_utc().to_timezone(tz).date() + Duration::days(1);
    let (from, until) = (start_of_day(tomorrow, tz), start_of_day(tomorrow + Duration::days(1), tz));
    let mut tx = state.pool.begin().await?;
    let places = sqlx::query_as!(
        Place,
        "select b.parent_id, u.name as parent_name, u.email as parent_email, c.first_name as child,
                a.name as activity, v.name as venue, s.starts_at
         from booking_participants p
         join bookings b on b.id = p.booking_id
         join users u on u.id = b.parent_id
         join children c on c.id = p.child_id
         join sessions s on s.id = p.session_id
         join activities a on a.id = s.activity_id
         join venues v on v.id = s.venue_id
         where p.holds_place and b.status = 'approved' and s.status = 'scheduled'
           and s.starts_at >= $1 and s.starts_at < $2
           and not exists (select 1 from booking_reminders r where r.parent_id = b.parent_id and r.for_date = $3)
         order by b.parent_id, s.starts_at",
        from,
        until,
        tomorrow,
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut families = 0;
    for family in places.chunk_by(|a, b| a.parent_id == b.parent_id) {
        let first = &family[0];
        let claimed = sqlx::query!(
            "insert into booking_reminders (parent_id, for_date) values ($1, $2) on conflict do nothing",
            first.parent_id,
            tomorrow,
        )
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            continue;
        }
        let lines: String = family
            .iter()
            .map(|p| {
                format!(
                    "- {} {}: {} at {}\n",
                    fmt::time_of_day(p.starts_at, tz),
                    p.child,
                    p.activity,
                    p.venue
                )
            })
            .collect();
        let email = Email {
            to: first.parent_email.clone(),
            subject: format!("Tomorrow: {}", fmt::long_date(first.starts_at, tz)),
            body: format!(
                "Hello {},\n\nA reminder of tomorrow's sessions:\n\n{lines}\nSee your bookings: {}/parent/bookings\n",
                first.parent_name, state.config.base_url
            ),
        };
        state.outbox.queue(&mut tx, &email).await?;
        families += 1;
    }
    tx.commit().await?;
    Ok(families)
}
