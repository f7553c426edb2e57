//! Adding and changing an adult participant, each with its audit row. The audit keeps
//! who they are, never their requirements.

use serde_json::json;
use sqlx::PgConnection;

use super::{domain::Adult, store};
use crate::{
    audit,
    db::OnConstraint,
    error::{AppError, AppResult},
    ids::ChildId,
    web::FormErrors,
};

fn constraint_error(constraint: &str) -> Option<FormErrors> {
    let (field, message) = match constraint {
        "children_one_self_per_account" => ("kind", "You are already on your list; add a delegate instead."),
        "children_delegate_has_email" => ("email", "Enter the delegate's email address."),
        _ => return None,
    };
    let mut errors = FormErrors::default();
    errors.add(field, message);
    Some(errors)
}

fn summary(a: &Adult) -> serde_json::Value {
    json!({
        "kind": a.kind,
        "first_name": a.first_name.as_str(),
        "last_name": a.last_name.as_str(),
        "email": a.email.as_ref().map(|e| e.as_str()),
    })
}

/// Adds the account holder or a delegate; a second `self` is refused by the field.
pub async fn add(
    conn: &mut PgConnection,
    account_id: i64,
    adult: &Adult,
) -> AppResult<Result<ChildId, FormErrors>> {
    let id = match store::insert(conn, account_id, adult).await.on_constraint(constraint_error)? {
        Ok(id) => id,
        Err(errors) => return Ok(Err(errors)),
    };
    audit::record(conn)
        .by(account_id)
        .action("participant.created")
        .entity("child", id)
        .after(summary(adult))
        .await?;
    Ok(Ok(id))
}

pub async fn change(
    conn: &mut PgConnection,
    account_id: i64,
    id: ChildId,
    adult: &Adult,
) -> AppResult<Result<(), FormErrors>> {
    let before = store::find(conn, account_id, id).await?.ok_or(AppError::NotFound)?;
    match store::update(conn, account_id, id, adult).await.on_constraint(constraint_error)? {
        Ok(0) => return Err(AppError::NotFound),
        Ok(_) => {}
        Err(errors) => return Ok(Err(errors)),
    }
    let was = json!({ "kind": before.kind, "first_name": before.first_name, "last_name": before.last_name,
                      "email": before.email });
    audit::record(conn)
        .by(account_id)
        .action("participant.updated")
        .entity("child", id)
        .before(was)
        .after(summary(adult))
        .await?;
    Ok(Ok(()))
}
