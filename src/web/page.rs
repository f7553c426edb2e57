//! Keyset pagination for every list: a cursor (the sort key and the id) in the query
//! string, 50 rows a page, and `Next` / `Previous` links that keep the other filters.
//!
//! A store builds its query with [`PageRequest::condition`] and [`PageRequest::order`]
//! (plus `limit` [`FETCH`]) and binds the cursor last with [`PageRequest::bind`]; the
//! handler turns the rows into a [`Page`] with [`PageRequest::finish`], and the template
//! includes `_partials/pager.html` with a field named `pager`. No `OFFSET`: each page
//! starts from an index entry, so page 1,000 costs what page 1 does, and rows inserted
//! between two loads neither repeat nor drop out of the pages already seen.

use sqlx::{Postgres, postgres::PgArguments, query::QueryAs};
use time::{Date, OffsetDateTime};

use super::form::Fields;

/// Rows on one page.
pub const PAGE_SIZE: usize = 50;

/// Rows a page reads: one more than it shows, to know whether there is a next page.
pub const FETCH: usize = PAGE_SIZE + 1;

/// The query-string names of the two cursors of a page's main list.
const AFTER: &str = "after";
const BEFORE: &str = "before";

/// A column a list is sorted by (before its id), written into the query string.
pub trait SortKey:
    Sized + Clone + Send + Sync + 'static + for<'q> sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres>
{
    fn encode_key(&self) -> String;
    fn decode_key(raw: &str) -> Option<Self>;
    /// A key every row's key sorts after: the first page of a list read oldest (or A)
    /// first starts after it, so one literal query serves every page.
    fn lowest() -> Self;
    /// A key every row's key sorts before: the first page of a list read newest first.
    fn highest() -> Self;
}

/// Timestamps travel as whole microseconds since 1970, PostgreSQL's own precision, so a
/// cursor compares equal to the row it came from.
impl SortKey for OffsetDateTime {
    fn encode_key(&self) -> String {
        (self.unix_timestamp_nanos() / 1000).to_string()
    }

    fn decode_key(raw: &str) -> Option<Self> {
        let micros: i128 = raw.parse().ok()?;
        OffsetDateTime::from_unix_timestamp_nanos(micros.checked_mul(1000)?).ok()
    }

    fn lowest() -> Self {
        time::macros::datetime!(0001-01-01 00:00 UTC)
    }

    fn highest() -> Self {
        time::macros::datetime!(9999-12-31 23:59:59.999999 UTC)
    }
}

impl SortKey for Date {
    fn encode_key(&self) -> String {
        self.to_julian_day().to_string()
    }

    fn decode_key(raw: &str) -> Option<Self> {
        Date::from_julian_day(raw.parse().ok()?).ok()
    }

    fn lowest() -> Self {
        time::macros::date!(0001 - 01 - 01)
    }

    fn highest() -> Self {
        time::macros::date!(9999 - 12 - 31)
    }
}

/// Names (lists sorted alphabetically) travel as hex of their UTF-8: exact, with no
/// character the cursor's format or the query string would have to escape.
impl SortKey for String {
    fn encode_key(&self) -> String {
        self.bytes().map(|b| format!("{b:02x}")).collect()
    }

    fn decode_key(raw: &str) -> Option<Self> {
        if !raw.len().is_multiple_of(2) || raw.len() > 2000 {
            return None;
        }
        let bytes: Option<Vec<u8>> =
            (0..raw.len()).step_by(2).map(|i| u8::from_str_radix(raw.get(i..i + 2)?, 16).ok()).collect();
        String::from_utf8(bytes?).ok()
    }

    fn lowest() -> Self {
        String::new()
    }

    /// No text sorts after every other, so lists of names are read A first (a
    /// `Previous` page reads back from a real cursor, never from this).
    fn highest() -> Self {
        "\u{10FFFF}".repeat(8)
    }
}

/// A page's edge: the sort key and the id of its first or last row.
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor<K> {
    pub key: K,
    pub id: i64,
}

impl<K: SortKey> Cursor<K> {
    pub fn new(key: K, id: i64) -> Self {
        Self { key, id }
    }

    fn encode(&self) -> String {
        format!("{}_{}", self.key.encode_key(), self.id)
    }

    /// Anything that is not a cursor this code wrote is `None`: the list starts over.
    fn decode(raw: &str) -> Option<Self> {
        let (key, id) = raw.rsplit_once('_')?;
        Some(Self { key: K::decode_key(key)?, id: id.parse().ok()? })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Newest (or last) first.
    Descending,
    /// Oldest (or A) first.
    Ascending,
}

/// Which page the query string asks for.
#[derive(Clone, Debug)]
pub struct PageRequest<K> {
    order: Order,
    /// The names of this list's `after` and `before` fields: a page with two lists
    /// names the second one's apart, so each pages on its own.
    names: (&'static str, &'static str),
    cursor: Option<Cursor<K>>,
    /// `?before=`: the page that ends just before the cursor (going back).
    backwards: bool,
}

impl<K: SortKey> PageRequest<K> {
    /// `?after=` (the next page) wins over `?before=`; a junk cursor is the first page.
    pub fn from_query(query: &Fields, order: Order) -> Self {
        Self::named(query, order, AFTER, BEFORE)
    }

