//! Configuration from environment variables (and `.env`, read in `main`).

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::{Context, bail};
use time_tz::Tz;

#[derive(Clone, Debug)]
pub struct Config {
    /// `None`: start the private cluster under `data_dir/postgres`.
    pub database_url: Option<String>,
    pub bind: SocketAddr,
    /// The address users reach us at; links in emails and the `Secure` cookie follow it.
    pub base_url: String,
    pub data_dir: PathBuf,
    /// Load the demo data into an empty database, and show demo logins on the login page.
    pub demo: bool,
    pub timezone: &'static Tz,
    pub stripe_secret_key: Option<String>,
    pub stripe_webhook_secret: Option<String>,
    pub stripe_api_base: Option<String>,
    /// How long any one call to Stripe may take.
    pub stripe_timeout: Duration,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// Reverse proxies whose `X-Forwarded-For` names the client (none by default).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Encrypts two-factor secrets at rest (parsed by `auth::two_factor::TwoFactorKey`).
    pub two_factor_key: Option<String>,
    /// How long, after SIGTERM, requests in flight and the job in hand may take.
    pub shutdown_grace: Duration,
    /// How long a mail server may take to answer before the attempt counts as failed.
    pub smtp_timeout: Duration,
    /// The outbox's wait before its first retry, and the longest wait between two.
    pub mail_retry_first: Duration,
    pub mail_retry_max: Duration,
    /// How often the job workers look for work that no notification announced
    /// (retries whose wait is over, jobs a stopped process left).
    pub job_poll: Duration,
    /// How long a request waits for a database connection, and for one statement, before
    /// it answers 503: what keeps every page quick to answer during a database outage.
    pub db_acquire_timeout: Duration,
    pub db_statement_timeout: Duration,
}

/// Timings from the environment in whole units; tests shorten them.
fn duration(
    lookup: &impl Fn(&str) -> Option<String>,
    key: &str,
    default: Duration,
    unit: fn(u64) -> Duration,
) -> anyhow::Result<Duration> {
    match lookup(key) {
        None => Ok(default),
        Some(v) => v.trim().parse().map(unit).with_context(|| format!("{key} must be a whole number")),
    }
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|key| std::env::var(key).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads settings through `lookup` so tests can configure without the process env.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let database_url = lookup("DATABASE_URL");
        let bind: SocketAddr = lookup("BIND")
            .unwrap_or_else(|| "127.0.0.1:3000".into())
            .parse()
            .context("BIND must be an address like 127.0.0.1:3000")?;
        let base_url =
            lookup("BASE_URL").unwrap_or_else(|| format!("http://{bind}")).trim_end_matches('/').to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            bail!("BASE_URL must start with http:// or https://");
        }
        let demo = match lookup("PORTICO_DEMO") {
            Some(v) => parse_bool(&v).context("PORTICO_DEMO must be true or false")?,
            // The private development database gets the demo by default.
            None => database_url.is_none(),
        };
        Ok(Self {
            database_url,
            bind,
            base_url,
            data_dir: lookup("PORTICO_DATA_DIR").unwrap_or_else(|| "./data".into()).into(),
            demo,
            timezone: timezone(&lookup)?,
            stripe_secret_key: lookup("STRIPE_SECRET_KEY"),
            stripe_webhook_secret: lookup("STRIPE_WEBHOOK_SECRET"),
            stripe_api_base: lookup("STRIPE_API_BASE"),
            stripe_timeout: duration(
                &lookup,
                "STRIPE_TIMEOUT_MS",
                Duration::from_secs(10),
                Duration::from_millis,
            )?,
            smtp_url: lookup("SMTP_URL"),
            mail_from: lookup("MAIL_FROM").unwrap_or_else(|| "Portico <no-reply@portico.test>".into()),
            trusted_proxies: crate::auth::client_ip::parse_trusted(
                &lookup("TRUSTED_PROXIES").unwrap_or_default(),
            )
            .map_err(|e| anyhow::anyhow!("TRUSTED_PROXIES: {e}"))?,
            two_factor_key: lookup("TWO_FACTOR_KEY"),
            shutdown_grace: duration(
                &lookup,
                "SHUTDOWN_GRACE_SECS",
                Duration::from_secs(25),
                Duration::from_secs,
            )?,
            smtp_timeout: duration(
                &lookup,
                "SMTP_TIMEOUT_MS",
                Duration::from_secs(10),
                Duration::from_millis,
            )?,
            // Eight tries over about a day: 1.5 min, 6, 24, 96 min, then every 6.4 and 8 h.
            mail_retry_first: duration(
                &lookup,
                "MAIL_RETRY_FIRST_MS",
                Duration::from_secs(90),
                Duration::from_millis,
            )?,
            mail_retry_max: duration(
                &lookup,
                "MAIL_RETRY_MAX_MS",
                Duration::from_secs(8 * 3600),
                Duration::from_millis,
            )?,
            job_poll: duration(&lookup, "JOB_POLL_MS", Duration::from_secs(10), Duration::from_millis)?,
            db_acquire_timeout: duration(
                &lookup,
                "DB_ACQUIRE_TIMEOUT_MS",
                Duration::from_secs(3),
                Duration::from_millis,
            )?,
            db_statement_timeout: duration(
                &lookup,
                "DB_STATEMENT_TIMEOUT_MS",
                Duration::from_secs(5),
                Duration::from_millis,
            )?,
        })
    }

    pub fn is_https(&self) -> bool {
        self.base_url.starts_with("https://")
    }
}

fn timezone(lookup: &impl Fn(&str) -> Option<String>) -> anyhow::Result<&'static Tz> {
    let name = lookup("PORTICO_TIMEZONE").unwrap_or_else(|| "Europe/London".into());
    time_tz::timezones::get_by_name(&name)
        .with_context(|| format!("PORTICO_TIMEZONE: unknown time zone {name:?}"))
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> anyhow::Result<Config> {
        let pairs: Vec<(String, String)> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults_follow_the_contract() {
        use time_tz::TimeZone;
        let c = config(&[]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:3000");
        assert_eq!(c.base_url, "http://127.0.0.1:3000");
        assert!(c.demo, "the private database gets the demo by default");
        assert_eq!(c.timezone.name(), "Europe/London");
    }

    #[test]
    fn a_database_url_turns_the_demo_off_unless_asked() {
        assert!(!config(&[("DATABASE_URL", "postgres://x")]).unwrap().demo);
        let c = config(&[("DATABASE_URL", "postgres://x"), ("PORTICO_DEMO", "1")]).unwrap();
        assert!(c.demo);
    }

    #[test]
    fn bad_values_are_refused_with_the_variable_named() {
        let err = config(&[("PORTICO_TIMEZONE", "Mars/Olympus")]).unwrap_err();
        assert!(err.to_string().contains("PORTICO_TIMEZONE"));
        assert!(config(&[("BIND", "nowhere")]).is_err());
        assert!(config(&[("BASE_URL", "ftp://x")]).is_err());
    }
}
