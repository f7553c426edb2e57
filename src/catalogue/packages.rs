//! `/admin/packages`: bundles of sessions or a term, for the activities they cover, at
//! a price. Only the definitions live here; the payments work sells them.

use askama::Template;
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use sqlx::PgConnection;
use tower_sessions::Session;

use super::{
    EDITORS,
    actions::{self, Refused},
    domain::{PACKAGE_KINDS, PackageForm, PackageKind},
    pages::{self, KindChoice},
    store::{self, PackageRow},
};
use crate::{
    AppState,
    auth::Admin,
    error::{AppError, AppResult},
    ids::PackageId,
    money::Money,
    sessions::store::{Choice, activity_choices},
    web::{
        FormErrors, PageContext, Path,
        flash::{self, FlashKind},
        fmt,
        form::{Form, render, render_with},
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

fn holds(kind: Option<PackageKind>) -> String {
    match kind {
        Some(PackageKind::Credits(1)) => "1 session".into(),
        Some(PackageKind::Credits(n)) => format!("{n} sessions"),
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
            holds: holds(PackageKind::from_stored(&row.kind, row.credits)),
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
    form: PackageForm,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let errors = match form.parse() {
        Ok(package) => {
            let mut tx = state.pool.begin().await?;
            let refused = match id {
                Some(id) => actions::update_package(&mut tx, admin.0.id.0, id, &package).await?.err(),
                None => actions::create_package(&mut tx, admin.0.id.0, &package)
                    .await?
                    .err()
                    .map(Refused::Invalid),
            };
            match refused {
                None => {
                    tx.commit().await?;
                    let done = if id.is_some() { "is saved." } else { "is in the catalogue." };
                    flash::push(&session, FlashKind::Success, format!("{} {done}", package.name)).await?;
                    return Ok(Redirect::to("/admin/packages").into_response());
                }
                Some(Refused::NotFound) => return Err(AppError::NotFound),
                Some(Refused::Invalid(errors)) => errors,
            }
        }
        Err(errors) => errors,
    };
    // The form comes back under the package's saved name (none: not found).
    let mut conn = state.pool.acquire().await?;
    let heading = match id {
        Some(id) => format!("Edit {}", store::package(&mut conn, id).await?.ok_or(AppError::NotFound)?.name),
        None => "Add a package".to_owned(),
    };
    let page = PackageFormPage::new(&mut conn, ctx, id, heading, form, errors).await?;
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

pub async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Form(form): Form<PackageForm>,
) -> AppResult<Response> {
    save(state, admin, ctx, session, None, form).await
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
    Form(form): Form<PackageForm>,
) -> AppResult<Response> {
    save(state, admin, ctx, session, Some(id), form).await
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
