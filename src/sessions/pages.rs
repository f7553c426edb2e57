//! `/admin/sessions`: the calendar (week and month), one-off sessions, series from a
//! recurrence rule, editing one occurrence or this and all following, cancelling.

use askama::Template;
use axum::{
    Form,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use time::{Date, Duration, Month, OffsetDateTime};
use time_tz::{OffsetDateTimeExt, TimeZone};
use tower_sessions::Session;

use super::{
    actions,
    domain::{self, EditForm, SeriesForm, SessionFields, Staffing, WEEKDAYS, parse_date},
    staffing, store,
};
use crate::{
    AppState,
    auth::Admin,
    catalogue::EDITORS,
    error::{AppError, AppResult},
    ids::{SessionId, ShiftId},
    shifts::domain::ShiftRole,
    states::SessionStatus,
    web::{
        FormErrors, PageContext, Path,
        flash::{self, FlashKind},
        fmt,
        form::{self, QueryFields, render, render_with},
        page::{Cursor, Order, PageRequest, Pager},
    },
};

// The calendar ---------------------------------------------------------------------------

pub struct Entry {
    pub id: SessionId,
    pub time: String,
    pub activity: String,
    pub venue: String,
    pub booked: i32,
    pub capacity: i32,
    pub staffing: String,
    pub staffing_css: &'static str,
    pub cancelled: bool,
    pub trainers: String,
}

/// One day of the month or week: its counts, and in the week view its first sessions.
pub struct Day {
    pub label: String,
    pub is_today: bool,
    pub in_range: bool,
    /// The day's own list (the day view, paged), with the filters.
    pub href: String,
    pub sessions: usize,
    /// Scheduled sessions not fully staffed.
    pub to_staff: usize,
    pub cancelled: usize,
    pub entries: Vec<Entry>,
    /// Sessions of the day the week view leaves to the day's list.
    pub more: usize,
}

pub struct Pick {
    pub value: i64,
    pub label: String,
    pub selected: bool,
}

/// Which calendar: a month of counts per day, a week with each day's first sessions, or
/// one day's sessions, paged. Each is bounded whatever the provider's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Month,
    Week,
    Day,
}

impl View {
    const ALL: [View; 3] = [View::Day, View::Week, View::Month];

    fn from_query(raw: Option<&str>) -> Self {
        match raw {
            Some("month") => View::Month,
            Some("day") => View::Day,
            _ => View::Week,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            View::Month => "month",
            View::Week => "week",
            View::Day => "day",
        }
    }

    fn label(self) -> &'static str {
        match self {
            View::Month => "Month",
            View::Week => "Week",
            View::Day => "Day",
        }
    }

    fn this(self) -> &'static str {
        match self {
            View::Month => "This month",
            View::Week => "This week",
            View::Day => "Today",
        }
    }
}

/// A link to another view of the calendar, and whether it is the one shown.
pub struct ViewLink {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "sessions/calendar.html")]
pub struct CalendarPage {
    pub ctx: PageContext,
    pub view: View,
    pub title: String,
    pub prev: String,
    pub next: String,
    pub this_period: String,
    pub this_label: &'static str,
    pub views: Vec<ViewLink>,
    pub anchor: String,
    /// The month's or week's days (empty in the day view).
    pub days: Vec<Day>,
    /// The day view's sessions, one page of them.
    pub entries: Vec<Entry>,
    pub pager: Pager,
    pub venues: Vec<Pick>,
    pub activities: Vec<Pick>,
    pub trainers: Vec<Pick>,
    pub count: usize,
}

impl CalendarPage {
    pub fn is_month(&self) -> bool {
        self.view == View::Month
    }

    pub fn is_day(&self) -> bool {
        self.view == View::Day
    }
}

fn monday_of(date: Date) -> Date {
    date - Duration::days(i64::from(date.weekday().number_days_from_monday()))
}

fn picks(choices: Vec<store::Choice>, selected: Option<i64>) -> Vec<Pick> {
    choices
        .into_iter()
        .map(|c| Pick { selected: Some(c.id) == selected, value: c.id, label: c.name })
        .collect()
}

