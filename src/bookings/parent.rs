//! The parent's side: find a session or a series, review the booking with its total,
//! book, and follow or cancel it.

use std::collections::BTreeMap;

use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use time::{Date, Duration, OffsetDateTime};
use time_tz::OffsetDateTimeExt;
use tower_sessions::Session;

use super::{
    Transition,
    domain::{self, BookingStatus},
    parse_id, rules,
    store::{self, BookingError, NewItem, SessionFilter, SessionInfo},
};
use crate::{
    AppState,
    auth::Parent,
    error::{AppError, AppResult},
    payments::{PaymentLine, holds},
    web::{
        PageContext,
        flash::{self, FlashKind},
        fmt,
        form::{Fields, QueryFields, render, render_with},
        page::{Cursor, PageRequest, Pager},
    },
};

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct SessionLine {
    pub id: i64,
    pub activity: String,
    pub venue: String,
    pub when: String,
    pub until: String,
    pub price: String,
    pub bookable: bool,
    pub note: String,
}

pub struct SeriesCard {
    pub id: i64,
    pub name: String,
    pub activity: String,
    pub venue: String,
    pub next: String,
    pub dates: usize,
    pub price: String,
    pub full_dates: usize,
}

#[derive(Template)]
#[template(path = "bookings/browse.html")]
pub struct BrowsePage {
    pub ctx: PageContext,
    pub activities: Vec<Choice>,
    pub venues: Vec<Choice>,
    pub children: Vec<Choice>,
    pub from: String,
    pub to: String,
    pub series: Vec<SeriesCard>,
    pub sessions: Vec<SessionLine>,
}

fn line(s: &SessionInfo, tz: &time_tz::Tz, now: OffsetDateTime) -> SessionLine {
    let open = domain::booking_open(s.starts_at, s.booking_cutoff_hours, now);
    let note = if !open {
        "Booking closed".to_owned()
    } else if s.places_left() == 0 {
        "Full".to_owned()
    } else if s.places_left() <= 3 {
        format!("{} place{} left", s.places_left(), if s.places_left() == 1 { "" } else { "s" })
    } else {
        format!("{} places left", s.places_left())
    };
    SessionLine {
        id: s.id,
        activity: s.activity.clone(),
        venue: s.venue.clone(),
        when: fmt::day_time(s.starts_at, tz),
        until: fmt::time_of_day(s.ends_at, tz),
        price: fmt::pounds(i64::from(s.price_pence)),
        bookable: open && s.places_left() > 0,
        note,
    }
}

fn parse_date(raw: Option<&str>) -> Option<Date> {
    raw.and_then(crate::web::date::parse)
}

pub async fn browse(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let from = parse_date(query.get("from"));
    let to = parse_date(query.get("to"));
    let filter = SessionFilter {
        activity_id: query.id("activity"),
        venue_id: query.id("venue"),
        from: from.map(|d| crate::clock::start_of_day(d, tz)),
        until: to.map(|d| crate::clock::start_of_day(d + Duration::days(1), tz)),
    };
    let mut sessions = store::upcoming_sessions(&mut conn, &filter).await?;
    let children = store::children_of(&mut conn, parent.id).await?;
    let chosen_child = query.id("child").and_then(|id| children.iter().find(|c| c.id == id));
    if let Some(child) = chosen_child {
        sessions.retain(|s| {
            let age = domain::age_on(child.date_of_birth, s.starts_at.to_timezone(tz).date());
            domain::age_problem(age, s.min_age_years, s.max_age_years).is_none()
        });
    }
    let activities: Vec<(i64, String)> =
        sqlx::query_as("select id, name from activities where is_active order by name")
            .fetch_all(&mut *conn)
            .await?;
    let venues: Vec<(i64, String)> =
        sqlx::query_as("select id, name from venues order by name").fetch_all(&mut *conn).await?;

    let now = OffsetDateTime::now_utc();
    let mut by_series: BTreeMap<i64, Vec<&SessionInfo>> = BTreeMap::new();
    let mut one_offs = Vec::new();
    for s in &sessions {
        match s.series_id {
            Some(id) => by_series.entry(id).or_default().push(s),
            None => one_offs.push(line(s, tz, now)),
        }
    }
    let mut series: Vec<SeriesCard> = by_series
        .into_iter()
        .filter_map(|(id, dates)| {
            let first = dates.first()?;
            Some(SeriesCard {
                id,
                name: first.series_name.clone().unwrap_or_else(|| first.activity.clone()),
                activity: first.activity.clone(),
                venue: first.venue.clone(),
                next: fmt::day_time(first.starts_at, tz),
                dates: dates.len(),
                price: fmt::pounds(i64::from(first.price_pence)),
                full_dates: dates.iter().filter(|s| s.places_left() == 0).count(),
            })
        })
        .collect();
    series.sort_by(|a, b| a.name.cmp(&b.name));

    let choices = |items: Vec<(i64, String)>, selected: Option<i64>| {
        items
            .into_iter()
            .map(|(id, label)| Choice { value: id.to_string(), label, selected: Some(id) == selected })
            .collect()
    };
    let page = BrowsePage {
        ctx,
        activities: choices(activities, filter.activity_id),
        venues: choices(venues, filter.venue_id),
        children: choices(
            children.iter().map(|c| (c.id, c.first_name.clone())).collect(),
            chosen_child.map(|c| c.id),
        ),
        from: from.map(|d| d.to_string()).unwrap_or_default(),
        to: to.map(|d| d.to_string()).unwrap_or_default(),
        series,
        sessions: one_offs,
    };
    render(&page)
}

