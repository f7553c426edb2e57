//! What Portico hands out, read back by the tools people open it with: CSV exports as
//! a spreadsheet reads them, calendar feeds as a calendar app parses them, and the
//! public forms as a script hammering them sees them.

use icalendar::{Calendar, Component, EventLike, EventStatus};
use time::{Date, OffsetDateTime, format_description::well_known::Rfc3339, macros::format_description};
use time_tz::OffsetDateTimeExt;

use crate::common::{
    TestApp, TestClient,
    fixtures::{activity, book, child, parent, session, shift, trainer},
    spawn_app, spawn_app_with,
};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The CSV at `path`: checked to start with the byte-order mark, then parsed.
async fn csv_export(client: &TestClient, path: &str) -> (Vec<String>, Vec<csv::StringRecord>) {
    let response = client.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(BOM), "{path} starts with the UTF-8 byte-order mark");
    assert!(!bytes[BOM.len()..].starts_with(BOM), "{path} has one mark");
    let mut reader = csv::Reader::from_reader(&bytes[BOM.len()..]);
    let header = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = reader.records().map(|r| r.expect("a well-formed UTF-8 row")).collect();
    (header, rows)
}

/// `cell` as an ISO 8601 instant whose offset is the provider's at that instant.
fn instant_in_london(cell: &str) -> OffsetDateTime {
    let at = OffsetDateTime::parse(cell, &Rfc3339).unwrap_or_else(|e| panic!("{cell:?} is ISO 8601: {e}"));
    let london = time_tz::timezones::db::europe::LONDON;
    assert_eq!(at.offset(), at.to_timezone(london).offset(), "{cell} is in the provider's zone");
    assert!(at.year() >= 2000, "{cell} has its year");
    at
}

fn column(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no {name:?} in {header:?}"))
}

