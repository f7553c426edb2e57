//! The public catalogue: `/courses` (bookable sessions by course, filtered by course,
//! venue and month, paged), a session's page, and `Book`, which sends a visitor to
//! sign in (and back) and a customer on to the booking flow. No sign-in needed; each
//! page has its own title, description, canonical link and schema.org Event markup.

use askama::Template;
use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use time_tz::OffsetDateTimeExt;

use super::{
    domain::{self, Filter},
    store::{self, CourseSession, Narrowed},
};
use crate::{
    AppState,
    auth::Role,
    clock,
    error::{AppError, AppResult},
    ids::{ActivityId, SessionId},
    web::{
        Choice, PageContext, Path, fmt,
        form::{Fields, QueryFields, render},
        page::{Order, PageRequest, Pager},
    },
};

/// One session, in the words and machine-readable values the page shows.
pub struct Line {
    pub id: SessionId,
    pub activity_id: ActivityId,
    pub course: String,
    pub date: String,
    pub times: String,
    pub starts_iso: String,
    pub ends_iso: String,
    pub venue: String,
    pub address: String,
    pub price: String,
    /// `75.00`, as schema.org's `price` wants it.
    pub price_decimal: String,
    pub currency: String,
    pub places_left: i32,
    pub capacity: i32,
}

impl Line {
    fn of(s: &CourseSession, tz: &time_tz::Tz) -> Self {
        let iso = |at: OffsetDateTime| at.to_timezone(tz).format(&Rfc3339).unwrap_or_default();
        let address = [s.venue_address.as_str(), s.venue_postcode.as_str()]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        Self {
            id: s.id,
            activity_id: s.activity_id,
            course: s.course.clone(),
            date: fmt::long_date(s.starts_at, tz),
            times: format!("{}–{}", fmt::time_of_day(s.starts_at, tz), fmt::time_of_day(s.ends_at, tz)),
            starts_iso: iso(s.starts_at),
            ends_iso: iso(s.ends_at),
            venue: s.venue.clone(),
            address,
            price: fmt::pounds(i64::from(s.price_pence)),
            price_decimal: format!("{}.{:02}", s.price_pence / 100, s.price_pence % 100),
            currency: s.currency.clone(),
            places_left: s.places_left,
            capacity: s.capacity,
        }
    }

    pub fn is_full(&self) -> bool {
        self.places_left <= 0
    }

    /// "3 places left", "1 place left", "Full".
    pub fn places_words(&self) -> String {
        match self.places_left {
            n if n <= 0 => "Full".to_owned(),
            1 => "1 place left".to_owned(),
            n => format!("{n} places left"),
        }
    }
}

/// A course's sessions on this page, under its heading.
pub struct Group {
    pub activity_id: ActivityId,
    pub course: String,
    pub summary: String,
    pub sessions: Vec<Line>,
}

#[derive(Template)]
#[template(path = "courses/index.html")]
pub struct IndexPage {
    pub ctx: PageContext,
    pub title: String,
    pub description: String,
    pub canonical: String,
    pub groups: Vec<Group>,
    pub courses: Vec<Choice>,
    pub venues: Vec<Choice>,
    pub months: Vec<Choice>,
    pub filtered: bool,
    pub pager: Pager,
}

/// The first sentence (or 160 characters) of a description, for a summary.
fn summary(text: &str, max: usize) -> String {
    let text = text.trim();
    let sentence = text.find(". ").map_or(text, |end| &text[..=end]);
    if sentence.chars().count() <= max {
        return sentence.to_owned();
    }
    let cut: String = sentence.chars().take(max - 1).collect();
    format!("{}…", cut.trim_end())
}

/// Sessions in date order, gathered under their course in the order courses first come.
fn group(rows: Vec<CourseSession>, tz: &time_tz::Tz) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for row in rows {
        let line = Line::of(&row, tz);
        match groups.iter_mut().find(|g| g.activity_id == row.activity_id) {
            Some(g) => g.sessions.push(line),
            None => groups.push(Group {
                activity_id: row.activity_id,
                course: row.course,
                summary: summary(&row.description, 200),
                sessions: vec![line],
            }),
        }
    }
    groups
}