    /// A second list on a page, paged by its own `after` and `before` fields.
    pub fn named(query: &Fields, order: Order, after: &'static str, before: &'static str) -> Self {
        let names = (after, before);
        let forward = query.get(after).and_then(Cursor::decode);
        let backward = query.get(before).and_then(Cursor::decode);
        match (forward, backward) {
            (Some(c), _) => Self { order, names, cursor: Some(c), backwards: false },
            (None, Some(c)) => Self { order, names, cursor: Some(c), backwards: true },
            (None, None) => Self { order, names, cursor: None, backwards: false },
        }
    }

    pub fn first(order: Order) -> Self {
        Self { order, names: (AFTER, BEFORE), cursor: None, backwards: false }
    }

    /// Whether rows are read in the list's own order (rather than reversed, going back).
    fn reads_forward(&self) -> bool {
        !self.backwards
    }

    /// The cursor's condition, `and (key, id) < ($n, $n+1)` (or nothing on the first
    /// page), for sort column `key` and id column `id`; `n` is the number of the first
    /// parameter [`bind`](Self::bind) adds. The columns are the store's own literals,
    /// never input; a row-value comparison lets PostgreSQL start from an index on
    /// `(key, id)`.
    pub fn condition(&self, key: &str, id: &str, n: usize) -> String {
        match self.cursor {
            Some(_) => {
                format!("and ({key}, {id}) {} (${n}, ${})", if self.ascending() { ">" } else { "<" }, n + 1)
            }
            None => String::new(),
        }
    }

    /// `order by key dir, id dir` in the order rows are read; a store adds
    /// `limit {FETCH}` where it needs one.
    pub fn order(&self, key: &str, id: &str) -> String {
        let dir = if self.ascending() { "asc" } else { "desc" };
        format!("order by {key} {dir}, {id} {dir}")
    }

    fn ascending(&self) -> bool {
        (self.order == Order::Ascending) == self.reads_forward()
    }

    /// Whether this page's rows are read newest (or Z) first: the `<` query of
    /// [`paged!`](crate::web::page::paged) rather than the `>` one.
    pub fn descending(&self) -> bool {
        !self.ascending()
    }

    /// The key the rows read start after: the cursor's, or past every row on a first page.
    pub fn key(&self) -> K {
        match &self.cursor {
            Some(c) => c.key.clone(),
            None if self.ascending() => K::lowest(),
            None => K::highest(),
        }
    }

    /// The id that goes with [`key`](Self::key).
    pub fn id(&self) -> i64 {
        match &self.cursor {
            Some(c) => c.id,
            None if self.ascending() => i64::MIN,
            None => i64::MAX,
        }
    }

    /// Binds the cursor's key and id, when there is one (the parameters of [`condition`](Self::condition)).
    pub fn bind<'q, O>(
        &self,
        query: QueryAs<'q, Postgres, O, PgArguments>,
    ) -> QueryAs<'q, Postgres, O, PgArguments> {
        match &self.cursor {
            Some(c) => query.bind(c.key.clone()).bind(c.id),
            None => query,
        }
    }

    /// Up to [`FETCH`] rows read in [`order`](Self::order) become a page of 50 in the list's order,
    /// with links to `path` that keep every other field of `query`.
    pub fn finish<T>(
        &self,
        mut rows: Vec<T>,
        cursor_of: impl Fn(&T) -> Cursor<K>,
        path: &str,
        query: &Fields,
    ) -> Page<T> {
        let more = rows.len() > PAGE_SIZE;
        rows.truncate(PAGE_SIZE);
        if !self.reads_forward() {
            rows.reverse();
        }
        let first = rows.first().map(&cursor_of);
        let last = rows.last().map(&cursor_of);
        let (after, before) = self.names;
        let link = |name: &str, c: Cursor<K>| Some(href(path, query, self.names, name, &c.encode()));
        let (previous, next) = match (self.cursor.clone(), self.reads_forward()) {
            (None, _) => (None, if more { last.and_then(|c| link(after, c)) } else { None }),
            // Past the end (rows were deleted): back to what lies before the cursor.
            (Some(c), true) if first.is_none() => (link(before, c), None),
            (Some(c), false) if last.is_none() => (None, link(after, c)),
            (Some(_), true) => (
                first.and_then(|c| link(before, c)),
                if more { last.and_then(|c| link(after, c)) } else { None },
            ),
            (Some(_), false) => (
                if more { first.and_then(|c| link(before, c)) } else { None },
                last.and_then(|c| link(after, c)),
            ),
        };
        Page { rows, pager: Pager { previous, next } }
    }
}

