//! The probes monitoring relies on.

use crate::common::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_readyz_answer_while_all_is_well() {
    let app = spawn_app().await;
    let client = app.client();

    let health = client.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");
    assert_eq!(client.get("/readyz").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_when_the_database_is_unreachable() {
    let app = spawn_app().await;
    let client = app.client();
    assert_eq!(client.get("/readyz").await.status(), 200);

    // Take the database away under the running app: refuse new connections and end
    // the ones it holds.
    let admin = sqlx::PgPool::connect(&app.db.url.replace(&app.db.name, "postgres")).await.unwrap();
    sqlx::query(&format!("alter database {} allow_connections false", app.db.name))
        .execute(&admin)
        .await
        .unwrap();
    sqlx::query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1")
        .bind(&app.db.name)
        .execute(&admin)
        .await
        .unwrap();

    let response = client.get("/readyz").await;
    assert_eq!(response.status(), 503);
    assert_eq!(client.get("/healthz").await.status(), 200, "the process itself is alive");

    sqlx::query(&format!("alter database {} allow_connections true", app.db.name))
        .execute(&admin)
        .await
        .unwrap();
    assert_eq!(client.get("/readyz").await.status(), 200, "ready again once the database is back");
}
