//! Every list is paged: fifty rows a page by keyset (sort key and id), `Next` and
//! `Previous` that keep the filters, no row lost or repeated while rows arrive, junk
//! cursors harmless, totals from SQL, and CSV exports with as many rows as the total.

use sqlx::PgPool;

use crate::common::{TestApp, TestClient, fixtures, spawn_app};

/// Adds `n` bookings of one child on one session, `status` each, received a minute
/// apart going back from `newest_minutes_ago` and two to each minute (so the id breaks
/// ties). Returns their ids.
async fn bookings(pool: &PgPool, parent_id: i64, n: i32, status: &str, newest_minutes_ago: i32) -> Vec<i64> {
    static MADE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let nth = MADE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let act = fixtures::activity(pool, &format!("Swim {status} {nth}"), false, (4, 12), 24).await;
    let session_id = fixtures::session(pool, &act, 72, 1000, None).await;
    let child_id = fixtures::child(pool, parent_id, "Maya", 7).await;
    sqlx::query_scalar(
        "with made as (
            insert into bookings (parent_id, status, total_pence, created_at)
            select $1, $2, 650, now() - make_interval(mins => $4 + g / 2)
            from generate_series(0, $3 - 1) g
            returning id)
         insert into booking_participants (booking_id, session_id, child_id, price_pence, holds_place)
         select id, $5, $6, 650, false from made returning booking_id",
    )
    .bind(parent_id)
    .bind(status)
    .bind(n)
    .bind(newest_minutes_ago)
    .bind(session_id)
    .bind(child_id)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The ids a list links to as `{prefix}{id}`, in page order.
fn ids(page: &str, prefix: &str) -> Vec<i64> {
    page.split(&format!("href=\"{prefix}"))
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            (rest[digits.len()..].starts_with('"') && !digits.is_empty()).then(|| digits.parse().unwrap())
        })
        .collect()
}

/// The pager's `Next` or `Previous` link (`rel` next or prev), unescaped.
fn link(page: &str, rel: &str) -> Option<String> {
    let nav = &page[page.find("<nav class=\"pager\"")?..];
    let nav = &nav[..nav.find("</nav>")?];
    let anchor_end = nav.find(&format!("rel=\"{rel}\""))?;
    let anchor = &nav[..anchor_end];
    let href = &anchor[anchor.rfind("href=\"")? + 6..];
    Some(href[..href.find('"')?].replace("&#38;", "&").replace("&amp;", "&"))
}

async fn admin(app: &TestApp, role: &str) -> TestClient {
    app.signed_in(&format!("{role}@example.com"), "admin", Some(role)).await
}

