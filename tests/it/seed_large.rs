//! The large demo (`seed-demo --size large`), loaded at a two-hundredth of its size:
//! the sizes asked for, every invariant still true, the demo accounts' share, pages up.

use portico::demo::large::{self, Sizes};

use crate::common::{TestApp, TestClient, spawn_app};

const SCALE: i64 = 200;

async fn load_large(app: &TestApp) -> Sizes {
    app.seed_demo().await;
    let hash = app.passwords.hash(portico::demo::DEMO_PASSWORD).await.expect("hash");
    let sizes = Sizes::LARGE.divided_by(SCALE);
    large::load(&app.pool, app.config.timezone, &hash, sizes).await.expect("the large demo loads");
    sizes
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap_or_else(|err| panic!("{sql}: {err}"))
}

const LARGE_VENUES: &str = "(select id from venues where name in ('Northgate Leisure Centre', 'Surbiton Community Hall', 'Tolworth Sports Centre'))";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_large_demo_loads_the_sizes_asked_with_every_invariant_true() {
    let app = spawn_app().await;
    let audit_before = {
        app.seed_demo().await;
        scalar(&app, "select count(*) from audit_log").await
    };
    let hash = app.passwords.hash(portico::demo::DEMO_PASSWORD).await.expect("hash");
    let sizes = Sizes::LARGE.divided_by(SCALE);
    assert_eq!(
        sizes,
        Sizes {
            families: 50,
            children: 75,
            sessions: 100,
            places: 5000,
            payments: 1500,
            audit_rows: 2500,
            trainers: 1
        }
    );
    let loaded = large::load(&app.pool, app.config.timezone, &hash, sizes).await.expect("loads");
    assert_eq!((loaded.families, loaded.children, loaded.trainers), (50, 75, 1));

    let generated = "(select id from users where email like '%@families.portico.test')";
    let app_ref = &app;
    let count = |sql: String| async move { scalar(app_ref, &sql).await };
    assert_eq!(count(format!("select count(*) from sessions where venue_id in {LARGE_VENUES}")).await, 100);
    assert_eq!(count(format!("select count(*) from bookings where parent_id in {generated}")).await, 5000);
    assert_eq!(
        count(format!(
            "select count(*) from booking_participants p join children c on c.id = p.child_id
             where c.parent_id in {generated}"
        ))
        .await,
        5000
    );
    assert_eq!(
        count(format!(
            "select count(*) from payments p join bookings b on b.id = p.booking_id where b.parent_id in {generated}"
        ))
        .await,
        1500
    );
    assert_eq!(scalar(&app, "select count(*) from audit_log").await - audit_before, 2500);
    // Every large session has its lead.
    assert_eq!(
        count(format!(
            "select count(*) from shifts sh join sessions s on s.id = sh.session_id
             where s.venue_id in {LARGE_VENUES} and sh.role = 'lead'"
        ))
        .await,
        100
    );
    // The sizes spread over two years back and some weeks ahead (the small demo's own
    // course dates, such as a certificate's course three years back, left out).
    assert_eq!(
        count(format!(
            "select count(*) from sessions where venue_id in {LARGE_VENUES}
               and (starts_at < now() - interval '732 days' or starts_at > now() + interval '60 days')"
        ))
        .await,
        0
    );
    assert!(
        scalar(&app, "select count(*) from sessions where starts_at < now() - interval '365 days'").await
            > 40
    );
    assert!(
        scalar(&app, "select count(*) from sessions where starts_at > now() + interval '7 days'").await > 3
    );

    // The invariants, asked of the data itself.
    let checks = [
        ("a session over capacity", "select count(*) from sessions where places_taken + places_offered > capacity"),
        (
            "a places-taken counter that is not the places held",
            "select count(*) from sessions s
             where places_taken <> (select count(*) from booking_participants p
                                    where p.session_id = s.id and p.holds_place)",
        ),
        (
            "a child with two places in one session",
            "select count(*) from (select 1 from booking_participants where holds_place
                                   group by session_id, child_id having count(*) > 1) twice",
        ),
        (
            "a trainer with overlapping shifts",
            "select count(*) from shifts a join shifts b on a.trainer_id = b.trainer_id and a.id < b.id
             and a.during && b.during
             where a.status in ('accepted', 'checked_in', 'checked_out')
               and b.status in ('accepted', 'checked_in', 'checked_out')",
        ),
        (
            "a shift in approved time off",
            "select count(*) from shifts s join time_off_requests t on t.trainer_id = s.trainer_id
             and t.status = 'approved' and t.during && s.during",
        ),
        (
            "a shift whose times are not its session's",
            "select count(*) from shifts sh join sessions s on s.id = sh.session_id
             where sh.during <> tstzrange(s.starts_at, s.ends_at)",
        ),
        (
            "a payment whose refunds are not what it says",
            "select count(*) from payments p
             where p.refunded_pence <> coalesce((select sum(amount_pence) from refunds r
                                                 where r.payment_id = p.id and r.failed_at is null), 0)
                or p.refunded_pence > p.amount_pence",
        ),
        (
            "a booking whose total is not its places",
            "select count(*) from bookings b
             where b.parent_id in (select id from users where email like '%@families.portico.test')
               and b.total_pence <> (select sum(price_pence) from booking_participants p where p.booking_id = b.id)",
        ),
        (
            "a place held by a cancelled or rejected booking",
            "select count(*) from booking_participants p join bookings b on b.id = p.booking_id
             where p.holds_place and b.status in ('cancelled', 'rejected', 'draft', 'lapsed')",
        ),
        (
            "a time entry outside its local week",
            "select count(*) from time_entries
             where week_start <> date_trunc('week', started_at at time zone 'Europe/London')::date",
        ),
        (
            "time entered in an approved week after it was approved",
            "select count(*) from time_entries e join timesheets t
             on t.trainer_id = e.trainer_id and t.week_start = e.week_start
             where t.status = 'approved' and e.created_at > t.decided_at",
        ),
        (
            "a payment made in the future",
            "select count(*) from payments p join bookings b on b.id = p.booking_id
             where p.paid_at > now() and b.parent_id in (select id from users where email like '%@families.portico.test')",
        ),
    ];
    for (what, sql) in checks {
        assert_eq!(scalar(&app, sql).await, 0, "found {what}");
    }
}