pub struct ChildOption {
    pub id: i64,
    pub name: String,
    pub problem: Option<String>,
}

#[derive(Template)]
#[template(path = "bookings/session.html")]
pub struct SessionPage {
    pub ctx: PageContext,
    pub title: String,
    pub description: String,
    pub venue: String,
    pub address: String,
    pub source: &'static str,
    pub source_id: i64,
    pub dates: Vec<SessionLine>,
    pub children: Vec<ChildOption>,
    pub closed: Option<&'static str>,
    /// The session is full but still ahead: offer "Join waitlist".
    pub waitlist: bool,
    pub requires_approval: bool,
}

/// Why each child could not join all of `sessions`, judged on the first one.
async fn child_options(
    conn: &mut sqlx::PgConnection,
    parent_id: i64,
    sessions: &[SessionInfo],
    tz: &time_tz::Tz,
) -> AppResult<Vec<ChildOption>> {
    let children = store::children_of(conn, parent_id).await?;
    let Some(first) = sessions.first() else { return Ok(Vec::new()) };
    let ids: Vec<i64> = sessions.iter().map(|s| s.id).collect();
    let child_ids: Vec<i64> = children.iter().map(|c| c.id).collect();
    let held = store::places_held(conn, &ids, &child_ids).await?;
    Ok(children
        .into_iter()
        .map(|c| {
            let age = domain::age_on(c.date_of_birth, first.starts_at.to_timezone(tz).date());
            let problem = domain::age_problem(age, first.min_age_years, first.max_age_years)
                .map(|p| format!("{} {p}", c.first_name))
                .or_else(|| {
                    let booked = held.iter().filter(|(_, child)| *child == c.id).count();
                    (booked == ids.len()).then(|| format!("{} is already booked", c.first_name))
                });
            ChildOption { id: c.id, name: format!("{} {}", c.first_name, c.last_name), problem }
        })
        .collect())
}

pub async fn session(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let s = store::session(&mut conn, parse_id(&id)?).await?.ok_or(AppError::NotFound)?;
    if s.status == "cancelled" {
        return Err(AppError::NotFound);
    }
    let now = OffsetDateTime::now_utc();
    let closed = if !domain::booking_open(s.starts_at, s.booking_cutoff_hours, now) {
        Some("Booking has closed for this session.")
    } else if s.places_left() == 0 {
        Some("This session is full.")
    } else {
        None
    };
    let children = child_options(&mut conn, parent.id, std::slice::from_ref(&s), tz).await?;
    let waitlist = s.places_left() == 0 && domain::booking_open(s.starts_at, s.booking_cutoff_hours, now);
    render(&SessionPage {
        ctx,
        title: s.activity.clone(),
        description: s.description.clone(),
        venue: s.venue.clone(),
        address: s.venue_address.clone(),
        source: "session",
        source_id: s.id,
        dates: vec![line(&s, tz, now)],
        children,
        closed,
        waitlist,
        requires_approval: s.requires_approval,
    })
}

pub async fn series(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let id = parse_id(&id)?;
    let mut conn = state.pool.acquire().await?;
    let sessions = store::remaining_in_series(&mut conn, id).await?;
    let first = sessions.first().ok_or(AppError::NotFound)?.clone();
    let now = OffsetDateTime::now_utc();
    let bookable = sessions.iter().filter(|s| line(s, tz, now).bookable).count();
    let closed = (bookable == 0).then_some("Every remaining date is full or closed for booking.");
    let children = child_options(&mut conn, parent.id, &sessions, tz).await?;
    render(&SessionPage {
        ctx,
        title: first.series_name.clone().unwrap_or_else(|| first.activity.clone()),
        description: first.description.clone(),
        venue: first.venue.clone(),
        address: first.venue_address.clone(),
        source: "series",
        source_id: id,
        dates: sessions.iter().map(|s| line(s, tz, now)).collect(),
        children,
        closed,
        waitlist: false,
        requires_approval: first.requires_approval,
    })
}

pub struct ReviewLine {
    pub item: String,
    pub when: String,
    pub child: String,
    pub activity: String,
    pub price: String,
    pub problem: Option<String>,
}

