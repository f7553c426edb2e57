//! The lists the admin pages still read whole until issue 20's sixth session, now paged
//! fifty a page by keyset: finance's refunds (of booking payments and package sales
//! together), a family's package purchases, a client's assignment history and a
//! trainer's assigned clients. First, middle and last page, `Previous` back, the other
//! lists' cursors and the filters kept, and no row lost or repeated while rows arrive.

use sqlx::PgPool;

use crate::common::{TestClient, fixtures, spawn_app};

/// The pager's `Next` or `Previous` link (`rel` next or prev) in `part`, unescaped.
fn link(part: &str, rel: &str) -> Option<String> {
    let nav = &part[part.find("<nav class=\"pager\"")?..];
    let nav = &nav[..nav.find("</nav>")?];
    let anchor = &nav[..nav.find(&format!("rel=\"{rel}\""))?];
    let href = &anchor[anchor.rfind("href=\"")? + 6..];
    Some(href[..href.find('"')?].replace("&#38;", "&").replace("&amp;", "&"))
}

/// The text of `page` from `from` to `to` (or the end).
fn section<'a>(page: &'a str, from: &str, to: Option<&str>) -> &'a str {
    let start = page.find(from).unwrap_or_else(|| panic!("{from} in {page}"));
    let rest = &page[start..];
    match to.and_then(|t| rest.find(t)) {
        Some(end) => &rest[..end],
        None => rest,
    }
}

/// The numbers that follow each `marker` in `part`, in order.
fn numbers_after(part: &str, marker: &str) -> Vec<i64> {
    part.split(marker)
        .skip(1)
        .filter_map(|rest| rest.chars().take_while(char::is_ascii_digit).collect::<String>().parse().ok())
        .collect()
}

/// Follows `Next` in the part of each page that `cut` picks out, from `path` to the end,
/// calling `between` after each load; returns what `read` finds on each page.
async fn walk<F, R, B, Fut>(client: &TestClient, path: &str, cut: F, read: R, mut between: B) -> Vec<Vec<i64>>
where
    F: Fn(&str) -> String,
    R: Fn(&str) -> Vec<i64>,
    B: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut pages = Vec::new();
    let mut next = Some(path.to_owned());
    while let Some(path) = next {
        let page = client.get_text(&path).await;
        let part = cut(&page);
        pages.push(read(&part));
        next = link(&part, "next");
        between().await;
        assert!(pages.len() < 20, "the pages end");
    }
    pages
}

/// Booking payments of 10,000p for `n` approved bookings of one child, made a minute
/// apart; returns the payments' ids.
async fn paid_bookings(pool: &PgPool, parent_id: i64, n: i32) -> Vec<i64> {
    let act = fixtures::activity(pool, "Swim", false, (4, 12), 24).await;
    let session_id = fixtures::session(pool, &act, 72, 1000, None).await;
    let child_id = fixtures::child(pool, parent_id, "Maya", 7).await;
    sqlx::query_scalar(
        "with made as (
            insert into bookings (parent_id, status, total_pence, created_at)
            select $1, 'approved', 10000, now() - make_interval(mins => g) from generate_series(1, $2) g
            returning id, created_at),
         placed as (
            insert into booking_participants (booking_id, session_id, child_id, price_pence, holds_place)
            select id, $3, $4, 10000, false from made)
         insert into payments (booking_id, amount_pence, method, status, created_at, paid_at)
         select id, 10000, 'cash', 'succeeded', created_at, created_at from made returning id",
    )
    .bind(parent_id)
    .bind(n)
    .bind(session_id)
    .bind(child_id)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Refunds `Refund N.` of 100p on `payments` (N from `first`), made `minutes_ago` going
/// back two to each minute, so the id breaks ties.
async fn refund_payments(pool: &PgPool, payments: &[i64], first: i32, minutes_ago: i32) {
    sqlx::query(
        "insert into refunds (payment_id, amount_pence, reason, created_at)
         select p, 100, 'Refund ' || ($2 + n - 1) || '.', now() - make_interval(mins => $3 + (n - 1)::int / 2)
         from unnest($1::bigint[]) with ordinality as u(p, n)",
    )
    .bind(payments)
    .bind(first)
    .bind(minutes_ago)
    .execute(pool)
    .await
    .unwrap();
}

/// `n` refunds `Refund N.` (N from `first`) of a paid package sale, made like
/// [`refund_payments`]'s.
async fn refund_sales(pool: &PgPool, parent_id: i64, n: i32, first: i32, minutes_ago: i32) {
    let act = fixtures::activity(pool, "Gym", false, (4, 12), 24).await;
    let package_id = fixtures::package(pool, "Ten gyms", 10, 100_000, &act).await;
    let purchase: i64 = sqlx::query_scalar(
        "insert into package_purchases (parent_id, package_id, credits, amount_pence, method, status, paid_at)
         values ($1, $2, 10, 100000, 'cash', 'paid', now()) returning id",
    )
    .bind(parent_id)
    .bind(package_id)
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into package_purchase_refunds (purchase_id, amount_pence, reason, created_at)
         select $1, 100, 'Refund ' || ($3 + g - 1) || '.', now() - make_interval(mins => $4 + (g - 1) / 2)
         from generate_series(1, $2) g",
    )
    .bind(purchase)
    .bind(n)
    .bind(first)
    .bind(minutes_ago)
    .execute(pool)
    .await
    .unwrap();
}