pub fn entry(row: store::CalendarRow, tz: &time_tz::Tz) -> Entry {
    let needed = domain::trainers_needed(row.places_taken, row.children_per_trainer);
    let staffing = Staffing::of(needed, row.staffed, row.leads);
    Entry {
        id: row.id,
        time: format!("{}–{}", fmt::time_of_day(row.starts_at, tz), fmt::time_of_day(row.ends_at, tz)),
        activity: row.activity,
        venue: row.venue,
        booked: row.places_taken,
        capacity: row.capacity,
        staffing: staffing.label(),
        staffing_css: staffing.css(),
        cancelled: row.status == SessionStatus::Cancelled,
        trainers: row.trainers,
    }
}

/// Whether a session still needs trainers: scheduled and not fully staffed.
fn needs_staff(f: &store::DayFacts) -> bool {
    let needed = domain::trainers_needed(f.places_taken, f.children_per_trainer);
    f.status == SessionStatus::Scheduled && Staffing::of(needed, f.staffed, f.leads) != Staffing::Full
}

/// The calendar's links: its view, anchor date and filters.
struct Links {
    filters: String,
}

impl Links {
    fn new(filter: &store::CalendarFilter) -> Self {
        let filters =
            [("venue", filter.venue_id), ("activity", filter.activity_id), ("trainer", filter.trainer_id)]
                .iter()
                .filter_map(|(k, v)| v.map(|v| format!("&{k}={v}")))
                .collect();
        Links { filters }
    }

    fn to(&self, view: View, d: Date) -> String {
        format!("/admin/sessions?view={}&week={d}{}", view.key(), self.filters)
    }
}

pub async fn calendar(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let tz = state.config.timezone;
    let today = OffsetDateTime::now_utc().to_timezone(tz).date();
    let anchor = query.get("week").and_then(parse_date).unwrap_or(today);
    let view = View::from_query(query.get("view"));
    let filter = store::CalendarFilter {
        venue_id: query.id("venue"),
        activity_id: query.id("activity"),
        trainer_id: query.id("trainer"),
    };
    let period = Period::around(anchor, view);
    let links = Links::new(&filter);
    let mut conn = state.pool.acquire().await?;
    let (days, count) = period.days(&mut conn, &filter, today, tz, &links).await?;
    let (entries, pager) = if view == View::Day {
        let page: PageRequest<OffsetDateTime> = PageRequest::from_query(&query, Order::Ascending);
        let (from, until) = period.instants(tz);
        let rows = store::day_page(&mut conn, &page, from, until, &filter).await?;
        let page = page.finish(rows, |r| Cursor::new(r.starts_at, r.id.0), "/admin/sessions", &query);
        (page.rows.into_iter().map(|r| entry(r, tz)).collect(), page.pager)
    } else {
        (Vec::new(), Pager::default())
    };
    let choices = store::filter_choices(&mut conn).await?;
    render(&CalendarPage {
        prev: links.to(view, period.prev),
        next: links.to(view, period.next),
        this_period: links.to(view, today),
        this_label: view.this(),
        views: View::ALL
            .iter()
            .map(|&v| ViewLink { label: v.label(), href: links.to(v, anchor), current: v == view })
            .collect(),
        anchor: anchor.to_string(),
        view,
        title: period.title,
        days: if view == View::Day { Vec::new() } else { days },
        entries,
        pager,
        venues: picks(choices.venues, filter.venue_id),
        activities: picks(choices.activities, filter.activity_id),
        trainers: picks(choices.trainers, filter.trainer_id),
        count,
        ctx,
    })
}

/// The days the calendar shows: a day, a week from Monday, or whole weeks covering a month.
struct Period {
    view: View,
    first_shown: Date,
    last_shown: Date,
    /// The day, week or month itself (a month view also shows the edges of its first
    /// and last weeks, greyed).
    range: (Date, Date),
    prev: Date,
    next: Date,
    title: String,
}

