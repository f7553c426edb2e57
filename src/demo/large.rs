//! The large demo: a big provider's two years of history loaded on top of the small demo
//! by bulk SQL (one `insert … select … from generate_series` per step, never a statement
//! per row), for benchmarks and for seeing how the pages cope at scale.
//!
//! Everything is computed from row numbers, so a load is repeatable and every invariant
//! holds by construction: each session's places stay under its capacity, a child holds
//! one place per session, a trainer's shifts never overlap (at most one session a day
//! per trainer, or hours apart) and none falls in approved time off. The database checks
//! all of it as the rows go in: no constraint or trigger is switched off. Ids are
//! reserved from each table's sequence up front, so related rows can be joined by
//! arithmetic instead of by reading the ids back.
//!
//! Every statement is a literal `query!`, checked at compile time like the app's own. The
//! shared name lists are bound as arrays (`FIRST_NAMES`, …); the steps after the bookings
//! read the rows just inserted (their ids are the place numbers plus the block's first),
//! so no temporary table is needed.

use std::time::Instant;

use anyhow::{Context, bail};
use sqlx::{PgConnection, PgPool};
use time::{Date, Duration, OffsetDateTime};
use time_tz::{OffsetDateTimeExt, TimeZone, Tz};

/// A generated person's name from their row number `k`: `FIRST_NAMES[k % 24]` and
/// `SURNAMES[(k / 24) % 24]`, bound as arrays.
const FIRST_NAMES: [&str; 24] = [
    "Olivia", "Noah", "Amelia", "Muhammad", "Isla", "George", "Ava", "Oliver", "Mia", "Arthur", "Ivy", "Leo",
    "Freya", "Harry", "Lily", "Oscar", "Sofia", "Jack", "Grace", "Theo", "Aisha", "Finley", "Priya", "Kwame",
];
const SURNAMES: [&str; 24] = [
    "Smith", "Jones", "Patel", "Williams", "Brown", "Taylor", "Khan", "Davies", "Evans", "Wilson", "Thomas",
    "Johnson", "Roberts", "Walker", "Wright", "Robinson", "Okafor", "Thompson", "White", "Hughes", "Edwards",
    "Green", "Ali", "Nowak",
];

/// Children's first names.
const CHILD_NAMES: [&str; 24] = [
    "Alfie", "Poppy", "Jacob", "Evie", "Max", "Ella", "Charlie", "Rosie", "Henry", "Florence", "Teddy",
    "Willow", "Archie", "Daisy", "Ethan", "Sienna", "Lucas", "Hana", "Yusuf", "Maryam", "Tomasz", "Zofia",
    "Kofi", "Esme",
];

/// The large demo's activities (added by `catalogue`), for `name = any(…)`.
const ACTIVITIES: [&str; 6] =
    ["Swim School", "Gymnastics", "Holiday Club", "Coding Club", "Street Dance", "Drama"];

// How much to load on top of the small demo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    pub families: i64,
    pub children: i64,
    pub sessions: i64,
    /// Booking places; each is a booking of one child onto one session.
    pub places: i64,
    pub payments: i64,
    pub audit_rows: i64,
    pub trainers: i64,
}

impl Sizes {
    /// A large provider after two years (issue 20).
    pub const LARGE: Sizes = Sizes {
        families: 10_000,
        children: 15_000,
        sessions: 20_000,
        places: 1_000_000,
        payments: 300_000,
        audit_rows: 500_000,
        trainers: 200,
    };

    /// Every size divided by `n` (at least one of each): the same shape, smaller, for
    /// tests and quick trials.
    pub fn divided_by(self, n: i64) -> Sizes {
        let part = |size: i64| (size / n.max(1)).max(1);
        Sizes {
            families: part(self.families),
            children: part(self.children),
            sessions: part(self.sessions),
            places: part(self.places),
            payments: part(self.payments),
            audit_rows: part(self.audit_rows),
            trainers: part(self.trainers),
        }
    }

    /// The most places any one session gets (places are dealt round the sessions).
    fn places_per_session(&self) -> i64 {
        (self.places + self.sessions - 1) / self.sessions
    }
}

/// Generated families sign in as `family<N>@…` and trainers as `trainer<N>@…`, with the
/// demo password.
pub const FAMILY_DOMAIN: &str = "families.portico.test";
pub const TRAINER_DOMAIN: &str = "staff.portico.test";