#[derive(Template)]
#[template(path = "bookings/review.html")]
pub struct ReviewPage {
    pub ctx: PageContext,
    pub back: String,
    /// `session` or `series`, and its id: what the booking form posts back.
    pub source: &'static str,
    pub source_id: i64,
    pub lines: Vec<ReviewLine>,
    pub total: String,
    pub bookable: usize,
    pub problems: usize,
    pub message: Option<String>,
    pub requires_approval: bool,
    /// The parent pays by card straight after `Book`.
    pub pay_first: bool,
    pub note: String,
    /// Package credits the parent could use on these places; the choice to use them.
    pub credits_usable: i64,
    pub use_credits: bool,
    /// A discount code to apply to the booking, and what is wrong with it.
    pub discount_code: String,
    pub errors: crate::web::FormErrors,
}

/// The package credits the parent could use on the bookable places.
async fn usable_credits(
    conn: &mut sqlx::PgConnection,
    parent_id: i64,
    sessions: &[SessionInfo],
    items: &[NewItem],
) -> AppResult<i64> {
    let activities: Vec<i64> = sessions
        .iter()
        .filter(|s| items.iter().any(|i| i.session_id == s.id))
        .map(|s| s.activity_id)
        .collect();
    if activities.is_empty() {
        return Ok(0);
    }
    Ok(crate::payments::packages::usable_for(conn, parent_id, &activities).await?)
}

/// Works out each (session, child) pair: bookable, or why not.
async fn plan(
    state: &AppState,
    conn: &mut sqlx::PgConnection,
    parent_id: i64,
    sessions: &[SessionInfo],
    child_ids: &[i64],
) -> AppResult<(Vec<ReviewLine>, Vec<NewItem>)> {
    let tz = state.config.timezone;
    let now = OffsetDateTime::now_utc();
    let children: Vec<store::Child> = store::children_of(conn, parent_id)
        .await?
        .into_iter()
        .filter(|c| child_ids.contains(&c.id))
        .collect();
    let ids: Vec<i64> = sessions.iter().map(|s| s.id).collect();
    let held = store::places_held(conn, &ids, child_ids).await?;
    let mut lines = Vec::new();
    let mut items = Vec::new();
    for s in sessions {
        let mut wanted = 0;
        for c in &children {
            let problem = rules::place_problem(s, c, held.contains(&(s.id, c.id)), wanted, now, tz);
            if problem.is_none() {
                wanted += 1;
                items.push(NewItem { session_id: s.id, child_id: c.id, price_pence: s.price_pence });
            }
            lines.push(ReviewLine {
                item: format!("{}:{}", s.id, c.id),
                when: fmt::day_time(s.starts_at, tz),
                child: c.first_name.clone(),
                activity: s.activity.clone(),
                price: fmt::pounds(i64::from(s.price_pence)),
                problem,
            });
        }
    }
    Ok((lines, items))
}

/// What the parent must know before booking these sessions.
#[derive(Clone, Copy)]
struct Rules {
    /// The office confirms the booking.
    requires_approval: bool,
    /// Paid by card now; places held meanwhile.
    pay_first: bool,
}

impl Rules {
    fn of(state: &AppState, sessions: &[SessionInfo]) -> Self {
        Self {
            requires_approval: sessions.iter().any(|s| s.requires_approval),
            pay_first: holds::pay_first(state, sessions),
        }
    }
}

fn review_page(
    ctx: PageContext,
    source: Source,
    lines: Vec<ReviewLine>,
    items: &[NewItem],
    rules: Rules,
) -> ReviewPage {
    let total: i64 = items.iter().map(|i| i64::from(i.price_pence)).sum();
    let problems = lines.iter().filter(|l| l.problem.is_some()).count();
    ReviewPage {
        ctx,
        back: format!(
            "/parent/{}/{}",
            if source.kind == "series" { "series" } else { "sessions" },
            source.id
        ),
        source: source.kind,
        source_id: source.id,
        total: fmt::pounds(total),
        bookable: items.len(),
        problems,
        lines,
        message: None,
        requires_approval: rules.requires_approval,
        pay_first: rules.pay_first,
        note: String::new(),
        credits_usable: 0,
        use_credits: false,
        discount_code: String::new(),
        errors: crate::web::FormErrors::default(),
    }
}

/// What a booking is for: one session, or a series' remaining dates.
#[derive(Clone, Copy)]
struct Source {
    kind: &'static str,
    id: i64,
}

async fn chosen_sessions(
    conn: &mut sqlx::PgConnection,
    fields: &Fields,
) -> AppResult<(Vec<SessionInfo>, Source)> {
    if let Some(id) = fields.id("series") {
        let sessions = store::remaining_in_series(conn, id).await?;
        return Ok((sessions, Source { kind: "series", id }));
    }
    let id = fields.id("session").ok_or(AppError::NotFound)?;
    let session = store::session(conn, id).await?.ok_or(AppError::NotFound)?;
    Ok((vec![session], Source { kind: "session", id }))
}