impl Period {
    fn around(anchor: Date, view: View) -> Self {
        match view {
            View::Month => Self::month(anchor),
            View::Week => {
                let monday = monday_of(anchor);
                let sunday = monday + Duration::days(6);
                Period {
                    view,
                    first_shown: monday,
                    last_shown: sunday,
                    range: (monday, sunday),
                    prev: monday - Duration::days(7),
                    next: monday + Duration::days(7),
                    title: format!("Week of {} {} {}", monday.day(), monday.month(), monday.year()),
                }
            }
            View::Day => Period {
                view,
                first_shown: anchor,
                last_shown: anchor,
                range: (anchor, anchor),
                prev: anchor.previous_day().unwrap_or(anchor),
                next: anchor.next_day().unwrap_or(anchor),
                title: format!("{} {} {} {}", anchor.weekday(), anchor.day(), anchor.month(), anchor.year()),
            },
        }
    }

    fn month(anchor: Date) -> Self {
        let first = anchor.replace_day(1).unwrap_or(anchor);
        let next_month = if first.month() == Month::December {
            Date::from_calendar_date(first.year() + 1, Month::January, 1)
        } else {
            Date::from_calendar_date(first.year(), first.month().next(), 1)
        }
        .unwrap_or(first);
        let last = next_month - Duration::days(1);
        Period {
            view: View::Month,
            first_shown: monday_of(first),
            last_shown: monday_of(last) + Duration::days(6),
            range: (first, last),
            prev: (first - Duration::days(1)).replace_day(1).unwrap_or(first),
            next: next_month,
            title: format!("{} {}", first.month(), first.year()),
        }
    }

    fn in_range(&self, date: Date) -> bool {
        date >= self.range.0 && date <= self.range.1
    }

    /// The instants the days shown start and end at, in the provider's zone.
    fn instants(&self, tz: &time_tz::Tz) -> (OffsetDateTime, OffsetDateTime) {
        let from = crate::clock::start_of_day(self.first_shown, tz);
        (from, crate::clock::start_of_day(self.last_shown + Duration::days(1), tz))
    }

    /// Every day shown with its counts (and, in the week view, its first sessions), and
    /// how many sessions the period itself holds.
    async fn days(
        &self,
        conn: &mut sqlx::PgConnection,
        filter: &store::CalendarFilter,
        today: Date,
        tz: &time_tz::Tz,
        links: &Links,
    ) -> AppResult<(Vec<Day>, usize)> {
        let (from, until) = self.instants(tz);
        let per_day = if self.view == View::Week { store::WEEK_DAY_LIMIT } else { 0 };
        let facts = store::days(&mut *conn, from, until, tz.name(), filter, per_day).await?;
        let count = facts.iter().filter(|f| self.in_range(f.day)).count();
        let mut days: Vec<Day> = Vec::new();
        let mut date = self.first_shown;
        while date <= self.last_shown {
            let on_day = facts.iter().filter(|f| f.day == date);
            days.push(Day {
                label: format!(
                    "{} {} {}",
                    &date.weekday().to_string()[..3],
                    date.day(),
                    &date.month().to_string()[..3]
                ),
                is_today: date == today,
                in_range: self.in_range(date),
                href: links.to(View::Day, date),
                sessions: on_day.clone().count(),
                to_staff: on_day.clone().filter(|f| needs_staff(f)).count(),
                cancelled: on_day.filter(|f| f.status == SessionStatus::Cancelled).count(),
                entries: Vec::new(),
                more: 0,
            });
            date += Duration::days(1);
        }
        for row in facts.into_iter().filter_map(|f| f.shown) {
            let offset = (row.starts_at.to_timezone(tz).date() - self.first_shown).whole_days();
            if let Some(day) = usize::try_from(offset).ok().and_then(|i| days.get_mut(i)) {
                day.entries.push(entry(row, tz));
            }
        }
        for day in &mut days {
            day.more = day.sessions.saturating_sub(day.entries.len());
        }
        Ok((days, count))
    }
}

// Creating a session or a series ------------------------------------------------------------

#[derive(Template)]
#[template(path = "sessions/new.html")]
pub struct NewPage {
    pub ctx: PageContext,
    /// Creating a series (with its repeat) rather than one session.
    pub series: bool,
    pub form: SeriesForm,
    pub activities: Vec<Pick>,
    pub venues: Vec<Pick>,
    pub weekdays: Vec<(&'static str, &'static str)>,
    pub errors: FormErrors,
}

