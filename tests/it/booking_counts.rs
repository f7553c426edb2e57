//! The bookings counted per status (0037): kept by triggers on every insert, change of
//! state and delete, however many rows a statement touches, folded to one row per
//! status without changing a count, and what the office's list and dashboard show.

use sqlx::PgPool;

use crate::common::{fixtures, spawn_app};

/// Each status's kept count and its real one, where they differ (none when right).
async fn differences(pool: &PgPool) -> Vec<(String, i64, i64)> {
    sqlx::query_as(
        "select status, coalesce(k.n, 0)::bigint, coalesce(b.n, 0)::bigint
           from (select status, sum(bookings) as n from booking_status_counts group by status) k
           full join (select status, count(*) as n from bookings group by status) b using (status)
          where coalesce(k.n, 0) <> coalesce(b.n, 0)",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counts_per_status_follow_every_change_and_survive_the_fold() {
    let app = spawn_app().await;
    let (parent_id, _) = fixtures::parent(&app, "parent@example.com").await;
    let insert = |n: i32, status: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query("insert into bookings (parent_id, status, total_pence) select $1, $2, 650 from generate_series(1, $3)")
                .bind(parent_id)
                .bind(status)
                .bind(n)
                .execute(&pool)
                .await
                .unwrap();
        }
    };
    insert(30, "pending").await;
    insert(12, "approved").await;
    assert_eq!(differences(&app.pool).await, vec![]);
    // Some change state, some change nothing the count sees, some go.
    sqlx::query("update bookings set status = 'approved' where id in (select id from bookings where status = 'pending' limit 7)")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("update bookings set total_pence = 700 where status = 'approved'")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query(
        "delete from bookings where id in (select id from bookings where status = 'pending' limit 3)",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(differences(&app.pool).await, vec![]);
    let rows_before: i64 = fixtures::count(&app.pool, "select count(*) from booking_status_counts").await;
    portico::bookings::store::fold_status_counts(&app.pool).await.unwrap();
    assert_eq!(differences(&app.pool).await, vec![], "folding changes no count");
    let rows_after: i64 = fixtures::count(&app.pool, "select count(*) from booking_status_counts").await;
    assert!(rows_after <= 2 && rows_after < rows_before, "one row a status: {rows_before} -> {rows_after}");

    let office = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    let queue = office.get_text("/admin/bookings?status=pending").await;
    assert!(queue.contains("20 bookings"), "the queue counts the kept pending: {queue}");
    let all = office.get_text("/admin/bookings").await;
    assert!(all.contains("39 bookings"), "every booking: {all}");
    let searched = office.get_text("/admin/bookings?status=approved&q=parent").await;
    assert!(searched.contains("19 bookings"), "a search counts the bookings it finds: {searched}");
}