async fn sign_in(app: &TestApp, email: &str) -> TestClient {
    let client = app.client();
    let response = client.login(email, portico::demo::DEMO_PASSWORD).await;
    assert_eq!(response.status(), 303, "{email} signs in with the demo password");
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_accounts_hold_their_share_and_their_pages_render() {
    let app = spawn_app().await;
    load_large(&app).await;

    // The demo family: three children, ~150 bookings (at this scale one per session:
    // 100) over two years, most of them paid.
    let parent = "(select id from users where email = 'parent@portico.test')";
    let app_ref = &app;
    let count = |sql: String| async move { scalar(app_ref, &sql).await };
    assert_eq!(count(format!("select count(*) from children where parent_id = {parent}")).await, 3);
    let bookings = count(format!("select count(*) from bookings where parent_id = {parent}")).await;
    assert!((100..=120).contains(&bookings), "the demo family has {bookings} bookings");
    let oldest = count(format!(
        "select extract(day from now() - min(s.starts_at))::bigint from booking_participants p
         join bookings b on b.id = p.booking_id join sessions s on s.id = p.session_id where b.parent_id = {parent}"
    ))
    .await;
    assert!(oldest > 600, "the demo family's bookings go back {oldest} days");
    let paid = count(format!(
        "select count(*) from payments p join bookings b on b.id = p.booking_id where b.parent_id = {parent}"
    ))
    .await;
    assert!(paid > 60, "the demo family paid for {paid} bookings");

    // The demo trainer: a shift on every other day that has sessions (~400 at full
    // size), and a timesheet for every past week worked.
    let trainer = "(select id from users where email = 'trainer@portico.test')";
    let shifts = count(format!(
        "select count(*) from shifts sh join sessions s on s.id = sh.session_id
         where sh.trainer_id = {trainer} and s.venue_id in {LARGE_VENUES}"
    ))
    .await;
    assert!((40..=60).contains(&shifts), "the demo trainer has {shifts} large shifts");
    let weeks_without_timesheet = count(format!(
        "select count(distinct e.week_start) from time_entries e
         where e.trainer_id = {trainer} and e.week_start < date_trunc('week', now() at time zone 'Europe/London')::date
           and not exists (select 1 from timesheets t where t.trainer_id = e.trainer_id and t.week_start = e.week_start)"
    ))
    .await;
    assert_eq!(weeks_without_timesheet, 0, "every past week worked has a timesheet");
    assert!(count(format!("select count(*) from timesheets where trainer_id = {trainer}")).await > 40);

    // The coordinator's queue.
    let pending = scalar(&app, "select count(*) from bookings where status = 'pending'").await;
    assert!(pending > 20, "{pending} bookings wait for approval");

    // Every demo role's pages still render over the larger data.
    let client = sign_in(&app, "parent@portico.test").await;
    for path in ["/parent", "/parent/bookings"] {
        assert_eq!(client.get(path).await.status(), 200, "parent: {path}");
    }
    let client = sign_in(&app, "trainer@portico.test").await;
    for path in ["/trainer", "/trainer/shifts"] {
        assert_eq!(client.get(path).await.status(), 200, "trainer: {path}");
    }
    let client = sign_in(&app, "coordinator@portico.test").await;
    for path in ["/admin", "/admin/bookings", "/admin/bookings?status=pending"] {
        assert_eq!(client.get(path).await.status(), 200, "coordinator: {path}");
    }
    let client = sign_in(&app, "family7@families.portico.test").await;
    assert_eq!(client.get("/parent/bookings").await.status(), 200, "a generated family signs in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loading_the_large_demo_twice_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    load_large(&app).await;
    let before = large::count(&app.pool).await.expect("count");
    let hash = app.passwords.hash(portico::demo::DEMO_PASSWORD).await.expect("hash");
    let again = large::load(&app.pool, app.config.timezone, &hash, Sizes::LARGE.divided_by(SCALE)).await;
    let err = again.expect_err("a second load is refused");
    assert!(err.to_string().contains("already loaded"), "{err}");
    assert_eq!(large::count(&app.pool).await.expect("count"), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_large_demo_needs_the_small_demo_first() {
    let app = spawn_app().await;
    let hash = app.passwords.hash(portico::demo::DEMO_PASSWORD).await.expect("hash");
    let err = large::load(&app.pool, app.config.timezone, &hash, Sizes::LARGE.divided_by(SCALE))
        .await
        .expect_err("refused without the demo accounts");
    assert!(err.to_string().contains("small demo"), "{err}");
    assert_eq!(scalar(&app, "select count(*) from users").await, 0, "nothing half-written");
}