impl NewPage {
    pub fn action(&self) -> &'static str {
        if self.series { "/admin/series/new" } else { "/admin/sessions/new" }
    }

    pub fn end_is_count(&self) -> bool {
        self.form.end == "count"
    }
}

async fn new_page(
    state: &AppState,
    ctx: PageContext,
    series: bool,
    form: SeriesForm,
    errors: FormErrors,
) -> AppResult<NewPage> {
    let mut conn = state.pool.acquire().await?;
    let activity = form.session.activity.parse().ok();
    let venue = form.session.venue.parse().ok();
    Ok(NewPage {
        ctx,
        series,
        activities: picks(store::activity_choices(&mut conn).await?, activity),
        venues: picks(store::venue_choices(&mut conn).await?, venue),
        weekdays: WEEKDAYS.iter().map(|(_, code, label)| (*code, *label)).collect(),
        form,
        errors,
    })
}

pub async fn new_session_form(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    render(&new_page(&state, ctx, false, SeriesForm::default(), FormErrors::default()).await?)
}

pub async fn new_series_form(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let form = SeriesForm { every_weeks: "1".into(), end: "until".into(), ..Default::default() };
    render(&new_page(&state, ctx, true, form, FormErrors::default()).await?)
}

/// The activity's defaults, and a field error when the activity or venue cannot be used.
async fn checked_defaults(
    conn: &mut sqlx::PgConnection,
    fields: &SessionFields,
    errors: &mut FormErrors,
) -> AppResult<Option<store::ActivityDefaults>> {
    let defaults = match fields.activity.trim().parse::<i64>() {
        Ok(id) => store::activity_defaults(conn, id).await?.filter(|a| a.is_active),
        Err(_) => None,
    };
    if defaults.is_none() && !fields.activity.trim().is_empty() {
        errors.add("activity", "Choose an activity that is offered.");
    }
    if let Ok(id) = fields.venue.trim().parse::<crate::ids::VenueId>()
        && !store::venue_is_active(conn, id).await?
    {
        errors.add("venue", "Choose a venue in use.");
    }
    Ok(defaults)
}

pub async fn create_session(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Form(fields): Form<SessionFields>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let tz = state.config.timezone;
    let form = SeriesForm { session: fields, ..Default::default() };
    let mut errors = FormErrors::default();
    let mut tx = state.pool.begin().await?;
    let defaults = checked_defaults(&mut tx, &form.session, &mut errors).await?;
    let plan = form.session.parse_into(&mut errors, defaults.as_ref().map(|d| d.default_duration_minutes));
    let (Some(plan), Some(defaults)) = (plan, defaults) else {
        return render_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &new_page(&state, ctx, false, form, errors).await?,
        );
    };
    if !errors.is_empty() {
        return render_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &new_page(&state, ctx, false, form, errors).await?,
        );
    }
    let (id, starts_at) = actions::create_session(&mut tx, admin.0.id.0, &plan, &defaults, tz).await?;
    let message = format!("Session added for {}.", fmt::day_time(starts_at, tz));
    flash::done(tx, &session, message, &format!("/admin/sessions/{id}")).await
}

/// The series form's fields, in the order their errors are told.
const SERIES_FIELDS: [&str; 14] = [
    "name",
    "activity",
    "venue",
    "date",
    "start_time",
    "duration_minutes",
    "capacity",
    "price",
    "notes",
    "weekday",
    "every_weeks",
    "until",
    "count",
    "holidays",
];

pub async fn create_series(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    form::Form(form): form::Form<SeriesForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let tz = state.config.timezone;
    let mut errors = FormErrors::default();
    let mut tx = state.pool.begin().await?;
    let defaults = checked_defaults(&mut tx, &form.session, &mut errors).await?;
    let parsed = form.parse(defaults.as_ref().map(|d| d.default_duration_minutes));
    let (plan, defaults) = match (parsed, defaults) {
        (Ok(plan), Some(defaults)) if errors.is_empty() => (plan, defaults),
        (parsed, _) => {
            if let Err(more) = parsed {
                for field in SERIES_FIELDS {
                    if let Some(message) = more.get(field) {
                        errors.add(field, message.to_owned());
                    }
                }
            }
            return render_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &new_page(&state, ctx, true, form, errors).await?,
            );
        }
    };
    actions::create_series(&mut tx, admin.0.id.0, &plan, &defaults, tz).await?;
    let message = format!("{}: {} sessions added.", plan.name, plan.dates.len());
    flash::done(tx, &session, message, &format!("/admin/sessions?week={}", plan.session.date)).await
}

