//! Throttles guessing. Attempts are rows in PostgreSQL, so every app process sees the
//! same counts, and each check and the row it records are one step under a lock, so
//! simultaneous attempts are counted one by one.
//!
//! Sign-in is limited per account *from one address* and per address, never per account
//! alone: a stranger failing from elsewhere cannot lock the owner out. Across all
//! addresses an account under attack is slowed instead — each check from an address
//! that has not signed in to it before waits a little — while the owner's own address
//! keeps its pace.

use std::{net::IpAddr, time::Duration};

use sqlx::PgPool;

/// Failures allowed for one account from one address in the window.
const MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS: i64 = 5;
/// Failures allowed from one address, whatever the accounts, in the window.
const MAX_FAILURES_PER_ADDRESS: i64 = 20;
/// Failures of one account, from anywhere, after which unfamiliar addresses are slowed.
const SLOW_AFTER_ACCOUNT_FAILURES: i64 = 10;
const SLOWDOWN: Duration = Duration::from_secs(2);
const WINDOW: &str = "15 minutes";
/// An address that signed in to the account this recently is the owner's, and not slowed.
const FAMILIAR_FOR: &str = "30 days";

/// A sign-in attempt being checked; `finish` records how it went.
pub struct Attempt {
    id: i64,
    /// How long to wait before checking the password.
    pub delay: Option<Duration>,
}

/// Records an attempt for `email` from `ip` before its password is checked, or refuses
/// it (None). An attempt still being checked counts as a failure.
pub async fn begin_sign_in(pool: &PgPool, email: &str, ip: IpAddr) -> sqlx::Result<Option<Attempt>> {
    let mut tx = pool.begin().await?;
    lock(&mut tx, "sign-in", &ip.to_string()).await?;
    let ip = ip.to_string();
    // `$2::text::inet`: the address travels as text (sqlx's inet types are not enabled).
    let counts = sqlx::query!(
        r#"select count(*) filter (where email = $1 and ip = $2::text::inet) as "pair!",
                  count(*) filter (where ip = $2::text::inet) as "address!",
                  count(*) filter (where email = $1) as "account!",
                  exists (select 1 from sign_in_attempts
                          where email = $1 and ip = $2::text::inet and succeeded
                            and created_at > now() - $3::text::interval) as "familiar!"
           from sign_in_attempts
           where succeeded is not true and created_at > now() - $4::text::interval
             and (email = $1 or ip = $2::text::inet)"#,
        email,
        ip,
        FAMILIAR_FOR,
        WINDOW
    )
    .fetch_one(&mut *tx)
    .await?;
    let (pair, address, account, familiar) = (counts.pair, counts.address, counts.account, counts.familiar);
    if pair >= MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS || address >= MAX_FAILURES_PER_ADDRESS {
        return Ok(None);
    }
    let id = sqlx::query_scalar!(
        "insert into sign_in_attempts (email, ip) values ($1, $2::text::inet) returning id",
        email,
        ip
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let delay = (account >= SLOW_AFTER_ACCOUNT_FAILURES && !familiar).then_some(SLOWDOWN);
    Ok(Some(Attempt { id, delay }))
}

pub async fn finish_sign_in(pool: &PgPool, attempt: Attempt, succeeded: bool) -> sqlx::Result<()> {
    sqlx::query!("update sign_in_attempts set succeeded = $2 where id = $1", attempt.id, succeeded)
        .execute(pool)
        .await?;
    Ok(())
}

/// A limit on requests of one kind: at most `max` per key in `window`.
pub struct Limit<'a> {
    pub key: &'a str,
    pub max: i64,
}

/// Records a request of `kind` against every limit if none is reached; false (and
/// nothing recorded) if one is.
pub async fn allow_request(
    pool: &PgPool,
    kind: &str,
    window: &str,
    limits: &[Limit<'_>],
) -> sqlx::Result<bool> {
    let mut tx = pool.begin().await?;
    let mut keys: Vec<&str> = limits.iter().map(|l| l.key).collect();
    // One order for the locks, so two requests never wait on each other in a circle.
    keys.sort_unstable();
    for key in keys {
        lock(&mut tx, kind, key).await?;
    }
    for limit in limits {
        let count = sqlx::query_scalar!(
            r#"select count(*) as "count!" from request_attempts
               where kind = $1 and key = $2 and created_at > now() - $3::text::interval"#,
            kind,
            limit.key,
            window
        )
        .fetch_one(&mut *tx)
        .await?;
        if count >= limit.max {
            return Ok(false);
        }
    }
    for limit in limits {
        sqlx::query!("insert into request_attempts (kind, key) values ($1, $2)", kind, limit.key)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Serialises checks of one key until the transaction ends.
async fn lock(tx: &mut sqlx::PgConnection, kind: &str, key: &str) -> sqlx::Result<()> {
    // `::text`: the lock function returns `void`, which the query macros cannot describe.
    sqlx::query_scalar!(
        "select pg_advisory_xact_lock(hashtextextended($1::text || ':' || $2::text, 0))::text",
        kind,
        key
    )
    .fetch_one(tx)
    .await?;
    Ok(())
}

/// Sends allowed of each public form (sign-up, a trainer application) from one client
/// address in an hour: room for a family or an office sharing one address, none for a
/// script filling the office's lists.
pub const PUBLIC_FORM_SENDS_PER_CLIENT: i64 = 10;

/// What a client over [`PUBLIC_FORM_SENDS_PER_CLIENT`] is told, by the form's email field.
pub const PUBLIC_FORM_BUSY: &str =
    "This form has been sent from your address many times in the last hour. Please try again in an hour.";

/// Counts one valid send of the public form `form` from `ip`; false (and nothing
/// counted) once the client has reached its limit.
pub async fn allow_public_form(pool: &PgPool, form: &str, ip: IpAddr) -> sqlx::Result<bool> {
    let client = ip.to_string();
    let limits = [Limit { key: &client, max: PUBLIC_FORM_SENDS_PER_CLIENT }];
    allow_request(pool, form, "1 hour", &limits).await
}