/// The history runs from two years ago to six weeks ahead.
const DAYS_BACK: i64 = 730;
const DAYS_AHEAD: i64 = 42;
/// Room left in every session beyond the generated places: the demo family's bookings
/// and whatever a visitor books.
const HEADROOM: i64 = 10;
/// About this many shifts go to the demo trainer and bookings to the demo family.
const DEMO_TRAINER_SHIFTS: i64 = 400;
const DEMO_PARENT_BOOKINGS: i64 = 150;

/// What a load added, counted from the database afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub families: i64,
    pub children: i64,
    pub trainers: i64,
    pub sessions: i64,
    pub shifts: i64,
    pub time_entries: i64,
    pub timesheets: i64,
    pub bookings: i64,
    pub places: i64,
    pub payments: i64,
    pub refunds: i64,
    pub audit_rows: i64,
}

impl std::fmt::Display for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows = [
            ("new families", self.families),
            ("their children", self.children),
            ("new trainers", self.trainers),
            ("sessions", self.sessions),
            ("shifts", self.shifts),
            ("time entries", self.time_entries),
            ("timesheets", self.timesheets),
            ("bookings", self.bookings),
            ("booking places", self.places),
            ("payments", self.payments),
            ("refunds", self.refunds),
            ("audit rows", self.audit_rows),
        ];
        for (name, count) in rows {
            writeln!(f, "  {name:<16} {count:>9}")?;
        }
        Ok(())
    }
}

/// The demo's own people the large history is woven around.
struct DemoPeople {
    parent: i64,
    trainer: i64,
    coordinator: i64,
    finance: i64,
}

/// First ids of each block of rows reserved for this load.
struct Blocks {
    families: i64,
    trainers: i64,
    children: i64,
    sessions: i64,
    shifts: i64,
    bookings: i64,
    demo_bookings: i64,
}

/// The calendar's shape: which day and slot a session number falls on.
struct Calendar {
    first_day: Date,
    today: Date,
    days: i64,
    /// The demo trainer takes the first session of every `every`-th day.
    every: i64,
}

/// Loads the large history onto a database holding the small demo. Refuses if the demo
/// is missing or the large history is already there. One transaction: all or nothing.
pub async fn load(
    pool: &PgPool,
    tz: &'static Tz,
    password_hash: &str,
    sizes: Sizes,
) -> anyhow::Result<Loaded> {
    if sizes.places_per_session() > sizes.children {
        bail!(
            "{} places over {} sessions need more than {} children",
            sizes.places,
            sizes.sessions,
            sizes.children
        );
    }
    let started = Instant::now();
    let now = OffsetDateTime::now_utc();
    let today = now.to_timezone(tz).date();
    let days = DAYS_BACK + DAYS_AHEAD;
    let days_with_sessions = sizes.sessions.min(days);
    let calendar = Calendar {
        first_day: today - Duration::days(DAYS_BACK),
        today,
        days,
        every: (days_with_sessions / DEMO_TRAINER_SHIFTS).max(2),
    };
    let mut tx = pool.begin().await.context("Failed to start the large demo transaction")?;
    let conn = &mut *tx;
    sqlx::query!("set local work_mem = '64MB'",).execute(&mut *conn).await?;
    let people = demo_people(conn).await?;
    let family_zero = format!("family0@{FAMILY_DOMAIN}");
    let loaded: bool = sqlx::query_scalar!(
        r#"select exists(select 1 from users where email = $1) as "exists!""#,
        &family_zero,
    )
    .fetch_one(&mut *conn)
    .await?;
    if loaded {
        bail!("The large demo is already loaded");
    }
    let blocks = Blocks {
        families: reserve(conn, "users", sizes.families).await?,
        trainers: reserve(conn, "users", sizes.trainers).await?,
        children: reserve(conn, "children", sizes.children).await?,
        sessions: reserve(conn, "sessions", sizes.sessions).await?,
        shifts: reserve(conn, "shifts", sizes.sessions).await?,
        bookings: reserve(conn, "bookings", sizes.places).await?,
        demo_bookings: reserve(conn, "bookings", DEMO_PARENT_BOOKINGS.min(sizes.sessions)).await?,
    };
    let load = Load { conn, tz, now, sizes, people, blocks, calendar, hash: password_hash };
    load.run().await?;
    tx.commit().await.context("Failed to commit the large demo")?;
    timed("analyze", async {
        sqlx::query!("analyze",).execute(pool).await.context("Failed to analyze the tables")
    })
    .await?;
    let loaded = count(pool).await?;
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "loaded the large demo");
    Ok(loaded)
}

/// Runs one step, logging how long it took.
async fn timed<T>(step: &str, work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    let started = Instant::now();
    let result = work.await?;
    tracing::info!(step, seconds = started.elapsed().as_secs_f64(), "large demo step done");
    Ok(result)
}