// One session --------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "sessions/show.html")]
pub struct ShowPage {
    pub ctx: PageContext,
    pub s: store::SessionRow,
    pub when: String,
    pub price: String,
    pub staffing: String,
    pub staffing_css: &'static str,
    pub staffing_state: Staffing,
    pub needed: i64,
    pub bookings: usize,
    pub shifts: Vec<staffing::ShiftLine>,
    /// The first open shift, which assigning or offering fills.
    pub open_shift: Option<ShiftId>,
    /// Each role's form value and label.
    pub roles: Vec<(&'static str, &'static str)>,
    pub suggestions: Vec<staffing::Suggestion>,
    pub trainers: Vec<Pick>,
    /// Which form the errors belong to, and what was typed there.
    pub failed_form: &'static str,
    pub reason: String,
    pub staff: staffing::AssignForm,
    pub errors: FormErrors,
    /// Places the office holds on the session (provisional holds) that still count.
    pub holds: Vec<crate::inquiries::views::HoldLine>,
    pub held_places: i32,
}

impl ShowPage {
    pub fn is_scheduled(&self) -> bool {
        self.s.status == SessionStatus::Scheduled
    }

    pub fn is_fully_staffed(&self) -> bool {
        self.staffing_state == Staffing::Full
    }

    pub fn is_unstaffed(&self) -> bool {
        self.staffing_state == Staffing::Unstaffed
    }
}

pub async fn show_page(state: &AppState, ctx: PageContext, id: SessionId) -> AppResult<ShowPage> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let s = store::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let bookings = store::bookings_on(&mut conn, id).await?.len();
    let shifts = staffing::shift_lines(&mut conn, id).await?;
    let held = shifts.iter().filter(|l| l.held()).count() as i64;
    let leads = shifts.iter().filter(|l| l.held() && l.role == ShiftRole::Lead).count() as i64;
    let needed = domain::trainers_needed(s.places_taken, s.children_per_trainer);
    let staffing = Staffing::of(needed, held, leads);
    let suggestions = if s.status == SessionStatus::Scheduled && staffing != Staffing::Full {
        staffing::suggestions(&mut conn, &s, tz).await?
    } else {
        Vec::new()
    };
    let now = time::OffsetDateTime::now_utc();
    let holds: Vec<_> = crate::inquiries::store::holds_on_session(&mut conn, id)
        .await?
        .into_iter()
        .map(|h| crate::inquiries::views::HoldLine::of(h, tz, now))
        .collect();
    Ok(ShowPage {
        held_places: holds.iter().map(|h| h.hold.places).sum(),
        holds,
        ctx,
        when: format!("{}–{}", fmt::day_time(s.starts_at, tz), fmt::time_of_day(s.ends_at, tz)),
        price: fmt::pounds(i64::from(s.price_pence)),
        staffing: staffing.label(),
        staffing_css: staffing.css(),
        staffing_state: staffing,
        needed,
        bookings,
        open_shift: shifts
            .iter()
            .find(|l| l.status == crate::shifts::domain::ShiftStatus::Open)
            .map(|l| l.id),
        roles: ShiftRole::ALL.iter().map(|r| (r.key(), r.label())).collect(),
        shifts,
        suggestions,
        trainers: picks(store::trainer_choices(&mut conn).await?, None),
        failed_form: "",
        reason: String::new(),
        staff: staffing::AssignForm { role: "lead".into(), ..Default::default() },
        errors: FormErrors::default(),
        s,
    })
}

pub async fn show(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    Path(id): Path<SessionId>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    render(&show_page(&state, ctx, id).await?)
}

