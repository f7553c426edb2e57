//! The SQL for adult participants. Every query names the account too, so another
//! account's delegate is never found.

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use super::domain::Adult;
use crate::{children::domain::ParticipantKind, ids::ChildId, web::page::PageRequest};

#[derive(Clone, Debug)]
pub struct AdultRow {
    pub id: ChildId,
    pub kind: ParticipantKind,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub date_of_birth: Option<Date>,
    pub access_needs: String,
    pub dietary_needs: String,
    pub language_needs: String,
    pub other_needs: String,
    pub created_at: OffsetDateTime,
}

/// One page of the account's adults (itself and its delegates), oldest first.
pub async fn page(
    conn: &mut PgConnection,
    account_id: i64,
    page: &PageRequest<OffsetDateTime>,
) -> sqlx::Result<Vec<AdultRow>> {
    crate::web::page::paged!(
        conn,
        page,
        AdultRow,
        r#"select id as "id: ChildId", kind as "kind: ParticipantKind", first_name, last_name, email,
                date_of_birth, access_needs, dietary_needs, language_needs, other_needs, created_at
           from children
           where parent_id = $3 and kind <> 'child' and archived_at is null"#,
        "created_at",
        "id",
        account_id,
    )
}

pub async fn find(conn: &mut PgConnection, account_id: i64, id: ChildId) -> sqlx::Result<Option<AdultRow>> {
    sqlx::query_as!(
        AdultRow,
        r#"select id as "id: ChildId", kind as "kind: ParticipantKind", first_name, last_name, email,
                date_of_birth, access_needs, dietary_needs, language_needs, other_needs, created_at
           from children
           where id = $1 and parent_id = $2 and kind <> 'child' and archived_at is null"#,
        id.0,
        account_id,
    )
    .fetch_optional(conn)
    .await
}

pub async fn insert(conn: &mut PgConnection, account_id: i64, a: &Adult) -> sqlx::Result<ChildId> {
    sqlx::query_scalar!(
        r#"insert into children (parent_id, kind, first_name, last_name, email, date_of_birth,
                                 access_needs, dietary_needs, language_needs, other_needs)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning id as "id: ChildId""#,
        account_id,
        a.kind as _,
        a.first_name.as_str(),
        a.last_name.as_str(),
        a.email.as_ref().map(|e| e.as_str()),
        a.date_of_birth,
        a.needs.access,
        a.needs.dietary,
        a.needs.language,
        a.needs.other,
    )
    .fetch_one(conn)
    .await
}

pub async fn update(conn: &mut PgConnection, account_id: i64, id: ChildId, a: &Adult) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "update children set kind = $3, first_name = $4, last_name = $5, email = $6, date_of_birth = $7,
                access_needs = $8, dietary_needs = $9, language_needs = $10, other_needs = $11
         where id = $1 and parent_id = $2 and kind <> 'child' and archived_at is null",
        id.0,
        account_id,
        a.kind as _,
        a.first_name.as_str(),
        a.last_name.as_str(),
        a.email.as_ref().map(|e| e.as_str()),
        a.date_of_birth,
        a.needs.access,
        a.needs.dietary,
        a.needs.language,
        a.needs.other,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