pub async fn review(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    let mut conn = state.pool.acquire().await?;
    let (sessions, back) = chosen_sessions(&mut conn, &query).await?;
    let child_ids = query.ids("child");
    let (lines, items) = plan(&state, &mut conn, parent.id, &sessions, &child_ids).await?;
    let rules = Rules::of(&state, &sessions);
    let mut page = review_page(ctx, back, lines, &items, rules);
    page.credits_usable = usable_credits(&mut conn, parent.id, &sessions, &items).await?;
    page.use_credits = page.credits_usable > 0;
    if page.lines.is_empty() {
        page.message = Some("Choose at least one child to book.".into());
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    render(&page)
}

/// What the parent asked to book, kept so a refused booking comes back as they left it.
struct Asked<'a> {
    sessions: Vec<SessionInfo>,
    source: Source,
    child_ids: Vec<i64>,
    rules: Rules,
    note: String,
    form: &'a Fields,
}

impl Asked<'_> {
    fn discount_code(&self) -> String {
        self.form.get("discount_code").unwrap_or_default().trim().chars().take(64).collect()
    }

    fn use_credits(&self) -> bool {
        self.form.get("use_credits").is_some()
    }
}

/// The review page planned afresh (the places may have changed), with the parent's
/// note, code and credit choice kept.
async fn review_again(
    state: &AppState,
    parent_id: i64,
    ctx: PageContext,
    asked: &Asked<'_>,
    message: Option<String>,
) -> AppResult<ReviewPage> {
    let mut conn = state.pool.acquire().await?;
    let (lines, items) = plan(state, &mut conn, parent_id, &asked.sessions, &asked.child_ids).await?;
    let mut page = review_page(ctx, asked.source, lines, &items, asked.rules);
    page.note = asked.note.clone();
    page.credits_usable = usable_credits(&mut conn, parent_id, &asked.sessions, &items).await?;
    page.use_credits = asked.use_credits();
    page.discount_code = asked.discount_code();
    page.message = message;
    Ok(page)
}

/// Package credits for the places, one a place of a covered activity while the parent
/// has any; those places then cost nothing.
async fn use_credits(
    conn: &mut sqlx::PgConnection,
    parent_id: i64,
    sessions: &[SessionInfo],
    items: &mut [NewItem],
) -> AppResult<Vec<crate::payments::packages::CreditUse>> {
    let places: Vec<(i64, i64, i64)> = items
        .iter()
        .filter_map(|i| {
            let activity = sessions.iter().find(|s| s.id == i.session_id)?.activity_id;
            Some((i.session_id, i.child_id, activity))
        })
        .collect();
    let uses = crate::payments::packages::choose_credits(conn, parent_id, &places).await?;
    for item in items.iter_mut() {
        if uses.iter().any(|u| (u.session_id, u.child_id) == (item.session_id, item.child_id)) {
            item.price_pence = 0;
        }
    }
    Ok(uses)
}

