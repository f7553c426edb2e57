//! The SQL for parents' accounts and profiles.

use sqlx::PgConnection;

use super::domain::{ParentDetails, Profile};

/// The unique constraint on users' emails: the one way to learn an email is taken
/// that two sign-ups at once cannot both pass.
pub const EMAIL_TAKEN_CONSTRAINT: &str = "users_email_key";

/// Whether `err` is the email-already-used violation (for the trainers' invitations,
/// which insert users themselves).
pub fn is_email_taken(err: &sqlx::Error) -> bool {
    crate::db::violated_constraint(err) == Some(EMAIL_TAKEN_CONSTRAINT)
}

/// Inserts an active parent; fails with `users_email_key` when the email is taken.
pub async fn insert_parent(
    conn: &mut PgConnection,
    parent: &ParentDetails,
    password_hash: &str,
) -> sqlx::Result<i64> {
    let parent = NewParent {
        email: parent.email.as_str(),
        name: parent.name.as_str(),
        phone: Some(parent.phone.as_str()),
    };
    insert_confirmed_parent(conn, &parent, password_hash).await
}

/// A sign-up waiting for its emailed link; the password is already hashed.
pub async fn insert_signup_request(
    conn: &mut PgConnection,
    parent: &ParentDetails,
    password_hash: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "insert into signup_requests (email, name, phone, password_hash) values ($1, $2, $3, $4) returning id",
        parent.email.as_str(),
        parent.name.as_str(),
        parent.phone.as_str(),
        password_hash,
    )
    .fetch_one(conn)
    .await
}

/// A parent's details as a confirmed sign-up request holds them.
pub struct NewParent<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub phone: Option<&'a str>,
}

/// Inserts an active parent from a confirmed sign-up; fails with `users_email_key` when
/// the email is taken.
pub async fn insert_confirmed_parent(
    conn: &mut PgConnection,
    parent: &NewParent<'_>,
    password_hash: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "insert into users (email, name, phone, role, password_hash)
         values ($1, $2, $3, 'parent', $4) returning id",
        parent.email,
        parent.name,
        parent.phone,
        password_hash,
    )
    .fetch_one(conn)
    .await
}

#[derive(Clone, Debug)]
pub struct ProfileRow {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
}

/// The parent's profile; `None` for a user who is not a parent.
pub async fn profile(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Option<ProfileRow>> {
    sqlx::query_as!(
        ProfileRow,
        "select name, email, phone from users where id = $1 and role = 'parent'",
        user_id
    )
    .fetch_optional(conn)
    .await
}

pub async fn update_profile(conn: &mut PgConnection, user_id: i64, profile: &Profile) -> sqlx::Result<()> {
    sqlx::query!(
        "update users set name = $2, phone = $3 where id = $1 and role = 'parent'",
        user_id,
        profile.name.as_str(),
        profile.phone.as_str(),
    )
    .execute(conn)
    .await?;
    Ok(())
}
