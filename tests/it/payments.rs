//! Payments: finance records cash and bank transfers, never more than is due; parents
//! see their receipts and no one else's; the finance list, its totals and its CSV agree;
//! the database refuses a refund beyond what was paid.

use std::sync::Arc;

use tokio::task::JoinSet;

use crate::common::{
    TestApp, TestClient,
    client::location,
    fixtures::{self, book, child, count},
    spawn_app,
};

/// A parent with one child booked onto a £6.50 session of `activity_name`.
async fn booked(app: &TestApp, email: &str, activity_name: &str) -> (TestClient, i64) {
    let act = fixtures::activity(&app.pool, activity_name, false, (4, 12), 24).await;
    let session_id = fixtures::session(&app.pool, &act, 48, 10, None).await;
    let (parent_id, client) = fixtures::parent(app, email).await;
    let child_id = child(&app.pool, parent_id, "Maya", 7).await;
    let token = client.csrf_token("/parent").await;
    assert_eq!(book(&client, &token, session_id, &[child_id]).await.status(), 303);
    let booking_id: i64 = sqlx::query_scalar("select max(id) from bookings where parent_id = $1")
        .bind(parent_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    (client, booking_id)
}

async fn record(finance: &TestClient, booking_id: i64, amount: &str, method: &str) -> reqwest::Response {
    let booking = booking_id.to_string();
    finance
        .submit(
            &format!("/admin/payments/new?booking={booking_id}"),
            "/admin/payments",
            &[("booking", &booking), ("amount", amount), ("method", method), ("reference", "Till 2")],
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finance_records_cash_and_the_parent_sees_what_is_left_and_a_receipt() {
    let app = spawn_app().await;
    let (parent, booking_id) = booked(&app, "parent@example.com", "Football").await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;

    let form = finance.get_text(&format!("/admin/payments/new?booking={booking_id}")).await;
    assert!(form.contains("£6.50"), "the amount due is shown: {form}");
    let response = record(&finance, booking_id, "4.00", "cash").await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin/payments");
    let (amount, method, status): (i32, String, String) =
        sqlx::query_as("select amount_pence, method, status from payments where booking_id = $1")
            .bind(booking_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((amount, method.as_str(), status.as_str()), (400, "cash", "succeeded"));
    assert_eq!(count(&app.pool, "select count(*) from audit_log where action = 'payment.recorded'").await, 1);

    let page = parent.get_text(&format!("/parent/bookings/{booking_id}")).await;
    assert!(page.contains("<dt>Amount due</dt><dd>£2.50</dd>"), "{page}");
    assert!(page.contains("£4.00 · Cash"), "{page}");
    let history = parent.get_text("/parent/payments").await;
    assert!(history.contains("£4.00") && history.contains(&format!("#{booking_id}")), "{history}");
    let payment_id: i64 = sqlx::query_scalar("select id from payments").fetch_one(&app.pool).await.unwrap();
    let receipt = parent.get(&format!("/parent/payments/{payment_id}")).await;
    assert_eq!(receipt.status(), 200);
    let receipt = receipt.text().await.unwrap();
    assert!(receipt.contains(&format!("Receipt #{payment_id}")) && receipt.contains("£4.00"), "{receipt}");
    assert!(receipt.contains("Till 2") && receipt.contains("Maya Test"), "{receipt}");

    let mail = app.smtp.wait_for(2).await;
    assert!(
        mail.iter().any(|m| m.contains("Receipt for booking") && m.contains("parent@example.com")),
        "{mail:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_more_than_is_due_is_refused_with_the_values_kept() {
    let app = spawn_app().await;
    let (_parent, booking_id) = booked(&app, "parent@example.com", "Football").await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;

    let response = record(&finance, booking_id, "7.00", "bank_transfer").await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("Only £6.50 is due"), "{page}");
    assert!(page.contains(r#"value="7.00""#) && page.contains(r#"value="bank_transfer" selected"#), "{page}");

    let response = record(&finance, booking_id, "1.234", "cash").await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("two decimal places"));
    let response = record(&finance, booking_id, "1.00", "card").await;
    assert_eq!(response.status(), 422, "card payments come from Stripe, not this form");
    let response = record(&finance, 999_999, "1.00", "cash").await;
    assert_eq!(response.status(), 422);
    assert_eq!(count(&app.pool, "select count(*) from payments").await, 0);

    assert_eq!(record(&finance, booking_id, "6.50", "bank_transfer").await.status(), 303);
    let response = record(&finance, booking_id, "0.01", "cash").await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("Nothing is due"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_payments_recorded_at_once_never_take_more_than_is_due() {
    let app = spawn_app().await;
    let (_parent, booking_id) = booked(&app, "parent@example.com", "Football").await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let token = finance.csrf_token("/admin/payments/new").await;
    let finance = Arc::new(finance);

    let mut racing = JoinSet::new();
    for _ in 0..10 {
        let (finance, token) = (finance.clone(), token.clone());
        racing.spawn(async move {
            let booking = booking_id.to_string();
            let fields = [
                ("csrf_token", token.as_str()),
                ("booking", &booking),
                ("amount", "4.00"),
                ("method", "cash"),
            ];
            finance.post_raw("/admin/payments", &fields).await.status().as_u16()
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = racing.join_next().await {
        statuses.push(status.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 303).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 9, "{statuses:?}");
    assert_eq!(count(&app.pool, "select coalesce(sum(amount_pence), 0)::bigint from payments").await, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_is_only_for_its_family_and_payments_only_for_finance() {
    let app = spawn_app().await;
    let (owner_family, booking_id) = booked(&app, "parent@example.com", "Football").await;
    let (other_family, _) = booked(&app, "other@example.com", "Swimming").await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    assert_eq!(record(&finance, booking_id, "6.50", "cash").await.status(), 303);
    let payment_id: i64 = sqlx::query_scalar("select id from payments").fetch_one(&app.pool).await.unwrap();

    assert_eq!(owner_family.get(&format!("/parent/payments/{payment_id}")).await.status(), 200);
    assert_eq!(other_family.get(&format!("/parent/payments/{payment_id}")).await.status(), 404);
    assert_eq!(other_family.get("/parent/payments/nonsense").await.status(), 404);
    assert!(!other_family.get_text("/parent/payments").await.contains("£6.50"));

    let coordinator = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    assert_eq!(coordinator.get("/admin/payments").await.status(), 403);
    assert_eq!(coordinator.get("/admin/payments.csv").await.status(), 403);
    assert_eq!(coordinator.get("/admin/payments/new").await.status(), 403);
    assert_eq!(owner_family.get("/admin/payments").await.status(), 403);
    let owner = app.signed_in("owner@example.com", "admin", Some("owner")).await;
    assert_eq!(owner.get("/admin/payments").await.status(), 200);
    assert!(finance.get_text("/admin").await.contains(r#"href="/admin/payments""#));
    assert!(owner_family.get_text("/parent").await.contains(r#"href="/parent/payments""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_never_lets_refunds_exceed_the_payment() {
    let app = spawn_app().await;
    let (_parent, booking_id) = booked(&app, "parent@example.com", "Football").await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    assert_eq!(record(&finance, booking_id, "6.50", "cash").await.status(), 303);
    let payment_id: i64 = sqlx::query_scalar("select id from payments").fetch_one(&app.pool).await.unwrap();
    let refund = |amount: i32| {
        sqlx::query(
            "insert into refunds (payment_id, amount_pence, reason) values ($1, $2, 'Sibling discount')",
        )
        .bind(payment_id)
        .bind(amount)
        .execute(&app.pool)
    };

    refund(400).await.unwrap();
    let err = refund(251).await.unwrap_err();
    let constraint = err.as_database_error().and_then(|e| e.constraint()).map(str::to_owned);
    assert_eq!(constraint.as_deref(), Some("payments_refunds_within_amount"), "{err}");
    refund(250).await.unwrap();
    let (refunded, status): (i32, String) =
        sqlx::query_as("select refunded_pence, status from payments where id = $1")
            .bind(payment_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((refunded, status.as_str()), (650, "refunded"));
    assert!(refund(1).await.is_err(), "a fully refunded payment takes no more refunds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_finance_list_filters_and_its_csv_totals_match_the_page() {
    let app = spawn_app().await;
    let (_a, football_booking) = booked(&app, "a@example.com", "Football").await;
    let (_b, swimming_booking) = booked(&app, "b@example.com", "Swimming").await;
    let (_c, _unpaid) = booked(&app, "c@example.com", "Tennis").await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    assert_eq!(record(&finance, football_booking, "6.50", "cash").await.status(), 303);
    assert_eq!(record(&finance, swimming_booking, "2.25", "bank_transfer").await.status(), 303);
    let football_payment: i64 = sqlx::query_scalar("select id from payments where booking_id = $1")
        .bind(football_booking)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    sqlx::query("insert into refunds (payment_id, amount_pence, reason) values ($1, 150, 'Left early')")
        .bind(football_payment)
        .execute(&app.pool)
        .await
        .unwrap();

    let page = finance.get_text("/admin/payments").await;
    assert!(page.contains(r#"<dd id="total-taken">£8.75</dd>"#), "{page}");
    assert!(page.contains(r#"<dd id="total-refunded">£1.50</dd>"#), "{page}");
    assert!(page.contains(r#"<dd id="total-net">£7.25</dd>"#), "{page}");
    assert!(page.contains(r#"<strong id="refunds-total">£1.50</strong>"#) && page.contains("Left early"));
    // Due is total − paid + refunded: Swimming £4.25, Tennis £6.50, Football the £1.50 refunded.
    assert!(page.contains(r#"<strong id="outstanding-total">£12.25</strong>"#), "{page}");
    assert!(page.contains("Export CSV"));

    let csv = finance.get("/admin/payments.csv").await;
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    let rows: Vec<csv::StringRecord> =
        csv::Reader::from_reader(csv.as_bytes()).records().map(Result::unwrap).collect();
    let (payments, total): (Vec<_>, Vec<_>) = rows.iter().partition(|r| &r[0] != "total");
    assert_eq!(payments.len(), 2);
    let pence = |s: &str| -> i64 { s.replace('.', "").parse().unwrap() };
    let column = |n: usize| -> i64 { payments.iter().map(|r| pence(&r[n])).sum() };
    assert_eq!((column(8), column(9), column(10)), (875, 150, 725), "{csv}");
    assert_eq!((&total[0][8], &total[0][9], &total[0][10]), ("8.75", "1.50", "7.25"), "{csv}");

    let swimming: i64 = sqlx::query_scalar("select id from activities where name = 'Swimming'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let filtered = finance.get_text(&format!("/admin/payments?activity={swimming}")).await;
    assert!(filtered.contains(r#"<dd id="total-net">£2.25</dd>"#), "{filtered}");
    assert!(filtered.contains(r#"<strong id="outstanding-total">£4.25</strong>"#), "{filtered}");
    let filtered = finance.get_text("/admin/payments?status=partially_refunded").await;
    assert!(filtered.contains(r#"<dd id="total-net">£5.00</dd>"#), "{filtered}");
    let csv = finance.get_text("/admin/payments.csv?status=partially_refunded").await;
    assert!(csv.lines().last().unwrap().contains("6.50,1.50,5.00"), "{csv}");
    let future = finance.get_text("/admin/payments?from=2099-01-01").await;
    assert!(future.contains(r#"<dd id="total-net">£0.00</dd>"#) && future.contains("No payments match."));
}

/// What bookings owe, summed over every booking as the outstanding list counts it: the
/// ground truth the running total must equal.
async fn owed_over_bookings(pool: &sqlx::PgPool) -> (i64, i64) {
    sqlx::query_as(
        "select count(*), coalesce(sum(owed), 0)::bigint from (
            select b.total_pence - b.paid_pence - coalesce(d.amount_pence, 0) as owed
              from bookings b left join booking_discounts d on d.booking_id = b.id
             where b.status in ('pending', 'changes_requested', 'approved', 'completed')) o
          where owed > 0",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The page's "still owed" line: how many bookings, and the total in pence.
async fn owed_on_page(finance: &TestClient) -> (i64, i64) {
    let page = finance.get_text("/admin/payments").await;
    let line = &page[page.find("Still owed on ").expect("the owed line")..];
    let count: i64 = line["Still owed on ".len()..].split(' ').next().unwrap().parse().unwrap();
    let marker = r#"id="outstanding-total">£"#;
    let total = &line[line.find(marker).unwrap() + marker.len()..];
    let total: String = total[..total.find('<').unwrap()].chars().filter(char::is_ascii_digit).collect();
    (count, total.parse().unwrap())
}

async fn assert_owed_matches(app: &TestApp, finance: &TestClient, expected: (i64, i64), after: &str) {
    assert_eq!(owed_over_bookings(&app.pool).await, expected, "{after}: the ground truth");
    assert_eq!(owed_on_page(finance).await, expected, "{after}: the page's total");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owed_total_equals_the_sum_over_bookings_as_they_change() {
    let app = spawn_app().await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let start = owed_over_bookings(&app.pool).await;
    assert_eq!(owed_on_page(&finance).await, start, "before anything");
    let (_a, football) = booked(&app, "a@example.com", "Football").await;
    let (_b, swimming) = booked(&app, "b@example.com", "Swimming").await;
    let (_c, tennis) = booked(&app, "c@example.com", "Tennis").await;
    assert_owed_matches(&app, &finance, (start.0 + 3, start.1 + 1950), "three bookings").await;

    assert_eq!(record(&finance, football, "6.50", "cash").await.status(), 303);
    assert_eq!(record(&finance, swimming, "2.25", "bank_transfer").await.status(), 303);
    assert_owed_matches(&app, &finance, (start.0 + 2, start.1 + 1075), "payments").await;

    let payment: i64 = sqlx::query_scalar("select id from payments where booking_id = $1")
        .bind(football)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let page = format!("/admin/payments/{payment}");
    let refunded = finance
        .submit(&page, &format!("{page}/refund"), &[("amount", "1.50"), ("reason", "Left early")])
        .await;
    assert_eq!(refunded.status(), 303);
    assert_owed_matches(&app, &finance, (start.0 + 3, start.1 + 1225), "a refund").await;

    let code: i64 = sqlx::query_scalar(
        "insert into discount_codes (code, kind, amount_off_pence) values ('TAKE1', 'fixed', 100) returning id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into booking_discounts (booking_id, discount_code_id, amount_pence) values ($1, $2, 100)",
    )
    .bind(swimming)
    .bind(code)
    .execute(&app.pool)
    .await
    .unwrap();
    assert_owed_matches(&app, &finance, (start.0 + 3, start.1 + 1125), "a discount").await;
    sqlx::query("update booking_discounts set amount_pence = 425 where booking_id = $1")
        .bind(swimming)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_owed_matches(&app, &finance, (start.0 + 2, start.1 + 800), "a discount covering the rest").await;

    sqlx::query("update bookings set status = 'cancelled' where id = $1")
        .bind(tennis)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_owed_matches(&app, &finance, (start.0 + 1, start.1 + 150), "a cancellation").await;

    // Many bookings in one statement, then gone again.
    let parent: i64 = sqlx::query_scalar("select parent_id from bookings where id = $1")
        .bind(tennis)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    sqlx::query(
        "insert into bookings (parent_id, status, total_pence)
         select $1, s, 1000 from unnest(array['approved', 'pending', 'draft', 'rejected']) s",
    )
    .bind(parent)
    .execute(&app.pool)
    .await
    .unwrap();
    assert_owed_matches(&app, &finance, (start.0 + 3, start.1 + 2150), "bookings in bulk").await;
    sqlx::query("delete from booking_discounts where booking_id = $1")
        .bind(swimming)
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("delete from bookings where parent_id = $1 and total_pence = 1000")
        .bind(parent)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_owed_matches(&app, &finance, (start.0 + 2, start.1 + 575), "bookings and a discount deleted")
        .await;

    // The every-minute fold keeps it to one row and changes nothing.
    sqlx::query(
        "with folded as (delete from owed_changes returning bookings, owed_pence)
         insert into owed_changes (bookings, owed_pence)
         select sum(bookings), sum(owed_pence) from folded having count(*) > 0",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let rows: i64 =
        sqlx::query_scalar("select count(*) from owed_changes").fetch_one(&app.pool).await.unwrap();
    assert_eq!(rows, 1);
    assert_owed_matches(&app, &finance, (start.0 + 2, start.1 + 575), "folded").await;
}

/// The numbers a page shows as `{prefix}{n}{suffix}`, in page order.
pub(crate) fn numbers(page: &str, prefix: &str, suffix: &str) -> Vec<i64> {
    page.split(prefix)
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            (!digits.is_empty() && rest[digits.len()..].starts_with(suffix)).then(|| digits.parse().unwrap())
        })
        .collect()
}

/// The `Next` or `Previous` link (`rel` next or prev) of the first pager on the page
/// that has one, unescaped.
pub(crate) fn pager_link(page: &str, rel: &str) -> Option<String> {
    let mut rest = page;
    while let Some(at) = rest.find("<nav class=\"pager\"") {
        let nav = &rest[at..];
        let nav = &nav[..nav.find("</nav>")?];
        if let Some(end) = nav.find(&format!("rel=\"{rel}\"")) {
            let anchor = &nav[..end];
            let href = &anchor[anchor.rfind("href=\"")? + 6..];
            return Some(href[..href.find('"')?].replace("&#38;", "&").replace("&amp;", "&"));
        }
        rest = &rest[at + 1..];
    }
    None
}

/// Follows `Next` from `path` to the end: each page's numbers (`prefix` n `suffix`),
/// checking each page after the first links back, and each link keeps `kept`.
pub(crate) async fn walk_pages(
    client: &TestClient,
    path: &str,
    prefix: &str,
    suffix: &str,
    kept: &str,
) -> Vec<Vec<i64>> {
    let mut pages = Vec::new();
    let mut next = Some(path.to_owned());
    while let Some(path) = next {
        let page = client.get_text(&path).await;
        pages.push(numbers(&page, prefix, suffix));
        let previous = pager_link(&page, "prev");
        assert_eq!(previous.is_some(), pages.len() > 1, "{path}: a Previous on every page but the first");
        next = pager_link(&page, "next");
        for link in previous.iter().chain(next.iter()) {
            assert!(link.contains(kept), "{link} keeps {kept}");
        }
        assert!(pages.len() < 50, "the pages end");
    }
    pages
}

/// Each of `expected` seen once, in pages of fifty then the rest.
pub(crate) fn assert_paged(pages: Vec<Vec<i64>>, expected: &[i64], sizes: &[usize]) {
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), sizes);
    let mut seen: Vec<i64> = pages.into_iter().flatten().collect();
    let count = seen.len();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), count, "nothing twice");
    let mut expected = expected.to_vec();
    expected.sort_unstable();
    assert_eq!(seen, expected, "everything once");
}

/// `n` bookings of `parent_id`, each paid in cash, two payments to a minute going back
/// from now. Returns the payments' ids, newest first.
async fn paid_bookings(pool: &sqlx::PgPool, parent_id: i64, n: i32) -> Vec<i64> {
    sqlx::query_scalar(
        "with made as (
            insert into bookings (parent_id, status, total_pence, created_at)
            select $1, 'approved', 650, now() - make_interval(mins => g / 2) from generate_series(1, $2) g
            returning id, created_at)
         insert into payments (booking_id, amount_pence, method, status, created_at, paid_at)
         select id, 650, 'cash', 'succeeded', created_at, created_at from made
         returning id",
    )
    .bind(parent_id)
    .bind(n)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_pages_through_their_own_payments_only() {
    let app = spawn_app().await;
    let (parent_id, parent) = fixtures::parent(&app, "parent@example.com").await;
    let mine = paid_bookings(&app.pool, parent_id, 75).await;
    let (other_id, _) = fixtures::parent(&app, "other@example.com").await;
    paid_bookings(&app.pool, other_id, 30).await;
    let order: Vec<i64> = sqlx::query_scalar(
        "select p.id from payments p join bookings b on b.id = p.booking_id where b.parent_id = $1
          order by p.created_at desc, p.id desc",
    )
    .bind(parent_id)
    .fetch_all(&app.pool)
    .await
    .unwrap();

    let pages = walk_pages(&parent, "/parent/payments", "href=\"/parent/payments/", "\"", "").await;
    assert_eq!(pages[0], order[..50], "newest first");
    assert_eq!(pages[1], order[50..]);
    assert_paged(pages, &mine, &[50, 25]);

    // Back from the last page comes the first again.
    let first = parent.get_text("/parent/payments").await;
    let last = parent.get_text(&pager_link(&first, "next").expect("a Next")).await;
    assert_eq!(pager_link(&last, "next"), None, "the last page has no Next");
    let back = parent.get_text(&pager_link(&last, "prev").expect("a Previous")).await;
    assert_eq!(numbers(&back, "href=\"/parent/payments/", "\""), order[..50]);
}
