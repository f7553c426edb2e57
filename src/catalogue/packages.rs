//! `/admin/packages`: bundles of sessions or a term, for the activities they cover, at
//! a price. Only the definitions live here; the payments work sells them.

use askama::Template;
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde_json::json;
use sqlx::PgConnection;
use tower_sessions::Session;

use super::{
    EDITORS,
    domain::{CREDITS_POSITIVE, PACKAGE_KINDS, PRICE_NOT_NEGATIVE, Package, PackageForm},
    pages::{self, KindChoice},
    store::{self, PackageRow},
};
use crate::{
    AppState, audit,
    auth::Admin,
    db::OnConstraint,
    error::{AppError, AppResult},
    ids::PackageId,
    money::Money,
    sessions::store::{Choice, activity_choices},
    web::{
        FormErrors, PageContext, Path,
        flash::{self, FlashKind},
        fmt,
        form::{Fields, render, render_with},
    },
};

pub struct PackageLine {
    pub row: PackageRow,
    pub price: String,
    pub holds: String,
}

#[derive(Template)]
#[template(path = "catalogue/packages.html")]
pub struct PackagesPage {
    pub ctx: PageContext,
    pub packages: Vec<PackageLine>,
}

fn holds(kind: &str, credits: Option<i32>) -> String {
    match (kind, credits) {
        ("credits", Some(1)) => "1 session".into(),
        ("credits", Some(n)) => format!("{n} sessions"),
        _ => "a term".into(),
    }
}

pub async fn index(State(state): State<AppState>, admin: Admin, ctx: PageContext) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let mut conn = state.pool.acquire().await?;
    let packages = store::packages(&mut conn)
        .await?
        .into_iter()
        .map(|row| PackageLine {
            price: fmt::pounds(i64::from(row.price_pence)),
            holds: holds(&row.kind, row.credits),
            row,
        })
        .collect();
    render(&PackagesPage { ctx, packages })
}

#[derive(Template)]
#[template(path = "catalogue/package_form.html")]
pub struct PackageFormPage {
    pub ctx: PageContext,
    pub package_id: Option<i64>,
    pub heading: String,
    pub form: PackageForm,
    pub kinds: Vec<KindChoice>,
    pub activities: Vec<Choice>,
    pub errors: FormErrors,
}

impl PackageFormPage {
    async fn new(
        conn: &mut PgConnection,
        ctx: PageContext,
        package_id: Option<i64>,
        heading: String,
        form: PackageForm,
        errors: FormErrors,
    ) -> AppResult<Self> {
        let kinds = PACKAGE_KINDS.iter().map(|&(value, label)| KindChoice { value, label }).collect();
        let activities = activity_choices(conn).await?;
        Ok(Self { ctx, package_id, heading, form, kinds, activities, errors })
    }

    pub fn action(&self) -> String {
        self.package_id
            .map_or_else(|| "/admin/packages/new".to_owned(), |id| format!("/admin/packages/{id}/edit"))
    }
}

/// The message by the field for a constraint the database refused.
fn package_constraint_error(constraint: &str) -> Option<(&'static str, &'static str)> {
    match constraint {
        "packages_name_key" => Some(("name", "A package already has this name.")),
        "packages_price_not_negative" => Some(("price", PRICE_NOT_NEGATIVE)),
        "packages_credits_positive" | "packages_credits_match_kind" => Some(("credits", CREDITS_POSITIVE)),
        "packages_valid_days_positive" => Some(("valid_days", "Enter at least 1 day.")),
        "package_activities_activity_id_fkey" => Some(("activities", "Choose the activities from the list.")),
        _ => None,
    }
}

fn package_json(p: &Package) -> serde_json::Value {
    json!({ "name": p.name, "description": p.description, "kind": p.kind.as_str(),
            "credits": p.kind.credits(), "price_pence": p.price.pence(), "valid_days": p.valid_days,
            "activities": p.activities })
}