// Editing --------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "sessions/edit.html")]
pub struct EditPage {
    pub ctx: PageContext,
    pub s: store::SessionRow,
    pub when: String,
    pub form: EditForm,
    pub venues: Vec<Pick>,
    pub following: usize,
    pub errors: FormErrors,
}

async fn edit_page(
    state: &AppState,
    ctx: PageContext,
    s: store::SessionRow,
    form: EditForm,
    errors: FormErrors,
) -> AppResult<EditPage> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let following = store::following_count(&mut conn, &s).await?;
    Ok(EditPage {
        ctx,
        when: fmt::day_time(s.starts_at, tz),
        venues: picks(store::venue_choices(&mut conn).await?, form.venue.parse().ok()),
        following: usize::try_from(following).unwrap_or(1),
        form,
        errors,
        s,
    })
}

pub async fn edit_form(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    Path(id): Path<SessionId>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let s = store::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let local = s.starts_at.to_timezone(tz);
    let form = EditForm {
        date: local.date().to_string(),
        start_time: fmt::time_of_day(s.starts_at, tz),
        end_time: fmt::time_of_day(s.ends_at, tz),
        venue: s.venue_id.to_string(),
        capacity: s.capacity.to_string(),
        scope: "this".into(),
    };
    drop(conn);
    render(&edit_page(&state, ctx, s, form, FormErrors::default()).await?)
}

/// `Save`: one session, or it and the following ones of its series (see `actions::update`).
pub async fn update(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<SessionId>,
    Form(form): Form<EditForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let mut tx = state.pool.begin().await?;
    let s = store::find_locked(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if s.status != SessionStatus::Scheduled {
        flash::push(&session, FlashKind::Error, "Only a scheduled session can be changed.").await?;
        return Ok(Redirect::to(&format!("/admin/sessions/{id}")).into_response());
    }
    let refused = match form.parse(s.starts_at.to_timezone(state.config.timezone).date()) {
        Err(errors) => errors,
        Ok(edit) => match actions::update(&state, &mut tx, admin.0.id.0, &s, &edit).await? {
            Ok(1) => {
                return flash::done(tx, &session, "Session saved.", &format!("/admin/sessions/{id}")).await;
            }
            Ok(changed) => {
                let message = format!("This and the {} following sessions are saved.", changed - 1);
                return flash::done(tx, &session, message, &format!("/admin/sessions/{id}")).await;
            }
            Err((field, message)) => {
                let mut errors = FormErrors::default();
                errors.add(field, message);
                errors
            }
        },
    };
    drop(tx);
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &edit_page(&state, ctx, s, form, refused).await?)
}

// Staffing -------------------------------------------------------------------------------------

/// `POST /admin/sessions/{id}/shifts`: assign, offer or publish (see `staffing::staff`).
pub async fn staff(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<SessionId>,
    Form(form): Form<staffing::AssignForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let refused = match form.parse() {
        Err(refused) => refused,
        Ok(request) => {
            let mut tx = state.pool.begin().await?;
            match staffing::staff(&state, &mut tx, admin.0.id.0, id, &request).await? {
                Ok(staffed) => {
                    return flash::done(tx, &session, staffed.message(), &format!("/admin/sessions/{id}"))
                        .await;
                }
                Err(refused) => refused,
            }
        }
    };
    let mut page = show_page(&state, ctx, id).await?;
    page.failed_form = "staff";
    page.staff = form;
    page.errors.add(refused.field, refused.message);
    render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// `POST /admin/shifts/{id}/cancel`: takes a shift off the session.
pub async fn cancel_shift(
    State(state): State<AppState>,
    admin: Admin,
    session: Session,
    Path(id): Path<ShiftId>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let mut tx = state.pool.begin().await?;
    let session_id = staffing::cancel_shift(&state, &mut tx, admin.0.id.0, id).await?;
    flash::done(tx, &session, "Shift removed.", &format!("/admin/sessions/{session_id}")).await
}

// Cancelling -----------------------------------------------------------------------------------

/// The cancel forms: the reason sent to families.
#[derive(Debug, Default, Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    pub reason: String,
}

