//! The demo's inquiries from the public: an open one from a company with four places
//! held on the next Paediatric First Aid course, and one the office has answered.

use anyhow::Context;
use sqlx::PgConnection;

/// Loads after the sessions: holds are placed on the next bookable first-aid date.
pub async fn load(conn: &mut PgConnection, office: i64) -> anyhow::Result<()> {
    let course = sqlx::query!(
        r#"select c.id as "id!", c.activity_id as "activity_id!" from public_course_sessions c
           join activities a on a.id = c.activity_id
           where a.name = 'Paediatric First Aid' and c.places_left >= 4
           order by c.starts_at, c.id limit 1"#
    )
    .fetch_optional(&mut *conn)
    .await
    .context("Failed to find a demo course date to hold places on")?;
    let activity = course.as_ref().map(|c| c.activity_id);

    let open = sqlx::query_scalar!(
        "insert into inquiries (name, email, phone, activity_id, group_size, preferred_dates, message, created_at)
         values ('Dana Whitfield', 'dana.whitfield@brightstart-nursery.test', '0113 496 0321', $1, 4,
                 'The next date, or any weekday this month',
                 'We are a nursery of 12 staff and four need their paediatric first aid renewed. Can you keep four places while our manager signs off the cost?',
                 now() - interval '1 day') returning id",
        activity,
    )
    .fetch_one(&mut *conn)
    .await
    .context("Failed to insert the demo's open inquiry")?;
    if let Some(c) = &course {
        sqlx::query!(
            "insert into provisional_holds (session_id, inquiry_id, places, expires_at, held_for, created_by)
             values ($1, $2, 4, now() + interval '5 days', 'Brightstart Nursery', $3)",
            c.id,
            open,
            office,
        )
        .execute(&mut *conn)
        .await
        .context("Failed to hold the demo's places")?;
    }

    let answered = sqlx::query_scalar!(
        "insert into inquiries (name, email, activity_id, group_size, preferred_dates, message, status,
                                answered_at, created_at)
         values ('Marcus Bell', 'marcus@bell-builders.test', null, 8, 'Saturdays',
                 'Do you run first aid at work courses on site for a building firm?', 'answered',
                 now() - interval '2 days', now() - interval '3 days') returning id"
    )
    .fetch_one(&mut *conn)
    .await
    .context("Failed to insert the demo's answered inquiry")?;
    sqlx::query!(
        "insert into inquiry_replies (inquiry_id, author_id, body, created_at)
         values ($1, $2, 'Yes: we can train up to 12 people at your site on a Saturday. Reply with two or three dates that suit and we will hold them.', now() - interval '2 days')",
        answered,
        office,
    )
    .execute(&mut *conn)
    .await
    .context("Failed to insert the demo's reply")?;
    Ok(())
}