/// `Book` (or `Save for later`): re-checks the reviewed places, takes them (or holds
/// them for a card payment), uses credits and a discount code, all in one transaction.
pub async fn create(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    session: Session,
    form: Fields,
) -> AppResult<Response> {
    // A typed code is a guess, counted before the booking's transaction (see
    // `discounts::count_guess`).
    let code_allowed = match form.get("discount_code") {
        Some(_) => crate::payments::discounts::count_guess(&state, parent.id).await?,
        None => true,
    };
    let mut tx = state.pool.begin().await?;
    let (sessions, source) = chosen_sessions(&mut tx, &form).await?;
    // Book exactly the pairs the parent reviewed; re-check each now.
    let wanted: Vec<(i64, i64)> = form
        .all("item")
        .filter_map(|v| v.split_once(':'))
        .filter_map(|(s, c)| Some((s.parse().ok()?, c.parse().ok()?)))
        .collect();
    let child_ids: Vec<i64> = wanted.iter().map(|(_, c)| *c).collect();
    let (_, mut items) = plan(&state, &mut tx, parent.id, &sessions, &child_ids).await?;
    let reviewed_still_fine =
        !wanted.is_empty() && wanted.iter().all(|w| items.iter().any(|i| (i.session_id, i.child_id) == *w));
    items.retain(|i| wanted.contains(&(i.session_id, i.child_id)));
    let rules = Rules::of(&state, &sessions);
    let note = form.get("note").unwrap_or_default().chars().take(2000).collect::<String>();
    let asked = Asked { sessions, source, child_ids, rules, note, form: &form };

    if !reviewed_still_fine {
        tx.rollback().await?;
        let message = if wanted.is_empty() {
            "Choose at least one child to book."
        } else {
            "Something changed since you looked (a place may have gone). Check the dates below and book again."
        };
        let page = review_again(&state, parent.id, ctx, &asked, Some(message.into())).await?;
        return render_with(StatusCode::CONFLICT, &page);
    }

    let submitted = if rules.requires_approval { BookingStatus::Pending } else { BookingStatus::Approved };
    // "Save for later" keeps a draft that holds no place (and uses no credit) until it
    // is submitted.
    let draft = form.get("draft").is_some();
    let credit_uses = if asked.use_credits() && !draft {
        use_credits(&mut tx, parent.id, &asked.sessions, &mut items).await?
    } else {
        Vec::new()
    };
    // An activity paid for when booking holds the places only while the parent pays.
    let (mut status, hold) = if draft {
        (BookingStatus::Draft, None)
    } else if rules.pay_first && items.iter().any(|i| i.price_pence > 0) {
        (BookingStatus::AwaitingPayment, Some(holds::deadline()))
    } else {
        (submitted, None)
    };
    let booking_id =
        match store::create(&mut tx, parent.id, parent.id, (status, hold), &mut items, &asked.note).await {
            Ok(id) => id,
            Err(BookingError::Database(err)) => return Err(err.into()),
            Err(conflict) => {
                tx.rollback().await?;
                let message = match conflict {
                    BookingError::Full { .. } => {
                        "Sorry: the last place has just gone. Check the dates below and book again."
                    }
                    _ => "One of these children is already booked on one of these dates.",
                };
                let page = review_again(&state, parent.id, ctx, &asked, Some(message.into())).await?;
                return render_with(StatusCode::CONFLICT, &page);
            }
        };
    crate::payments::packages::record_uses(
        &mut tx,
        crate::ids::BookingId(booking_id),
        &credit_uses,
        parent.id,
    )
    .await?;
    let typed_code = asked.discount_code();
    let mut discount_note = None;
    if !typed_code.is_empty() {
        let applied = crate::payments::discounts::apply_to_new_booking(
            &state,
            &mut tx,
            crate::ids::BookingId(booking_id),
            &typed_code,
            code_allowed,
            parent.id,
        )
        .await?;
        match applied {
            Ok(message) => discount_note = Some(message),
            Err(message) => {
                // Nothing is booked: the parent fixes the code (or clears it) and books again.
                tx.rollback().await?;
                let mut page = review_again(&state, parent.id, ctx, &asked, None).await?;
                page.errors.add("discount_code", message);
                return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
            }
        }
    }
    if status == BookingStatus::AwaitingPayment && nothing_due(&mut tx, booking_id).await? {
        // A discount covered it all: nothing to wait for.
        store::change_status(&mut tx, booking_id, status, submitted, Some(parent.id), "Nothing to pay")
            .await?;
        status = submitted;
    }
    super::notify_created(&state, &mut tx, booking_id, status).await?;
    tx.commit().await?;
    if discount_note.is_some() {
        crate::payments::store::count_discount_success(&state.pool, parent.id).await?;
    }
    if status == BookingStatus::AwaitingPayment {
        return crate::payments::pay_for_held_places(
            &state,
            &session,
            crate::ids::BookingId(booking_id),
            &parent,
        )
        .await;
    }
    let message = match status {
        BookingStatus::Draft => "Saved as a draft. No place is held until you submit it.",
        BookingStatus::Pending => "Booking received. The office will confirm it; we have emailed you.",
        _ => "Booked. We have emailed you a confirmation.",
    };
    let mut message = match credit_uses.len() {
        0 => message.to_owned(),
        n => format!("{message} {n} place(s) paid with package credits."),
    };
    if let Some(note) = discount_note {
        message.push(' ');
        message.push_str(&note);
    }
    flash::push(&session, FlashKind::Success, message).await?;
    Ok(Redirect::to(&format!("/parent/bookings/{booking_id}")).into_response())
}

/// Whether nothing is left to pay on a new booking (credits and a discount covered it).
async fn nothing_due(conn: &mut sqlx::PgConnection, booking_id: i64) -> AppResult<bool> {
    let balance = crate::payments::store::lock_balance(conn, crate::ids::BookingId(booking_id)).await?;
    Ok(balance.is_none_or(|b| b.due_pence() == 0))
}

pub struct BookingLine {
    pub id: i64,
    pub status: String,
    pub status_key: String,
    pub children: String,
    pub activity: String,
    pub first: String,
    pub sessions: i64,
    pub total: String,
}

#[derive(Template)]
#[template(path = "bookings/index.html")]
pub struct IndexPage {
    pub ctx: PageContext,
    pub bookings: Vec<BookingLine>,
    pub calendar_url: String,
    pub pager: Pager,
}

pub async fn index(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let search = store::Search { parent_id: Some(parent.id), ..Default::default() };
    let request = PageRequest::from_query(&query, search.order());
    let rows = store::search(&mut conn, &search, &request).await?;
    let page = request.finish(rows, |b| Cursor::new(b.created_at, b.id), "/parent/bookings", &query);
    let page = page.map(|b| {
        let status = BookingStatus::parse(&b.status).unwrap_or(BookingStatus::Pending);
        BookingLine {
            id: b.id,
            status: status.label().into(),
            status_key: b.status,
            children: b.children,
            activity: b.activity,
            first: b.first_start.map(|t| fmt::day_time(t, tz)).unwrap_or_default(),
            sessions: b.sessions,
            total: fmt::pounds(i64::from(b.total_pence)),
        }
    });
    let calendar_url = crate::calendar::feed_url(&mut conn, &state.config.base_url, parent.id).await?;
    render(&IndexPage { ctx, bookings: page.rows, calendar_url, pager: page.pager })
}