fn plain_decimal(cell: &str) {
    let (pounds, pence) = cell.split_once('.').unwrap_or_else(|| panic!("{cell:?} is a decimal"));
    assert!(pounds.trim_start_matches('-').parse::<u64>().is_ok() && pence.len() == 2, "{cell:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_export_opens_in_a_spreadsheet_with_its_dates_and_money_readable() {
    let app = spawn_app().await;
    // The demo's "Football 5–8s" has the en dash Excel garbles without the mark.
    app.seed_demo().await;
    let owner = app.client();
    assert_eq!(owner.login("admin@portico.test", portico::demo::DEMO_PASSWORD).await.status(), 303);

    let (header, rows) = csv_export(&owner, "/admin/bookings.csv").await;
    assert_eq!(
        header,
        [
            "Booking",
            "Status",
            "Parent",
            "Children",
            "Activity",
            "First session",
            "Sessions",
            "Total (£)",
            "Received"
        ]
    );
    assert!(!rows.is_empty());
    assert!(rows.iter().any(|r| &r[4] == "Football 5–8s"), "the en dash survives");
    assert!(rows.iter().any(|r| &r[1] == "Waiting for approval"), "statuses in the provider's words");
    for row in &rows {
        instant_in_london(&row[column(&header, "First session")]);
        instant_in_london(&row[column(&header, "Received")]);
        plain_decimal(&row[column(&header, "Total (£)")]);
    }

    let (header, rows) = csv_export(&owner, "/admin/payments.csv").await;
    assert_eq!(&header[..3], ["Payment", "Date", "Booking"]);
    let (lines, totals): (Vec<_>, Vec<_>) = rows.iter().partition(|r| &r[0] != "total");
    assert!(!lines.is_empty() && totals.len() == 1);
    for row in lines {
        instant_in_london(&row[column(&header, "Date")]);
        for money in ["Amount (£)", "Refunded (£)", "Net (£)"] {
            plain_decimal(&row[column(&header, money)]);
        }
    }

    let (header, rows) = csv_export(&owner, "/admin/timesheets.csv?from=2000-01-03&to=2100-01-04").await;
    assert_eq!(header, ["Trainer", "Email", "Week starting", "Hours", "Rate (£ an hour)", "Pay (£)"]);
    assert!(!rows.is_empty(), "the demo has approved timesheets");
    for row in &rows {
        Date::parse(&row[2], format_description!("[year]-[month]-[day]")).expect("an ISO date");
        plain_decimal(&row[5]);
    }
}

fn feed_path(page: &str) -> String {
    let start = page.find("/calendar/").expect("a calendar link on the page");
    let end = page[start..].find(".ics").unwrap() + start + 4;
    page[start..end].to_owned()
}

/// The feed linked from `page` on `client`'s portal, parsed as a calendar app would.
async fn feed(app: &TestApp, client: &TestClient, page: &str) -> Calendar {
    let link = feed_path(&client.get_text(page).await);
    let ics = app.client().get_text(&link).await;
    ics.parse::<Calendar>().unwrap_or_else(|e| panic!("{e}: {ics}"))
}

/// The events of `calendar` as (summary, status, location, url).
fn events(calendar: &Calendar) -> Vec<(String, Option<EventStatus>, String, String)> {
    calendar
        .events()
        .map(|e| {
            (
                e.get_summary().unwrap_or_default().to_owned(),
                e.get_status(),
                e.get_location().unwrap_or_default().replace("\\,", ","),
                e.get_url().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_family_feed_marks_unconfirmed_places_tentative_and_keeps_cancelled_ones_as_cancelled() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", true, (4, 12), 0).await;
    sqlx::query("update venues set address = 'Park Road', postcode = 'AB1 2CD' where id = $1")
        .bind(football.venue_id)
        .execute(&app.pool)
        .await
        .unwrap();
    let (parent_id, family) = parent(&app, "parent@example.com").await;
    let token = family.csrf_token("/parent").await;
    let names = ["Ann", "Ben", "Cat", "Dan"];
    let mut bookings = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let kid = child(&app.pool, parent_id, name, 7).await;
        let session_id = session(&app.pool, &football, 48 + 24 * i as i64, 10, None).await;
        assert_eq!(book(&family, &token, session_id, &[kid]).await.status(), 303);
        let id: i64 = sqlx::query_scalar("select max(id) from bookings").fetch_one(&app.pool).await.unwrap();
        bookings.push(id);
    }
    let office = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    let page = |id: i64| format!("/admin/bookings/{id}");
    let decided = office.submit(&page(bookings[1]), &format!("{}/approve", page(bookings[1])), &[]).await;
    assert_eq!(decided.status(), 303);
    let changes = office
        .submit(
            &page(bookings[2]),
            &format!("{}/request-changes", page(bookings[2])),
            &[("reason", "Please add a medical note")],
        )
        .await;
    assert_eq!(changes.status(), 303);
    let mine = format!("/parent/bookings/{}", bookings[3]);
    let cancelled = family.submit(&mine, &format!("{mine}/cancel"), &[("reason", "Ill")]).await;
    assert_eq!(cancelled.status(), 303);

    let calendar = feed(&app, &family, "/parent/bookings").await;
    let events = events(&calendar);
    assert_eq!(events.len(), 4, "{events:?}");
    let expected = [
        EventStatus::Tentative, // waiting for approval
        EventStatus::Confirmed,
        EventStatus::Tentative, // changes requested
        EventStatus::Cancelled, // kept so calendar apps take it off
    ];
    for (i, (summary, status, location, url)) in events.iter().enumerate() {
        assert_eq!(summary, &format!("{}: Football", names[i]));
        assert_eq!(status.as_ref(), Some(&expected[i]), "{summary}");
        assert_eq!(location, "Football hall, Park Road, AB1 2CD", "the full address with the postcode");
        assert_eq!(url, &format!("{}/parent/bookings/{}", app.config.base_url, bookings[i]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trainer_feed_links_each_shift_and_keeps_a_cancelled_one_as_cancelled() {
    let app = spawn_app().await;
    let tennis = activity(&app.pool, "Tennis", false, (4, 12), 0).await;
    sqlx::query("update venues set address = 'Court Lane', postcode = 'ZZ9 9ZZ' where id = $1")
        .bind(tennis.venue_id)
        .execute(&app.pool)
        .await
        .unwrap();
    let (trainer_id, coach) = trainer(&app, "coach@example.com", &tennis).await;
    let kept =
        shift(&app.pool, session(&app.pool, &tennis, 24, 10, None).await, Some(trainer_id), "accepted").await;
    let gone =
        shift(&app.pool, session(&app.pool, &tennis, 48, 10, None).await, Some(trainer_id), "accepted").await;
    sqlx::query("update shifts set status = 'cancelled' where id = $1")
        .bind(gone)
        .execute(&app.pool)
        .await
        .unwrap();

    let calendar = feed(&app, &coach, "/trainer/shifts").await;
    let events = events(&calendar);
    assert_eq!(events.len(), 2, "{events:?}");
    for ((_, status, location, url), (id, expected)) in
        events.iter().zip([(kept, EventStatus::Confirmed), (gone, EventStatus::Cancelled)])
    {
        assert_eq!(status.as_ref(), Some(&expected));
        assert_eq!(location, "Tennis hall, Court Lane, ZZ9 9ZZ");
        assert_eq!(url, &format!("{}/trainer/shifts/{id}", app.config.base_url));
    }
}

fn client_from(app: &TestApp, address: &str) -> TestClient {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", address.parse().unwrap());
    TestClient::with_headers(&app.address, headers)
}

/// A valid send of each public form, the `n`th of its kind.
fn public_form(form: &str, n: usize) -> Vec<(&'static str, String)> {
    let email = format!("person{n}@example.com");
    match form {
        "/apply" => vec![
            ("name", "Jo Coach".into()),
            ("email", email),
            ("phone", "07700 900123".into()),
            ("experience", "Saturday football".into()),
        ],
        "/signup" => vec![
            ("name", "Jo Bloggs".into()),
            ("email", email),
            ("phone", "07700 900444".into()),
            ("password", "a long enough password".into()),
            ("password_confirmation", "a long enough password".into()),
            ("accept_terms", "yes".into()),
        ],
        _ => vec![("email", email)],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_public_form_is_throttled_per_client_address_with_a_clear_message() {
    let app = spawn_app_with(&[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    for form in ["/apply", "/signup", "/password/forgot"] {
        let script = client_from(&app, "203.0.113.7");
        for n in 0..10 {
            let fields = public_form(form, n);
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response = script.submit(form, form, &fields).await;
            assert!(response.status().is_success() || response.status() == 303, "{form} #{n}");
        }
        let fields = public_form(form, 10);
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let refused = script.submit(form, form, &fields).await;
        assert_eq!(refused.status(), 429, "{form}: ten an hour from one address");
        let page = refused.text().await.unwrap();
        assert!(
            page.contains("from your address many times")
                || page.contains("We have sent several links already"),
            "{form}: {page}"
        );
        assert!(page.contains("person10@example.com"), "{form}: the form keeps what was typed");
        let neighbour = client_from(&app, "198.51.100.9");
        let response = neighbour.submit(form, form, &fields).await;
        assert!(response.status().is_success() || response.status() == 303, "{form}: another address");
    }
    let applications: i64 =
        sqlx::query_scalar("select count(*) from trainer_applications").fetch_one(&app.pool).await.unwrap();
    assert_eq!(applications, 11, "ten from the script, one from its neighbour");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_sees_likely_duplicate_applications_marked() {
    let app = spawn_app().await;
    let visitor = app.client();
    let sends = [
        ("Jo Coach", "jo@example.com", "07700 900123"),
        ("Sam Swim", "sam@example.com", "07700 900555"),
        ("Jo Coach", "JO@example.com", "07700 900777"), // the same email again
        ("jo coach ", "other@example.com", "07700900123"), // the same name and phone
        ("Kim Court", "kim@example.com", "07700 900123"), // only the phone is shared
    ];
    for (name, email, phone) in sends {
        let fields = [("name", name), ("email", email), ("phone", phone), ("experience", "Coaching")];
        assert_eq!(visitor.submit("/apply", "/apply", &fields).await.status(), 303, "{email}");
    }
    let ids: Vec<i64> = sqlx::query_scalar("select id from trainer_applications order by id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let office = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    let page = office.get_text("/admin/trainers/applications").await;
    let card = |id: i64| -> &str {
        let start = page.find(&format!(r#"id="application-{id}""#)).unwrap();
        let end = page[start..].find("</section>").unwrap() + start;
        &page[start..end]
    };
    let first = format!(r##"<a href="#application-{}">"##, ids[0]);
    for (i, duplicate) in [false, false, true, true, false].into_iter().enumerate() {
        assert_eq!(card(ids[i]).contains("Likely duplicate"), duplicate, "{}", card(ids[i]));
        if duplicate {
            assert!(card(ids[i]).contains(&first), "points at the first: {}", card(ids[i]));
        }
    }
}
