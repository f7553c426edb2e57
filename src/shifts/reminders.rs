//! The evening-before email: from 17:00 local, each trainer with shifts tomorrow gets
//! one email listing them. The (trainer, day) row makes it once only.

use time::{Duration, OffsetDateTime, Time};
use time_tz::OffsetDateTimeExt;

use crate::{AppState, clock::start_of_day, error::AppResult, notifications::Email, web::fmt};

/// Reminders go out from this local time the day before.
const FROM: Time = time::macros::time!(17:00);

struct Row {
    trainer_id: i64,
    name: String,
    email: String,
    activity: String,
    venue: String,
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
}

/// Sends tomorrow's shift reminders not yet sent; returns how many trainers.
pub async fn send_due(state: &AppState, now: OffsetDateTime) -> AppResult<usize> {
    let tz = state.config.timezone;
    let local = now.to_timezone(tz);
    if local.time() < FROM {
        return Ok(0);
    }
    let tomorrow = local.date() + Duration::days(1);
    let mut tx = state.pool.begin().await?;
    let rows = sqlx::query_as!(
        Row,
        r#"select sh.trainer_id as "trainer_id!", u.name, u.email, a.name as activity, v.name as venue, s.starts_at, s.ends_at
         from shifts sh
         join users u on u.id = sh.trainer_id
         join sessions s on s.id = sh.session_id
         join activities a on a.id = s.activity_id
         join venues v on v.id = s.venue_id
         where sh.status = 'accepted' and s.status = 'scheduled' and s.starts_at >= $1 and s.starts_at < $2
           and not exists (select 1 from shift_reminders r where r.trainer_id = sh.trainer_id and r.for_date = $3)
         order by sh.trainer_id, s.starts_at"#,
        start_of_day(tomorrow, tz),
        start_of_day(tomorrow + Duration::days(1), tz),
        tomorrow,
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut sent = 0;
    for shifts in rows.chunk_by(|a, b| a.trainer_id == b.trainer_id) {
        let first = &shifts[0];
        let claimed = sqlx::query!(
            "insert into shift_reminders (trainer_id, for_date) values ($1, $2) on conflict do nothing",
            first.trainer_id,
            tomorrow,
        )
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            continue;
        }
        let lines: String = shifts
            .iter()
            .map(|s| {
                format!(
                    "- {}–{} {} at {}\n",
                    fmt::time_of_day(s.starts_at, tz),
                    fmt::time_of_day(s.ends_at, tz),
                    s.activity,
                    s.venue
                )
            })
            .collect();
        let email = Email {
            to: first.email.clone(),
            subject: format!("Your shifts tomorrow, {}", fmt::long_date(first.starts_at, tz)),
            body: format!(
                "Hello {},\n\nTomorrow you are working:\n\n{lines}\nDetails and registers: {}/trainer\n",
                first.name, state.config.base_url
            ),
        };
        state.outbox.queue(&mut tx, &email).await?;
        sent += 1;
    }
    tx.commit().await?;
    Ok(sent)
}