pub struct ParticipantLine {
    pub when: String,
    pub until: String,
    pub child: String,
    pub activity: String,
    pub venue: String,
    pub price: String,
    pub holds_place: bool,
}

pub struct HistoryLine {
    pub when: String,
    pub to: String,
    pub by: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "bookings/show.html")]
pub struct ShowPage {
    pub ctx: PageContext,
    pub id: i64,
    pub status: String,
    pub status_key: String,
    pub total: String,
    pub amount_due: String,
    pub has_due: bool,
    pub discount: Option<String>,
    pub card_payments: bool,
    pub payments: Vec<PaymentLine>,
    pub lines: Vec<ParticipantLine>,
    pub history: Vec<HistoryLine>,
    pub can_cancel: bool,
    pub cancel_note: Option<String>,
    /// What cancelling now gives back, said before the parent confirms.
    pub cancel_refund: Option<String>,
    pub changes_requested: Option<String>,
    pub is_draft: bool,
    /// Until when the places wait for a card payment.
    pub held_until: Option<String>,
}

pub(super) fn history_lines(history: Vec<store::Change>, tz: &time_tz::Tz) -> Vec<HistoryLine> {
    history
        .into_iter()
        .map(|h| HistoryLine {
            when: fmt::day_time(h.created_at, tz),
            to: BookingStatus::parse(&h.to_status).map_or(h.to_status.clone(), |s| s.label().to_owned()),
            by: h.by_name.unwrap_or_else(|| "Portico".into()),
            reason: h.reason,
        })
        .collect()
}

pub(super) fn participant_lines(
    participants: &[store::Participant],
    tz: &time_tz::Tz,
) -> Vec<ParticipantLine> {
    participants
        .iter()
        .map(|p| ParticipantLine {
            when: fmt::day_time(p.starts_at, tz),
            until: fmt::time_of_day(p.ends_at, tz),
            child: p.child_name.clone(),
            activity: p.activity.clone(),
            venue: p.venue.clone(),
            price: fmt::pounds(i64::from(p.price_pence)),
            holds_place: p.holds_place,
        })
        .collect()
}

/// Whether the parent may still cancel, and if not, why not.
fn cancellation(
    status: BookingStatus,
    participants: &[store::Participant],
    tz: &time_tz::Tz,
) -> (bool, Option<String>) {
    if !status.can_become(BookingStatus::Cancelled) {
        return (false, None);
    }
    let now = OffsetDateTime::now_utc();
    let next = participants.iter().filter(|p| p.holds_place && p.starts_at > now).min_by_key(|p| p.starts_at);
    match next {
        None => (false, Some("Every session in this booking has started, so it cannot be cancelled.".into())),
        Some(p) if !domain::cancellation_open(p.starts_at, p.cancellation_cutoff_hours, now) => (
            false,
            Some(format!(
                "Cancelling closed {} hours before the next session ({}). Contact the office if you cannot come.",
                p.cancellation_cutoff_hours,
                fmt::day_time(p.starts_at, tz)
            )),
        ),
        Some(_) => (true, None),
    }
}

pub async fn show(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let booking = store::for_parent(&mut conn, parse_id(&id)?, parent.id).await?.ok_or(AppError::NotFound)?;
    let participants = store::participants(&mut conn, booking.id).await?;
    let history = store::history(&mut conn, booking.id).await?;
    let status = booking.status();
    let changes_requested = (status == BookingStatus::ChangesRequested)
        .then(|| history.iter().rev().find(|h| h.to_status == "changes_requested").map(|h| h.reason.clone()))
        .flatten();
    let (can_cancel, cancel_note) = cancellation(status, &participants, tz);
    let cancel_refund = if can_cancel {
        let refundable = rules::refundable_sessions(&participants, OffsetDateTime::now_utc());
        let quote = crate::payments::cancellation::quote(
            &mut conn,
            crate::ids::BookingId(booking.id),
            Some(&refundable),
        )
        .await?;
        let held = participants.iter().filter(|p| p.holds_place).count();
        let back =
            participants.iter().filter(|p| p.holds_place && refundable.contains(&p.session_id)).count();
        Some(refund_words(quote, back, held))
    } else {
        None
    };
    let balance = crate::payments::store::balance(&mut conn, crate::ids::BookingId(booking.id)).await?;
    let due = balance.as_ref().map_or(0, |b| b.due_pence());
    let discount = balance.filter(|b| b.discount_pence > 0).map(|b| fmt::pounds(b.discount_pence));
    let payments = crate::payments::store::of_booking(&mut conn, crate::ids::BookingId(booking.id)).await?;
    render(&ShowPage {
        ctx,
        id: booking.id,
        status: status.label().into(),
        status_key: booking.status.clone(),
        total: fmt::pounds(i64::from(booking.total_pence)),
        amount_due: fmt::pounds(due),
        has_due: due > 0,
        discount,
        card_payments: state.stripe.is_some(),
        payments: payments.into_iter().map(|p| PaymentLine::new(p, tz)).collect(),
        lines: participant_lines(&participants, tz),
        history: history_lines(history, tz),
        can_cancel,
        cancel_note,
        cancel_refund,
        changes_requested,
        is_draft: status == BookingStatus::Draft,
        held_until: booking
            .payment_due_by
            .filter(|_| status == BookingStatus::AwaitingPayment)
            .map(|t| fmt::time_of_day(t, tz)),
    })
}