pub async fn cancel(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<SessionId>,
    Form(form): Form<ReasonForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let typed = form.reason.trim().to_owned();
    let reason = match crate::bookings::domain::parse_reason(&typed) {
        Ok(reason) => reason,
        Err(message) => {
            let mut page = show_page(&state, ctx, id).await?;
            page.failed_form = "cancel";
            page.reason = typed;
            page.errors.add("reason", message);
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let mut tx = state.pool.begin().await?;
    let s = store::find_locked(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if s.status != SessionStatus::Scheduled {
        flash::push(&session, FlashKind::Error, "Only a scheduled session can be cancelled.").await?;
        return Ok(Redirect::to(&format!("/admin/sessions/{id}")).into_response());
    }
    let mut card_refunds = Vec::new();
    let cancelled =
        super::cancellation::cancel_session(&state, &mut tx, &admin.0, &s, &reason, &mut card_refunds)
            .await?;
    tx.commit().await?;
    crate::payments::cancellation::settle(&state, &card_refunds).await;
    let message = format!("Session cancelled. {cancelled} booking(s) cancelled and the families emailed.");
    flash::push(&session, FlashKind::Success, message).await?;
    Ok(Redirect::to(&format!("/admin/sessions/{id}")).into_response())
}

// Cancelling the rest of a series ----------------------------------------------------------

pub struct RestLine {
    pub id: SessionId,
    pub when: String,
    pub booked: i32,
}

#[derive(Template)]
#[template(path = "sessions/cancel_series.html")]
pub struct CancelSeriesPage {
    pub ctx: PageContext,
    pub s: store::SessionRow,
    pub rest: Vec<RestLine>,
    pub reason: String,
    pub errors: FormErrors,
}

async fn cancel_series_page(
    state: &AppState,
    ctx: PageContext,
    id: SessionId,
    reason: String,
    errors: FormErrors,
) -> AppResult<CancelSeriesPage> {
    let tz = state.config.timezone;
    let mut tx = state.pool.begin().await?;
    let s = store::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let rest = if s.series_id.is_some() && s.status == SessionStatus::Scheduled {
        store::this_and_following(&mut tx, &s).await?
    } else {
        Vec::new()
    };
    drop(tx);
    let rest = rest
        .into_iter()
        .map(|r| RestLine { id: r.id, when: fmt::day_time(r.starts_at, tz), booked: r.places_taken })
        .collect();
    Ok(CancelSeriesPage { ctx, s, rest, reason, errors })
}

pub async fn cancel_series_form(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    Path(id): Path<SessionId>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    render(&cancel_series_page(&state, ctx, id, String::new(), FormErrors::default()).await?)
}

/// Cancels this session and every later scheduled one of its series, each through the
/// same path as a single cancellation, in one transaction.
pub async fn cancel_series(
    State(state): State<AppState>,
    admin: Admin,
    ctx: PageContext,
    session: Session,
    Path(id): Path<SessionId>,
    Form(form): Form<ReasonForm>,
) -> AppResult<Response> {
    admin.require(EDITORS)?;
    let typed = form.reason.trim().to_owned();
    let reason = match crate::bookings::domain::parse_reason(&typed) {
        Ok(reason) => reason,
        Err(message) => {
            let mut errors = FormErrors::default();
            errors.add("reason", message);
            let page = cancel_series_page(&state, ctx, id, typed, errors).await?;
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let mut tx = state.pool.begin().await?;
    let s = store::find_locked(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let mut card_refunds = Vec::new();
    let ended =
        actions::cancel_rest_of_series(&state, &mut tx, &admin.0, &s, &reason, &mut card_refunds).await?;
    let Some(ended) = ended else {
        flash::push(&session, FlashKind::Error, "Only a scheduled session of a series can end its series.")
            .await?;
        return Ok(Redirect::to(&format!("/admin/sessions/{id}")).into_response());
    };
    tx.commit().await?;
    crate::payments::cancellation::settle(&state, &card_refunds).await;
    let message = format!(
        "{} session(s) cancelled. {} booking(s) cancelled or changed and the families emailed.",
        ended.sessions, ended.bookings
    );
    flash::push(&session, FlashKind::Success, message).await?;
    Ok(Redirect::to(&format!("/admin/sessions/{id}")).into_response())
}