fn refunds_part(page: &str) -> String {
    section(page, "<h2>Refunds</h2>", Some("id=\"caused-refunds\"")).to_owned()
}

fn refund_numbers(part: &str) -> Vec<i64> {
    numbers_after(part, "<td class=\"pre\">Refund ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finances_refunds_of_payments_and_sales_page_together_newest_first() {
    let app = spawn_app().await;
    let (parent_id, _) = fixtures::parent(&app, "parent@example.com").await;
    let paid = paid_bookings(&app.pool, parent_id, 70).await;
    // Refunds 1–70 of payments and 71–120 of a package sale, interleaved in time.
    refund_payments(&app.pool, &paid, 1, 0).await;
    refund_sales(&app.pool, parent_id, 50, 71, 10).await;
    let newest_first: Vec<i64> = sqlx::query_scalar(
        "select n from (
             select created_at, id as key, rtrim(substring(reason from 8), '.')::bigint as n from refunds
             union all
             select created_at, -id, rtrim(substring(reason from 8), '.')::bigint from package_purchase_refunds) r
         order by created_at desc, key desc",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;

    let first = finance.get_text("/admin/payments").await;
    let part = refunds_part(&first);
    assert!(part.contains("£120.00") && part.contains("120 refunds"), "the total covers every page: {part}");
    assert_eq!(refund_numbers(&part), newest_first[..50]);
    assert_eq!(link(&part, "prev"), None);
    let next = link(&part, "next").expect("a Next");
    assert!(next.contains("refunds_after="), "{next}");
    let middle = refunds_part(&finance.get_text(&next).await);
    assert_eq!(refund_numbers(&middle), newest_first[50..100]);
    let last = refunds_part(&finance.get_text(&link(&middle, "next").expect("a Next")).await);
    assert_eq!(refund_numbers(&last), newest_first[100..]);
    assert_eq!(link(&last, "next"), None, "the last page has no Next");
    let back = refunds_part(&finance.get_text(&link(&last, "prev").expect("a Previous")).await);
    assert_eq!(refund_numbers(&back), newest_first[50..100]);

    // The period filter is kept, and refunds made while finance reads arrive before the
    // first page: none of those there at the start is lost or shown twice.
    let today = time::OffsetDateTime::now_utc().date();
    let path = format!("/admin/payments?from={}&to={today}", today - time::Duration::days(1));
    let mut made = 1000;
    let pages = walk(&finance, &path, refunds_part, refund_numbers, || {
        made += 1;
        let (pool, paid) = (app.pool.clone(), paid.clone());
        async move { refund_payments(&pool, &paid[..3], made * 10, 0).await }
    })
    .await;
    assert_eq!(pages.len(), 3);
    let mut seen = pages.concat();
    let count = seen.len();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), count, "no refund is shown twice");
    assert_eq!(seen, (1..=120).collect::<Vec<i64>>(), "every refund there at the start, once");
    let second =
        finance.get_text(&link(&refunds_part(&finance.get_text(&path).await), "next").unwrap()).await;
    assert!(
        link(&refunds_part(&second), "prev")
            .unwrap()
            .contains(&format!("from={}", today - time::Duration::days(1)))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_familys_package_purchases_page_newest_first() {
    let app = spawn_app().await;
    let (parent_id, parent) = fixtures::parent(&app, "parent@example.com").await;
    let (other_id, _) = fixtures::parent(&app, "other@example.com").await;
    let act = fixtures::activity(&app.pool, "Swim", false, (4, 12), 24).await;
    let package_id = fixtures::package(&app.pool, "Five swims", 5, 2500, &act).await;
    let purchase = |who: i64, n: i32| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "insert into package_purchases (parent_id, package_id, credits, amount_pence, method, status, paid_at, created_at)
                 select $1, $2, 5, 2500, 'cash', 'paid', now(), now() - make_interval(mins => 10 + g / 2)
                 from generate_series(0, $3 - 1) g returning id",
            )
            .bind(who)
            .bind(package_id)
            .bind(n)
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };
    purchase(parent_id, 120).await;
    purchase(other_id, 30).await;
    let newest_first: Vec<i64> = sqlx::query_scalar(
        "select id from package_purchases where parent_id = $1 order by created_at desc, id desc",
    )
    .bind(parent_id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let read = |page: &str| numbers_after(page, "<tr id=\"purchase-");

    let first = parent.get_text("/parent/packages").await;
    assert_eq!(read(&first), newest_first[..50]);
    assert_eq!(link(&first, "prev"), None);
    let middle = parent.get_text(&link(&first, "next").expect("a Next")).await;
    assert_eq!(read(&middle), newest_first[50..100]);
    let last = parent.get_text(&link(&middle, "next").expect("a Next")).await;
    assert_eq!(read(&last), newest_first[100..], "only the family's own");
    assert_eq!(link(&last, "next"), None);
    let back = parent.get_text(&link(&last, "prev").expect("a Previous")).await;
    assert_eq!(read(&back), newest_first[50..100]);

    // Purchases made meanwhile come before the first page.
    let pages = walk(
        &parent,
        "/parent/packages",
        |p| p.to_owned(),
        read,
        || {
            let purchase = purchase(parent_id, 2);
            async move {
                purchase.await;
            }
        },
    )
    .await;
    let mut seen = pages.concat();
    let count = seen.len();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), count, "no purchase is shown twice");
    let mut expected = newest_first.clone();
    expected.sort_unstable();
    assert_eq!(seen, expected, "every purchase there at the start, once");
}