async fn demo_people(conn: &mut PgConnection) -> anyhow::Result<DemoPeople> {
    Ok(DemoPeople {
        parent: user_id(conn, "parent@portico.test").await?,
        trainer: user_id(conn, "trainer@portico.test").await?,
        coordinator: user_id(conn, "coordinator@portico.test").await?,
        finance: user_id(conn, "finance@portico.test").await?,
    })
}

async fn user_id(conn: &mut PgConnection, email: &str) -> anyhow::Result<i64> {
    sqlx::query_scalar!("select id from users where email = $1", email,)
        .fetch_optional(&mut *conn)
        .await?
        .with_context(|| format!("{email} is missing: the large demo goes on top of the small demo"))
}

/// Takes `n` consecutive ids from `table`'s identity sequence and returns the first, so
/// rows can be inserted with known ids (`overriding system value`) while anyone else
/// inserting meanwhile gets ids after the block.
async fn reserve(conn: &mut PgConnection, table: &str, n: i64) -> anyhow::Result<i64> {
    sqlx::query_scalar!(
        "with seq as (select pg_get_serial_sequence($1, 'id') as name),
              first as (select nextval(seq.name) as id, seq.name from seq)
         select id as \"id!\" from first, lateral setval(first.name, first.id + $2 - 1)",
        table,
        n.max(1),
    )
    .fetch_one(&mut *conn)
    .await
    .with_context(|| format!("Failed to reserve ids in {table}"))
}

/// Counts what the large load added (the generated people and everything dated in the
/// history), plus the demo family's and demo trainer's share.
pub async fn count(pool: &PgPool) -> anyhow::Result<Loaded> {
    let row = sqlx::query!(
        r#"select (select count(*) from users where email like '%@' || $1::text) as "families!",
                  (select count(*) from children c join users u on u.id = c.parent_id
                    where u.email like '%@' || $1::text) as "children!",
                  (select count(*) from users where email like '%@' || $2::text) as "trainers!",
                  (select count(*) from sessions) as "sessions!",
                  (select count(*) from shifts) as "shifts!",
                  (select count(*) from time_entries) as "time_entries!",
                  (select count(*) from timesheets) as "timesheets!",
                  (select count(*) from bookings) as "bookings!",
                  (select count(*) from booking_participants) as "places!",
                  (select count(*) from payments) as "payments!",
                  (select count(*) from refunds) as "refunds!",
                  (select count(*) from audit_log) as "audit_rows!""#,
        FAMILY_DOMAIN,
        TRAINER_DOMAIN,
    )
    .fetch_one(pool)
    .await
    .context("Failed to count the large demo")?;
    Ok(Loaded {
        families: row.families,
        children: row.children,
        trainers: row.trainers,
        sessions: row.sessions,
        shifts: row.shifts,
        time_entries: row.time_entries,
        timesheets: row.timesheets,
        bookings: row.bookings,
        places: row.places,
        payments: row.payments,
        refunds: row.refunds,
        audit_rows: row.audit_rows,
    })
}

struct Load<'c> {
    conn: &'c mut PgConnection,
    tz: &'static Tz,
    now: OffsetDateTime,
    sizes: Sizes,
    people: DemoPeople,
    blocks: Blocks,
    calendar: Calendar,
    hash: &'c str,
}

