//! `/trainer`: what needs the trainer now, today's shifts with the children's flags,
//! then the week ahead. Built for a phone in a sports hall.

use askama::Template;
use axum::{extract::State, response::Response};
use serde::Deserialize;
use sqlx::types::Json;
use time::{Date, Duration, OffsetDateTime};

use crate::{
    AppState,
    auth::Trainer,
    error::AppResult,
    shifts::{domain::ShiftStatus, store as shifts},
    web::{PageContext, fmt, form::render},
};

pub struct Attention {
    pub href: String,
    pub text: String,
}

pub struct ChildFlag {
    pub name: String,
    pub flags: String,
    pub no_photos: bool,
}

pub struct ShiftCard {
    pub id: i64,
    pub session_id: i64,
    pub day: String,
    pub from: String,
    pub to: String,
    pub activity: String,
    pub venue: String,
    pub address: String,
    pub map_url: String,
    pub role: String,
    pub status: String,
    pub status_key: String,
    pub booked: i32,
    pub capacity: i32,
    pub children: Vec<ChildFlag>,
}

#[derive(Template)]
#[template(path = "dashboards/trainer.html")]
pub struct TrainerDashboard {
    pub ctx: PageContext,
    pub attention: Vec<Attention>,
    pub today: Vec<ShiftCard>,
    pub week_ahead: Vec<ShiftCard>,
}

#[derive(Deserialize)]
struct FlagRow {
    session_id: i64,
    name: String,
    flags: String,
    photo_consent: bool,
}

fn map_url(address: &str, postcode: &str) -> String {
    let query: String =
        form_urlencoded::byte_serialize(format!("{address} {postcode}").trim().as_bytes()).collect();
    format!("https://www.openstreetmap.org/search?query={query}")
}

pub async fn show(
    State(state): State<AppState>,
    Trainer(trainer): Trainer,
    ctx: PageContext,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let today = super::local_today(tz);
    let (day_start, tomorrow) =
        (super::start_of_day(today, tz), super::start_of_day(today + Duration::days(1), tz));
    let week_end = super::start_of_day(today + Duration::days(8), tz);
    let last_week = crate::timesheets::week_of(day_start, tz) - Duration::days(7);
    let mut conn = state.pool.acquire().await?;
    let Panels { shifts: Json(upcoming), flags: Json(flags), attention: Json(attention) } =
        panels(&mut conn, trainer.id.0, (day_start, tomorrow, week_end), last_week).await?;

    let card = |s: &shifts::Shift| ShiftCard {
        id: s.id.into(),
        session_id: s.session_id.into(),
        day: fmt::long_date(s.starts_at, tz),
        from: fmt::time_of_day(s.starts_at, tz),
        to: fmt::time_of_day(s.ends_at, tz),
        activity: s.activity.clone(),
        venue: s.venue.clone(),
        address: format!("{} {}", s.address, s.postcode).trim().to_owned(),
        map_url: map_url(&s.address, &s.postcode),
        role: s.role.label().to_owned(),
        status: s.status.label().to_owned(),
        status_key: s.status.key().to_owned(),
        booked: s.places_taken,
        capacity: s.capacity,
        children: flags
            .iter()
            .filter(|f| f.session_id == i64::from(s.session_id) && s.status != ShiftStatus::Offered)
            .map(|f| ChildFlag { name: f.name.clone(), flags: f.flags.clone(), no_photos: !f.photo_consent })
            .collect(),
    };
    let (today_cards, week_ahead): (Vec<ShiftCard>, Vec<ShiftCard>) = upcoming
        .iter()
        .filter(|s| !s.session_cancelled)
        .map(|s| (s.starts_at < tomorrow, card(s)))
        .fold((Vec::new(), Vec::new()), |(mut a, mut b), (is_today, c)| {
            if is_today {
                a.push(c)
            } else {
                b.push(c)
            }
            (a, b)
        });

    let attention = attention.into_iter().filter_map(|row| attention_item(row, today, tz)).collect();
    render(&TrainerDashboard { ctx, attention, today: today_cards, week_ahead })
}

/// One row of what needs the trainer: `kind` says which, and which of the rest it has.
#[derive(Deserialize)]
struct AttentionRow {
    kind: i32,
    id: i64,
    name: String,
    #[serde(rename = "starts_at", with = "crate::db::json::timestamp::option")]
    at: Option<OffsetDateTime>,
    #[serde(rename = "expires_on", with = "crate::db::json::date::option")]
    on: Option<Date>,
}

/// The page's three panels, read in one round trip (see `db::json`).
struct Panels {
    shifts: Json<Vec<shifts::Shift>>,
    flags: Json<Vec<FlagRow>>,
    attention: Json<Vec<AttentionRow>>,
}

