//! Demo data: a small, believable provider. Four admins, four trainers, five families,
//! five activities at four venues, two weekly terms and one-off sessions, shifts (some
//! open, one offered), time entries, bookings in every state with their history, and
//! the audit rows the office's actions would have left.
//!
//! Everything is dated relative to today in the provider's time zone, so a demo loaded
//! on any day has sessions today and tomorrow, a past to look back on and a future to
//! book. Times are wall-clock times converted in that zone, so the 10:00 class stays at
//! 10:00 on both sides of a daylight-saving change. A session dated before today counts
//! as delivered (completed, its shifts checked out); today's sessions are still to run.

mod courses;
mod inquiries;
pub mod large;

use crate::shifts::domain::{ShiftRole, ShiftStatus};
use anyhow::Context;
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time, Weekday};
use time_tz::{OffsetDateTimeExt, PrimitiveDateTimeExt, TimeZone, Tz};

pub const DEMO_PASSWORD: &str = "portico-demo";

/// Serialises processes starting together on one empty database: the second waits,
/// then sees the first one's users and loads nothing.
const SEED_LOCK: i64 = 7_040_117_099;

/// Loads the demo when the database has no users; returns whether it loaded.
pub async fn seed_if_empty(pool: &PgPool, tz: &'static Tz, password_hash: &str) -> anyhow::Result<bool> {
    let mut tx = pool.begin().await.context("Failed to start the demo transaction")?;
    sqlx::query!("select pg_advisory_xact_lock($1)", SEED_LOCK,)
        .execute(&mut *tx)
        .await
        .context("Failed to take the demo lock")?;
    let has_users = sqlx::query_scalar!(r#"select exists(select 1 from users) as "exists!""#,)
        .fetch_one(&mut *tx)
        .await
        .context("Failed to check for existing users")?;
    if has_users {
        return Ok(false);
    }
    let now = OffsetDateTime::now_utc();
    let today = now.to_timezone(tz).date();
    let mut demo = Demo { conn: &mut tx, tz, today, now, hash: password_hash };
    demo.load().await?;
    tx.commit().await.context("Failed to commit the demo data")?;
    Ok(true)
}

/// The wall-clock time `at` in `tz`. In the autumn overlap the first (summer-time)
/// instant is taken; a time the spring change skips moves an hour later.
fn local(tz: &Tz, at: PrimitiveDateTime) -> anyhow::Result<OffsetDateTime> {
    at.assume_timezone(tz)
        .take_first()
        .or_else(|| (at + Duration::hours(1)).assume_timezone(tz).take_first())
        .with_context(|| format!("{at} does not exist in {}", tz.name()))
}

/// A date of birth making a child `years` old and `days` more, near enough for a demo.
fn born(today: Date, (years, days): (i64, i64)) -> Date {
    today - Duration::days(years * 365 + years / 4 + days)
}

/// Sessions before today, and those from today on.
fn split(sessions: &[Session], today: Date) -> (Vec<Session>, Vec<Session>) {
    sessions.iter().copied().partition(|s| s.date < today)
}

/// Office staff: (email, name, admin role). Sub-roles are permissions in one portal.
const ADMINS: [(&str, &str, &str); 4] = [
    ("admin@portico.test", "Priya Shah", "owner"),
    ("coordinator@portico.test", "Tom Reid", "coordinator"),
    ("finance@portico.test", "Grace Okafor", "finance"),
    ("safeguarding@portico.test", "Helen Marsh", "safeguarding_lead"),
];

/// Trainers: (email, name, hourly rate in pence, miles they travel if they do, bio).
const TRAINERS: [(&str, &str, i32, Option<i32>, &str); 4] = [
    ("trainer@portico.test", "Sam Taylor", 1850, Some(10), "FA Level 1 football coach."),
    ("jordan@portico.test", "Jordan Blake", 1700, None, "Sports science graduate."),
    ("aisha@portico.test", "Aisha Khan", 2600, Some(30), "Paediatric nurse turned trainer."),
    ("ben@portico.test", "Ben Carter", 2100, Some(15), "Early-years practitioner."),
];

/// Families: (email, name, phone).
const PARENTS: [(&str, &str, Option<&str>); 5] = [
    ("parent@portico.test", "Alex Morgan", Some("07700 900201")),
    ("chloe@portico.test", "Chloe Evans", Some("07700 900202")),
    ("daniel@portico.test", "Daniel Wright", Some("07700 900203")),
    ("fatima@portico.test", "Fatima Hussain", Some("07700 900204")),
    ("owen@portico.test", "Owen Price", None),
];

struct ChildSeed {
    first: &'static str,
    last: &'static str,
    /// (years, days past that birthday); negative days: a birthday coming up.
    age: (i64, i64),
    medical: &'static str,
    allergies: &'static str,
    needs: &'static str,
    photo_consent: bool,
}

const fn kid(first: &'static str, last: &'static str, age: (i64, i64), photo: bool) -> ChildSeed {
    ChildSeed { first, last, age, medical: "", allergies: "", needs: "", photo_consent: photo }
}

/// Maya turns 8 in three weeks, which is why Mini Tennis 4–7s turns her down.
const MAYA: ChildSeed = ChildSeed {
    medical: "Mild asthma: blue inhaler in the front pocket of her bag.",
    allergies: "Peanuts (carries an adrenaline auto-injector).",
    ..kid("Maya", "Morgan", (8, -20), true)
};
const ADAM: ChildSeed = ChildSeed {
    needs: "Autistic; settles best with a quiet corner and a visual timetable.",
    ..kid("Adam", "Hussain", (6, 120), true)
};

/// Children: (family, an index into PARENTS; the child).
const CHILDREN: [(usize, ChildSeed); 8] = [
    (0, MAYA),
    (0, kid("Leo", "Morgan", (5, 90), false)),
    (1, kid("Freddie", "Evans", (6, 30), true)),
    (1, kid("Isla", "Evans", (8, 150), true)),
    (2, kid("Oliver", "Wright", (7, 200), false)),
    (3, kid("Zara", "Hussain", (10, 40), true)),
    (3, ADAM),
    (4, kid("Ruby", "Price", (5, 60), true)),
];

struct ActivitySeed {
    name: &'static str,
    description: &'static str,
    ages: Option<(i32, i32)>,
    minutes: i32,
    capacity: i32,
    price_pence: i32,
    requires_approval: bool,
    /// Paid by card when booking (with Stripe set up), places held meanwhile.
    pay_at_booking: bool,
    /// Booking and cancellation cut-offs, in hours before the start.
    cutoffs: (i32, i32),
    children_per_trainer: Option<i32>,
}

const FOOTBALL: ActivitySeed = ActivitySeed {
    name: "Football 5–8s",
    description: "Skills-first football: dribbling, passing and small-sided games.",
    ages: Some((5, 8)),
    minutes: 60,
    capacity: 12,
    price_pence: 650,
    requires_approval: false,
    pay_at_booking: false,
    cutoffs: (12, 24),
    children_per_trainer: Some(8),
};
const MULTI_SPORTS: ActivitySeed = ActivitySeed {
    name: "After-school Multi-sports",
    description: "Collected from class, then an hour of athletics, hockey and team games.",
    ages: Some((5, 11)),
    minutes: 60,
    capacity: 16,
    price_pence: 800,
    requires_approval: true,
    pay_at_booking: false,
    cutoffs: (24, 48),
    children_per_trainer: Some(8),
};
const FIRST_AID: ActivitySeed = ActivitySeed {
    name: "Paediatric First Aid",
    description: "Six-hour course for parents, carers and early-years staff (EYFS).",
    ages: None,
    minutes: 360,
    capacity: 12,
    price_pence: 9500,
    requires_approval: true,
    pay_at_booking: true,
    cutoffs: (72, 168),
    children_per_trainer: None,
};
const FLEXI: ActivitySeed = ActivitySeed {
    name: "Flexi Practitioner 1:1",
    description: "One-to-one support at home or at school for children who need it.",
    ages: None,
    minutes: 60,
    capacity: 1,
    price_pence: 4500,
    requires_approval: false,
    pay_at_booking: false,
    cutoffs: (24, 24),
    children_per_trainer: Some(1),
};
const MINI_TENNIS: ActivitySeed = ActivitySeed {
    name: "Mini Tennis 4–7s",
    description: "Red-ball tennis; the coach confirms places so groups match in ability.",
    ages: Some((4, 7)),
    minutes: 45,
    capacity: 8,
    price_pence: 600,
    requires_approval: true,
    pay_at_booking: false,
    cutoffs: (12, 24),
    children_per_trainer: Some(8),
};

/// A booking's history: each step's new status, whether the office (the coordinator)
/// made it rather than the family, and why. Steps fall a day apart from the booking,
/// except completion, an hour ago (after the last session, which was before today).
type History = &'static [(&'static str, bool, &'static str)];

const NO_APPROVAL: &str = "Confirmed straight away: this activity needs no approval.";
const DELIVERED: &str = "All sessions delivered.";
const DRAFT: History = &[("draft", false, "")];
const SUBMITTED: History = &[("pending", false, "")];
const INSTANT: History = &[("approved", false, NO_APPROVAL)];
const INSTANT_DONE: History = &[("approved", false, NO_APPROVAL), ("completed", true, DELIVERED)];
const APPROVED: History = &[("pending", false, ""), ("approved", true, "")];
const APPROVED_DONE: History =
    &[("pending", false, ""), ("approved", true, ""), ("completed", true, DELIVERED)];
const CHANGES_REQUESTED: History = &[
    ("pending", false, ""),
    ("changes_requested", true, "Please add who collects Maya at 17:00, then resubmit."),
];
const REJECTED: History = &[
    ("pending", false, ""),
    ("rejected", true, "Maya turns 8 in a few weeks; Football 5–8s suits her better."),
];
const CANCELLED: History = &[
    ("pending", false, ""),
    ("approved", true, ""),
    ("cancelled", false, "Leo has a friend's birthday party that afternoon, sorry!"),
];

/// An activity's defaults, which its sessions copy.
#[derive(Clone, Copy)]
struct Activity {
    id: i64,
    minutes: i64,
    capacity: i32,
    price_pence: i32,
}

#[derive(Clone, Copy)]
struct Session {
    id: i64,
    date: Date,
    starts: OffsetDateTime,
    ends: OffsetDateTime,
    price_pence: i32,
}

struct Demo<'c> {
    conn: &'c mut PgConnection,
    tz: &'static Tz,
    today: Date,
    now: OffsetDateTime,
    hash: &'c str,
}