pub async fn index(
    State(state): State<AppState>,
    ctx: PageContext,
    QueryFields(query): QueryFields,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let filter = Filter::from_query(&query);
    let range = filter.month.map(|m| m.range(tz));
    let narrowed = Narrowed {
        course: filter.course,
        venue: filter.venue,
        from: range.map(|r| r.0),
        until: range.map(|r| r.1),
    };
    let request = PageRequest::from_query(&query, Order::Ascending);
    let mut conn = state.pool.acquire().await?;
    let rows = store::page(&mut conn, &request, &narrowed).await?;
    let options = store::filter_options(&mut conn).await?;
    drop(conn);

    let kept = Fields::parse(filter.query_string().as_bytes());
    let page =
        request.finish(rows, |s| crate::web::page::Cursor::new(s.starts_at, s.id.0), "/courses", &kept);
    let choices = |kind: &str, chosen: Option<i64>| -> Vec<Choice> {
        options
            .iter()
            .filter(|o| o.kind == kind)
            .map(|o| Choice::new(o.id.to_string(), o.name.clone(), chosen == Some(o.id)))
            .collect()
    };
    let courses = choices("course", filter.course.map(|c| c.0));
    let venues = choices("venue", filter.venue.map(|v| v.0));
    let months = domain::months_from(clock::today(tz))
        .into_iter()
        .map(|m| Choice::new(m.key(), m.label(), filter.month == Some(m)))
        .collect();
    let title = index_title(&filter, &courses, &venues);
    let canonical = canonical(&state, "/courses", &query, &filter);
    let description = format!(
        "{title}: dates, times, venues, prices and places left, and booking online. Ask us about group bookings."
    );
    render(&IndexPage {
        ctx,
        title,
        description,
        canonical,
        groups: group(page.rows, tz),
        courses,
        venues,
        months,
        filtered: !filter.is_empty(),
        pager: page.pager,
    })
}

/// "First Aid at Work courses at Leeds in January 2027", from what is chosen.
fn index_title(filter: &Filter, courses: &[Choice], venues: &[Choice]) -> String {
    let chosen = |list: &[Choice]| list.iter().find(|c| c.selected).map(|c| c.label.clone());
    let mut title = match chosen(courses) {
        Some(course) => format!("{course} courses"),
        None => "Upcoming courses".to_owned(),
    };
    if let Some(venue) = chosen(venues) {
        title.push_str(&format!(" at {venue}"));
    }
    if let Some(month) = filter.month {
        title.push_str(&format!(" in {}", month.label()));
    }
    title
}

/// This page's address with only the filters (and cursor) it understood, in one order.
fn canonical(state: &AppState, path: &str, query: &Fields, filter: &Filter) -> String {
    let mut tail = filter.query_string();
    for name in ["after", "before"] {
        if let Some(cursor) = query.get(name) {
            let pair = form_urlencoded::Serializer::new(String::new()).append_pair(name, cursor).finish();
            tail = if tail.is_empty() { pair } else { format!("{tail}&{pair}") };
            break;
        }
    }
    let base = state.config.base_url.trim_end_matches('/');
    if tail.is_empty() { format!("{base}{path}") } else { format!("{base}{path}?{tail}") }
}

#[derive(Template)]
#[template(path = "courses/show.html")]
pub struct ShowPage {
    pub ctx: PageContext,
    pub session: Line,
    pub description: String,
    pub meta_description: String,
    pub canonical: String,
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    Path(id): Path<SessionId>,
) -> AppResult<Response> {
    let tz = state.config.timezone;
    let mut conn = state.pool.acquire().await?;
    let found = store::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    drop(conn);
    let session = Line::of(&found, tz);
    let meta_description = format!(
        "{} on {}, {} at {}. {}. {}",
        session.course,
        session.date,
        session.times,
        session.venue,
        session.price,
        summary(&found.description, 90)
    );
    let base = state.config.base_url.trim_end_matches('/');
    render(&ShowPage {
        canonical: format!("{base}/courses/{id}"),
        ctx,
        session,
        description: found.description,
        meta_description: meta_description.trim().to_owned(),
    })
}

/// `Book`: a visitor signs in (or signs up) and comes back here; a customer goes on to
/// the session's booking page; staff to the session's page in the office.
pub async fn book(ctx: PageContext, Path(id): Path<SessionId>) -> AppResult<Response> {
    let to = match ctx.user.as_ref().map(|u| u.role) {
        None => format!("/login?next=/courses/{id}/book"),
        Some(Role::Parent) => format!("/parent/sessions/{id}"),
        Some(Role::Admin) => format!("/admin/sessions/{id}"),
        Some(Role::Trainer) => format!("/courses/{id}"),
    };
    Ok(Redirect::to(&to).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_is_the_first_sentence_or_shortened() {
        assert_eq!(summary("Learn CPR. Then more.", 200), "Learn CPR.");
        assert_eq!(summary("  No full stop  ", 200), "No full stop");
        let long = "a".repeat(300);
        assert_eq!(summary(&long, 10).chars().count(), 10);
    }
}
