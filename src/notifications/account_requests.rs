//! Requests about an account that must answer alike whether or not the account exists:
//! a password reset and a sign-up. The page only records the request and queues it;
//! this job looks the address up and writes the right email, so neither the page nor
//! its timing tells anyone who has an account.

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use underway::{Job, To, job::Context, task};

use super::{Email, LINK_WITHHELD, Outbox, SignInLink};
use crate::auth::links::LinkPurpose;

const QUEUE: &str = "account-requests";

#[derive(Serialize, Deserialize)]
pub enum AccountRequest {
    /// Someone asked for a password link for this (normalised) address.
    PasswordReset { email: String },
    /// A row of `signup_requests` waits for its email.
    Signup { signup_id: i64 },
}

#[derive(Clone)]
struct Senders {
    outbox: Outbox,
    base_url: String,
}

#[derive(Clone)]
pub struct AccountRequests {
    job: Job<AccountRequest, Senders>,
}

impl AccountRequests {
    pub async fn new(pool: PgPool, outbox: Outbox, base_url: String) -> anyhow::Result<Self> {
        let job = Job::builder()
            .state(Senders { outbox, base_url })
            .step(|cx, request: AccountRequest| async move { handle(cx, request).await })
            .name(QUEUE)
            .pool(pool)
            .build()
            .await
            .context("Failed to set up the account request queue")?;
        Ok(Self { job })
    }

    /// Queues the request in the caller's transaction.
    pub async fn queue(&self, conn: &mut PgConnection, request: &AccountRequest) -> anyhow::Result<()> {
        self.job.enqueue_using(&mut *conn, request).await.context("Failed to queue an account request")?;
        Ok(())
    }

    /// Starts a worker; several may run, in one process or many.
    pub fn start_worker(&self, workers: &mut crate::workers::Workers) {
        workers.start(&self.job);
    }
}

async fn handle(cx: Context<Senders>, request: AccountRequest) -> task::Result<To<()>> {
    let Context { state, mut tx, .. } = cx;
    let email = match request {
        AccountRequest::PasswordReset { email } => {
            password_reset_email(&mut tx, &state.base_url, &email).await?
        }
        AccountRequest::Signup { signup_id } => signup_email(&mut tx, &state.base_url, signup_id).await?,
    };
    if let Some((email, link)) = email {
        let queued = match &link {
            Some(link) => state.outbox.queue_with_link(&mut tx, &email, link).await,
            None => state.outbox.queue(&mut tx, &email).await,
        };
        queued.map_err(|err| task::Error::Retryable(format!("{err:#}")))?;
    }
    tx.commit().await?;
    To::done()
}

type Outgoing = Option<(Email, Option<SignInLink>)>;

/// A reset link for an active account; nothing for an address nobody uses.
async fn password_reset_email(
    conn: &mut PgConnection,
    base_url: &str,
    address: &str,
) -> sqlx::Result<Outgoing> {
    let user = sqlx::query!("select id, name from users where email = $1 and is_active", address)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(user.map(|user| {
        let (user_id, name) = (user.id, user.name);
        let email = Email {
            to: address.to_owned(),
            subject: "Reset your Portico password".into(),
            body: format!(
                "Hello {name},\n\nSomeone (we hope you) asked to reset your Portico password. \
                 Open this link within an hour to choose a new one:\n\n{LINK_WITHHELD}\n\n\
                 The link works once. If you did not ask, ignore this email; your password \
                 has not changed.\n"
            ),
        };
        let link = SignInLink {
            purpose: LinkPurpose::PasswordReset,
            subject_id: user_id,
            base_url: base_url.into(),
        };
        (email, Some(link))
    }))
}

/// A link to confirm the sign-up; or, when the address already has an account, a
/// note saying so (the account and its password stay as they are).
async fn signup_email(conn: &mut PgConnection, base_url: &str, signup_id: i64) -> sqlx::Result<Outgoing> {
    let request = sqlx::query!(
        "select email, name from signup_requests where id = $1 and confirmed_at is null",
        signup_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(request) = request else { return Ok(None) };
    let (address, name) = (request.email, request.name);
    let taken =
        sqlx::query_scalar!(r#"select exists (select 1 from users where email = $1) as "taken!""#, address)
            .fetch_one(&mut *conn)
            .await?;
    if taken {
        sqlx::query!("delete from signup_requests where id = $1", signup_id).execute(&mut *conn).await?;
        let email = Email {
            to: address,
            subject: "You already have a Portico account".into(),
            body: format!(
                "Hello {name},\n\nSomeone (we hope you) tried to create a Portico account with this \
                 email address, but you already have one, so nothing has changed.\n\n\
                 Sign in at {base_url}/login. If you have forgotten your password, choose a new \
                 one at {base_url}/password/forgot.\n"
            ),
        };
        return Ok(Some((email, None)));
    }
    let email = Email {
        to: address,
        subject: "Confirm your email to finish signing up".into(),
        body: format!(
            "Hello {name},\n\nThank you for signing up to Portico. Open this link within a day to \
             confirm this is your email address and open your account:\n\n{LINK_WITHHELD}\n\n\
             If you did not sign up, ignore this email and no account will be opened.\n"
        ),
    };
    let link = SignInLink { purpose: LinkPurpose::Signup, subject_id: signup_id, base_url: base_url.into() };
    Ok(Some((email, Some(link))))
}
