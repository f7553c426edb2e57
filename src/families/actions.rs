//! What a family, or the office for one, does to an account: one use case per action,
//! each in the caller's transaction with its audit row and email. The pages parse,
//! call, commit and render.

use serde_json::json;
use sqlx::PgConnection;

use super::{
    domain::{ParentDetails, Profile},
    store::{self, EMAIL_TAKEN_CONSTRAINT},
};
use crate::{
    audit,
    auth::links::{self, LinkPurpose, LinkToken},
    children,
    db::OnConstraint,
    error::{AppError, AppResult},
    notifications::{
        Email, LINK_WITHHELD, Outbox, SignInLink,
        account_requests::{AccountRequest, AccountRequests},
    },
};

/// Why an account could not be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Another account already uses the address.
    EmailTaken,
}

/// Records a sign-up (its password already hashed) and queues the job that writes its
/// email, so the page answers alike whether or not the address has an account.
pub async fn request_signup(
    conn: &mut PgConnection,
    requests: &AccountRequests,
    parent: &ParentDetails,
    password_hash: &str,
) -> anyhow::Result<()> {
    let signup_id = store::insert_signup_request(conn, parent, password_hash).await?;
    requests.queue(conn, &AccountRequest::Signup { signup_id }).await
}

/// Opens the account a sign-up link was sent for. `None` when the link is spent,
/// expired or unknown, or someone confirmed another sign-up for the address first.
pub async fn confirm_signup(conn: &mut PgConnection, token: &LinkToken) -> AppResult<Option<i64>> {
    let Some(signup) = links::find_signup(conn, token, true).await? else { return Ok(None) };
    let parent =
        store::NewParent { email: &signup.email, name: &signup.name, phone: signup.phone.as_deref() };
    let inserted = store::insert_confirmed_parent(conn, &parent, &signup.password_hash)
        .await
        .on_constraint(|name| (name == EMAIL_TAKEN_CONSTRAINT).then_some(Refused::EmailTaken))?;
    let Ok(user_id) = inserted else { return Ok(None) };
    links::confirm_signup(conn, &signup).await?;
    children::store::accept_terms(conn, user_id).await?;
    let after = json!({ "email": signup.email, "name": signup.name });
    audit::record(conn).by(user_id).action("user.signed_up").entity("user", user_id).after(after).await?;
    Ok(Some(user_id))
}

/// Saves the parent's own name and phone.
pub async fn update_profile(conn: &mut PgConnection, parent_id: i64, profile: &Profile) -> AppResult<()> {
    let before = store::profile(conn, parent_id).await?.ok_or(AppError::NotFound)?;
    store::update_profile(conn, parent_id, profile).await?;
    audit::record(conn)
        .by(parent_id)
        .action("user.profile_updated")
        .entity("user", parent_id)
        .before(json!({ "name": before.name, "phone": before.phone }))
        .after(json!({ "name": profile.name.as_str(), "phone": profile.phone.as_str() }))
        .await?;
    Ok(())
}

/// Where the office's new family chooses a password, and who may sign in.
pub struct Welcome<'a> {
    pub outbox: &'a Outbox,
    pub base_url: &'a str,
}

/// The office opens an account for a family, with a password nobody knows (`hash`),
/// and emails them a link to choose their own: no account without its email, nor the
/// reverse.
pub async fn open_family(
    conn: &mut PgConnection,
    welcome: Welcome<'_>,
    actor_id: i64,
    parent: &ParentDetails,
    password_hash: &str,
) -> AppResult<Result<i64, Refused>> {
    let inserted = store::insert_parent(conn, parent, password_hash)
        .await
        .on_constraint(|name| (name == EMAIL_TAKEN_CONSTRAINT).then_some(Refused::EmailTaken))?;
    let user_id = match inserted {
        Ok(id) => id,
        Err(refused) => return Ok(Err(refused)),
    };
    let email = Email {
        to: parent.email.as_str().to_owned(),
        subject: "Your Portico account is ready".into(),
        body: format!(
            "Hello {name},\n\nWe have opened a Portico account for you, so you can add your \
             children, book their sessions and see what is coming up.\n\n\
             Choose your password within {days} days with this link:\n\n{LINK_WITHHELD}\n\n\
             The link works once. Afterwards, sign in at {base}/login with this email address.\n",
            name = parent.name.as_str(),
            days = links::WELCOME_LINK_DAYS,
            base = welcome.base_url,
        ),
    };
    let link = SignInLink {
        purpose: LinkPurpose::Welcome,
        subject_id: user_id,
        base_url: welcome.base_url.to_owned(),
    };
    welcome.outbox.queue_with_link(conn, &email, &link).await?;
    let after = json!({ "email": parent.email.as_str(), "name": parent.name.as_str(), "role": "parent" });
    audit::record(conn).by(actor_id).action("family.created").entity("user", user_id).after(after).await?;
    Ok(Ok(user_id))
}
