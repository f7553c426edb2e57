//! Throttles repeated failed sign-ins, per account and per address. Attempts are rows
//! in PostgreSQL so every app process sees the same count.

use std::net::IpAddr;

use sqlx::PgPool;

/// Failures allowed in the window before further attempts are refused.
const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
const MAX_FAILURES_PER_ADDRESS: i64 = 20;
const WINDOW: &str = "15 minutes";

pub async fn is_throttled(pool: &PgPool, email: &str, ip: IpAddr) -> sqlx::Result<bool> {
    let (by_account, by_address): (i64, i64) = sqlx::query_as(&format!(
        "select count(*) filter (where email = $1),
                count(*) filter (where ip = $2::inet)
         from sign_in_attempts
         where not succeeded and created_at > now() - interval '{WINDOW}'
           and (email = $1 or ip = $2::inet)"
    ))
    .bind(email)
    .bind(ip.to_string())
    .fetch_one(pool)
    .await?;
    Ok(by_account >= MAX_FAILURES_PER_ACCOUNT || by_address >= MAX_FAILURES_PER_ADDRESS)
}

pub async fn record(pool: &PgPool, email: &str, ip: IpAddr, succeeded: bool) -> sqlx::Result<()> {
    sqlx::query("insert into sign_in_attempts (email, ip, succeeded) values ($1, $2::inet, $3)")
        .bind(email)
        .bind(ip.to_string())
        .bind(succeeded)
        .execute(pool)
        .await?;
    Ok(())
}