/// Follows `Next` from `path` to the end, returning each page's ids.
async fn walk(client: &TestClient, path: &str, prefix: &str) -> Vec<Vec<i64>> {
    let mut pages = Vec::new();
    let mut next = Some(path.to_owned());
    while let Some(path) = next {
        let page = client.get_text(&path).await;
        pages.push(ids(&page, prefix));
        next = link(&page, "next");
        assert!(pages.len() < 100, "the pages end");
    }
    pages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_bookings_go_fifty_a_page_forwards_and_back() {
    let app = spawn_app().await;
    let (parent_id, _) = fixtures::parent(&app, "parent@example.com").await;
    bookings(&app.pool, parent_id, 120, "approved", 0).await;
    let office = admin(&app, "coordinator").await;
    // Newest first: received time descending, then the higher id first.
    let made: Vec<i64> = sqlx::query_scalar("select id from bookings order by created_at desc, id desc")
        .fetch_all(&app.pool)
        .await
        .unwrap();

    let first = office.get_text("/admin/bookings").await;
    assert!(first.contains("120 bookings"), "the total is shown: {first}");
    assert_eq!(ids(&first, "/admin/bookings/"), made[..50]);
    assert_eq!(link(&first, "prev"), None, "the first page has no Previous");
    let next = link(&first, "next").expect("the first page has a Next");

    let middle = office.get_text(&next).await;
    assert_eq!(ids(&middle, "/admin/bookings/"), made[50..100]);
    let last_path = link(&middle, "next").expect("a middle page has a Next");
    let back = link(&middle, "prev").expect("a middle page has a Previous");

    let last = office.get_text(&last_path).await;
    assert_eq!(ids(&last, "/admin/bookings/"), made[100..]);
    assert_eq!(link(&last, "next"), None, "the last page has no Next");

    let again = office.get_text(&link(&last, "prev").expect("the last page has a Previous")).await;
    assert_eq!(ids(&again, "/admin/bookings/"), made[50..100], "Previous from the last is the middle");
    let start = office.get_text(&back).await;
    assert_eq!(ids(&start, "/admin/bookings/"), made[..50], "Previous from the middle is the first");
    assert_eq!(link(&start, "prev"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_bookings_links_keep_the_filters() {
    let app = spawn_app().await;
    let (parent_id, _) = fixtures::parent(&app, "parent@example.com").await;
    let pending = bookings(&app.pool, parent_id, 70, "pending", 0).await;
    bookings(&app.pool, parent_id, 70, "approved", 0).await;
    let office = admin(&app, "coordinator").await;

    let first = office.get_text("/admin/bookings?status=pending&q=Swim+pending").await;
    assert!(first.contains("70 bookings"), "the total counts the filtered bookings: {first}");
    let next = link(&first, "next").expect("a Next");
    assert!(next.contains("status=pending") && next.contains("q=Swim+pending"), "filters kept: {next}");
    let second = office.get_text(&next).await;
    let prev = link(&second, "prev").unwrap_or_else(|| panic!("a Previous: {second}"));
    assert!(prev.contains("status=pending") && prev.contains("q=Swim+pending"), "filters kept: {prev}");

    let mut seen = ids(&first, "/admin/bookings/");
    seen.extend(ids(&second, "/admin/bookings/"));
    // The approval queue is oldest first.
    let queue: Vec<i64> =
        sqlx::query_scalar("select id from bookings where status = 'pending' order by created_at, id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(seen, queue);
    let mut sorted = pending.clone();
    sorted.sort_unstable();
    seen.sort_unstable();
    assert_eq!(seen, sorted, "every pending booking, and nothing else");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_booking_is_lost_or_repeated_while_new_ones_arrive() {
    let app = spawn_app().await;
    let (parent_id, _) = fixtures::parent(&app, "parent@example.com").await;
    let mut made = bookings(&app.pool, parent_id, 130, "approved", 10).await;
    let office = admin(&app, "coordinator").await;

    let mut seen = Vec::new();
    let mut next = Some("/admin/bookings".to_owned());
    while let Some(path) = next {
        let page = office.get_text(&path).await;
        seen.extend(ids(&page, "/admin/bookings/"));
        next = link(&page, "next");
        // New bookings arrive between page loads; they belong before the first page.
        bookings(&app.pool, parent_id, 7, "approved", 0).await;
    }
    let count = seen.len();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), count, "no booking is shown twice");
    made.sort_unstable();
    assert_eq!(seen, made, "every booking there at the start is shown once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_junk_cursor_shows_the_first_page() {
    let app = spawn_app().await;
    let (parent_id, _) = fixtures::parent(&app, "parent@example.com").await;
    bookings(&app.pool, parent_id, 60, "pending", 0).await;
    let office = admin(&app, "coordinator").await;
    let first = ids(&office.get_text("/admin/bookings").await, "/admin/bookings/");
    for junk in [
        "after=abc",
        "before=%00%FF",
        "after=99999999999999999999999999999999_1",
        "after=1_99999999999999999999999",
        "before=-5_-5",
        "after=__",
    ] {
        let response = office.get(&format!("/admin/bookings?{junk}")).await;
        assert_eq!(response.status(), 200, "{junk}");
        let page = response.text().await.unwrap();
        if !junk.starts_with("before=-5") {
            assert_eq!(ids(&page, "/admin/bookings/"), first, "{junk} is the first page");
        }
    }
    for junk in ["after=abc", "before=1_x"] {
        let response = office.get(&format!("/admin/payments?{junk}")).await;
        assert_ne!(response.status(), 500, "{junk}");
        let response = office.get(&format!("/parent/bookings?{junk}")).await;
        assert_ne!(response.status(), 500, "{junk}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bookings_csv_has_as_many_rows_as_the_list_says() {
    let app = spawn_app().await;
    let (parent_id, _) = fixtures::parent(&app, "parent@example.com").await;
    bookings(&app.pool, parent_id, 130, "approved", 0).await;
    bookings(&app.pool, parent_id, 40, "pending", 0).await;
    let office = admin(&app, "finance").await;

    for (filter, total) in [("", 170), ("?status=pending", 40), ("?status=approved&q=swim", 130)] {
        let page = office.get_text(&format!("/admin/bookings{filter}")).await;
        assert!(page.contains(&format!("{total} bookings")), "{filter}: the total is shown");
        let response = office.get(&format!("/admin/bookings.csv{filter}")).await;
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let csv = response.text().await.unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].starts_with("\u{feff}Booking,Status,Parent"), "the header is kept");
        assert_eq!(lines.len() - 1, total, "{filter}: one row per booking");
        let mut listed: Vec<&str> = lines[1..].iter().map(|l| l.split(',').next().unwrap()).collect();
        let n = listed.len();
        listed.sort_unstable();
        listed.dedup();
        assert_eq!(listed.len(), n, "no booking twice");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_pages_through_their_own_bookings_only() {
    let app = spawn_app().await;
    let (parent_id, parent) = fixtures::parent(&app, "parent@example.com").await;
    let mut mine = bookings(&app.pool, parent_id, 75, "approved", 0).await;
    let (other_id, _) = fixtures::parent(&app, "other@example.com").await;
    bookings(&app.pool, other_id, 30, "approved", 0).await;

    let pages = walk(&parent, "/parent/bookings", "/parent/bookings/").await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [50, 25]);
    let mut seen: Vec<i64> = pages.into_iter().flatten().collect();
    seen.sort_unstable();
    mine.sort_unstable();
    assert_eq!(seen, mine, "every booking of theirs and none of another family's");
}

/// Adds a payment of `status` for each of `booking_ids`, made when its booking was and
/// of 100p plus the booking's place in the list (so sums catch a missing row).
async fn payments(pool: &PgPool, booking_ids: &[i64], status: &str) -> Vec<i64> {
    sqlx::query_scalar(
        "insert into payments (booking_id, amount_pence, method, status, created_at, paid_at)
         select b.id, 100 + (row_number() over (order by b.id))::int, 'cash', $2, b.created_at, b.created_at
         from bookings b where b.id = any($1) returning id",
    )
    .bind(booking_ids)
    .bind(status)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The figure in `<dd id="{id}">`.
fn figure(page: &str, id: &str) -> String {
    let at = &page[page.find(&format!("id=\"{id}\">")).unwrap_or_else(|| panic!("{id} in {page}"))..];
    at[at.find('>').unwrap() + 1..at.find('<').unwrap()].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_payments_go_fifty_a_page_with_totals_over_every_page() {
    let app = spawn_app().await;
    let (parent_id, _) = fixtures::parent(&app, "parent@example.com").await;
    let booked = bookings(&app.pool, parent_id, 120, "approved", 0).await;
    payments(&app.pool, &booked, "succeeded").await;
    let finance = admin(&app, "finance").await;
    let order: Vec<i64> = sqlx::query_scalar("select id from payments order by created_at desc, id desc")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let taken: i64 = sqlx::query_scalar("select sum(amount_pence)::bigint from payments")
        .fetch_one(&app.pool)
        .await
        .unwrap();

    let first = finance.get_text("/admin/payments").await;
    assert!(first.contains("120 booking payments match"), "{first}");
    let pounds = format!("£{}.{:02}", taken / 100, taken % 100);
    assert_eq!(figure(&first, "total-taken"), pounds, "the total covers every page");
    assert_eq!(ids(&first, "/admin/payments/"), order[..50]);
    assert_eq!(link(&first, "prev"), None);
    let middle = finance.get_text(&link(&first, "next").expect("a Next")).await;
    assert_eq!(ids(&middle, "/admin/payments/"), order[50..100]);
    assert_eq!(figure(&middle, "total-taken"), pounds, "every page shows the same totals");
    let last = finance.get_text(&link(&middle, "next").expect("a Next")).await;
    assert_eq!(ids(&last, "/admin/payments/"), order[100..]);
    assert_eq!(link(&last, "next"), None);
    let back = finance.get_text(&link(&last, "prev").expect("a Previous")).await;
    assert_eq!(ids(&back, "/admin/payments/"), order[50..100]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_payments_links_keep_the_filters_and_lose_nothing_while_payments_arrive() {
    let app = spawn_app().await;
    let (parent_id, _) = fixtures::parent(&app, "parent@example.com").await;
    let mut taken =
        payments(&app.pool, &bookings(&app.pool, parent_id, 110, "approved", 10).await, "succeeded").await;
    payments(&app.pool, &bookings(&app.pool, parent_id, 60, "approved", 10).await, "failed").await;
    let finance = admin(&app, "finance").await;

    let today = time::OffsetDateTime::now_utc().date();
    let filter = format!(
        "status=succeeded&from={}&to={}",
        today - time::Duration::days(2),
        today + time::Duration::days(1)
    );
    let mut seen = Vec::new();
    let mut next = Some(format!("/admin/payments?{filter}"));
    let mut pages = 0;
    while let Some(path) = next {
        let page = finance.get_text(&path).await;
        seen.extend(ids(&page, "/admin/payments/"));
        next = link(&page, "next");
        if let Some(n) = &next {
            assert!(n.contains(&filter), "the filters are kept: {n}");
        }
        if pages > 0 {
            let prev = link(&page, "prev").expect("a Previous");
            assert!(prev.contains(&filter), "the filters are kept: {prev}");
        }
        pages += 1;
        // Payments keep arriving, some of them matching.
        let more = bookings(&app.pool, parent_id, 4, "approved", 0).await;
        payments(&app.pool, &more, "succeeded").await;
    }
    assert_eq!(pages, 3);
    let count = seen.len();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), count, "no payment twice");
    taken.sort_unstable();
    assert_eq!(seen, taken, "every matching payment there at the start, once; no failed one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payments_csv_streams_every_row_the_list_counts_and_its_totals() {
    let app = spawn_app().await;
    let (parent_id, _) = fixtures::parent(&app, "parent@example.com").await;
    payments(&app.pool, &bookings(&app.pool, parent_id, 140, "approved", 0).await, "succeeded").await;
    payments(&app.pool, &bookings(&app.pool, parent_id, 30, "approved", 0).await, "failed").await;
    let finance = admin(&app, "finance").await;

    for (filter, count) in [("", 170), ("?status=succeeded", 140), ("?status=failed", 30)] {
        let page = finance.get_text(&format!("/admin/payments{filter}")).await;
        assert!(page.contains(&format!("{count} booking payments match")), "{filter}");
        let csv = finance.get_text(&format!("/admin/payments.csv{filter}")).await;
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].starts_with("\u{feff}Payment,Date,Booking"), "the header is kept");
        assert_eq!(lines.len(), 1 + count + 1, "{filter}: header, one row per payment, the totals row");
        let totals: Vec<&str> = lines.last().unwrap().split(',').collect();
        assert_eq!(totals[0], "total");
        let taken = figure(&page, "total-taken").replace(['£', ','], "");
        assert_eq!(totals[8], taken, "{filter}: the CSV's total is the page's");
    }
}

/// Walks a list from `path` and checks it shows exactly `expected`, each once, in
/// pages of fifty, with a Previous on every page but the first.
async fn pages_through(client: &TestClient, path: &str, prefix: &str, expected: &[i64]) {
    let mut seen = Vec::new();
    let mut next = Some(path.to_owned());
    let mut sizes = Vec::new();
    while let Some(path) = next {
        let page = client.get_text(&path).await;
        let on_page: Vec<i64> = ids(&page, prefix).into_iter().filter(|id| expected.contains(id)).collect();
        sizes.push(on_page.len());
        assert_eq!(link(&page, "prev").is_some(), sizes.len() > 1, "{path}: a Previous after the first page");
        seen.extend(on_page);
        next = link(&page, "next");
        assert!(sizes.len() < 50, "the pages end");
    }
    assert!(sizes.len() > 1 && sizes[..sizes.len() - 1].iter().all(|&n| n == 50), "{path}: {sizes:?}");
    let count = seen.len();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), count, "{path}: nothing twice");
    let mut expected = expected.to_vec();
    expected.sort_unstable();
    assert_eq!(seen, expected, "{path}: everything once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_and_the_outbox_page_through_everything() {
    let app = spawn_app().await;
    let entries: Vec<i64> = sqlx::query_scalar(
        "insert into audit_log (action, entity_type, entity_id, created_at)
         select 'paging.tested', 'thing', 1000 + g, now() - make_interval(mins => g / 3)
         from generate_series(1, 130) g returning entity_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let emails: Vec<i64> = sqlx::query_scalar(
        "insert into outbox_emails (to_address, subject, body_text, status, created_at)
         select 'family' || g || '@example.com', 'Hello ' || g, 'Body', 'sent', now() - make_interval(mins => g / 3)
         from generate_series(1, 120) g returning id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let owner = admin(&app, "owner").await;
    // Audit lines name their entity as `thing #id`.
    let mut seen = Vec::new();
    let mut next = Some("/admin/audit?what=paging.".to_owned());
    while let Some(path) = next {
        let page = owner.get_text(&path).await;
        assert!(path.contains("what=paging."), "the filter is kept: {path}");
        seen.extend(page.split("thing #").skip(1).map(|rest| {
            rest.chars().take_while(char::is_ascii_digit).collect::<String>().parse::<i64>().unwrap()
        }));
        next = link(&page, "next");
    }
    let count = seen.len();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!((seen.len(), count), (130, 130), "every audit entry once");
    let mut entries = entries;
    entries.sort_unstable();
    assert_eq!(seen, entries);

    pages_through(&owner, "/admin/outbox", "/admin/outbox/", &emails).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_and_trainers_page_by_name() {
    let app = spawn_app().await;
    let parents: Vec<i64> = sqlx::query_scalar(
        "insert into users (email, name, role, password_hash)
         select 'p' || g || '@example.com', 'Parent ' || (g % 7) || ' ' || g, 'parent', 'x'
         from generate_series(1, 125) g returning id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let trainers: Vec<i64> = sqlx::query_scalar(
        "with made as (
            insert into users (email, name, role, password_hash, is_active)
            select 't' || g || '@example.com', 'Trainer ' || (g % 5), 'trainer', 'x', g % 4 <> 0
            from generate_series(1, 110) g returning id)
         insert into trainer_profiles (user_id) select id from made returning user_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let office = admin(&app, "coordinator").await;
    let first = office.get_text("/admin/clients").await;
    assert!(first.contains("125 clients"), "the total is shown");
    pages_through(&office, "/admin/clients", "/admin/clients/", &parents).await;
    pages_through(&office, "/admin/clients?q=parent", "/admin/clients/", &parents).await;
    let first = office.get_text("/admin/trainers").await;
    assert!(first.contains("110 trainers"), "the total is shown");
    pages_through(&office, "/admin/trainers", "/admin/trainers/", &trainers).await;
    // Active trainers come first.
    let last = walk(&office, "/admin/trainers", "/admin/trainers/").await.pop().unwrap();
    let inactive: Vec<i64> =
        sqlx::query_scalar("select id from users where role = 'trainer' and not is_active")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert!(last.iter().all(|id| inactive.contains(id)), "the last page holds deactivated trainers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timesheets_page_by_week_and_payroll_streams_every_approved_one() {
    let app = spawn_app().await;
    // Six trainers, 25 Mondays each: 150 timesheets, a third of them approved.
    let sheets: Vec<(i64, String)> = sqlx::query_as(
        "with made as (
            insert into users (email, name, role, password_hash)
            select 't' || g || '@example.com', 'Trainer ' || g, 'trainer', 'x' from generate_series(1, 6) g
            returning id),
         profiles as (insert into trainer_profiles (user_id) select id from made returning user_id)
         insert into timesheets (trainer_id, week_start, status, submitted_at, hourly_rate_pence)
         select user_id, date_trunc('week', now())::date - 7 * w,
                case when w % 3 = 0 then 'approved' else 'submitted' end, now(), 1500
         from profiles, generate_series(1, 25) w
         returning id, status",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let submitted: Vec<i64> = sheets.iter().filter(|(_, s)| s == "submitted").map(|(id, _)| *id).collect();
    let all: Vec<i64> = sheets.iter().map(|(id, _)| *id).collect();
    let finance = admin(&app, "finance").await;

    let first = finance.get_text("/admin/timesheets").await;
    assert!(first.contains(&format!("{} timesheets", submitted.len())), "the total of the default list");
    pages_through(&finance, "/admin/timesheets", "/admin/timesheets/", &submitted).await;
    pages_through(&finance, "/admin/timesheets?status=", "/admin/timesheets/", &all).await;

    let approved = all.len() - submitted.len();
    let page = finance.get_text("/admin/timesheets?status=approved").await;
    assert!(page.contains(&format!("{approved} timesheets")));
    let csv = finance.get_text("/admin/timesheets.csv?from=2000-01-03&to=2100-01-04").await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "\u{feff}Trainer,Email,Week starting,Hours,Rate (£ an hour),Pay (£)");
    assert_eq!(lines.len() - 1, approved, "one payroll row per approved timesheet: {csv}");
}

/// The ids that follow `marker` and end with `end` (forms name their rows in their
/// `action`s), in page order.
fn ids_between(page: &str, marker: &str, end: &str) -> Vec<i64> {
    page.split(marker)
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            (!digits.is_empty() && rest[digits.len()..].starts_with(end)).then(|| digits.parse().unwrap())
        })
        .collect()
}

/// The part of `page` from the heading `from` to the heading `to` (or the end).
fn section<'a>(page: &'a str, from: &str, to: Option<&str>) -> &'a str {
    let start = page.find(from).unwrap_or_else(|| panic!("{from} in {page}"));
    let rest = &page[start..];
    match to.and_then(|to| rest.find(to)) {
        Some(end) => &rest[..end],
        None => rest,
    }
}

/// Follows `Next` from `path` in the part of each page `part` picks, checking that a
/// Previous comes back to the page before; returns each page's ids as `read` finds them.
async fn walk_part(
    client: &TestClient,
    path: &str,
    part: impl Fn(&str) -> &str,
    read: impl Fn(&str) -> Vec<i64>,
) -> Vec<Vec<i64>> {
    let mut pages: Vec<Vec<i64>> = Vec::new();
    let mut next = Some(path.to_owned());
    while let Some(path) = next {
        let page = client.get_text(&path).await;
        let list = part(&page);
        let on_page = read(list);
        match link(list, "prev") {
            Some(prev) => {
                let back = client.get_text(&prev).await;
                assert_eq!(
                    read(part(&back)),
                    *pages.last().expect("no Previous on the first page"),
                    "{prev}"
                );
            }
            None => assert!(pages.is_empty(), "{path}: a Previous after the first page"),
        }
        pages.push(on_page);
        next = link(list, "next");
        assert!(pages.len() < 50, "the pages end");
    }
    pages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parents_waitlist_pages_soonest_first_under_its_offers() {
    let app = spawn_app().await;
    let (parent_id, parent) = fixtures::parent(&app, "parent@example.com").await;
    let child_id = fixtures::child(&app.pool, parent_id, "Maya", 7).await;
    let (other_id, _) = fixtures::parent(&app, "other@example.com").await;
    let other_child = fixtures::child(&app.pool, other_id, "Kai", 7).await;
    let act = fixtures::activity(&app.pool, "Swim", false, (4, 12), 24).await;
    // 120 sessions two to an hour (so the entry's id breaks ties), the child waiting on
    // each, another family's child on each, and one place offered on one more.
    let waiting: Vec<i64> = sqlx::query_scalar(
        "with made as (
            insert into sessions (activity_id, venue_id, starts_at, ends_at, capacity, price_pence)
            select $1, $2, now() + make_interval(hours => 2 + g / 2), now() + make_interval(hours => 3 + g / 2), 1, 650
            from generate_series(0, 119) g returning id),
         others as (insert into waitlist_entries (session_id, child_id, parent_id) select id, $5, $6 from made)
         insert into waitlist_entries (session_id, child_id, parent_id) select id, $3, $4 from made returning id",
    )
    .bind(act.id)
    .bind(act.venue_id)
    .bind(child_id)
    .bind(parent_id)
    .bind(other_child)
    .bind(other_id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let offered_session = fixtures::session(&app.pool, &act, 500, 1, None).await;
    let offered: i64 = sqlx::query_scalar(
        "insert into waitlist_entries (session_id, child_id, parent_id, status, offered_at, offer_expires_at)
         values ($1, $2, $3, 'offered', now(), now() + interval '1 day') returning id",
    )
    .bind(offered_session)
    .bind(child_id)
    .bind(parent_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let order: Vec<i64> = sqlx::query_scalar(
        "select w.id from waitlist_entries w join sessions s on s.id = w.session_id
          where w.parent_id = $1 and w.status = 'waiting' order by s.starts_at, w.id",
    )
    .bind(parent_id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(order.len(), waiting.len());

    let read = |page: &str| ids_between(page, "action=\"/parent/waitlist/", "/withdraw");
    let pages = walk_part(&parent, "/parent/waitlist", |p| p, read).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [51, 51, 21], "the offer, then fifty waiting");
    for page in &pages {
        assert_eq!(page[0], offered, "the offer heads every page");
    }
    let seen: Vec<i64> = pages.iter().flat_map(|p| p[1..].to_vec()).collect();
    assert_eq!(seen, order, "every child waiting, once, soonest session first, and none of another family's");
    let first = parent.get_text("/parent/waitlist").await;
    assert!(first.contains("Place offered until") && first.contains("in the queue"), "{first}");
}

/// Adds `n` purchases of `status` of the package by the parent, made a minute apart
/// going back from now, two to each minute (so the id breaks ties). Returns their ids.
async fn purchases(pool: &PgPool, parent_id: i64, package_id: i64, n: i32, status: &str) -> Vec<i64> {
    sqlx::query_scalar(
        "insert into package_purchases (parent_id, package_id, credits, amount_pence, method, status, paid_at, created_at)
         select $1, $2, 5, 2500, case when $4 = 'paid' then 'cash' end, $4,
                case when $4 = 'paid' then now() end, now() - make_interval(mins => g / 2)
         from generate_series(0, $3 - 1) g returning id",
    )
    .bind(parent_id)
    .bind(package_id)
    .bind(n)
    .bind(status)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn package_sales_page_the_unpaid_and_the_paid_each_on_their_own() {
    let app = spawn_app().await;
    let (parent_id, _) = fixtures::parent(&app, "parent@example.com").await;
    let act = fixtures::activity(&app.pool, "Swim", false, (4, 12), 24).await;
    let package_id = fixtures::package(&app.pool, "Five swims", 5, 2500, &act).await;
    let mut unpaid = purchases(&app.pool, parent_id, package_id, 70, "pending").await;
    unpaid.extend(purchases(&app.pool, parent_id, package_id, 40, "failed").await);
    purchases(&app.pool, parent_id, package_id, 120, "paid").await;
    let newest_first = |status: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "select id from package_purchases where ($1 = 'paid') = (status = 'paid')
                  order by created_at desc, id desc",
            )
            .bind(status)
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };
    let unpaid_order = newest_first("pending").await;
    let paid_order = newest_first("paid").await;
    let mut sorted = unpaid_order.clone();
    sorted.sort_unstable();
    unpaid.sort_unstable();
    assert_eq!(sorted, unpaid);
    let finance = admin(&app, "finance").await;

    let unpaid_part =
        |page: &str| section(page, "<h2>Waiting for payment</h2>", Some("<h2>Paid</h2>")).to_owned();
    let paid_part = |page: &str| section(page, "<h2>Paid</h2>", None).to_owned();
    let read_unpaid = |page: &str| ids_between(page, "action=\"/admin/package-sales/", "/paid\"");
    let read_paid = |page: &str| ids_between(page, "href=\"/admin/payments/packages/", "\"");

    let pages = walk_part(
        &finance,
        "/admin/package-sales",
        |p| section(p, "<h2>Waiting for payment</h2>", Some("<h2>Paid</h2>")),
        read_unpaid,
    )
    .await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [50, 50, 10]);
    assert_eq!(pages.concat(), unpaid_order, "every unpaid purchase once, newest first");
    let pages =
        walk_part(&finance, "/admin/package-sales", |p| section(p, "<h2>Paid</h2>", None), read_paid).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [50, 50, 20]);
    assert_eq!(pages.concat(), paid_order, "every paid purchase once, newest first");

    // Paging one list keeps the other where it was.
    let first = finance.get_text("/admin/package-sales").await;
    let second_unpaid = link(&unpaid_part(&first), "next").expect("a Next for the unpaid");
    assert!(second_unpaid.contains("unpaid_after="), "{second_unpaid}");
    let page = finance.get_text(&second_unpaid).await;
    assert_eq!(read_unpaid(&unpaid_part(&page)), unpaid_order[50..100]);
    let next_paid = link(&paid_part(&page), "next").expect("a Next for the paid");
    assert!(next_paid.contains("unpaid_after=") && next_paid.contains("&after="), "{next_paid}");
    let page = finance.get_text(&next_paid).await;
    assert_eq!(read_unpaid(&unpaid_part(&page)), unpaid_order[50..100], "the unpaid page is kept");
    assert_eq!(read_paid(&paid_part(&page)), paid_order[50..100]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discount_codes_page_newest_first() {
    let app = spawn_app().await;
    let made: Vec<String> = sqlx::query_scalar(
        "insert into discount_codes (code, kind, percent_off, created_at)
         select 'PAGE-' || lpad(g::text, 3, '0'), 'percent', 10, now() - make_interval(mins => g / 2)
         from generate_series(1, 125) g returning code",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let order: Vec<String> =
        sqlx::query_scalar("select code from discount_codes order by created_at desc, id desc")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(order.len(), made.len());
    let finance = admin(&app, "finance").await;
    let codes = |page: &str| -> Vec<String> {
        page.split("<tr><td>PAGE-").skip(1).map(|rest| format!("PAGE-{}", &rest[..3])).collect()
    };

    let first = finance.get_text("/admin/discounts").await;
    assert_eq!(codes(&first), order[..50]);
    assert_eq!(link(&first, "prev"), None);
    let middle = finance.get_text(&link(&first, "next").expect("a Next")).await;
    assert_eq!(codes(&middle), order[50..100]);
    let last = finance.get_text(&link(&middle, "next").expect("a Next")).await;
    assert_eq!(codes(&last), order[100..]);
    assert_eq!(link(&last, "next"), None);
    let back = finance.get_text(&link(&last, "prev").expect("a Previous")).await;
    assert_eq!(codes(&back), order[50..100]);
    assert!(back.contains("New code"), "the form stays on every page");
}

/// Adds `n` sessions of `act` on 10 March 2026 (London is on GMT then), from 08:00, two
/// to each minute so the id breaks ties. Returns their ids.
async fn sessions_on_the_day(pool: &PgPool, act: &fixtures::Activity, n: i32) -> Vec<i64> {
    sqlx::query_scalar(
        "insert into sessions (activity_id, venue_id, starts_at, ends_at, capacity, price_pence)
         select $1, $2, timestamptz '2026-03-10 08:00Z' + make_interval(mins => g / 2),
                timestamptz '2026-03-10 09:00Z' + make_interval(mins => g / 2), 10, 650
         from generate_series(0, $3 - 1) g returning id",
    )
    .bind(act.id)
    .bind(act.venue_id)
    .bind(n)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_days_sessions_go_fifty_a_page_with_the_filters_kept() {
    let app = spawn_app().await;
    let swim = fixtures::activity(&app.pool, "Swim", false, (4, 12), 24).await;
    let judo = fixtures::activity(&app.pool, "Judo", false, (4, 12), 24).await;
    sessions_on_the_day(&app.pool, &swim, 120).await;
    let judo_ids = sessions_on_the_day(&app.pool, &judo, 30).await;
    let next_day = fixtures::activity(&app.pool, "Chess", false, (4, 12), 24).await;
    sqlx::query(
        "insert into sessions (activity_id, venue_id, starts_at, ends_at, capacity, price_pence)
         values ($1, $2, '2026-03-11 00:00Z', '2026-03-11 01:00Z', 10, 650)",
    )
    .bind(next_day.id)
    .bind(next_day.venue_id)
    .execute(&app.pool)
    .await
    .unwrap();
    let office = admin(&app, "coordinator").await;
    // Earliest first, the id breaking ties.
    let swims: Vec<i64> =
        sqlx::query_scalar("select id from sessions where activity_id = $1 order by starts_at, id")
            .bind(swim.id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let path = format!("/admin/sessions?view=day&week=2026-03-10&venue={}", swim.venue_id);

    let first = office.get_text(&path).await;
    assert!(first.contains("120 sessions"), "the day's total, filtered: {first}");
    assert_eq!(ids(&first, "/admin/sessions/"), swims[..50]);
    assert_eq!(link(&first, "prev"), None, "the first page has no Previous");
    let next = link(&first, "next").expect("the first page has a Next");
    assert!(next.contains(&format!("venue={}", swim.venue_id)) && next.contains("view=day"), "{next}");
    assert!(next.contains("week=2026-03-10"), "the day is kept: {next}");

    let middle = office.get_text(&next).await;
    assert_eq!(ids(&middle, "/admin/sessions/"), swims[50..100]);
    let last = office.get_text(&link(&middle, "next").expect("a middle page has a Next")).await;
    assert_eq!(ids(&last, "/admin/sessions/"), swims[100..]);
    assert_eq!(link(&last, "next"), None, "the last page has no Next");
    let back = link(&last, "prev").expect("the last page has a Previous");
    assert!(back.contains(&format!("venue={}", swim.venue_id)), "{back}");
    assert_eq!(ids(&office.get_text(&back).await, "/admin/sessions/"), swims[50..100]);

    // Unfiltered, the day holds both activities, each once, and nothing of the next day.
    let mut every = swims.clone();
    every.extend(&judo_ids);
    pages_through(&office, "/admin/sessions?view=day&week=2026-03-10", "/admin/sessions/", &every).await;
    let whole = walk(&office, "/admin/sessions?view=day&week=2026-03-10", "/admin/sessions/").await;
    assert_eq!(whole.iter().map(Vec::len).sum::<usize>(), 150, "the next day's session is not listed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_month_counts_each_day_and_the_week_shows_a_few_a_day() {
    let app = spawn_app().await;
    let swim = fixtures::activity(&app.pool, "Swim", false, (4, 12), 24).await;
    let made = sessions_on_the_day(&app.pool, &swim, 20).await;
    sqlx::query("update sessions set status = 'cancelled' where id = $1")
        .bind(made[0])
        .execute(&app.pool)
        .await
        .unwrap();
    let office = admin(&app, "coordinator").await;

    let month = office.get_text("/admin/sessions?view=month&week=2026-03-01").await;
    assert!(month.contains("March 2026") && month.contains("20 sessions"), "{month}");
    assert!(month.contains("19 to staff") && month.contains("1 cancelled"), "{month}");
    assert!(
        month.contains("/admin/sessions?view=day&amp;week=2026-03-10")
            || month.contains("view=day&#38;week=2026-03-10")
    );
    assert!(ids(&month, "/admin/sessions/").is_empty(), "a month lists no session itself");

    let week = office.get_text("/admin/sessions?week=2026-03-10").await;
    let shown = ids(&week, "/admin/sessions/");
    assert_eq!(shown, made[..12], "the day's first twelve, earliest first");
    assert!(week.contains("8 more"), "the rest are in the day's list: {week}");
}

/// Adds `n` concerns about `child_id`, raised a minute apart going back from now, two
/// to each minute (so the id breaks ties).
async fn concerns(pool: &PgPool, child_id: i64, raised_by: i64, n: i32) -> Vec<i64> {
    sqlx::query_scalar(
        "insert into safeguarding_concerns (child_id, raised_by, concern, created_at)
         select $1, $2, 'Concern ' || g, now() - make_interval(mins => g / 2)
         from generate_series(0, $3 - 1) g returning id",
    )
    .bind(child_id)
    .bind(raised_by)
    .bind(n)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn safeguarding_concerns_page_newest_first_and_keep_the_childs_name() {
    let app = spawn_app().await;
    let (parent_id, _) = fixtures::parent(&app, "parent@example.com").await;
    let maya = fixtures::child(&app.pool, parent_id, "Maya", 7).await;
    let leo = fixtures::child(&app.pool, parent_id, "Leo", 9).await;
    let lead = admin(&app, "safeguarding_lead").await;
    let lead_id: i64 =
        sqlx::query_scalar("select id from users where email = 'safeguarding_lead@example.com'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let about_maya = concerns(&app.pool, maya, lead_id, 120).await;
    let about_leo = concerns(&app.pool, leo, lead_id, 30).await;
    let newest_maya: Vec<i64> = sqlx::query_scalar(
        "select id from safeguarding_concerns where child_id = $1 order by created_at desc, id desc",
    )
    .bind(maya)
    .fetch_all(&app.pool)
    .await
    .unwrap();

    let first = lead.get_text("/admin/safeguarding?child=maya").await;
    assert_eq!(ids(&first, "/admin/safeguarding/"), newest_maya[..50]);
    assert_eq!(link(&first, "prev"), None);
    let next = link(&first, "next").expect("a Next");
    assert!(next.contains("child=maya"), "the filter is kept: {next}");
    let middle = lead.get_text(&next).await;
    assert_eq!(ids(&middle, "/admin/safeguarding/"), newest_maya[50..100]);
    let last = lead.get_text(&link(&middle, "next").expect("a Next")).await;
    assert_eq!(ids(&last, "/admin/safeguarding/"), newest_maya[100..]);
    assert_eq!(link(&last, "next"), None);
    let back = link(&last, "prev").expect("a Previous");
    assert!(back.contains("child=maya"), "{back}");
    assert_eq!(ids(&lead.get_text(&back).await, "/admin/safeguarding/"), newest_maya[50..100]);

    let mut every = about_maya;
    every.extend(&about_leo);
    pages_through(&lead, "/admin/safeguarding", "/admin/safeguarding/", &every).await;
    let leos = lead.get_text("/admin/safeguarding?child=Leo+Test").await;
    let mut shown = ids(&leos, "/admin/safeguarding/");
    shown.sort_unstable();
    assert_eq!(shown, about_leo, "only Leo's, all on one page");
}

/// Adds `n` single sessions of `activity`, starting a day ahead, two to each hour (so
/// the id breaks ties). Returns their ids.
async fn single_sessions(pool: &PgPool, activity: &fixtures::Activity, n: i32) -> Vec<i64> {
    sqlx::query_scalar(
        "insert into sessions (activity_id, venue_id, starts_at, ends_at, capacity, price_pence)
         select $1, $2, date_trunc('hour', now()) + interval '1 day' + make_interval(hours => g / 2),
                date_trunc('hour', now()) + interval '1 day' + make_interval(hours => g / 2 + 1), 10, 650
         from generate_series(0, $3 - 1) g
         returning id",
    )
    .bind(activity.id)
    .bind(activity.venue_id)
    .bind(n)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_pages_through_the_sessions_on_offer_with_the_filters_kept() {
    let app = spawn_app().await;
    let (parent_id, family) = fixtures::parent(&app, "parent@example.com").await;
    let child = fixtures::child(&app.pool, parent_id, "Maya", 7).await;
    let swim = fixtures::activity(&app.pool, "Swim", false, (4, 12), 24).await;
    let teens = fixtures::activity(&app.pool, "Swim for teens", false, (13, 16), 24).await;
    let chess = fixtures::activity(&app.pool, "Chess", false, (4, 12), 24).await;
    single_sessions(&app.pool, &swim, 60).await;
    single_sessions(&app.pool, &chess, 20).await;
    single_sessions(&app.pool, &teens, 20).await;
    single_sessions(&app.pool, &swim, 60).await;
    // Soonest first: start time, then the lower id first.
    let expected: Vec<i64> =
        sqlx::query_scalar("select id from sessions where activity_id = $1 order by starts_at, id")
            .bind(swim.id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(expected.len(), 120);

    let first_path = format!("/parent/sessions?child={child}&activity={}", swim.id);
    let first = family.get_text(&first_path).await;
    assert_eq!(ids(&first, "/parent/sessions/"), expected[..50]);
    assert_eq!(link(&first, "prev"), None, "the first page has no Previous");
    let next = link(&first, "next").expect("the first page has a Next");
    assert!(
        next.contains(&format!("child={child}")) && next.contains(&format!("activity={}", swim.id)),
        "{next}"
    );

    let middle = family.get_text(&next).await;
    assert_eq!(ids(&middle, "/parent/sessions/"), expected[50..100]);
    let last = family.get_text(&link(&middle, "next").expect("a middle page has a Next")).await;
    assert_eq!(ids(&last, "/parent/sessions/"), expected[100..]);
    assert_eq!(link(&last, "next"), None, "the last page has no Next");
    let back = family.get_text(&link(&last, "prev").expect("the last page has a Previous")).await;
    assert_eq!(ids(&back, "/parent/sessions/"), expected[50..100], "Previous from the last is the middle");

    let pages = walk(&family, &first_path, "/parent/sessions/").await;
    assert_eq!(pages.concat(), expected, "nothing lost or repeated");

    // The child filter keeps out what does not suit a 7-year-old: every Swim and Chess
    // session, and no teens' one, over every page.
    let suitable = walk(&family, &format!("/parent/sessions?child={child}"), "/parent/sessions/").await;
    let suitable: Vec<i64> = suitable.concat();
    assert_eq!(suitable.len(), 140, "Swim and Chess, not the teens' sessions");
    let everything = walk(&family, "/parent/sessions", "/parent/sessions/").await.concat();
    assert_eq!(everything.len(), 160, "with no filter, every session, each once");
    let mut unique = everything.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 160);
}

/// Adds `n` trainer applications in `status`, received a minute apart (two to a minute,
/// so the id breaks ties) and last changed `days_ago`. Returns their ids.
async fn applications(pool: &PgPool, n: i32, status: &str, days_ago: i32) -> Vec<i64> {
    sqlx::query_scalar(
        "insert into trainer_applications (name, email, status, decision_reason, created_at, updated_at)
         select 'Applicant ' || $2 || ' ' || g, $2 || g || '-' || $3 || '@example.com', $2,
                case when $2 = 'rejected' then 'No openings' else '' end,
                now() - make_interval(days => $3, mins => 200 - g / 2), now() - make_interval(days => $3)
         from generate_series(1, $1) g returning id",
    )
    .bind(n)
    .bind(status)
    .bind(days_ago)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The applications shown in one of the page's two lists (`pending` or `decided`), in order.
fn application_ids(page: &str, list: &str) -> Vec<i64> {
    let start = page.find(&format!("id=\"{list}-heading\"")).expect("the list's heading");
    let section = &page[start..];
    let section = &section[..section.find("<h2").unwrap_or(section.len())];
    section
        .split("id=\"application-")
        .skip(1)
        .map(|rest| rest.chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap())
        .collect()
}

/// One list's pager link (`rel` next or prev), unescaped.
fn list_link(page: &str, list: &str, rel: &str) -> Option<String> {
    let start = page.find(&format!("id=\"{list}-heading\""))?;
    let section = &page[start..];
    link(&section[..section.find("<h2").unwrap_or(section.len())], rel)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trainer_applications_page_each_list_on_its_own() {
    let app = spawn_app().await;
    applications(&app.pool, 120, "pending", 0).await;
    applications(&app.pool, 40, "approved", 3).await;
    applications(&app.pool, 35, "rejected", 1).await;
    let stale = applications(&app.pool, 5, "rejected", 90).await;
    let office = admin(&app, "coordinator").await;
    let order = |status: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(&format!(
                "select id from trainer_applications where {status} order by created_at, id"
            ))
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };
    let pending = order("status = 'pending'").await;
    let decided = order("status <> 'pending' and updated_at > now() - interval '60 days'").await;
    assert_eq!((pending.len(), decided.len()), (120, 75));

    // Pending, oldest first: first, middle and last pages, and back.
    let path = "/admin/trainers/applications";
    let first = office.get_text(path).await;
    assert_eq!(application_ids(&first, "pending"), pending[..50]);
    assert_eq!(application_ids(&first, "decided"), decided[..50]);
    assert_eq!(list_link(&first, "pending", "prev"), None);
    let middle = office.get_text(&list_link(&first, "pending", "next").expect("a Next")).await;
    assert_eq!(application_ids(&middle, "pending"), pending[50..100]);
    let last = office.get_text(&list_link(&middle, "pending", "next").expect("a Next")).await;
    assert_eq!(application_ids(&last, "pending"), pending[100..]);
    assert_eq!(list_link(&last, "pending", "next"), None, "the last page has no Next");
    let back = office.get_text(&list_link(&last, "pending", "prev").expect("a Previous")).await;
    assert_eq!(application_ids(&back, "pending"), pending[50..100]);

    // The decided list pages on its own and keeps the pending list where it was.
    let next = list_link(&middle, "decided", "next").expect("the decided list has a Next");
    assert!(next.contains("after=") && next.contains("decided_after="), "both cursors kept: {next}");
    let both = office.get_text(&next).await;
    assert_eq!(application_ids(&both, "pending"), pending[50..100], "the pending list stays put");
    assert_eq!(application_ids(&both, "decided"), decided[50..]);
    assert_eq!(list_link(&both, "decided", "next"), None);
    let prev = list_link(&both, "decided", "prev").expect("a Previous");
    assert_eq!(application_ids(&office.get_text(&prev).await, "decided"), decided[..50]);
    let shown: Vec<i64> =
        [first.as_str(), both.as_str()].iter().flat_map(|page| application_ids(page, "decided")).collect();
    assert!(stale.iter().all(|id| !shown.contains(id)), "decided long ago: not listed");

    // A rejection without a reason comes back on the page it was sent from.
    let second = list_link(&first, "pending", "next").unwrap();
    let on_second = pending[60];
    let query = &second[second.find('?').unwrap()..];
    let reject = format!("{path}/{on_second}/reject{query}");
    let refused = office.submit(&second, &reject, &[("reason", "")]).await;
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    assert_eq!(application_ids(&page, "pending"), pending[50..100], "the same page");
    assert!(page.contains("card attention"), "the refused application is marked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_off_requests_page_each_list_on_its_own() {
    let app = spawn_app().await;
    let trainer: i64 = sqlx::query_scalar(
        "with made as (insert into users (email, name, role, password_hash)
                       values ('t@example.com', 'Tam Trainer', 'trainer', 'x') returning id)
         insert into trainer_profiles (user_id) select id from made returning user_id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    // Starting an hour apart (two to each hour, so the id breaks ties), in `status`,
    // decided `days_ago` when decided.
    let requests = |n: i32, status: &'static str, days_ago: i32| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "insert into time_off_requests (trainer_id, kind, during, status, decided_at)
                 select $1, 'holiday', tstzrange(now() + make_interval(hours => 24 + g / 2),
                                                 now() + make_interval(hours => 30 + g / 2)),
                        $3, case when $3 = 'pending' then null else now() - make_interval(days => $4) end
                 from generate_series(1, $2) g returning id",
            )
            .bind(trainer)
            .bind(n)
            .bind(status)
            .bind(days_ago)
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };
    requests(110, "pending", 0).await;
    requests(30, "approved", 2).await;
    requests(30, "declined", 5).await;
    let stale = requests(4, "declined", 40).await;
    let order = |filter: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(&format!(
                "select id from time_off_requests where {filter} order by lower(during), id"
            ))
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };
    let pending = order("status = 'pending'").await;
    let decided = order("status <> 'pending' and decided_at > now() - interval '30 days'").await;
    let office = admin(&app, "coordinator").await;
    // Each line carries its request's id (`data-request`).
    let listed = |page: &str, list: &str| -> Vec<i64> {
        let start = page.find(&format!("id=\"{list}-heading\"")).expect("the list");
        let section = &page[start..];
        let section = &section[..section.find("<h2").unwrap_or(section.len())];
        section
            .split("data-request=\"")
            .skip(1)
            .map(|rest| rest.chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap())
            .collect()
    };

    let first = office.get_text("/admin/time-off").await;
    assert_eq!(listed(&first, "pending"), pending[..50]);
    assert_eq!(listed(&first, "decided"), decided[..50]);
    assert_eq!(list_link(&first, "pending", "prev"), None);
    let middle = office.get_text(&list_link(&first, "pending", "next").expect("a Next")).await;
    assert_eq!(listed(&middle, "pending"), pending[50..100]);
    let last = office.get_text(&list_link(&middle, "pending", "next").expect("a Next")).await;
    assert_eq!(listed(&last, "pending"), pending[100..]);
    assert_eq!(list_link(&last, "pending", "next"), None);
    let back = office.get_text(&list_link(&last, "pending", "prev").expect("a Previous")).await;
    assert_eq!(listed(&back, "pending"), pending[50..100]);

    let next = list_link(&middle, "decided", "next").expect("the decided list has a Next");
    assert!(next.contains("after=") && next.contains("decided_after="), "both cursors kept: {next}");
    let both = office.get_text(&next).await;
    assert_eq!(listed(&both, "pending"), pending[50..100], "the waiting list stays put");
    assert_eq!(listed(&both, "decided"), decided[50..]);
    assert_eq!(list_link(&both, "decided", "next"), None);
    let mut shown = listed(&first, "decided");
    shown.extend(listed(&both, "decided"));
    assert!(stale.iter().all(|id| !shown.contains(id)), "decided long ago: not listed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trainers_notes_page_newest_first() {
    let app = spawn_app().await;
    let trainer: i64 = sqlx::query_scalar(
        "with made as (insert into users (email, name, role, password_hash)
                       values ('t@example.com', 'Tam Trainer', 'trainer', 'x') returning id)
         insert into trainer_profiles (user_id) select id from made returning user_id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    // Two to each minute, so the id breaks ties; each body names its note.
    sqlx::query(
        "insert into trainer_notes (trainer_id, body, created_at)
         select $1, 'Note ' || g || '.', now() - make_interval(mins => 200 - g / 2) from generate_series(1, 120) g",
    )
    .bind(trainer)
    .execute(&app.pool)
    .await
    .unwrap();
    let newest_first: Vec<String> =
        sqlx::query_scalar("select body from trainer_notes order by created_at desc, id desc")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let notes = |page: &str| -> Vec<String> {
        page.split("<p class=\"pre\">Note ")
            .skip(1)
            .map(|rest| format!("Note {}", &rest[..rest.find('<').unwrap()]))
            .collect()
    };
    let office = admin(&app, "coordinator").await;
    let path = format!("/admin/trainers/{trainer}");
    let first = office.get_text(&path).await;
    assert_eq!(notes(&first), newest_first[..50]);
    assert_eq!(link(&first, "prev"), None);
    let next = link(&first, "next").expect("a Next");
    assert!(next.starts_with(&path) && next.contains("notes_after="), "{next}");
    let middle = office.get_text(&next).await;
    assert_eq!(notes(&middle), newest_first[50..100]);
    let last = office.get_text(&link(&middle, "next").expect("a Next")).await;
    assert_eq!(notes(&last), newest_first[100..]);
    assert_eq!(link(&last, "next"), None, "the last page has no Next");
    let back = office.get_text(&link(&last, "prev").expect("a Previous")).await;
    assert_eq!(notes(&back), newest_first[50..100]);
}
