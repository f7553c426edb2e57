//! The state every handler and worker shares: the pool, the configuration, and the
//! queues' senders. Its own module so that areas depend on it without depending on the
//! router that wires their pages together.

use std::sync::Arc;

use sqlx::PgPool;

pub use crate::workers::Workers;
use crate::{
    Config, auth,
    auth::password::Passwords,
    notifications::{Mailer, Outbox, Retries, account_requests::AccountRequests},
};

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub passwords: Passwords,
    pub outbox: Outbox,
    pub account_requests: AccountRequests,
    pub housekeeping: crate::housekeeping::Housekeeping,
    pub certificate_reminders: crate::certificates::reminders::Reminders,
    pub stripe: Option<crate::payments::Stripe>,
    /// `None`: no key configured, so two-factor sign-in cannot be turned on.
    pub two_factor_key: Option<Arc<auth::two_factor::TwoFactorKey>>,
    /// Sessions and users read in the last few seconds; pages that change a user forget them.
    pub signed_in: auth::cache::SignedInCache,
}

impl AppState {
    pub async fn new(config: Config, pool: PgPool) -> anyhow::Result<Self> {
        let mailer = Mailer::from_config(config.smtp_url.as_deref(), &config.mail_from, config.smtp_timeout)?;
        let outbox = Outbox::new(pool.clone(), mailer, Retries::from_config(&config)).await?;
        Ok(Self {
            stripe: crate::payments::Stripe::from_config(&config)?,
            account_requests: AccountRequests::new(pool.clone(), outbox.clone(), config.base_url.clone())
                .await?,
            housekeeping: crate::housekeeping::Housekeeping::new(pool.clone()).await?,
            certificate_reminders: crate::certificates::reminders::Reminders::new(
                pool.clone(),
                outbox.clone(),
                config.base_url.clone(),
                config.timezone,
            )
            .await?,
            two_factor_key: auth::two_factor::TwoFactorKey::load(&config)?.map(Arc::new),
            outbox,
            signed_in: auth::cache::SignedInCache::default(),
            passwords: Passwords::new().await?,
            config: Arc::new(config),
            pool,
        })
    }

    /// Starts this process's background workers (emails, account requests, clean-up); stopping
    /// them lets the task in hand finish.
    pub fn start_workers(&self) -> Workers {
        let mut workers = Workers::new(self.config.job_poll);
        self.outbox.start_worker(&mut workers);
        self.account_requests.start_worker(&mut workers);
        self.housekeeping.start_worker(&mut workers);
        self.certificate_reminders.start_worker(&mut workers);
        workers
    }
}