pub async fn cancel(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let mut tx = state.pool.begin().await?;
    let booking = store::for_parent(&mut tx, parse_id(&id)?, parent.id).await?.ok_or(AppError::NotFound)?;
    let participants = store::participants(&mut tx, booking.id).await?;
    let (allowed, why_not) = cancellation(booking.status(), &participants, tz);
    let back = format!("/parent/bookings/{}", booking.id);
    if !allowed {
        let message = why_not.unwrap_or_else(|| "This booking can no longer be cancelled.".into());
        flash::push(&session, FlashKind::Error, message).await?;
        return Ok(Redirect::to(&back).into_response());
    }
    let reason =
        form.get("reason").unwrap_or("Cancelled by the parent").chars().take(500).collect::<String>();
    // Only places still ahead of their cut-off come back, worked out (as the page said)
    // while the places still count: sessions already held are not refunded.
    let refundable = rules::refundable_sessions(&participants, OffsetDateTime::now_utc());
    let refund = crate::payments::cancellation::refund_cancelled(
        &state,
        &mut tx,
        crate::ids::BookingId(booking.id),
        Some(&refundable),
        &format!("Booking #{} was cancelled: {reason}", booking.id),
        Some(parent.id),
    )
    .await?;
    match super::transition(&state, &mut tx, booking.id, BookingStatus::Cancelled, Some(&parent), &reason)
        .await?
    {
        Transition::Done => {
            tx.commit().await?;
            crate::payments::cancellation::settle(&state, &refund.card_refunds).await;
            holds::close_checkouts(&state, crate::ids::BookingId(booking.id)).await;
            let mut message = if refund.total_pence > 0 {
                format!(
                    "Booking cancelled. Your places have been released and {} is being refunded.",
                    fmt::pounds(refund.total_pence)
                )
            } else {
                "Booking cancelled. Your places have been released.".to_owned()
            };
            if refund.credits_returned > 0 {
                message.push_str(&format!(" {} package credit(s) returned.", refund.credits_returned));
            }
            flash::push(&session, FlashKind::Success, message).await?;
        }
        Transition::NotAllowed(_) | Transition::Missing => {
            // The refund above is rolled back with the rest.
            tx.rollback().await?;
            flash::push(&session, FlashKind::Error, "This booking can no longer be cancelled.").await?;
        }
    }
    Ok(Redirect::to(&back).into_response())
}

/// What cancelling gives back, in words: `back` of the `held` places are refunded.
fn refund_words(quote: crate::payments::cancellation::Quote, back: usize, held: usize) -> String {
    let mut words = if quote.amount_pence > 0 {
        format!("If you cancel now, {} will be refunded", fmt::pounds(quote.amount_pence))
    } else {
        "If you cancel now, no money will be refunded".to_owned()
    };
    if quote.credits > 0 {
        words.push_str(&format!(" and {} package credit(s) returned", quote.credits));
    }
    if back < held {
        words.push_str(&format!(
            ": {back} of the {held} places are still before their cancellation cut-off; \
             sessions already held or too close to cancel are not refunded."
        ));
    } else {
        words.push('.');
    }
    words
}

pub async fn resubmit(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let booking = store::for_parent(&mut tx, parse_id(&id)?, parent.id).await?.ok_or(AppError::NotFound)?;
    let back = format!("/parent/bookings/{}", booking.id);
    let reply = form.get("reply").unwrap_or_default().chars().take(2000).collect::<String>();
    if booking.status() != BookingStatus::ChangesRequested {
        flash::push(&session, FlashKind::Error, "This booking is not waiting for changes.").await?;
        return Ok(Redirect::to(&back).into_response());
    }
    if let Transition::Done =
        super::transition(&state, &mut tx, booking.id, BookingStatus::Pending, Some(&parent), &reply).await?
    {
        tx.commit().await?;
        flash::push(&session, FlashKind::Success, "Sent back to the office for approval.").await?;
    }
    Ok(Redirect::to(&back).into_response())
}