impl Load<'_> {
    async fn run(mut self) -> anyhow::Result<()> {
        timed("catalogue", self.catalogue()).await?;
        timed("trainers", self.trainers()).await?;
        timed("families", self.families()).await?;
        timed("children", self.children()).await?;
        timed("sessions", self.sessions()).await?;
        timed("shifts", self.shifts()).await?;
        timed("time entries", self.time_entries()).await?;
        timed("timesheets", self.timesheets()).await?;
        timed("bookings", self.bookings()).await?;
        timed("booking places", self.booking_places()).await?;
        timed("payments", self.payments()).await?;
        timed("refunds", self.refunds()).await?;
        timed("demo family", self.demo_family()).await?;
        timed("audit rows", self.audit_rows()).await?;
        Ok(())
    }

    /// Bigger classes than the small demo's, at three more venues: the provider runs
    /// several sessions at once.
    async fn catalogue(&mut self) -> anyhow::Result<()> {
        sqlx::query!(
            "insert into activities (name, description, min_age_years, max_age_years, default_duration_minutes,
                                     default_capacity, price_pence, booking_cutoff_hours, cancellation_cutoff_hours,
                                     children_per_trainer)
             select name, description, 4, 12, minutes, $1, price, 12, 24, null
             from (values ('Swim School', 'Small-group lessons from first splashes to stroke technique.', 45, 900),
                          ('Gymnastics', 'Floor, beam and vault for every level.', 60, 750),
                          ('Holiday Club', 'A morning of games, crafts and sport.', 60, 1200),
                          ('Coding Club', 'Scratch, then Python: games the children take home.', 60, 1000),
                          ('Street Dance', 'Choreography and freestyle to this week''s music.', 45, 650),
                          ('Drama', 'Games, improvisation and a show at the end of term.', 60, 700))
                  as a (name, description, minutes, price)",
            self.capacity(),
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the large activities")?;
        sqlx::query!(
            "insert into venues (name, kind, address, postcode, capacity, notes)
             values ('Northgate Leisure Centre', 'site', '1 Northgate, Kingston upon Thames', 'KT1 3AA', 200, ''),
                    ('Surbiton Community Hall', 'site', '12 Ewell Road, Surbiton', 'KT6 6AH', 120, ''),
                    ('Tolworth Sports Centre', 'site', 'Fullers Way, Tolworth', 'KT9 1DJ', 150, '')",
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the large venues")?;
        Ok(())
    }

    fn capacity(&self) -> i32 {
        i32::try_from(self.sizes.places_per_session() + HEADROOM).unwrap_or(i32::MAX)
    }

    /// Trainers, each qualified for every large activity, as is the demo trainer.
    async fn trainers(&mut self) -> anyhow::Result<()> {
        sqlx::query!(
            "insert into users (id, email, name, phone, role, password_hash, created_at)
             overriding system value
             select $1::bigint + k, 'trainer' || k || '@' || $3::text,
                    ($6::text[])[1 + k % 24] || ' ' || ($7::text[])[1 + (k / 24) % 24],
                    '07700 8' || lpad(k::text, 5, '0'), 'trainer', $4::text,
                    $5::timestamptz - make_interval(days => 760 + (k % 300)::int)
             from generate_series(0, $2::bigint - 1) k",
            self.blocks.trainers,
            self.sizes.trainers,
            TRAINER_DOMAIN,
            self.hash,
            self.now,
            &FIRST_NAMES[..] as _,
            &SURNAMES[..] as _,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the large trainers")?;
        sqlx::query!(
            "insert into trainer_profiles (user_id, bio, hourly_rate_pence)
             select $1::bigint + k, 'Coach at the large demo provider.', 1500 + (k % 12) * 100
             from generate_series(0, $2::bigint - 1) k",
            self.blocks.trainers,
            self.sizes.trainers,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the large trainer profiles")?;
        sqlx::query!(
            "insert into activity_trainers (activity_id, trainer_id)
             select a.id, t.id from activities a,
                    (select $1::bigint + k as id from generate_series(0, $2::bigint - 1) k
                     union all select $3::bigint) t
             where a.name = any($4::text[])",
            self.blocks.trainers,
            self.sizes.trainers,
            self.people.trainer,
            &ACTIVITIES[..] as _,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to qualify the large trainers")?;
        Ok(())
    }

    /// Parents who signed up over the two years and accepted the terms.
    async fn families(&mut self) -> anyhow::Result<()> {
        sqlx::query!(
            "insert into users (id, email, name, phone, role, password_hash, terms_accepted_at, created_at)
             overriding system value
             select $1::bigint + k, 'family' || k || '@' || $3::text,
                    ($6::text[])[1 + k % 24] || ' ' || ($7::text[])[1 + (k / 24) % 24],
                    '07700 7' || lpad(k::text, 5, '0'), 'parent', $4::text, at, at
             from generate_series(0, $2::bigint - 1) k,
                  lateral (select $5::timestamptz - make_interval(days => 740 - (k * 700 / $2::bigint)::int) as at) t",
            self.blocks.families,
            self.sizes.families,
            FAMILY_DOMAIN,
            self.hash,
            self.now,
            &FIRST_NAMES[..] as _,
            &SURNAMES[..] as _,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the large families")?;
        Ok(())
    }

    /// Children dealt round the families (so some have two or more), aged 4 to 12.
    async fn children(&mut self) -> anyhow::Result<()> {
        sqlx::query!(
            "insert into children (id, parent_id, first_name, last_name, date_of_birth, photo_consent, created_at)
             overriding system value
             select $1::bigint + c, u.id, ($6::text[])[1 + (c * 7) % 24], split_part(u.name, ' ', 2),
                    $5::date - ((4 + c % 9) * 365 + (c * 37) % 365)::int, c % 5 <> 0, u.created_at
             from generate_series(0, $2::bigint - 1) c join users u on u.id = $3::bigint + c % $4::bigint",
            self.blocks.children,
            self.sizes.children,
            self.blocks.families,
            self.sizes.families,
            self.calendar.today,
            &CHILD_NAMES[..] as _,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the large children")?;
        Ok(())
    }

    /// Sessions spread evenly over the days; a day's sessions (its slots) run three at a
    /// time at the three venues, on the hour from 07:00, none longer than an hour.
    /// Session `i` of `$2` falls on day `floor(i * $4 / $2)` from `$3` (the first of `$4`
    /// days), in the slot `i` less the day's first session (`shifts` works both out again).
    async fn sessions(&mut self) -> anyhow::Result<()> {
        sqlx::query!(
            "insert into sessions (id, activity_id, venue_id, starts_at, ends_at, capacity, price_pence, status,
                                   created_at)
             overriding system value
             select $1::bigint + i, a.id, v.id, starts, starts + make_interval(mins => a.default_duration_minutes),
                    $5::int, a.price_pence, case when day < $6::date then 'completed' else 'scheduled' end,
                    starts - interval '60 days'
             from generate_series(0, $2::bigint - 1) i,
                  lateral (select $3::date + (i * $4::bigint / $2::bigint)::int as day,
                                  i - ((i * $4::bigint / $2::bigint) * $2::bigint + $4::bigint - 1) / $4::bigint
                                    as slot) d,
                  lateral (select (day + make_time(7 + (slot / 3)::int % 14, 0, 0)) at time zone $7::text
                                    as starts) t,
                  lateral (select id, default_duration_minutes, price_pence from activities
                           where name = any($8::text[]) order by id offset i % 6 limit 1) a,
                  lateral (select id from venues
                           where name in ('Northgate Leisure Centre', 'Surbiton Community Hall', 'Tolworth Sports Centre')
                           order by id offset slot % 3 limit 1) v",
            self.blocks.sessions,
            self.sizes.sessions,
            self.calendar.first_day,
            self.calendar.days,
            self.capacity(),
            self.calendar.today,
            self.tz.name(),
            &ACTIVITIES[..] as _,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the large sessions")?;
        Ok(())
    }

    /// A lead for every session: the demo trainer on the first slot of every `every`-th
    /// day (unless it clashes with the small demo's shifts or time off), otherwise
    /// trainer `(day + slot) % trainers`, so one day's sessions have different
    /// trainers; a slot beyond the number of trainers stays open. Past shifts were
    /// worked (checked in and out), later ones accepted. Day and slot as in `sessions`.
    async fn shifts(&mut self) -> anyhow::Result<()> {
        sqlx::query!(
            "insert into shifts (id, session_id, trainer_id, role, status, during, checked_in_at, checked_out_at,
                                 created_at)
             overriding system value
             select $1::bigint + i, s.id, who.trainer, 'lead',
                    case when who.trainer is null then 'open'
                         when s.status = 'completed' then 'checked_out' else 'accepted' end,
                    tstzrange(s.starts_at, s.ends_at),
                    case when who.trainer is not null and s.status = 'completed' then s.starts_at - interval '10 minutes' end,
                    case when who.trainer is not null and s.status = 'completed' then s.ends_at + interval '5 minutes' end,
                    s.created_at
             from generate_series(0, $2::bigint - 1) i
             join sessions s on s.id = $5::bigint + i,
             lateral (select $3::date + (i * $4::bigint / $2::bigint)::int as day,
                             i - ((i * $4::bigint / $2::bigint) * $2::bigint + $4::bigint - 1) / $4::bigint
                               as slot) d,
             lateral (select case
                 when d.slot = 0 and (d.day - $3::date) % $7::bigint = 0
                      and not exists (select 1 from shifts x where x.trainer_id = $6::bigint
                                        and x.status in ('accepted', 'checked_in', 'checked_out')
                                        and x.during && tstzrange(s.starts_at, s.ends_at))
                      and not exists (select 1 from time_off_requests t where t.trainer_id = $6::bigint
                                        and t.status = 'approved' and t.during && tstzrange(s.starts_at, s.ends_at))
                   then $6::bigint
                 when d.slot < $8::bigint then $9::bigint + ((d.day - $3::date) + d.slot) % $8::bigint
                 end as trainer) who",
            self.blocks.shifts,
            self.sizes.sessions,
            self.calendar.first_day,
            self.calendar.days,
            self.blocks.sessions,
            self.people.trainer,
            self.calendar.every,
            self.sizes.trainers,
            self.blocks.trainers,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the large shifts")?;
        Ok(())
    }

    /// The time each worked shift made, in the week (local Monday) it started. Weeks
    /// the small demo already has a timesheet for are left as the demo made them.
    async fn time_entries(&mut self) -> anyhow::Result<()> {
        sqlx::query!(
            "insert into time_entries (trainer_id, shift_id, started_at, ended_at, source, week_start, created_at)
             select sh.trainer_id, sh.id, sh.checked_in_at, sh.checked_out_at, 'shift', w.week, sh.checked_out_at
             from shifts sh,
                  lateral (select date_trunc('week', sh.checked_in_at at time zone $3)::date as week) w
             where sh.id between $1 and $1 + $2 - 1 and sh.status = 'checked_out'
               and not exists (select 1 from timesheets t where t.trainer_id = sh.trainer_id and t.week_start = w.week)",
            self.blocks.shifts,
            self.sizes.sessions,
            self.tz.name(),
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the large time entries")?;
        Ok(())
    }

    /// A timesheet for every past week worked: last week's submitted and waiting for
    /// finance, older ones approved at the trainer's rate.
    async fn timesheets(&mut self) -> anyhow::Result<()> {
        let this_week = self.calendar.today
            - Duration::days(i64::from(self.calendar.today.weekday().number_days_from_monday()));
        sqlx::query!(
            "insert into timesheets (trainer_id, week_start, status, submitted_at, decided_by, decided_at,
                                     hourly_rate_pence, created_at)
             select w.trainer_id, w.week_start, case when w.week_start = $1::date - 7 then 'submitted' else 'approved' end,
                    submitted, case when w.week_start < $1 - 7 then $2::bigint end,
                    case when w.week_start < $1 - 7 then submitted + interval '1 day' end,
                    case when w.week_start < $1 - 7 then p.hourly_rate_pence end, submitted
             from (select distinct trainer_id, week_start from time_entries
                   where shift_id between $3 and $3 + $4 - 1) w
             join trainer_profiles p on p.user_id = w.trainer_id,
             lateral (select least($6::timestamptz, ((w.week_start + 7) + time '09:00') at time zone $5) as submitted) s
             where w.week_start < $1
             on conflict on constraint timesheets_one_per_week do nothing",
            this_week,
            self.people.finance,
            self.blocks.shifts,
            self.sizes.sessions,
            self.tz.name(),
            self.now,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the large timesheets")?;
        Ok(())
    }

    /// One booking per place, by the family. Place `k` is booking `$1 + k`, on session
    /// `k % sessions`, its `k / sessions`-th place, for child
    /// `(session * 7919 + k / sessions) % children` (different for each place in a
    /// session), with a status by the session's date: delivered, or approved with
    /// some waiting for approval, and a few cancelled or rejected either way. The status
    /// mixes the place's number within its session in (`r`), so that every session gets
    /// its share of each status rather than whole sessions of one.
    async fn bookings(&mut self) -> anyhow::Result<()> {
        sqlx::query!(
            "insert into bookings (id, parent_id, status, total_pence, created_by, created_at, updated_at)
             overriding system value
             select $1::bigint + k, c.parent_id, st.status, s.price_pence, c.parent_id, b.at,
                    case when st.status = 'completed' then least($7::timestamptz, s.starts_at + interval '1 day')
                         when st.status = 'pending' then b.at
                         else least($7::timestamptz, b.at + interval '1 day') end
             from generate_series(0, $2::bigint - 1) k
             join sessions s on s.id = $3::bigint + k % $4::bigint
             join children c on c.id = $5::bigint + ((k % $4::bigint) * 7919 + k / $4::bigint) % $6::bigint,
             lateral (select (k / $4::bigint) * 7 + k % $4::bigint as r) mix,
             lateral (select case
                 when r % 20 = 0 then 'cancelled'
                 when r % 53 = 7 then 'rejected'
                 when s.status = 'completed' then 'completed'
                 when r % 10 = 1 then 'pending'
                 when r % 37 = 5 then 'changes_requested'
                 else 'approved' end as status) st,
             lateral (select least(s.starts_at - make_interval(days => 1 + (k % 28)::int),
                                   $7::timestamptz - make_interval(mins => 5 + (k % 600)::int)) as at) b
             order by k",
            self.blocks.bookings,
            self.sizes.places,
            self.blocks.sessions,
            self.sizes.sessions,
            self.blocks.children,
            self.sizes.children,
            self.now,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the large bookings")?;
        Ok(())
    }

    /// The places themselves, worked out again from each booking's place number `k`. The
    /// places-taken counter on each session is kept by the participants trigger as they
    /// go in, and the capacity check holds throughout.
    async fn booking_places(&mut self) -> anyhow::Result<()> {
        sqlx::query!(
            "insert into booking_participants (booking_id, session_id, child_id, price_pence, holds_place, created_at)
             select b.id, $3::bigint + k % $4::bigint,
                    $5::bigint + ((k % $4::bigint) * 7919 + k / $4::bigint) % $6::bigint, b.total_pence,
                    b.status in ('pending', 'changes_requested', 'approved', 'completed'), b.created_at
             from bookings b, lateral (select b.id - $1::bigint as k) n
             where b.id between $1::bigint and $1::bigint + $2::bigint - 1
             order by k % $4::bigint, k",
            self.blocks.bookings,
            self.sizes.places,
            self.blocks.sessions,
            self.sizes.sessions,
            self.blocks.children,
            self.sizes.children,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the large booking places")?;
        Ok(())
    }

    /// Most confirmed bookings paid: by card (through Stripe), cash or bank transfer
    /// recorded by finance, a day after booking.
    async fn payments(&mut self) -> anyhow::Result<()> {
        sqlx::query!(
            "insert into payments (booking_id, amount_pence, method, status, reference, stripe_payment_intent_id,
                                   recorded_by, paid_at, created_at, updated_at)
             select b.id, b.total_pence, m.method, 'succeeded',
                    case when m.method = 'card' then '' else 'REF-' || k end,
                    case when m.method = 'card' then 'pi_large_' || k end,
                    case when m.method <> 'card' then $4::bigint end, paid, paid, paid
             from bookings b,
                  lateral (select b.id - $1::bigint as k) n,
                  lateral (select (array['card', 'cash', 'bank_transfer'])[1 + k % 3] as method) m,
                  lateral (select least($5::timestamptz, b.created_at + interval '1 day') as paid) p
             where b.id between $1::bigint and $1::bigint + $2::bigint - 1
               and b.status in ('approved', 'completed') and b.total_pence > 0
             order by b.id limit $3::bigint",
            self.blocks.bookings,
            self.sizes.places,
            self.sizes.payments,
            self.people.finance,
            self.now,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the large payments")?;
        Ok(())
    }

    /// One offline payment in a hundred partly refunded (each refund goes through the
    /// trigger that keeps it within the payment).
    async fn refunds(&mut self) -> anyhow::Result<()> {
        sqlx::query!(
            "insert into refunds (payment_id, amount_pence, reason, recorded_by, created_at)
             select id, amount_pence / 2, 'Missed a session (illness)', $3, paid_at + interval '2 days'
             from payments
             where booking_id between $1 and $1 + $2 - 1 and method <> 'card' and id % 100 = 0
               and amount_pence >= 2",
            self.blocks.bookings,
            self.sizes.places,
            self.people.finance,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the large refunds")?;
        Ok(())
    }

    /// The demo family's share: a third child, and ~150 bookings spread over the two
    /// years across the three children, mostly paid, with their history. Booking
    /// `$1 + m` is on session `(m * sessions / n + 1) % sessions`, for child `m % 3`.
    async fn demo_family(&mut self) -> anyhow::Result<()> {
        sqlx::query!(
            "insert into children (parent_id, first_name, last_name, date_of_birth, photo_consent)
             values ($1, 'Ava', 'Morgan', $2::date - 10 * 365, true)",
            self.people.parent,
            self.calendar.today,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the demo family's third child")?;
        let (first, n) = (self.blocks.demo_bookings, DEMO_PARENT_BOOKINGS.min(self.sizes.sessions));
        let (parent, coordinator, finance) =
            (self.people.parent, self.people.coordinator, self.people.finance);
        sqlx::query!(
            "insert into bookings (id, parent_id, status, total_pence, created_by, created_at, updated_at)
             overriding system value
             select $1::bigint + m, $5::bigint, st.status, s.price_pence, $5::bigint, b.at, b.at
             from generate_series(0, $2::bigint - 1) m
             join sessions s on s.id = $3::bigint + (m * $4::bigint / $2::bigint + 1) % $4::bigint,
             lateral (select case
                 when m % 25 = 3 then 'cancelled'
                 when s.status = 'completed' then 'completed'
                 when m % 3 = 0 then 'pending'
                 else 'approved' end as status) st,
             lateral (select least(s.starts_at - interval '10 days', $6::timestamptz - interval '1 hour') as at) b",
            first,
            n,
            self.blocks.sessions,
            self.sizes.sessions,
            parent,
            self.now,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the demo family's bookings")?;
        sqlx::query!(
            "insert into booking_participants (booking_id, session_id, child_id, price_pence, holds_place, created_at)
             select b.id, $3::bigint + (m * $4::bigint / $2::bigint + 1) % $4::bigint, kids.ids[1 + m % 3],
                    b.total_pence, b.status in ('pending', 'changes_requested', 'approved', 'completed'),
                    b.created_at
             from bookings b, lateral (select b.id - $1::bigint as m) n,
                  (select array_agg(id order by date_of_birth desc) as ids from children
                    where parent_id = $5::bigint and archived_at is null) kids
             where b.id between $1::bigint and $1::bigint + $2::bigint - 1",
            first,
            n,
            self.blocks.sessions,
            self.sizes.sessions,
            parent,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the demo family's booking places")?;
        sqlx::query!(
            "insert into booking_status_changes (booking_id, from_status, to_status, changed_by, created_at)
             select b.id, null, 'pending', $3::bigint, b.created_at
             from bookings b where b.id between $1::bigint and $1::bigint + $2::bigint - 1
             union all
             select b.id, 'pending', case when b.status = 'completed' then 'approved' else b.status end,
                    case when b.status = 'cancelled' then $3::bigint else $4::bigint end,
                    b.created_at + interval '1 minute'
             from bookings b
             where b.id between $1::bigint and $1::bigint + $2::bigint - 1 and b.status <> 'pending'
             union all
             select b.id, 'approved', 'completed', $4::bigint, least($5::timestamptz, s.starts_at + interval '1 day')
             from bookings b join booking_participants p on p.booking_id = b.id join sessions s on s.id = p.session_id
             where b.id between $1::bigint and $1::bigint + $2::bigint - 1 and b.status = 'completed'",
            first,
            n,
            parent,
            coordinator,
            self.now,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the demo family's booking history")?;
        sqlx::query!(
            "insert into payments (booking_id, amount_pence, method, status, reference, recorded_by, paid_at,
                                   created_at)
             select b.id, b.total_pence, case when m % 2 = 0 then 'bank_transfer' else 'cash' end, 'succeeded',
                    'DEMO-' || b.id, $3::bigint, b.created_at + interval '1 hour', b.created_at + interval '1 hour'
             from bookings b, lateral (select b.id - $1::bigint as m) n
             where b.id between $1::bigint and $1::bigint + $2::bigint - 1
               and b.status in ('approved', 'completed') and m % 7 <> 0",
            first,
            n,
            finance,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the demo family's payments")?;
        Ok(())
    }

    /// What the office, the families and the trainers did over the two years, newest
    /// first by row number: approvals, payments recorded, shifts checked in, children
    /// updated, sessions changed.
    async fn audit_rows(&mut self) -> anyhow::Result<()> {
        sqlx::query!(
            "insert into audit_log (actor_id, action, entity_type, entity_id, before, after, created_at)
             select case m % 5 when 0 then $6::bigint when 1 then $7::bigint when 2 then $8::bigint + m % $9::bigint
                               when 3 then $10::bigint + m % $11::bigint else $6 end,
                    (array['booking.approved', 'payment.recorded', 'shift.checked_in', 'child.updated',
                           'session.updated'])[1 + m % 5],
                    (array['booking', 'booking', 'shift', 'child', 'session'])[1 + m % 5],
                    case m % 5 when 0 then $2::bigint + (m * 13) % $3::bigint when 1 then $2 + (m * 7) % $3
                               when 2 then $4::bigint + m % $5::bigint when 3 then $12::bigint + m % $13::bigint
                               else $14::bigint + m % $5 end,
                    case m % 5 when 0 then '{\"status\": \"pending\"}'::jsonb
                               when 4 then '{\"notes\": \"\"}'::jsonb end,
                    case m % 5 when 0 then '{\"status\": \"approved\", \"reason\": \"\"}'::jsonb
                               when 1 then jsonb_build_object('method', 'cash', 'reference', 'REF-' || m)
                               when 2 then '{\"status\": \"checked_in\"}'::jsonb
                               when 3 then '{\"medical_notes\": \"updated\"}'::jsonb
                               else '{\"notes\": \"Hall changed for this week.\"}'::jsonb end,
                    $15::timestamptz - make_interval(secs => (m * (730.0 * 86400 / $1))::double precision)
             from generate_series(0, $1::bigint - 1) m",
            self.sizes.audit_rows,
            self.blocks.bookings,
            self.sizes.places,
            self.blocks.shifts,
            self.sizes.sessions,
            self.people.coordinator,
            self.people.finance,
            self.blocks.trainers,
            self.sizes.trainers,
            self.blocks.families,
            self.sizes.families,
            self.blocks.children,
            self.sizes.children,
            self.blocks.sessions,
            self.now,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the large audit rows")?;
        Ok(())
    }
}