/// Reads one page with a query checked at compile time: `paged!(conn, page, Row,
/// "select … where …", "sort column", "id column", filters…)`. The select must end in a
/// `where` clause (`where true` if it has no filter); the macro adds the cursor's
/// condition, the order and `limit 51`, as two whole literal queries (reading down or up).
/// The cursor's key and id are `$1` and `$2`, so the filters are `$3` on. Evaluates to
/// `sqlx::Result<Vec<Row>>`, ready for [`PageRequest::finish`].
macro_rules! paged {
    ($conn:expr, $page:expr, $row:ty, $select:literal, $key:literal, $id:literal $(, $arg:expr)* $(,)?) => {{
        let page = &$page;
        if page.descending() {
            sqlx::query_as!(
                $row,
                $select + " and (" + $key + ", " + $id + ") < ($1, $2) order by " + $key + " desc, " + $id
                    + " desc limit 51",
                page.key(),
                page.id()
                $(, $arg)*
            )
            .fetch_all($conn)
            .await
        } else {
            sqlx::query_as!(
                $row,
                $select + " and (" + $key + ", " + $id + ") > ($1, $2) order by " + $key + " asc, " + $id
                    + " asc limit 51",
                page.key(),
                page.id()
                $(, $arg)*
            )
            .fetch_all($conn)
            .await
        }
    }};
}
pub(crate) use paged;

/// `path?…` with the list's filters as they came and one cursor.
fn href(path: &str, query: &Fields, names: (&str, &str), name: &str, cursor: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in query.pairs().filter(|(k, _)| *k != names.0 && *k != names.1) {
        out.append_pair(k, v);
    }
    out.append_pair(name, cursor);
    format!("{path}?{}", out.finish())
}

/// The `Previous` / `Next` links `_partials/pager.html` shows.
#[derive(Debug, Default)]
pub struct Pager {
    pub previous: Option<String>,
    pub next: Option<String>,
}

pub struct Page<T> {
    pub rows: Vec<T>,
    pub pager: Pager,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { rows: self.rows.into_iter().map(f).collect(), pager: self.pager }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn query(raw: &str) -> Fields {
        Fields::parse(raw.as_bytes())
    }

    #[test]
    fn a_cursor_survives_the_query_string_to_the_microsecond() {
        let c = Cursor::new(datetime!(2026-11-29 10:15:30.123456 UTC), 42);
        assert_eq!(Cursor::<OffsetDateTime>::decode(&c.encode()), Some(c));
        let d = Cursor::new(time::macros::date!(2026 - 02 - 28), 7);
        assert_eq!(Cursor::<Date>::decode(&d.encode()), Some(d));
        let n = Cursor::new("Zoë O'Brien_2 & co".to_owned(), 9);
        assert_eq!(Cursor::<String>::decode(&n.encode()), Some(n));
        assert_eq!(Cursor::<String>::decode("zz_1"), None);
        assert_eq!(Cursor::<String>::decode("c3_1"), None, "not UTF-8");
    }

    #[test]
    fn junk_cursors_are_the_first_page() {
        for junk in ["after=x", "after=1_", "after=_1", "after=99999999999999999999999999999_1", "before=1_x"]
        {
            let page = PageRequest::<OffsetDateTime>::from_query(&query(junk), Order::Descending);
            assert!(page.cursor.is_none(), "{junk}");
        }
    }

    #[test]
    fn the_next_page_reads_on_and_the_previous_reads_back() {
        let next = PageRequest::<Date>::from_query(&query("after=2460000_5"), Order::Descending);
        assert_eq!(next.condition("k", "i", 3), "and (k, i) < ($3, $4)");
        assert_eq!(next.order("k", "i"), "order by k desc, i desc");
        let back = PageRequest::<Date>::from_query(&query("before=2460000_5"), Order::Descending);
        assert_eq!(back.condition("k", "i", 3), "and (k, i) > ($3, $4)");
        assert_eq!(back.order("k", "i"), "order by k asc, i asc");
        let queue = PageRequest::<Date>::from_query(&query("after=2460000_5"), Order::Ascending);
        assert_eq!(queue.condition("k", "i", 1), "and (k, i) > ($1, $2)");
        assert_eq!(PageRequest::<Date>::first(Order::Descending).condition("k", "i", 1), "");
    }

    #[test]
    fn links_keep_the_filters_and_replace_the_cursor() {
        let q = query("status=pending&q=a%26b&after=1_1");
        let page = PageRequest::<OffsetDateTime>::from_query(&q, Order::Descending);
        let rows: Vec<i64> = (1..=51).rev().collect();
        let at = |id: &i64| Cursor::new(OffsetDateTime::UNIX_EPOCH, *id);
        let page = page.finish(rows, at, "/list", &q);
        assert_eq!(page.rows.len(), PAGE_SIZE);
        assert_eq!(page.pager.next.as_deref(), Some("/list?status=pending&q=a%26b&after=0_2"));
        assert_eq!(page.pager.previous.as_deref(), Some("/list?status=pending&q=a%26b&before=0_51"));
    }
}