/// A trainer, by name; returns its id.
async fn trainer(pool: &PgPool, email: &str, name: &str) -> i64 {
    sqlx::query_scalar(
        "with made as (insert into users (email, name, role, password_hash) values ($1, $2, 'trainer', 'x')
                       returning id)
         insert into trainer_profiles (user_id) select id from made returning user_id",
    )
    .bind(email)
    .bind(name)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_history_pages_newest_first() {
    let app = spawn_app().await;
    let (parent_id, _) = fixtures::parent(&app, "parent@example.com").await;
    let tam = trainer(&app.pool, "tam@example.com", "Tam Trainer").await;
    // 119 ended assignments and the current one, two to each minute; each reason names it.
    sqlx::query(
        "insert into client_assignments (parent_id, trainer_id, assigned_at, ended_at, reason)
         select $1, $2, now() - make_interval(mins => 200 - g / 2),
                case when g < 120 then now() - make_interval(mins => 199 - g / 2) end, 'Reason ' || g || '.'
         from generate_series(1, 120) g",
    )
    .bind(parent_id)
    .bind(tam)
    .execute(&app.pool)
    .await
    .unwrap();
    let newest_first: Vec<i64> = sqlx::query_scalar(
        "select rtrim(substring(reason from 8), '.')::bigint from client_assignments order by assigned_at desc, id desc",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let office = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    let read = |page: &str| numbers_after(page, "<span>Reason ");
    let path = format!("/admin/clients/{parent_id}");

    let first = office.get_text(&path).await;
    assert_eq!(read(&first), newest_first[..50]);
    assert_eq!(link(&first, "prev"), None);
    let next = link(&first, "next").expect("a Next");
    assert!(next.starts_with(&path), "{next}");
    let middle = office.get_text(&next).await;
    assert_eq!(read(&middle), newest_first[50..100]);
    let last = office.get_text(&link(&middle, "next").expect("a Next")).await;
    assert_eq!(read(&last), newest_first[100..]);
    assert_eq!(link(&last, "next"), None);
    let back = office.get_text(&link(&last, "prev").expect("a Previous")).await;
    assert_eq!(read(&back), newest_first[50..100]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trainers_assigned_clients_page_by_name_and_keep_the_notes_page() {
    let app = spawn_app().await;
    let tam = trainer(&app.pool, "tam@example.com", "Tam Trainer").await;
    let other = trainer(&app.pool, "ola@example.com", "Ola Other").await;
    let clients: Vec<i64> = sqlx::query_scalar(
        "with made as (
            insert into users (email, name, role, password_hash)
            select 'p' || g || '@example.com', 'Parent ' || (g % 7) || ' ' || g, 'parent', 'x'
            from generate_series(1, 125) g returning id)
         insert into client_assignments (parent_id, trainer_id, reason)
         select id, case when id % 25 = 0 then $2 else $1 end, 'Assigned.' from made returning parent_id",
    )
    .bind(tam)
    .bind(other)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let by_name: Vec<i64> = sqlx::query_scalar(
        "select u.id from client_assignments ca join users u on u.id = ca.parent_id
          where ca.trainer_id = $1 order by u.name, u.id",
    )
    .bind(tam)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(by_name.len() > 100 && by_name.len() < clients.len());
    let office = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    let part = |page: &str| section(page, "<h2>Assigned clients</h2>", Some("</section>")).to_owned();
    let read = |part: &str| numbers_after(part, "href=\"/admin/clients/");
    let path = format!("/admin/trainers/{tam}?notes_after=x");

    let first = part(&office.get_text(&path).await);
    assert_eq!(read(&first), by_name[..50]);
    assert_eq!(link(&first, "prev"), None);
    let next = link(&first, "next").expect("a Next");
    assert!(
        next.contains("clients_after=") && next.contains("notes_after=x"),
        "the notes' field kept: {next}"
    );
    let middle = part(&office.get_text(&next).await);
    assert_eq!(read(&middle), by_name[50..100]);
    let last = part(&office.get_text(&link(&middle, "next").expect("a Next")).await);
    assert_eq!(read(&last), by_name[100..], "only this trainer's clients");
    assert_eq!(link(&last, "next"), None);
    let back = part(&office.get_text(&link(&last, "prev").expect("a Previous")).await);
    assert_eq!(read(&back), by_name[50..100]);
}