/// Submits a draft: it may be days old, so every rule `Book` checks is checked again
/// now, by the same function (the session may have been cancelled, closed or filled, or
/// the child grown out of its ages), and its places are priced at today's prices.
pub async fn submit(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let mut tx = state.pool.begin().await?;
    let booking = store::for_parent(&mut tx, parse_id(&id)?, parent.id).await?.ok_or(AppError::NotFound)?;
    let back = format!("/parent/bookings/{}", booking.id);
    if store::lock_status(&mut tx, booking.id).await? != Some(BookingStatus::Draft) {
        flash::push(&session, FlashKind::Error, "This booking has already been submitted.").await?;
        return Ok(Redirect::to(&back).into_response());
    }
    let participants = store::participants(&mut tx, booking.id).await?;
    let ids: Vec<i64> = participants.iter().map(|p| p.session_id).collect();
    let sessions = store::sessions_by_id(&mut tx, &ids).await?;
    let problems = draft_problems(&mut tx, parent.id, &participants, &sessions, tz).await?;
    if !problems.is_empty() {
        tx.rollback().await?;
        let message = format!(
            "A place in this draft has gone or can no longer be booked, so nothing was booked or charged: \
             {}. Book again from the sessions page.",
            problems.join("; ")
        );
        flash::push(&session, FlashKind::Error, message).await?;
        return Ok(Redirect::to(&back).into_response());
    }
    // Today's prices, not the ones the draft was saved at.
    let (was, now_total) = store::reprice(&mut tx, booking.id).await?;
    if was != now_total {
        crate::payments::discounts::reprice(&mut tx, crate::ids::BookingId(booking.id), now_total).await?;
    }
    let requires_approval = sessions.iter().any(|s| s.requires_approval);
    let submitted = if requires_approval { BookingStatus::Pending } else { BookingStatus::Approved };
    let pay_first = holds::pay_first(&state, &sessions) && now_total > 0;
    let mut to = if pay_first { BookingStatus::AwaitingPayment } else { submitted };
    match store::take_places(&mut tx, booking.id).await {
        Ok(()) => {}
        Err(BookingError::Database(err)) => return Err(err.into()),
        Err(_) => {
            tx.rollback().await?;
            let message = "A place in this draft has gone (full, or already booked). Book again from the sessions page.";
            flash::push(&session, FlashKind::Error, message).await?;
            return Ok(Redirect::to(&back).into_response());
        }
    }
    if to == BookingStatus::AwaitingPayment {
        holds::set_deadline(&mut tx, booking.id, holds::deadline()).await?;
    }
    store::change_status(&mut tx, booking.id, BookingStatus::Draft, to, Some(parent.id), "Submitted").await?;
    if to == BookingStatus::AwaitingPayment && nothing_due(&mut tx, booking.id).await? {
        store::change_status(&mut tx, booking.id, to, submitted, Some(parent.id), "Nothing to pay").await?;
        to = submitted;
    }
    super::notify_created(&state, &mut tx, booking.id, to).await?;
    tx.commit().await?;
    if to == BookingStatus::AwaitingPayment {
        return crate::payments::pay_for_held_places(
            &state,
            &session,
            crate::ids::BookingId(booking.id),
            &parent,
        )
        .await;
    }
    let mut message = if requires_approval {
        "Submitted for approval.".to_owned()
    } else {
        "Booked. We have emailed you a confirmation.".to_owned()
    };
    if was != now_total {
        message.push_str(&format!(
            " The price changed since the draft was saved: the total is now {} (was {}).",
            fmt::pounds(now_total),
            fmt::pounds(was)
        ));
    }
    flash::push(&session, FlashKind::Success, message).await?;
    Ok(Redirect::to(&back).into_response())
}

/// What stops each of a draft's places being booked now, as "when · child: why".
async fn draft_problems(
    conn: &mut sqlx::PgConnection,
    parent_id: i64,
    participants: &[store::Participant],
    sessions: &[SessionInfo],
    tz: &time_tz::Tz,
) -> AppResult<Vec<String>> {
    let now = OffsetDateTime::now_utc();
    let children = store::children_of(conn, parent_id).await?;
    let session_ids: Vec<i64> = sessions.iter().map(|s| s.id).collect();
    let child_ids: Vec<i64> = participants.iter().map(|p| p.child_id).collect();
    let held = store::places_held(conn, &session_ids, &child_ids).await?;
    let mut taken: BTreeMap<i64, i32> = BTreeMap::new();
    let mut problems = Vec::new();
    for p in participants {
        let s = sessions.iter().find(|s| s.id == p.session_id);
        let child = children.iter().find(|c| c.id == p.child_id);
        let problem = match (s, child) {
            (Some(s), Some(c)) => {
                let before = taken.entry(s.id).or_default();
                let problem = rules::place_problem(s, c, held.contains(&(s.id, c.id)), *before, now, tz);
                if problem.is_none() {
                    *before += 1;
                }
                problem
            }
            (None, _) => Some("Cancelled".to_owned()),
            (_, None) => Some("no longer on your account".to_owned()),
        };
        if let Some(problem) = problem {
            problems.push(format!("{} · {}: {problem}", fmt::day_time(p.starts_at, tz), p.child_name));
        }
    }
    Ok(problems)
}
