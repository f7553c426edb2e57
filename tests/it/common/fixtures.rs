//! Small builders for the data tests need: an activity, a session, a package, a
//! child, a signed-in parent, a booking made through the real form.

use sqlx::PgPool;

use super::{TestApp, TestClient};

pub struct Activity {
    pub id: i64,
    pub venue_id: i64,
}

pub async fn activity(
    pool: &PgPool,
    name: &str,
    requires_approval: bool,
    ages: (i32, i32),
    cancel_cutoff_hours: i32,
) -> Activity {
    let id: i64 = sqlx::query_scalar(
        "insert into activities (name, min_age_years, max_age_years, default_duration_minutes, default_capacity,
                                 price_pence, requires_approval, cancellation_cutoff_hours)
         values ($1, $2, $3, 60, 10, 650, $4, $5) returning id",
    )
    .bind(name)
    .bind(ages.0)
    .bind(ages.1)
    .bind(requires_approval)
    .bind(cancel_cutoff_hours)
    .fetch_one(pool)
    .await
    .unwrap();
    let venue_id: i64 = sqlx::query_scalar("insert into venues (name) values ($1) returning id")
        .bind(format!("{name} hall"))
        .fetch_one(pool)
        .await
        .unwrap();
    Activity { id, venue_id }
}

/// A session starting `hours` from now.
pub async fn session(
    pool: &PgPool,
    activity: &Activity,
    hours: i64,
    capacity: i32,
    series: Option<i64>,
) -> i64 {
    sqlx::query_scalar(
        "insert into sessions (activity_id, venue_id, series_id, starts_at, ends_at, capacity, price_pence)
         values ($1, $2, $3, now() + make_interval(hours => $4::int), now() + make_interval(hours => $4::int + 1), $5, 650)
         returning id",
    )
    .bind(activity.id)
    .bind(activity.venue_id)
    .bind(series)
    .bind(hours as i32)
    .bind(capacity)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// A package of `credits` sessions of `activity` for `price_pence`, valid for 90 days.
pub async fn package(pool: &PgPool, name: &str, credits: i32, price_pence: i32, activity: &Activity) -> i64 {
    let id: i64 = sqlx::query_scalar(
        "insert into packages (name, kind, credits, price_pence, valid_days)
         values ($1, 'credits', $2, $3, 90) returning id",
    )
    .bind(name)
    .bind(credits)
    .bind(price_pence)
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query("insert into package_activities (package_id, activity_id) values ($1, $2)")
        .bind(id)
        .bind(activity.id)
        .execute(pool)
        .await
        .unwrap();
    id
}

pub async fn child(pool: &PgPool, parent_id: i64, first_name: &str, age_years: i32) -> i64 {
    sqlx::query_scalar(
        "insert into children (parent_id, first_name, last_name, date_of_birth)
         values ($1, $2, 'Test', current_date - make_interval(years => $3) - interval '30 days') returning id",
    )
    .bind(parent_id)
    .bind(first_name)
    .bind(age_years)
    .fetch_one(pool)
    .await
    .unwrap()
}

pub async fn parent(app: &TestApp, email: &str) -> (i64, TestClient) {
    let client = app.signed_in(email, "parent", None).await;
    let id: i64 = sqlx::query_scalar("select id from users where email = $1")
        .bind(email)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    (id, client)
}

pub async fn book(client: &TestClient, token: &str, session_id: i64, child_ids: &[i64]) -> reqwest::Response {
    let session = session_id.to_string();
    let items: Vec<String> = child_ids.iter().map(|c| format!("{session_id}:{c}")).collect();
    let mut fields = vec![("csrf_token", token), ("session", session.as_str())];
    fields.extend(items.iter().map(|i| ("item", i.as_str())));
    client.post_raw("/parent/bookings", &fields).await
}

pub async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// A signed-in trainer who may deliver `activity`.
pub async fn trainer(app: &TestApp, email: &str, activity: &Activity) -> (i64, TestClient) {
    let client = app.signed_in(email, "trainer", None).await;
    let id: i64 = sqlx::query_scalar("select id from users where email = $1")
        .bind(email)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    sqlx::query("insert into activity_trainers (activity_id, trainer_id) values ($1, $2)")
        .bind(activity.id)
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    (id, client)
}

/// A session starting `minutes` from now (negative: already started), an hour long.
pub async fn session_in_minutes(pool: &PgPool, activity: &Activity, minutes: i32, capacity: i32) -> i64 {
    sqlx::query_scalar(
        "insert into sessions (activity_id, venue_id, starts_at, ends_at, capacity, price_pence)
         values ($1, $2, now() + make_interval(mins => $3), now() + make_interval(mins => $3 + 60), $4, 650)
         returning id",
    )
    .bind(activity.id)
    .bind(activity.venue_id)
    .bind(minutes)
    .bind(capacity)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// A shift on `session_id`: open (no trainer) or held/offered by `trainer`.
pub async fn shift(pool: &PgPool, session_id: i64, trainer: Option<i64>, status: &str) -> i64 {
    sqlx::query_scalar(
        "insert into shifts (session_id, trainer_id, status, role) values ($1, $2, $3, 'lead') returning id",
    )
    .bind(session_id)
    .bind(trainer)
    .bind(status)
    .fetch_one(pool)
    .await
    .unwrap()
}