/// The trainer's shifts from today to the week's end (as `shifts::store::for_trainer`
/// reads them); the flagged children of today's sessions the trainer works; and what
/// needs the trainer: offers waiting for an answer, registers not taken, last week's
/// timesheet, and qualifications about to expire, in that order.
///
/// The shifts are found by their start (`shifts_trainer_starts`, 0033_staff_dashboards.sql:
/// `lower(during)` is the session's start, kept in step by trigger), so only the shifts in
/// each window are read, not every shift the trainer ever had. Each flagged child is read
/// by its id (the lateral `limit 1` keeps it a nested loop): joined plainly, the planner
/// hashed every flagged child there is.
async fn panels(
    conn: &mut sqlx::PgConnection,
    trainer_id: i64,
    (day_start, tomorrow, week_end): (OffsetDateTime, OffsetDateTime, OffsetDateTime),
    last_week: Date,
) -> sqlx::Result<Panels> {
    sqlx::query_as!(
        Panels,
        r#"with mine as materialized (
             select sh.id, sh.session_id, sh.role, sh.status, a.name as activity, v.name as venue, v.address,
                    v.postcode, s.starts_at, s.ends_at, s.places_taken, s.capacity, sh.checked_in_at,
                    sh.checked_out_at, sh.late_minutes, s.status = 'cancelled' as session_cancelled
             from shifts sh
             join sessions s on s.id = sh.session_id
             join activities a on a.id = s.activity_id
             join venues v on v.id = s.venue_id
             where sh.trainer_id = $1 and sh.status in ('offered', 'accepted', 'checked_in', 'checked_out', 'no_show')
               and lower(sh.during) >= $2 and lower(sh.during) < $4
               and s.starts_at >= $2 and s.starts_at < $4)
           select
             coalesce((select json_agg(m order by m.starts_at, m.id) from mine m), '[]')
               as "shifts!: Json<Vec<shifts::Shift>>",
             coalesce((select json_agg(f order by f.first_name) from (
                 select p.session_id, c.first_name, c.name, c.photo_consent, c.flags
                 from booking_participants p
                 cross join lateral (
                     select c.first_name, c.first_name || ' ' || c.last_name as name, c.photo_consent,
                            concat_ws('; ', nullif(c.allergies, ''), nullif(c.medical_notes, ''),
                                      nullif(c.additional_needs, '')) as flags
                     from children c
                     where c.id = p.child_id
                       and (c.allergies <> '' or c.medical_notes <> '' or c.additional_needs <> ''
                            or not c.photo_consent)
                     limit 1) c
                 where p.session_id in (select m.session_id from mine m
                                        where m.starts_at < $3 and m.status <> 'offered')
                   and p.holds_place) f), '[]')
               as "flags!: Json<Vec<FlagRow>>",
             coalesce((select json_agg(r order by r.kind, r.starts_at, r.expires_on) from (
                 select 1 as kind, sh.id, a.name, s.starts_at, null::date as expires_on
                 from shifts sh join sessions s on s.id = sh.session_id join activities a on a.id = s.activity_id
                 where sh.trainer_id = $1 and sh.status = 'offered' and lower(sh.during) > now() and s.starts_at > now()
                 union all
                 select 2, s.id, a.name, s.starts_at, null
                 from shifts sh join sessions s on s.id = sh.session_id join activities a on a.id = s.activity_id
                 where sh.trainer_id = $1 and sh.status in ('accepted', 'checked_in', 'checked_out')
                   and lower(sh.during) < now() and lower(sh.during) > now() - interval '7 days'
                   and s.status <> 'cancelled' and s.starts_at < now() and s.starts_at > now() - interval '7 days'
                   and exists (select 1 from booking_participants p join bookings b on b.id = p.booking_id
                               left join attendance at on at.session_id = p.session_id and at.child_id = p.child_id
                               where p.session_id = s.id and p.holds_place and b.status = 'approved'
                                 and at.status is null)
                 union all
                 select 3, 0::bigint, ''::text, null::timestamptz, null::date
                 where exists(select 1 from time_entries where trainer_id = $1 and week_start = $5)
                   and not exists(select 1 from timesheets where trainer_id = $1 and week_start = $5
                                  and status in ('submitted', 'approved'))
                 union all
                 select 4, q.id, q.name, null, q.expires_on
                 from trainer_qualifications q
                 where q.trainer_id = $1 and q.expires_on is not null and q.expires_on <= current_date + 30) r), '[]')
               as "attention!: Json<Vec<AttentionRow>>""#,
        trainer_id,
        day_start,
        tomorrow,
        week_end,
        last_week,
    )
    .fetch_one(conn)
    .await
}

fn attention_item(row: AttentionRow, today: Date, tz: &time_tz::Tz) -> Option<Attention> {
    let AttentionRow { kind, id, name, at, on } = row;
    Some(match kind {
        1 => Attention {
            href: format!("/trainer/shifts/{id}"),
            text: format!("Shift offered: {name}, {}. Accept or decline.", fmt::day_time(at?, tz)),
        },
        2 => Attention {
            href: format!("/trainer/sessions/{id}/register"),
            text: format!("Register not taken: {name}, {}.", fmt::day_time(at?, tz)),
        },
        3 => Attention {
            href: "/trainer/timesheets".into(),
            text: "Last week's timesheet is ready to submit.".into(),
        },
        _ => {
            let on = on?;
            Attention {
                href: "/trainer".into(),
                text: if on < today {
                    format!("{name} expired on {on}. Tell the office when it is renewed.")
                } else {
                    format!("{name} expires on {on}. Book the renewal.")
                },
            }
        }
    })
}
