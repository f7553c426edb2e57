//! The parent's side: find a session or a series, review the booking with its total,
//! book, and follow or cancel it.

use askama::Template;
use axum::{
    Form,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use sqlx::types::Json;
use time::{Duration, OffsetDateTime};
use time_tz::TimeZone;
use tower_sessions::Session;

use super::{
    actions::{
        self, Booked, BookingRefused, BookingRequest, CancelRefused, DiscountCode, Rules, SubmitRefused,
    },
    domain::{self, BookingStatus, PlaceRefused, Source},
    rules,
    store::{self, NewItem, SessionFilter, SessionInfo},
    views::{Choice, HistoryLine, ParticipantLine, history_lines, participant_lines},
};
use crate::{
    AppState,
    auth::{Parent, User},
    bookings,
    children::domain::ParticipantKind,
    error::{AppError, AppResult},
    ids::{BookingId, ChildId, SeriesId, SessionId},
    payments::{PaymentLine, holds},
    states::SessionStatus,
    web::{
        PageContext, Path, date,
        flash::{self, FlashKind},
        fmt,
        form::{self, QueryFields, render, render_with},
        page::{Cursor, Order, PageRequest, Pager},
    },
};

pub struct SessionLine {
    pub id: SessionId,
    pub activity: String,
    pub venue: String,
    pub when: String,
    pub until: String,
    pub price: String,
    pub bookable: bool,
    pub note: String,
}

pub struct SeriesCard {
    pub id: SeriesId,
    pub name: String,
    pub activity: String,
    pub venue: String,
    pub next: String,
    pub dates: i64,
    pub price: String,
    pub full_dates: i64,
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
    /// One page of the single sessions, soonest first.
    pub sessions: Vec<SessionLine>,
    pub pager: Pager,
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

fn series_card(s: store::SeriesOffer, tz: &time_tz::Tz) -> SeriesCard {
    SeriesCard {
        id: s.id,
        name: s.name,
        activity: s.activity,
        venue: s.venue,
        next: fmt::day_time(s.next, tz),
        dates: s.dates,
        price: fmt::pounds(i64::from(s.price_pence)),
        full_dates: s.full_dates,
    }
}

/// The filters' choices, the chosen one selected.
fn choices(items: Vec<(i64, String)>, selected: Option<i64>) -> Vec<Choice> {
    items
        .into_iter()
        .map(|(id, label)| Choice { value: id.to_string(), label, selected: Some(id) == selected })
        .collect()
}

/// `/parent/sessions`: the series on offer, and the single sessions fifty a page,
/// soonest first, by the filters (a child: only what suits their age on the day).
pub async fn browse(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let from = query.get("from").and_then(date::parse);
    let to = query.get("to").and_then(date::parse);
    let filter = SessionFilter {
        activity_id: query.id("activity"),
        venue_id: query.id("venue"),
        from: from.map(|d| crate::clock::start_of_day(d, tz)),
        until: to.map(|d| crate::clock::start_of_day(d + Duration::days(1), tz)),
    };
    let child = query.id("child");
    let panels = store::browse_panels(&mut conn, parent.id.0, child, &filter, tz.name()).await?;
    let store::BrowsePanels { children: Json(children), series: Json(series), choices: Json(options) } =
        panels;
    let chosen_child = child.and_then(|id| children.iter().find(|c| c.id == ChildId(id)));
    let suitable = store::Suitable { born: chosen_child.and_then(|c| c.date_of_birth), zone: tz.name() };
    let request = PageRequest::from_query(&query, Order::Ascending);
    let rows = store::single_sessions(&mut conn, &filter, &suitable, &request).await?;
    let now = OffsetDateTime::now_utc();
    let page = request
        .finish(rows, |s| Cursor::new(s.starts_at, s.id.0), "/parent/sessions", &query)
        .map(|s| line(&s, tz, now));
    let (activities, venues): (Vec<_>, Vec<_>) = options.into_iter().partition(|c| c.is_activity);
    let pairs = |items: Vec<store::FilterChoice>| items.into_iter().map(|c| (c.id, c.name)).collect();
    render(&BrowsePage {
        ctx,
        activities: choices(pairs(activities), filter.activity_id),
        venues: choices(pairs(venues), filter.venue_id),
        children: choices(
            children.iter().map(|c| (c.id.0, c.first_name.clone())).collect(),
            chosen_child.map(|c| c.id.0),
        ),
        from: from.map(|d| d.to_string()).unwrap_or_default(),
        to: to.map(|d| d.to_string()).unwrap_or_default(),
        series: series.into_iter().map(|s| series_card(s, tz)).collect(),
        sessions: page.rows,
        pager: page.pager,
    })
}

pub struct ChildOption {
    pub id: ChildId,
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
    pub course: CourseFacts,
}

/// What a course type tells customers: who it is for, how long, what it covers, and
/// the certificate a pass earns.
pub struct CourseFacts {
    pub adults: bool,
    pub audience: &'static str,
    pub length: String,
    pub syllabus: String,
    pub certificate: Option<String>,
}

impl CourseFacts {
    fn of(s: &SessionInfo) -> Self {
        let minutes = (s.ends_at - s.starts_at).whole_minutes();
        let length = match (minutes / 60, minutes % 60) {
            (0, m) => format!("{m} minutes"),
            (h, 0) => format!("{h} hours"),
            (h, m) => format!("{h} hours {m} minutes"),
        };
        CourseFacts {
            adults: s.audience.admits_adults(),
            audience: s.audience.label(),
            length,
            syllabus: s.syllabus.clone(),
            certificate: s.certificate_valid_months.map(|m| match (m / 12, m % 12) {
                (y, 0) if y > 0 => format!("A pass earns a certificate valid for {y} years."),
                _ => format!("A pass earns a certificate valid for {m} months."),
            }),
        }
    }
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
    let ids: Vec<SessionId> = sessions.iter().map(|s| s.id).collect();
    let child_ids: Vec<ChildId> = children.iter().map(|c| c.id).collect();
    let held = store::places_held(conn, &ids, &child_ids).await?;
    // Only those the session is for: a children's session lists no adults, and so on.
    let admitted = |c: &store::Child| {
        if c.kind.is_adult() { first.audience.admits_adults() } else { first.audience.admits_children() }
    };
    Ok(children
        .into_iter()
        .filter(admitted)
        .map(|c| {
            let problem = rules::attendee_problem(first, &c, tz).or_else(|| {
                let booked = held.iter().filter(|(_, child)| *child == c.id).count();
                (booked == ids.len()).then(|| format!("{} is already booked", c.first_name))
            });
            let name = match c.kind {
                ParticipantKind::Child => format!("{} {}", c.first_name, c.last_name),
                ParticipantKind::Myself => format!("{} {} (you)", c.first_name, c.last_name),
                ParticipantKind::Delegate => format!("{} {} (delegate)", c.first_name, c.last_name),
            };
            ChildOption { id: c.id, name, problem }
        })
        .collect())
}

pub async fn session(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    Path(id): Path<SessionId>,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let s = store::session(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    if s.status == SessionStatus::Cancelled {
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
    let children = child_options(&mut conn, parent.id.0, std::slice::from_ref(&s), tz).await?;
    let waitlist = s.places_left() == 0 && domain::booking_open(s.starts_at, s.booking_cutoff_hours, now);
    render(&SessionPage {
        ctx,
        title: s.activity.clone(),
        description: s.description.clone(),
        venue: s.venue.clone(),
        address: s.venue_address.clone(),
        source: "session",
        source_id: s.id.0,
        dates: vec![line(&s, tz, now)],
        children,
        closed,
        waitlist,
        requires_approval: s.requires_approval,
        course: CourseFacts::of(&s),
    })
}

pub async fn series(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    Path(id): Path<SeriesId>,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let sessions = store::remaining_in_series(&mut conn, id).await?;
    let first = sessions.first().ok_or(AppError::NotFound)?.clone();
    let now = OffsetDateTime::now_utc();
    let bookable = sessions.iter().filter(|s| line(s, tz, now).bookable).count();
    let closed = (bookable == 0).then_some("Every remaining date is full or closed for booking.");
    let children = child_options(&mut conn, parent.id.0, &sessions, tz).await?;
    render(&SessionPage {
        ctx,
        title: first.series_name.clone().unwrap_or_else(|| first.activity.clone()),
        description: first.description.clone(),
        venue: first.venue.clone(),
        address: first.venue_address.clone(),
        source: "series",
        source_id: id.0,
        dates: sessions.iter().map(|s| line(s, tz, now)).collect(),
        children,
        closed,
        waitlist: false,
        requires_approval: first.requires_approval,
        course: CourseFacts::of(&first),
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
    child_ids: &[ChildId],
) -> AppResult<(Vec<ReviewLine>, Vec<NewItem>)> {
    let tz = state.config.timezone;
    let now = OffsetDateTime::now_utc();
    let children: Vec<store::Child> = store::children_of(conn, parent_id)
        .await?
        .into_iter()
        .filter(|c| child_ids.contains(&c.id))
        .collect();
    let ids: Vec<SessionId> = sessions.iter().map(|s| s.id).collect();
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
        back: source.page(),
        source: source.kind(),
        source_id: source.id(),
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

/// The sessions a booking is for: one session, or a series' remaining dates.
async fn chosen_sessions(conn: &mut sqlx::PgConnection, source: Source) -> AppResult<Vec<SessionInfo>> {
    match source {
        Source::Series(id) => Ok(store::remaining_in_series(conn, id).await?),
        Source::Session(id) => Ok(vec![store::session(conn, id).await?.ok_or(AppError::NotFound)?]),
    }
}

pub async fn review(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    let mut conn = state.pool.acquire().await?;
    let source = Source::parse(&query).ok_or(AppError::NotFound)?;
    let sessions = chosen_sessions(&mut conn, source).await?;
    let child_ids: Vec<ChildId> = query.ids("child").into_iter().map(ChildId).collect();
    let (lines, items) = plan(&state, &mut conn, parent.id.0, &sessions, &child_ids).await?;
    let rules = Rules::of(&state, &sessions);
    let mut page = review_page(ctx, source, lines, &items, rules);
    page.credits_usable = usable_credits(&mut conn, parent.id.0, &sessions, &items).await?;
    page.use_credits = page.credits_usable > 0;
    if page.lines.is_empty() {
        page.message = Some("Choose at least one child to book.".into());
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    render(&page)
}

/// The `Book` form as posted (`web::form::Form`): the series or session, the reviewed
/// (session, child) pairs (`item=12:34`, repeated) and the parent's choices.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BookInput {
    series: String,
    session: String,
    #[serde(rename = "item")]
    items: Vec<String>,
    note: String,
    #[serde(deserialize_with = "crate::web::form::ticked")]
    draft: bool,
    #[serde(deserialize_with = "crate::web::form::ticked")]
    use_credits: bool,
    discount_code: String,
}

/// The `Book` form read: the pairs that are well formed, the note and code cut to size.
pub struct BookForm {
    source: Source,
    items: Vec<(SessionId, ChildId)>,
    note: String,
    draft: bool,
    use_credits: bool,
    discount_code: String,
}

impl BookForm {
    /// None when the form names no session or series.
    pub fn parse(input: BookInput) -> Option<Self> {
        let id = |raw: &str| raw.trim().parse().ok();
        let items = input
            .items
            .iter()
            .filter_map(|v| v.split_once(':'))
            .filter_map(|(s, c)| Some((s.parse().ok()?, c.parse().ok()?)))
            .collect();
        Some(Self {
            source: Source::of(id(&input.series), id(&input.session))?,
            items,
            note: input.note.trim().chars().take(2000).collect(),
            draft: input.draft,
            use_credits: input.use_credits,
            discount_code: input.discount_code.trim().chars().take(64).collect(),
        })
    }

    fn child_ids(&self) -> Vec<ChildId> {
        self.items.iter().map(|(_, c)| *c).collect()
    }
}

/// The review page planned afresh (the places may have changed), with the parent's
/// note, code and credit choice kept.
async fn review_again(
    state: &AppState,
    parent_id: i64,
    ctx: PageContext,
    (form, sessions): (&BookForm, &[SessionInfo]),
    message: Option<String>,
) -> AppResult<ReviewPage> {
    let mut conn = state.pool.acquire().await?;
    let (lines, items) = plan(state, &mut conn, parent_id, sessions, &form.child_ids()).await?;
    let mut page = review_page(ctx, form.source, lines, &items, Rules::of(state, sessions));
    page.note = form.note.clone();
    page.credits_usable = usable_credits(&mut conn, parent_id, sessions, &items).await?;
    page.use_credits = form.use_credits;
    page.discount_code = form.discount_code.clone();
    page.message = message;
    Ok(page)
}

/// `Book` (or `Save for later`): re-checks the reviewed places, then books them
/// through `bookings::book` in one transaction.
pub async fn create(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    session: Session,
    form::Form(input): form::Form<BookInput>,
) -> AppResult<Response> {
    let form = BookForm::parse(input).ok_or(AppError::NotFound)?;
    // A typed code is a guess, counted before the booking's transaction (see
    // `discounts::count_guess`).
    let code_allowed =
        form.discount_code.is_empty() || crate::payments::discounts::count_guess(&state, parent.id.0).await?;
    let mut tx = state.pool.begin().await?;
    let sessions = chosen_sessions(&mut tx, form.source).await?;
    // Book exactly the pairs the parent reviewed; re-check each now.
    let (_, mut items) = plan(&state, &mut tx, parent.id.0, &sessions, &form.child_ids()).await?;
    let still_fine = !form.items.is_empty()
        && form.items.iter().all(|w| items.iter().any(|i| (i.session_id, i.child_id) == *w));
    if !still_fine {
        tx.rollback().await?;
        let message = if form.items.is_empty() {
            "Choose at least one child to book."
        } else {
            "Something changed since you looked (a place may have gone). Check the dates below and book again."
        };
        let page = review_again(&state, parent.id.0, ctx, (&form, &sessions), Some(message.into())).await?;
        return render_with(StatusCode::CONFLICT, &page);
    }
    items.retain(|i| form.items.contains(&(i.session_id, i.child_id)));
    let request = BookingRequest {
        parent_id: parent.id.0,
        sessions: &sessions,
        items,
        note: form.note.clone(),
        draft: form.draft,
        use_credits: form.use_credits,
        discount: (!form.discount_code.is_empty())
            .then(|| DiscountCode { code: form.discount_code.clone(), allowed: code_allowed }),
    };
    let booked = match bookings::book(&state, &mut tx, &parent, request).await? {
        Ok(booked) => booked,
        Err(refused) => {
            // Nothing is booked: the parent looks again (or fixes the code) and books again.
            tx.rollback().await?;
            let (status, message, code_error) = match refused {
                BookingRefused::Place(PlaceRefused::Full(_)) => (
                    StatusCode::CONFLICT,
                    Some("Sorry: the last place has just gone. Check the dates below and book again."),
                    None,
                ),
                BookingRefused::Place(PlaceRefused::AlreadyBooked(..)) => (
                    StatusCode::CONFLICT,
                    Some("One of these children is already booked on one of these dates."),
                    None,
                ),
                BookingRefused::Discount(words) => (StatusCode::UNPROCESSABLE_ENTITY, None, Some(words)),
            };
            let mut page =
                review_again(&state, parent.id.0, ctx, (&form, &sessions), message.map(Into::into)).await?;
            if let Some(words) = code_error {
                page.errors.add("discount_code", words);
            }
            return render_with(status, &page);
        }
    };
    tx.commit().await?;
    booked_reply(&state, &session, &parent, booked).await
}

/// After `Book`: on to the card payment, or back to the booking with what happened.
async fn booked_reply(
    state: &AppState,
    session: &Session,
    parent: &User,
    booked: Booked,
) -> AppResult<Response> {
    if booked.discount_note.is_some() {
        crate::payments::store::count_discount_success(&state.pool, parent.id.0).await?;
    }
    if booked.status == BookingStatus::AwaitingPayment {
        return crate::payments::pay_for_held_places(state, session, booked.id, parent).await;
    }
    let message = match booked.status {
        BookingStatus::Draft => "Saved as a draft. No place is held until you submit it.",
        BookingStatus::Pending => "Booking received. The office will confirm it; we have emailed you.",
        _ => "Booked. We have emailed you a confirmation.",
    };
    let mut message = match booked.credits_used {
        0 => message.to_owned(),
        n => format!("{message} {n} place(s) paid with package credits."),
    };
    if let Some(note) = booked.discount_note {
        message.push(' ');
        message.push_str(&note);
    }
    flash::push(session, FlashKind::Success, message).await?;
    Ok(Redirect::to(&format!("/parent/bookings/{}", booked.id)).into_response())
}

pub struct BookingLine {
    pub id: BookingId,
    pub status: &'static str,
    pub status_key: &'static str,
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
    let request = PageRequest::from_query(&query, Order::Descending);
    let (rows, feed_token) = store::of_parent(&mut conn, parent.id.0, &request).await?;
    let page = request.finish(rows, |b| Cursor::new(b.created_at, b.id.0), "/parent/bookings", &query);
    let page = page.map(|b| BookingLine {
        id: b.id,
        status: b.status.label(),
        status_key: b.status.as_str(),
        children: b.children,
        activity: b.activity,
        first: b.first_start.map(|t| fmt::day_time(t, tz)).unwrap_or_default(),
        sessions: b.sessions,
        total: fmt::pounds(i64::from(b.total_pence)),
    });
    let calendar_url =
        crate::calendar::feed_url_from(&mut conn, &state.config.base_url, parent.id.0, feed_token).await?;
    render(&IndexPage { ctx, bookings: page.rows, calendar_url, pager: page.pager })
}

#[derive(Template)]
#[template(path = "bookings/show.html")]
pub struct ShowPage {
    pub ctx: PageContext,
    pub id: BookingId,
    pub status: String,
    pub status_key: &'static str,
    pub lapsed: bool,
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

pub async fn show(
    State(state): State<AppState>,
    Parent(parent): Parent,
    ctx: PageContext,
    Path(id): Path<BookingId>,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let booking = store::for_parent(&mut conn, id, parent.id.0).await?.ok_or(AppError::NotFound)?;
    let participants = store::participants(&mut conn, booking.id).await?;
    let history = store::history(&mut conn, booking.id).await?;
    let status = booking.status;
    let changes_requested = match status {
        BookingStatus::ChangesRequested => history
            .iter()
            .rev()
            .find(|h| h.to_status == BookingStatus::ChangesRequested)
            .map(|h| h.reason.clone()),
        _ => None,
    };
    let now = OffsetDateTime::now_utc();
    let cancellable = rules::cancellation(status, &participants, now, tz);
    let cancel_refund = if cancellable.is_ok() {
        let refundable = rules::refundable_sessions(&participants, now);
        let quote =
            crate::payments::cancellation::quote(&mut conn, booking.id, Some(&actions::raw(&refundable)))
                .await?;
        let held = participants.iter().filter(|p| p.holds_place).count();
        let back =
            participants.iter().filter(|p| p.holds_place && refundable.contains(&p.session_id)).count();
        Some(refund_words(quote, back, held))
    } else {
        None
    };
    let balance = crate::payments::store::balance(&mut conn, booking.id).await?;
    let due = balance.as_ref().map_or(0, |b| b.due_pence());
    let discount = balance.filter(|b| b.discount_pence > 0).map(|b| fmt::pounds(b.discount_pence));
    let payments = crate::payments::store::of_booking(&mut conn, booking.id).await?;
    render(&ShowPage {
        ctx,
        id: booking.id,
        status: status.label().into(),
        status_key: status.as_str(),
        lapsed: status == BookingStatus::Lapsed,
        total: fmt::pounds(i64::from(booking.total_pence)),
        amount_due: fmt::pounds(due),
        has_due: due > 0,
        discount,
        card_payments: state.stripe.is_some(),
        payments: payments.into_iter().map(|p| PaymentLine::new(p, tz)).collect(),
        lines: participant_lines(&participants, tz),
        history: history_lines(history, tz),
        can_cancel: cancellable.is_ok(),
        cancel_note: cancellable.err().flatten(),
        cancel_refund,
        changes_requested,
        is_draft: status == BookingStatus::Draft,
        held_until: booking
            .payment_due_by
            .filter(|_| status == BookingStatus::AwaitingPayment)
            .map(|t| fmt::time_of_day(t, tz)),
    })
}

#[derive(Deserialize)]
pub struct CancelForm {
    reason: Option<String>,
}

impl CancelForm {
    /// The parent's words, if any (kept short), for the history and the email.
    fn reason(&self) -> String {
        let reason = self.reason.as_deref().unwrap_or("Cancelled by the parent");
        reason.chars().take(500).collect()
    }
}

pub async fn cancel(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path(id): Path<BookingId>,
    Form(form): Form<CancelForm>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let booking = store::for_parent(&mut tx, id, parent.id.0).await?.ok_or(AppError::NotFound)?;
    let back = format!("/parent/bookings/{}", booking.id);
    let refund = match actions::cancel_by_parent(&state, &mut tx, &parent, &booking, &form.reason()).await? {
        Ok(refund) => refund,
        Err(refused) => {
            // Any refund worked out is rolled back with the rest.
            tx.rollback().await?;
            let message = match refused {
                CancelRefused::Closed(why) => why,
                CancelRefused::NoLonger => "This booking can no longer be cancelled.".to_owned(),
            };
            flash::push(&session, FlashKind::Error, message).await?;
            return Ok(Redirect::to(&back).into_response());
        }
    };
    tx.commit().await?;
    crate::payments::cancellation::settle(&state, &refund.card_refunds).await;
    holds::close_checkouts(&state, booking.id).await;
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

#[derive(Deserialize)]
pub struct ResubmitForm {
    reply: Option<String>,
}

pub async fn resubmit(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path(id): Path<BookingId>,
    Form(form): Form<ResubmitForm>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let booking = store::for_parent(&mut tx, id, parent.id.0).await?.ok_or(AppError::NotFound)?;
    let back = format!("/parent/bookings/{}", booking.id);
    let reply: String = form.reply.unwrap_or_default().chars().take(2000).collect();
    if booking.status != BookingStatus::ChangesRequested {
        flash::push(&session, FlashKind::Error, "This booking is not waiting for changes.").await?;
        return Ok(Redirect::to(&back).into_response());
    }
    if actions::resubmit(&state, &mut tx, &parent, &booking, &reply).await? {
        return flash::done(tx, &session, "Sent back to the office for approval.", &back).await;
    }
    Ok(Redirect::to(&back).into_response())
}

/// Submits a draft through `actions::submit_draft`, which checks every rule again.
pub async fn submit(
    State(state): State<AppState>,
    Parent(parent): Parent,
    session: Session,
    Path(id): Path<BookingId>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let booking = store::for_parent(&mut tx, id, parent.id.0).await?.ok_or(AppError::NotFound)?;
    let back = format!("/parent/bookings/{}", booking.id);
    let submitted = match actions::submit_draft(&state, &mut tx, &parent, booking.id).await? {
        Ok(submitted) => submitted,
        Err(refused) => {
            tx.rollback().await?;
            let message = match refused {
                SubmitRefused::AlreadySubmitted => "This booking has already been submitted.".to_owned(),
                SubmitRefused::Problems(problems) => format!(
                    "A place in this draft has gone or can no longer be booked, so nothing was booked or charged: \
                     {}. Book again from the sessions page.",
                    problems.join("; ")
                ),
                SubmitRefused::PlaceGone => "A place in this draft has gone (full, or already booked). \
                                             Book again from the sessions page."
                    .to_owned(),
            };
            flash::push(&session, FlashKind::Error, message).await?;
            return Ok(Redirect::to(&back).into_response());
        }
    };
    if submitted.status == BookingStatus::AwaitingPayment {
        tx.commit().await?;
        return crate::payments::pay_for_held_places(&state, &session, booking.id, &parent).await;
    }
    let mut message = if submitted.requires_approval {
        "Submitted for approval.".to_owned()
    } else {
        "Booked. We have emailed you a confirmation.".to_owned()
    };
    if submitted.was_pence != submitted.now_pence {
        message.push_str(&format!(
            " The price changed since the draft was saved: the total is now {} (was {}).",
            fmt::pounds(submitted.now_pence),
            fmt::pounds(submitted.was_pence)
        ));
    }
    flash::done(tx, &session, message, &back).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_book_form_keeps_only_well_formed_places() {
        let read = |raw: &str| BookForm::parse(serde_html_form::from_str(raw).unwrap());
        let form = read("series=7&item=1:2&item=x:3&item=4&item=5:6&note=hi&use_credits=yes").unwrap();
        assert_eq!(form.source, Source::Series(SeriesId(7)));
        assert_eq!(form.items, vec![(SessionId(1), ChildId(2)), (SessionId(5), ChildId(6))]);
        assert!(form.use_credits && !form.draft);
        assert_eq!(form.note, "hi");
        assert!(read("item=1:2").is_none(), "no session or series");
    }
}