impl Demo<'_> {
    async fn load(&mut self) -> anyhow::Result<()> {
        let today = self.today;
        let day = |n: i64| today + Duration::days(n);

        // People.
        let mut ids = Vec::new();
        for (email, name, admin_role) in ADMINS {
            ids.push(self.user(email, name, None, "admin", Some(admin_role)).await?);
        }
        let &[_, tom, grace, _] = ids.as_slice() else {
            anyhow::bail!("Expected four demo admins");
        };
        let mut ids = Vec::new();
        for (i, (email, name, rate_pence, miles, bio)) in (101..).zip(TRAINERS) {
            let phone = format!("07700 900{i}");
            let id = self.user(email, name, Some(&phone), "trainer", None).await?;
            sqlx::query!(
                "insert into trainer_profiles \
                 (user_id, bio, hourly_rate_pence, can_travel, max_travel_miles) \
                 values ($1, $2, $3, $4, $5)",
                id,
                bio,
                rate_pence,
                miles.is_some(),
                miles,
            )
            .execute(&mut *self.conn)
            .await
            .with_context(|| format!("Failed to insert the trainer profile of {email}"))?;
            ids.push(id);
        }
        let &[sam, jordan, aisha, ben] = ids.as_slice() else {
            anyhow::bail!("Expected four demo trainers");
        };
        // Jordan's first-aid certificate runs out within the month: an expiry warning.
        let qualifications = [
            (sam, "Enhanced DBS check", "001190234871", Some(day(610))),
            (sam, "Paediatric First Aid", "PFA-22817", Some(day(420))),
            (sam, "FA Introduction to Coaching Football", "FAN-1183390", None),
            (jordan, "Enhanced DBS check", "001190771420", Some(day(380))),
            (jordan, "Paediatric First Aid", "PFA-19044", Some(day(18))),
            (aisha, "Enhanced DBS check", "001190559013", Some(day(700))),
            (aisha, "Level 3 Award in Teaching First Aid", "QA-5521", Some(day(500))),
            (ben, "Enhanced DBS check", "001190880162", Some(day(240))),
            (ben, "Paediatric First Aid", "PFA-20931", Some(day(300))),
        ];
        for (trainer, name, reference, expires_on) in qualifications {
            sqlx::query!(
                "insert into trainer_qualifications (trainer_id, name, reference, expires_on) \
                 values ($1, $2, $3, $4)",
                trainer,
                name,
                reference,
                expires_on,
            )
            .execute(&mut *self.conn)
            .await
            .context("Failed to insert a demo qualification")?;
        }
        let contacts = [
            (sam, "Chris Taylor", "Partner", "07700 900111"),
            (jordan, "Pat Blake", "Mother", "07700 900112"),
            (aisha, "Imran Khan", "Husband", "07700 900113"),
            (ben, "Lucy Carter", "Sister", "07700 900114"),
        ];
        for (trainer, name, relationship, phone) in contacts {
            sqlx::query!(
                "insert into trainer_emergency_contacts (trainer_id, name, relationship, phone) \
                 values ($1, $2, $3, $4)",
                trainer,
                name,
                relationship,
                phone,
            )
            .execute(&mut *self.conn)
            .await
            .context("Failed to insert a demo emergency contact")?;
        }

        let mut parents = Vec::new();
        for (email, name, phone) in PARENTS {
            parents.push(self.user(email, name, phone, "parent", None).await?);
        }
        let mut ids = Vec::new();
        for (family, child) in CHILDREN {
            let parent = parents.get(family).copied().context("A demo child lacks a family")?;
            ids.push(self.child(parent, &child).await?);
        }
        let &[alex, chloe, daniel, fatima, owen] = parents.as_slice() else {
            anyhow::bail!("Expected five demo families");
        };
        let &[maya, leo, freddie, isla, oliver, zara, adam, ruby] = ids.as_slice() else {
            anyhow::bail!("Expected eight demo children");
        };

        // The catalogue.
        let football = self.activity(&FOOTBALL).await?;
        let multi = self.activity(&MULTI_SPORTS).await?;
        let first_aid = self.activity(&FIRST_AID).await?;
        let flexi = self.activity(&FLEXI).await?;
        let tennis = self.activity(&MINI_TENNIS).await?;
        let qualified = [
            (football, sam),
            (football, jordan),
            (tennis, sam),
            (multi, sam),
            (multi, jordan),
            (multi, ben),
            (first_aid, aisha),
            (flexi, aisha),
            (flexi, ben),
        ];
        for (activity, trainer) in qualified {
            sqlx::query!(
                "insert into activity_trainers (activity_id, trainer_id) values ($1, $2)",
                activity.id,
                trainer,
            )
            .execute(&mut *self.conn)
            .await
            .context("Failed to insert a demo activity trainer")?;
        }
        let venues = [
            (
                "Riverside Sports Hall",
                "site",
                "14 Riverside Way, Kingston upon Thames",
                "KT1 2AB",
                Some(60),
                "Free parking for 40 cars behind the hall; the barrier closes at 21:00.",
            ),
            (
                "St Mary's Primary School Hall",
                "site",
                "St Mary's Road, Kingston upon Thames",
                "KT2 5QJ",
                Some(40),
                "Sign in at the school office. No parking on the school site.",
            ),
            ("Online", "online", "", "", None, "The video link is emailed the day before."),
            ("Client site", "client_site", "", "", None, "The address is on the booking."),
        ];
        let mut venue_ids = Vec::new();
        for (name, kind, address, postcode, capacity, notes) in venues {
            let id = sqlx::query_scalar!(
                "insert into venues (name, kind, address, postcode, capacity, notes) \
                 values ($1, $2, $3, $4, $5, $6) returning id",
                name,
                kind,
                address,
                postcode,
                capacity,
                notes,
            )
            .fetch_one(&mut *self.conn)
            .await
            .with_context(|| format!("Failed to insert venue {name}"))?;
            venue_ids.push(id);
        }
        let &[riverside, st_marys, _online, client_site] = venue_ids.as_slice() else {
            anyhow::bail!("Expected four demo venues");
        };

        // The calendar. No trainer's sessions overlap: the database refuses that for
        // accepted and worked shifts. Sam leads football, Jordan multi-sports.
        let fb_series = self.series(football, riverside, "Autumn Saturday Football", "SA").await?;
        let fb_all = self.weekly(football, riverside, fb_series, Weekday::Saturday, (10, 0)).await?;
        let mu_name = "After-school Multi-sports (Wednesdays)";
        let mu_series = self.series(multi, st_marys, mu_name, "WE").await?;
        let mu_all = self.weekly(multi, st_marys, mu_series, Weekday::Wednesday, (16, 0)).await?;
        let (fb_past, fb_next) = split(&fb_all, today);
        let (mu_past, mu_next) = split(&mu_all, today);
        for s in &fb_all {
            self.lead(s, sam).await?;
        }
        for s in &fb_past {
            self.shift(s, Some(jordan), ShiftRole::Assistant, ShiftStatus::CheckedOut).await?;
        }
        // Twelve children at eight per trainer need an assistant: Aisha has the next
        // Saturday; the three after are open for any qualified trainer to pick up.
        for (i, s) in fb_next.iter().filter(|s| s.date > today).take(4).enumerate() {
            let (who, status) =
                if i == 0 { (Some(aisha), ShiftStatus::Accepted) } else { (None, ShiftStatus::Open) };
            self.shift(s, who, ShiftRole::Assistant, status).await?;
        }
        for s in &mu_all {
            self.lead(s, jordan).await?;
        }
        let mut mu_later = mu_next.iter().filter(|s| s.date > today);
        if let Some(s) = mu_later.next() {
            let shift = self.shift(s, Some(sam), ShiftRole::Assistant, ShiftStatus::Offered).await?;
            let before = json!({ "status": "open", "trainer_id": null });
            let after = json!({ "status": "offered", "trainer_id": sam });
            let at = self.now - Duration::days(1);
            self.audit(tom, "shift.offered", ("shift", shift), (Some(before), after), at).await?;
        }
        if let Some(s) = mu_later.next() {
            self.shift(s, None, ShiftRole::Assistant, ShiftStatus::Open).await?;
        }

        // Mini Tennis this evening and tomorrow's, so every dashboard has something on.
        let mut tennis_all = Vec::new();
        for offset in [-7, 0, 1, 7] {
            let s = self.session(tennis, riverside, None, day(offset), (17, 30)).await?;
            self.lead(&s, sam).await?;
            tennis_all.push(s);
        }
        let &[t_past, t_today, t_tomorrow, t_next] = tennis_all.as_slice() else {
            anyhow::bail!("Expected four Mini Tennis sessions");
        };

        // First aid on the Tuesday of next week, and the course a month before it.
        let next_tuesday = day(8 - i64::from(today.weekday().number_days_from_monday()));
        for date in [next_tuesday - Duration::days(28), next_tuesday] {
            let s = self.session(first_aid, riverside, None, date, (9, 0)).await?;
            self.lead(&s, aisha).await?;
            if date > today {
                self.shift(&s, None, ShiftRole::Assistant, ShiftStatus::Open).await?;
            }
        }

        // Ben's 1:1 visits; the last stays free to book.
        let mut flexi_all = Vec::new();
        for (offset, hour) in [(-13, 9), (-6, 9), (0, 13), (2, 9), (4, 15), (9, 9)] {
            let s = self.session(flexi, client_site, None, day(offset), (hour, 30)).await?;
            self.lead(&s, ben).await?;
            flexi_all.push(s);
        }
        let (flexi_past, mut flexi_next) = split(&flexi_all, today);
        flexi_next.pop();

        let stocktake = local(self.tz, PrimitiveDateTime::new(day(-3), Time::from_hms(14, 0, 0)?))?;
        let note = "Kit stock-take at Riverside, agreed with Tom.";
        self.time_entry(sam, None, (stocktake, stocktake + Duration::minutes(90)), note).await?;

        // Bookings in every state: (family, children, sessions, history, days since booked).
        let bookings = vec![
            (alex, vec![maya], fb_past.clone(), INSTANT_DONE, 40),
            (alex, vec![maya], fb_next.clone(), INSTANT, 12),
            (alex, vec![leo], mu_next.clone(), SUBMITTED, 2),
            (alex, vec![maya], mu_next.clone(), CHANGES_REQUESTED, 6),
            (alex, vec![leo], vec![t_tomorrow], CANCELLED, 9),
            (alex, vec![maya], vec![t_next], REJECTED, 4),
            (alex, vec![leo], fb_next.clone(), DRAFT, 0),
            (chloe, vec![freddie, isla], fb_past.clone(), INSTANT_DONE, 45),
            (chloe, vec![freddie, isla], fb_next.clone(), INSTANT, 14),
            (chloe, vec![isla], mu_next.clone(), APPROVED, 10),
            (daniel, vec![oliver], fb_all.clone(), INSTANT, 35),
            (daniel, vec![oliver], vec![t_next], SUBMITTED, 1),
            (fatima, vec![zara, adam], mu_past.clone(), APPROVED_DONE, 40),
            (fatima, vec![zara, adam], mu_next.clone(), APPROVED, 12),
            (fatima, vec![adam], flexi_past.clone(), INSTANT_DONE, 20),
            (fatima, vec![adam], flexi_next.clone(), INSTANT, 7),
            (fatima, vec![adam], vec![t_tomorrow], SUBMITTED, 1),
            (owen, vec![ruby], mu_next.clone(), SUBMITTED, 3),
            (owen, vec![ruby], vec![t_today], APPROVED, 6),
            (owen, vec![ruby], vec![t_past], APPROVED_DONE, 15),
            (owen, vec![ruby], fb_next.clone(), INSTANT, 18),
        ];
        for (family, children, sessions, history, days) in bookings {
            self.book(tom, family, &children, &sessions, history, days).await?;
        }
        crate::children::store::seed_demo(&mut *self.conn, alex)
            .await
            .context("Failed to add the Morgans' contacts and checklist")?;
        self.registers_and_timesheets(grace).await?;
        self.applications().await?;
        self.courses(tom, aisha, riverside).await?;
        inquiries::load(&mut *self.conn, tom).await?;
        Ok(())
    }

    /// Applications from the public form waiting for the office, one of them sent twice
    /// (the list marks it as a likely duplicate).
    async fn applications(&mut self) -> anyhow::Result<()> {
        let applications = [
            (
                "Priya Shah",
                "priya.shah@example.com",
                "07700 900311",
                "Three years coaching netball and multi-sports.",
            ),
            (
                "Callum Burns",
                "callum.burns@example.com",
                "07700 900422",
                "FA Level 1; helps at a Saturday club.",
            ),
            (
                "Callum Burns",
                "callum.burns@example.com",
                "07700 900422",
                "FA Level 1; helps at a Saturday club.",
            ),
        ];
        for (name, email, phone, experience) in applications {
            sqlx::query!(
                "insert into trainer_applications (name, email, phone, experience) values ($1, $2, $3, $4)",
                name,
                email,
                phone,
                experience,
            )
            .execute(&mut *self.conn)
            .await
            .context("Failed to add the demo's trainer applications")?;
        }
        Ok(())
    }

    /// The past as the team left it: registers taken for every delivered session but
    /// the most recent (still to do), and timesheets: older weeks approved, last week
    /// submitted and waiting for finance.
    async fn registers_and_timesheets(&mut self, finance: i64) -> anyhow::Result<()> {
        sqlx::query!(
            "insert into attendance (session_id, child_id, status, signed_in_at, signed_out_at, collected_by,
                                     collector_authorised, marked_by)
             select p.session_id, p.child_id, case when p.child_id % 7 = 0 then 'absent' else 'present' end,
                    s.starts_at, s.ends_at, 'Parent', true, sh.trainer_id
             from booking_participants p
             join bookings b on b.id = p.booking_id
             join sessions s on s.id = p.session_id
             join lateral (select trainer_id from shifts where session_id = s.id and trainer_id is not null
                           order by id limit 1) sh on true
             where p.holds_place and b.status in ('approved', 'completed') and s.status = 'completed'
               and s.id <> (select id from sessions where status = 'completed' order by starts_at desc limit 1)",
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to take the demo registers")?;
        let this_week = crate::timesheets::week_of(self.now, self.tz);
        sqlx::query!(
            "insert into timesheets (trainer_id, week_start, status, submitted_at, decided_by, decided_at,
                                     hourly_rate_pence)
             select distinct e.trainer_id, e.week_start,
                    case when e.week_start = $1::date - 7 then 'submitted' else 'approved' end,
                    now(), case when e.week_start < $1 - 7 then $2::bigint end,
                    case when e.week_start < $1 - 7 then now() end,
                    case when e.week_start < $1 - 7 then p.hourly_rate_pence end
             from time_entries e join trainer_profiles p on p.user_id = e.trainer_id
             where e.week_start < $1",
            this_week,
            finance,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the demo timesheets")?;
        // Money: most confirmed bookings paid (cash or bank transfer), one partly
        // refunded; the rest still owe, so finance has a list of balances to chase.
        sqlx::query!(
            "insert into payments (booking_id, amount_pence, method, status, reference, recorded_by, paid_at)
             select b.id, b.total_pence, case when b.id % 2 = 0 then 'bank_transfer' else 'cash' end,
                    'succeeded', 'DEMO-' || b.id, $1, b.created_at + interval '1 day'
             from bookings b
             where b.status in ('approved', 'completed') and b.total_pence > 0 and b.id % 3 <> 0",
            finance,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the demo payments")?;
        sqlx::query!(
            "insert into refunds (payment_id, amount_pence, reason, recorded_by)
             select id, least(650, amount_pence), 'Missed one session (illness)', $1
             from payments order by id limit 1",
            finance,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the demo refund")?;
        // Something to sell: session passes, and a code for new families.
        sqlx::query!(
            "with pass as (
                 insert into packages (name, description, kind, credits, price_pence, valid_days)
                 values ('Football 10-session pass', 'Ten Saturday football sessions for the price of eight and a half.',
                         'credits', 10, 5500, 180),
                        ('Flexi 1:1 five-pack', 'Five one-to-one sessions, booked when it suits you.',
                         'credits', 5, 20000, 120)
                 returning id, name)
             insert into package_activities (package_id, activity_id)
             select pass.id, a.id from pass join activities a
               on (pass.name like 'Football%' and a.name like 'Football%')
               or (pass.name like 'Flexi%' and a.name like 'Flexi%')",
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the demo packages")?;
        // The demo family bought the football pass at the office: ten credits to use.
        sqlx::query!(
            "with bought as (
                 insert into package_purchases (parent_id, package_id, credits, amount_pence, method, status,
                                                reference, recorded_by, paid_at, created_at)
                 select u.id, p.id, p.credits, p.price_pence, 'cash', 'paid', 'DEMO-PASS', $1,
                        now() - interval '3 days', now() - interval '3 days'
                   from users u, packages p
                  where u.email = 'parent@portico.test' and p.name like 'Football%'
                 returning id, parent_id, package_id, credits),
             credit as (
                 insert into package_credits (purchase_id, parent_id, package_id, expires_at)
                 select b.id, b.parent_id, b.package_id, now() + make_interval(days => p.valid_days)
                   from bought b join packages p on p.id = b.package_id
                 returning id, purchase_id)
             insert into package_credit_movements (package_credit_id, change, kind, created_by)
             select c.id, b.credits, 'purchase', $1 from credit c join bought b on b.id = c.purchase_id",
            finance,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the demo package purchase")?;
        sqlx::query!(
            "insert into discount_codes (code, kind, percent_off, usage_limit, valid_until, created_by)
             values ('WELCOME10', 'percent', 10, 50, current_date + 90, $1)",
            finance,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to add the demo discount code")?;
        Ok(())
    }

    async fn user(
        &mut self,
        email: &str,
        name: &str,
        phone: Option<&str>,
        role: &str,
        admin_role: Option<&str>,
    ) -> anyhow::Result<i64> {
        sqlx::query_scalar!(
            "insert into users (email, name, phone, role, admin_role, password_hash) \
             values ($1, $2, $3, $4, $5, $6) returning id",
            email,
            name,
            phone,
            role,
            admin_role,
            self.hash,
        )
        .fetch_one(&mut *self.conn)
        .await
        .with_context(|| format!("Failed to insert demo user {email}"))
    }

    async fn child(&mut self, parent: i64, c: &ChildSeed) -> anyhow::Result<i64> {
        sqlx::query_scalar!(
            "insert into children (parent_id, first_name, last_name, date_of_birth, \
             medical_notes, allergies, additional_needs, photo_consent) \
             values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
            parent,
            c.first,
            c.last,
            born(self.today, c.age),
            c.medical,
            c.allergies,
            c.needs,
            c.photo_consent,
        )
        .fetch_one(&mut *self.conn)
        .await
        .with_context(|| format!("Failed to insert demo child {}", c.first))
    }

    async fn activity(&mut self, a: &ActivitySeed) -> anyhow::Result<Activity> {
        let id = sqlx::query_scalar!(
            "insert into activities (name, description, min_age_years, max_age_years, \
             default_duration_minutes, default_capacity, price_pence, requires_approval, \
             booking_cutoff_hours, cancellation_cutoff_hours, children_per_trainer, pay_at_booking) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) returning id",
            a.name,
            a.description,
            a.ages.map(|(min, _)| min),
            a.ages.map(|(_, max)| max),
            a.minutes,
            a.capacity,
            a.price_pence,
            a.requires_approval,
            a.cutoffs.0,
            a.cutoffs.1,
            a.children_per_trainer,
            a.pay_at_booking,
        )
        .fetch_one(&mut *self.conn)
        .await
        .with_context(|| format!("Failed to insert activity {}", a.name))?;
        let minutes = i64::from(a.minutes);
        Ok(Activity { id, minutes, capacity: a.capacity, price_pence: a.price_pence })
    }

    /// A weekly series on `byday` (an iCalendar day such as "SA").
    async fn series(
        &mut self,
        activity: Activity,
        venue: i64,
        name: &str,
        byday: &str,
    ) -> anyhow::Result<i64> {
        sqlx::query_scalar!(
            "insert into series (activity_id, venue_id, name, recurrence_rule) \
             values ($1, $2, $3, $4) returning id",
            activity.id,
            venue,
            name,
            format!("FREQ=WEEKLY;BYDAY={byday}"),
        )
        .fetch_one(&mut *self.conn)
        .await
        .with_context(|| format!("Failed to insert series {name}"))
    }

    /// Every `weekday` from four weeks ago to eight weeks ahead, at `start` local time.
    async fn weekly(
        &mut self,
        activity: Activity,
        venue: i64,
        series: i64,
        weekday: Weekday,
        start: (u8, u8),
    ) -> anyhow::Result<Vec<Session>> {
        let mut sessions = Vec::new();
        let mut date = self.today - Duration::days(28);
        while date <= self.today + Duration::days(56) {
            if date.weekday() == weekday {
                sessions.push(self.session(activity, venue, Some(series), date, start).await?);
            }
            date += Duration::days(1);
        }
        Ok(sessions)
    }

    /// A session copying its activity's length, capacity and price.
    async fn session(
        &mut self,
        activity: Activity,
        venue: i64,
        series: Option<i64>,
        date: Date,
        (hour, minute): (u8, u8),
    ) -> anyhow::Result<Session> {
        let start = PrimitiveDateTime::new(date, Time::from_hms(hour, minute, 0)?);
        let starts = local(self.tz, start)?;
        let ends = local(self.tz, start + Duration::minutes(activity.minutes))?;
        let status = if date < self.today { "completed" } else { "scheduled" };
        let id = sqlx::query_scalar!(
            "insert into sessions (activity_id, venue_id, series_id, starts_at, ends_at, \
             capacity, price_pence, status) \
             values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
            activity.id,
            venue,
            series,
            starts,
            ends,
            activity.capacity,
            activity.price_pence,
            status,
        )
        .fetch_one(&mut *self.conn)
        .await
        .context("Failed to insert a demo session")?;
        Ok(Session { id, date, starts, ends, price_pence: activity.price_pence })
    }

    /// The lead: worked and checked out before today, accepted from today on.
    async fn lead(&mut self, session: &Session, trainer: i64) -> anyhow::Result<i64> {
        let status = if session.date < self.today { ShiftStatus::CheckedOut } else { ShiftStatus::Accepted };
        self.shift(session, Some(trainer), ShiftRole::Lead, status).await
    }

    /// A shift (`during` is copied from the session by a trigger). A checked-out shift
    /// gets check-in and check-out times and the time entry they make.
    async fn shift(
        &mut self,
        session: &Session,
        trainer: Option<i64>,
        role: ShiftRole,
        status: ShiftStatus,
    ) -> anyhow::Result<i64> {
        let worked = (status == ShiftStatus::CheckedOut)
            .then(|| (session.starts - Duration::minutes(10), session.ends + Duration::minutes(5)));
        let id = sqlx::query_scalar!(
            "insert into shifts (session_id, trainer_id, role, status, checked_in_at, \
             checked_out_at) values ($1, $2, $3, $4, $5, $6) returning id",
            session.id,
            trainer,
            role as _,
            status as _,
            worked.map(|(checked_in, _)| checked_in),
            worked.map(|(_, checked_out)| checked_out),
        )
        .fetch_one(&mut *self.conn)
        .await
        .context("Failed to insert a demo shift")?;
        if let (Some(worked), Some(trainer)) = (worked, trainer) {
            self.time_entry(trainer, Some(id), worked, "").await?;
        }
        Ok(id)
    }

    /// Worked time: from a shift, or entered by hand (no shift) with a note.
    async fn time_entry(
        &mut self,
        trainer: i64,
        shift: Option<i64>,
        (started, ended): (OffsetDateTime, OffsetDateTime),
        note: &str,
    ) -> anyhow::Result<()> {
        sqlx::query!(
            "insert into time_entries (trainer_id, shift_id, started_at, ended_at, source, note, week_start) \
             values ($1, $2, $3, $4, $5, $6, $7)",
            trainer,
            shift,
            started,
            ended,
            if shift.is_some() { "shift" } else { "manual" },
            note,
            crate::timesheets::week_of(started, self.tz),
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to insert a demo time entry")?;
        Ok(())
    }

    /// A booking of `children` onto `sessions`, made `days` ago, with its history; its
    /// status is the last step's. A place is held while the booking is submitted and
    /// neither rejected nor cancelled. The office's steps also go to the audit log.
    async fn book(
        &mut self,
        office: i64,
        family: i64,
        children: &[i64],
        sessions: &[Session],
        history: History,
        days: i64,
    ) -> anyhow::Result<i64> {
        let Some(&(status, _, _)) = history.last() else {
            anyhow::bail!("A demo booking needs a history");
        };
        let (now, booked_at) = (self.now, self.now - Duration::days(days));
        let at = |step: i64, to: &str| match to {
            "completed" => now - Duration::hours(1),
            _ => booked_at + Duration::days(step),
        };
        let holds_place = matches!(status, "pending" | "changes_requested" | "approved" | "completed");
        let per_child: i32 = sessions.iter().map(|s| s.price_pence).sum();
        let total = per_child * i32::try_from(children.len())?;
        let last_at = at(i64::try_from(history.len())? - 1, status);
        let booking = sqlx::query_scalar!(
            "insert into bookings (parent_id, status, total_pence, created_by, created_at, \
             updated_at) values ($1, $2, $3, $1, $4, $5) returning id",
            family,
            status,
            total,
            booked_at,
            last_at,
        )
        .fetch_one(&mut *self.conn)
        .await
        .context("Failed to insert a demo booking")?;
        for session in sessions {
            for &child in children {
                sqlx::query!(
                    "insert into booking_participants (booking_id, session_id, child_id, \
                     price_pence, holds_place, created_at) values ($1, $2, $3, $4, $5, $6)",
                    booking,
                    session.id,
                    child,
                    session.price_pence,
                    holds_place,
                    booked_at,
                )
                .execute(&mut *self.conn)
                .await
                .context("Failed to insert a demo booking participant")?;
            }
        }
        let mut from: Option<&str> = None;
        for (i, &(to, by_office, reason)) in (0..).zip(history) {
            let (by, when) = (if by_office { office } else { family }, at(i, to));
            sqlx::query!(
                "insert into booking_status_changes \
                 (booking_id, from_status, to_status, changed_by, reason, created_at) \
                 values ($1, $2, $3, $4, $5, $6)",
                booking,
                from,
                to,
                by,
                reason,
                when,
            )
            .execute(&mut *self.conn)
            .await
            .context("Failed to insert a demo booking status change")?;
            if by_office {
                let before = from.map(|from| json!({ "status": from }));
                let after = json!({ "status": to, "reason": reason });
                let action = format!("booking.{to}");
                self.audit(office, &action, ("booking", booking), (before, after), when).await?;
            }
            from = Some(to);
        }
        Ok(booking)
    }

    async fn audit(
        &mut self,
        actor: i64,
        action: &str,
        (entity_type, entity_id): (&str, i64),
        (before, after): (Option<Value>, Value),
        at: OffsetDateTime,
    ) -> anyhow::Result<()> {
        sqlx::query!(
            "insert into audit_log (actor_id, action, entity_type, entity_id, before, after, \
             created_at) values ($1, $2, $3, $4, $5, $6, $7)",
            actor,
            action,
            entity_type,
            entity_id,
            before,
            after,
            at,
        )
        .execute(&mut *self.conn)
        .await
        .context("Failed to insert a demo audit row")?;
        Ok(())
    }
}