fn package_row_json(p: &PackageRow) -> serde_json::Value {
    json!({ "name": p.name, "description": p.description, "kind": p.kind, "credits": p.credits,
            "price_pence": p.price_pence, "valid_days": p.valid_days, "activities": p.activity_ids,
            "is_active": p.is_active })
}

pub async fn new_form(State(state): State<AppState>, admin: Admin, ctx: PageContext) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let mut conn = state.pool.acquire().await?;
    let form = PackageForm { kind: "credits".into(), valid_days: "365".into(), ..Default::default() };
    let heading = "Add a package".to_owned();
    render(&PackageFormPage::new(&mut conn, ctx, None, heading, form, FormErrors::default()).await?)
}

/// Saves a new package (`id` None) or changes one; a refused form comes back with a 422.
async fn save(
    state: AppState,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    id: Option<i64>,
    fields: Fields,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let form = PackageForm::from_fields(&fields);
    let mut tx = state.pool.begin().await?;
    let before = match id {
        Some(id) => Some(store::package(&mut tx, id).await?.ok_or(AppError::NotFound)?),
        None => None,
    };
    let heading = before.as_ref().map_or_else(|| "Add a package".to_owned(), |b| format!("Edit {}", b.name));
    let parsed = form.parse();
    let saved = match &parsed {
        Ok(package) => Some(
            match id {
                Some(id) => store::update_package(&mut tx, id, package).await.map(|()| id),
                None => store::insert_package(&mut tx, package).await,
            }
            .on_constraint(package_constraint_error)?,
        ),
        Err(_) => None,
    };
    let (package, package_id) = match (parsed, saved) {
        (Ok(package), Some(Ok(package_id))) => (package, package_id),
        (Err(errors), _) => {
            drop(tx);
            let mut conn = state.pool.acquire().await?;
            let page = PackageFormPage::new(&mut conn, ctx, id, heading, form, errors).await?;
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        (Ok(_), Some(Err((field, message)))) => {
            drop(tx);
            let errors = pages::field_error(field, message);
            let mut conn = state.pool.acquire().await?;
            let page = PackageFormPage::new(&mut conn, ctx, id, heading, form, errors).await?;
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        (Ok(_), None) => return Err(AppError::NotFound),
    };
    let action = if before.is_some() { "package.updated" } else { "package.created" };
    audit::record(&mut tx)
        .by(admin.0.id)
        .action(action)
        .entity("package", package_id)
        .before(before.as_ref().map(package_row_json))
        .after(package_json(&package))
        .await?;
    tx.commit().await?;
    let message = if before.is_some() {
        format!("{} is saved.", package.name)
    } else {
        format!("{} is in the catalogue.", package.name)
    };
    flash::push(&session, FlashKind::Success, message).await?;
    Ok(Redirect::to("/admin/packages").into_response())
}

pub async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    fields: Fields,
) -> AppResult<Response> {
    save(state, admin, ctx, session, None, fields).await
}

pub async fn edit_form(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    Path(PackageId(id)): Path<PackageId>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let mut conn = state.pool.acquire().await?;
    let row = store::package(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let form = PackageForm {
        name: row.name.clone(),
        description: row.description.clone(),
        kind: row.kind.clone(),
        credits: row.credits.map(|c| c.to_string()).unwrap_or_default(),
        price: Money::from_pence(row.price_pence).to_input(),
        valid_days: row.valid_days.to_string(),
        activities: row.activity_ids.clone(),
    };
    let heading = format!("Edit {}", row.name);
    render(&PackageFormPage::new(&mut conn, ctx, Some(id), heading, form, FormErrors::default()).await?)
}

pub async fn update(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(PackageId(id)): Path<PackageId>,
    fields: Fields,
) -> AppResult<Response> {
    save(state, admin, ctx, session, Some(id), fields).await
}

pub async fn deactivate(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(PackageId(id)): Path<PackageId>,
) -> AppResult<Response> {
    pages::set_active(state, admin, session, id, &pages::PACKAGE, false).await
}

pub async fn reactivate(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(PackageId(id)): Path<PackageId>,
) -> AppResult<Response> {
    pages::set_active(state, admin, session, id, &pages::PACKAGE, true).await
}
