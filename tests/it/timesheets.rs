//! Timesheets: a week goes from the trainer to finance and back until it is approved,
//! approved time is locked, time that changes after submitting sends the week back,
//! and payroll pays exactly the approved time.

use std::collections::BTreeMap;

use portico::timesheets::week_of;
use reqwest::Response;
use sqlx::PgPool;
use time::{Date, Duration, OffsetDateTime, macros::format_description};
use time_tz::OffsetDateTimeExt;

use crate::common::{
    TestApp, TestClient,
    client::{csrf_token_in, location},
    fixtures::{activity, count, session_in_minutes, shift},
    spawn_app,
};

/// A signed-in trainer paid `rate_pence` an hour.
async fn trainer(app: &TestApp, email: &str, rate_pence: i32) -> (i64, TestClient) {
    let client = app.signed_in(email, "trainer", None).await;
    let id: i64 = sqlx::query_scalar("update trainer_profiles set hourly_rate_pence = $2
                                      where user_id = (select id from users where email = $1) returning user_id")
        .bind(email)
        .bind(rate_pence)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    (id, client)
}

/// Monday of last week where the provider is: every day of it is in the past.
fn last_week(app: &TestApp) -> Date {
    week_of(OffsetDateTime::now_utc(), app.config.timezone) - Duration::weeks(1)
}

/// Time worked on `day` days after `week`'s Monday, from `from` to `to` London time,
/// as check-in and check-out record it.
async fn worked(pool: &PgPool, trainer_id: i64, week: Date, day: i64, from: &str, to: &str) -> i64 {
    sqlx::query_scalar(
        "insert into time_entries (trainer_id, started_at, ended_at, source, week_start)
         values ($1, ($2::date + $3::text::time) at time zone 'Europe/London',
                 ($2::date + $4::text::time) at time zone 'Europe/London', 'shift', $5)
         returning id",
    )
    .bind(trainer_id)
    .bind(week + Duration::days(day))
    .bind(from)
    .bind(to)
    .bind(week)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The card of `week` on the trainer's timesheets page.
fn week_card(page: &str, week: Date) -> &str {
    let start = page.find(&format!("id=\"week-{week}\"")).unwrap_or_else(|| panic!("no card for {week}"));
    let end = page[start..].find("</section>").map_or(page.len(), |e| start + e);
    &page[start..end]
}

/// The value of the hidden field `name` on `page`.
fn hidden_value(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_owned())
}

/// Finance's Approve form as the timesheet's page shows it now: its fields, to press
/// now or later.
async fn approve_form(finance: &TestClient, id: i64) -> Vec<(String, String)> {
    let page = finance.get_text(&format!("/admin/timesheets/{id}")).await;
    assert!(page.contains(&format!("/admin/timesheets/{id}/approve")), "no Approve button: {page}");
    let submitted_at = hidden_value(&page, "submitted_at").expect("the form says which submission it shows");
    vec![("csrf_token".into(), csrf_token_in(&page).unwrap()), ("submitted_at".into(), submitted_at)]
}

async fn press_approve(finance: &TestClient, id: i64, form: &[(String, String)]) -> Response {
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    finance.post_raw(&format!("/admin/timesheets/{id}/approve"), &fields).await
}

/// Opens timesheet `id` and approves it.
async fn approve(finance: &TestClient, id: i64) -> Response {
    let form = approve_form(finance, id).await;
    press_approve(finance, id, &form).await
}

async fn timesheet_status(pool: &PgPool, id: i64) -> String {
    sqlx::query_scalar("select status from timesheets where id = $1").bind(id).fetch_one(pool).await.unwrap()
}

async fn entry_times(pool: &PgPool, id: i64) -> (OffsetDateTime, OffsetDateTime, String) {
    sqlx::query_as("select started_at, ended_at, reason from time_entries where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timesheet_is_submitted_returned_adjusted_resubmitted_approved_and_then_locked() {
    let app = spawn_app().await;
    let (trainer_id, coach) = trainer(&app, "coach@example.com", 1250).await;
    let week = last_week(&app);
    worked(&app.pool, trainer_id, week, 0, "09:00", "12:30").await;
    let wednesday = worked(&app.pool, trainer_id, week, 2, "14:00", "16:10").await;

    // 3:30 + 2:10 = 340 minutes at £12.50 an hour: 7083.33p, paid as £70.83.
    let page = coach.get_text("/trainer/timesheets").await;
    let card = week_card(&page, week);
    assert!(card.contains("<strong>5:40</strong>") && card.contains("£70.83"), "{card}");
    assert!(card.contains("Not submitted") && card.contains("Submit timesheet"), "{card}");

    let submit_path = format!("/trainer/timesheets/{week}/submit");
    let submitted = coach.submit("/trainer/timesheets", &submit_path, &[]).await;
    assert_eq!(submitted.status(), 303);
    let page = coach.get_text("/trainer/timesheets").await;
    let card = week_card(&page, week);
    assert!(card.contains("Submitted"), "{card}");
    assert!(
        !card.contains("Submit timesheet") && !card.contains("/edit"),
        "a submitted week is locked: {card}"
    );
    let id: i64 = sqlx::query_scalar("select id from timesheets where trainer_id = $1 and week_start = $2")
        .bind(trainer_id)
        .bind(week)
        .fetch_one(&app.pool)
        .await
        .unwrap();

    // Finance sees it waiting, and must say why when returning it.
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let queue = finance.get_text("/admin/timesheets").await;
    assert!(queue.contains(&format!("/admin/timesheets/{id}")) && queue.contains("£70.83"), "{queue}");
    let show = format!("/admin/timesheets/{id}");
    let blank = finance.submit(&show, &format!("{show}/return"), &[("comment", "   ")]).await;
    assert_eq!(blank.status(), 422);
    assert!(blank.text().await.unwrap().contains("Say what the trainer should change"));
    assert_eq!(timesheet_status(&app.pool, id).await, "submitted", "nothing changed");
    let comment = "Wednesday finished at 16:00";
    let returned = finance.submit(&show, &format!("{show}/return"), &[("comment", comment)]).await;
    assert_eq!(returned.status(), 303);
    assert_eq!(location(&returned), show);

    // The trainer reads the comment on the page and in their email.
    let page = coach.get_text("/trainer/timesheets").await;
    let card = week_card(&page, week);
    assert!(card.contains("Returned") && card.contains(comment), "{card}");
    assert!(card.contains("Submit timesheet"), "a returned week may be resubmitted");
    let mail = app.smtp.wait_for(1).await;
    assert!(
        mail.iter().any(|m| m.contains("coach@example.com")
            && m.contains("Timesheet returned")
            && m.contains(comment)),
        "{mail:?}"
    );

    // Adjusting needs a reason; without one the form comes back as typed.
    let edit = format!("/trainer/timesheets/entries/{wednesday}/edit");
    let day = (week + Duration::days(2)).to_string();
    let no_reason = coach
        .submit(&edit, &edit, &[("date", &day), ("start", "14:00"), ("end", "16:00"), ("reason", "")])
        .await;
    assert_eq!(no_reason.status(), 422);
    let body = no_reason.text().await.unwrap();
    assert!(body.contains("Give a reason") && body.contains("value=\"16:00\""), "{body}");
    let reason = "Left at 16:00 as the office asked";
    let adjusted = coach
        .submit(&edit, &edit, &[("date", &day), ("start", "14:00"), ("end", "16:00"), ("reason", reason)])
        .await;
    assert_eq!(adjusted.status(), 303);
    let (started, ended, saved_reason) = entry_times(&app.pool, wednesday).await;
    assert_eq!((ended - started).whole_minutes(), 120);
    assert_eq!(saved_reason, reason);

    let resubmitted = coach.submit("/trainer/timesheets", &submit_path, &[]).await;
    assert_eq!(resubmitted.status(), 303);
    assert_eq!(timesheet_status(&app.pool, id).await, "submitted");

    // The approver sees the reason and the new total: 330 minutes, £68.75.
    let detail = finance.get_text(&show).await;
    assert!(detail.contains(reason) && detail.contains("5:30") && detail.contains("£68.75"), "{detail}");
    let approved = approve(&finance, id).await;
    assert_eq!(approved.status(), 303);
    assert_eq!(timesheet_status(&app.pool, id).await, "approved");
    let mail = app.smtp.wait_for(2).await;
    assert!(
        mail.iter().any(|m| m.contains("coach@example.com") && m.contains("Timesheet approved")),
        "{mail:?}"
    );
    let audited = count(&app.pool, "select count(*) from audit_log where entity_type = 'timesheet'").await;
    assert_eq!(audited, 4, "submitted, returned, resubmitted, approved");

    // Approved time is locked: no edit link, no form, and a forged change is refused.
    let page = coach.get_text("/trainer/timesheets").await;
    let card = week_card(&page, week);
    assert!(
        card.contains("Approved") && !card.contains("/edit") && !card.contains("Submit timesheet"),
        "{card}"
    );
    let locked = coach.get_text(&edit).await;
    assert!(!locked.contains("name=\"reason\"") && locked.contains("approved"), "{locked}");
    let before = entry_times(&app.pool, wednesday).await;
    let token = coach.csrf_token("/trainer/timesheets").await;
    let forged = coach
        .post_raw(
            &edit,
            &[
                ("csrf_token", &token),
                ("date", &day),
                ("start", "08:00"),
                ("end", "18:00"),
                ("reason", "More"),
            ],
        )
        .await;
    assert_eq!(forged.status(), 409);
    assert_eq!(entry_times(&app.pool, wednesday).await, before, "nothing changed");
    let new = "/trainer/timesheets/entries/new";
    let added = coach
        .submit(
            new,
            new,
            &[("date", &week.to_string()), ("start", "18:00"), ("end", "19:00"), ("reason", "Extra")],
        )
        .await;
    assert_eq!(added.status(), 422);
    assert!(added.text().await.unwrap().contains("is approved"));
    assert_eq!(count(&app.pool, "select count(*) from time_entries").await, 2);
    let resubmit = coach.submit("/trainer/timesheets", &submit_path, &[]).await;
    assert_eq!(resubmit.status(), 303);
    assert_eq!(timesheet_status(&app.pool, id).await, "approved", "an approved week stays approved");

    // The database keeps the lock whatever the code does.
    let direct = sqlx::query("update time_entries set ended_at = ended_at + interval '1 hour' where id = $1")
        .bind(wednesday)
        .execute(&app.pool)
        .await
        .unwrap_err();
    let constraint = direct.as_database_error().and_then(|e| e.constraint().map(str::to_owned));
    assert_eq!(constraint.as_deref(), Some("time_entries_locked_when_approved"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payroll_csv_pays_exactly_the_approved_entries_in_the_range() {
    let app = spawn_app().await;
    let (alex, _) = trainer(&app, "alex@example.com", 1250).await;
    let (sam, _) = trainer(&app, "sam@example.com", 1001).await;
    // A name a spreadsheet would run as a formula.
    sqlx::query("update users set name = '=SUM(A1)' where id = $1")
        .bind(sam)
        .execute(&app.pool)
        .await
        .unwrap();
    let w1 = last_week(&app);
    let w2 = w1 - Duration::weeks(1);
    let w3 = w1 - Duration::weeks(2);
    worked(&app.pool, alex, w1, 0, "09:00", "12:30").await;
    worked(&app.pool, alex, w1, 3, "13:07", "14:00").await;
    worked(&app.pool, alex, w2, 1, "10:00", "10:07").await;
    worked(&app.pool, sam, w1, 4, "08:15", "16:40").await;
    worked(&app.pool, sam, w2, 2, "09:00", "09:01").await;
    worked(&app.pool, alex, w3, 0, "09:00", "17:00").await;
    for (trainer_id, week, status) in [
        (alex, w1, "approved"),
        (alex, w2, "approved"),
        (sam, w1, "approved"),
        (sam, w2, "submitted"),
        (alex, w3, "approved"),
    ] {
        // Approved as finance would: with the trainer's rate at that moment.
        sqlx::query(
            "insert into timesheets (trainer_id, week_start, status, submitted_at, hourly_rate_pence)
             select $1, $2, $3, now(), case when $3 = 'approved' then hourly_rate_pence end
             from trainer_profiles where user_id = $1",
        )
        .bind(trainer_id)
        .bind(week)
        .bind(status)
        .execute(&app.pool)
        .await
        .unwrap();
    }

    // Independently: each approved week's minutes × rate / 60, to the nearest penny.
    let approved: Vec<(i64, Date, OffsetDateTime, OffsetDateTime, i32)> = sqlx::query_as(
        "select e.trainer_id, e.week_start, e.started_at, e.ended_at, p.hourly_rate_pence from time_entries e
         join timesheets t on t.trainer_id = e.trainer_id and t.week_start = e.week_start
         join trainer_profiles p on p.user_id = e.trainer_id
         where t.status = 'approved' and t.week_start between $1 and $2",
    )
    .bind(w2)
    .bind(w1)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut weeks: BTreeMap<(i64, Date), (i64, i64)> = BTreeMap::new();
    for (trainer_id, week, started, ended, rate) in approved {
        weeks.entry((trainer_id, week)).or_insert((0, i64::from(rate))).0 +=
            (ended - started).whole_minutes();
    }
    let expected_pence: i64 = weeks.values().map(|(minutes, rate)| (minutes * rate + 30) / 60).sum();
    assert_eq!(weeks.len(), 3);
    assert_eq!(expected_pence, 5479 + 146 + 8425, "263 min at £12.50, 7 at £12.50, 505 at £10.01");

    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let list = finance.get_text("/admin/timesheets").await;
    assert!(list.contains("Export CSV"));
    let response = finance.get(&format!("/admin/timesheets.csv?from={w2}&to={w1}")).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let body = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["Trainer", "Email", "Week starting", "Hours", "Rate (£ an hour)", "Pay (£)"]
    );
    let rows: Vec<Vec<String>> =
        reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    assert_eq!(rows.len(), 3, "{body}");
    let pence = |decimal: &str| -> i64 {
        let (pounds, pennies) = decimal.split_once('.').unwrap();
        pounds.parse::<i64>().unwrap() * 100 + pennies.parse::<i64>().unwrap()
    };
    let csv_total: i64 = rows.iter().map(|r| pence(&r[5])).sum();
    assert_eq!(csv_total, expected_pence, "{body}");
    let alex_row = rows.iter().find(|r| r[1] == "alex@example.com" && r[2] == w1.to_string()).unwrap();
    assert_eq!(alex_row[3..], ["4.38", "12.50", "54.79"]);
    let sam_row = rows.iter().find(|r| r[1] == "sam@example.com").unwrap();
    assert_eq!(sam_row[0], "'=SUM(A1)", "formulas are neutralised");
    assert_eq!(sam_row[3..], ["8.42", "10.01", "84.25"]);

    // The range is required and in order.
    let missing = finance.get("/admin/timesheets.csv?from=&to=").await;
    assert_eq!(missing.status(), 422);
    assert!(missing.text().await.unwrap().contains("Enter the first date."));
    let backwards = finance.get(&format!("/admin/timesheets.csv?from={w1}&to={w2}")).await;
    assert_eq!(backwards.status(), 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_finance_and_owners_see_timesheets() {
    let app = spawn_app().await;
    let csv = "/admin/timesheets.csv?from=2026-01-05&to=2026-12-28";
    for role in ["coordinator", "safeguarding_lead"] {
        let admin = app.signed_in(&format!("{role}@example.com"), "admin", Some(role)).await;
        assert_eq!(admin.get("/admin/timesheets").await.status(), 403, "{role}");
        assert_eq!(admin.get(csv).await.status(), 403, "{role}");
        assert_eq!(admin.get("/admin/timesheets/1").await.status(), 403, "{role}");
        assert!(!admin.get_text("/admin").await.contains("href=\"/admin/timesheets\""), "{role}");
    }
    let (_, coach) = trainer(&app, "coach@example.com", 1000).await;
    assert_eq!(coach.get("/admin/timesheets").await.status(), 403);
    assert!(coach.get_text("/trainer").await.contains("href=\"/trainer/timesheets\""));
    for role in ["finance", "owner"] {
        let admin = app.signed_in(&format!("{role}@example.com"), "admin", Some(role)).await;
        let page = admin.get("/admin/timesheets").await;
        assert_eq!(page.status(), 200, "{role}");
        assert!(
            page.text().await.unwrap().contains("href=\"/admin/timesheets\""),
            "{role} has it in the nav"
        );
        assert_eq!(admin.get(csv).await.status(), 200, "{role}");
        assert_eq!(admin.get("/admin/timesheets/999999").await.status(), 404, "{role}");
        assert_eq!(admin.get("/admin/timesheets/abc").await.status(), 404, "{role}");
    }
    let parent = app.signed_in("parent@example.com", "parent", None).await;
    assert_eq!(parent.get("/trainer/timesheets").await.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trainer_cannot_see_or_change_another_trainers_time() {
    let app = spawn_app().await;
    let (alex, _) = trainer(&app, "alex@example.com", 1200).await;
    let (_, sam) = trainer(&app, "sam@example.com", 1200).await;
    let week = last_week(&app);
    let entry = worked(&app.pool, alex, week, 1, "09:00", "11:00").await;
    let edit = format!("/trainer/timesheets/entries/{entry}/edit");

    assert_eq!(sam.get(&edit).await.status(), 404);
    let before = entry_times(&app.pool, entry).await;
    let day = (week + Duration::days(1)).to_string();
    let forged = sam
        .submit(
            "/trainer/timesheets",
            &edit,
            &[("date", &day), ("start", "08:00"), ("end", "12:00"), ("reason", "Mine")],
        )
        .await;
    assert_eq!(forged.status(), 404);
    assert_eq!(entry_times(&app.pool, entry).await, before);
    assert_eq!(sam.get("/trainer/timesheets/entries/abc/edit").await.status(), 404);

    // Sam's page has only Sam's (empty) week; submitting Alex's week submits nothing of Alex's.
    let page = sam.get_text("/trainer/timesheets").await;
    assert!(!page.contains(&edit) && !page.contains("Submit timesheet"), "{page}");
    let submit = sam.submit("/trainer/timesheets", &format!("/trainer/timesheets/{week}/submit"), &[]).await;
    assert_eq!(submit.status(), 303);
    assert_eq!(count(&app.pool, "select count(*) from timesheets").await, 0, "Sam has no time that week");
    let not_monday = week + Duration::days(1);
    let odd =
        sam.submit("/trainer/timesheets", &format!("/trainer/timesheets/{not_monday}/submit"), &[]).await;
    assert_eq!(odd.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_typed_wrongly_comes_back_with_the_values_and_a_message_by_the_field() {
    let app = spawn_app().await;
    let (trainer_id, coach) = trainer(&app, "coach@example.com", 1500).await;
    let week = last_week(&app);
    let tuesday = (week + Duration::days(1)).to_string();
    let new = "/trainer/timesheets/entries/new";

    let backwards = coach
        .submit(
            new,
            new,
            &[("date", &tuesday), ("start", "17:00"), ("end", "09:00"), ("reason", "Covered Tuesday")],
        )
        .await;
    assert_eq!(backwards.status(), 422);
    let body = backwards.text().await.unwrap();
    assert!(body.contains("The end must be after the start."), "{body}");
    assert!(body.contains("id=\"end-error\""), "the message is by the end time");
    for kept in [
        format!("value=\"{tuesday}\""),
        "value=\"17:00\"".into(),
        "value=\"09:00\"".into(),
        "Covered Tuesday".into(),
    ] {
        assert!(body.contains(&kept), "{kept} is kept");
    }

    let no_reason = coach
        .submit(new, new, &[("date", &tuesday), ("start", "09:00"), ("end", "17:00"), ("reason", " ")])
        .await;
    assert_eq!(no_reason.status(), 422);
    let body = no_reason.text().await.unwrap();
    assert!(body.contains("id=\"reason-error\"") && body.contains("Give a reason"), "{body}");
    assert!(body.contains("value=\"17:00\""));

    let too_long = coach
        .submit(new, new, &[("date", &tuesday), ("start", "05:00"), ("end", "22:00"), ("reason", "Long day")])
        .await;
    assert_eq!(too_long.status(), 422);
    assert!(too_long.text().await.unwrap().contains("at most 16 hours"));
    assert_eq!(count(&app.pool, "select count(*) from time_entries").await, 0, "nothing was saved");

    let added = coach
        .submit(
            new,
            new,
            &[("date", &tuesday), ("start", "09:00"), ("end", "17:15"), ("reason", "Covered Tuesday")],
        )
        .await;
    assert_eq!(added.status(), 303);
    let (source, week_start): (String, Date) =
        sqlx::query_as("select source, week_start from time_entries where trainer_id = $1")
            .bind(trainer_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((source.as_str(), week_start), ("manual", week));
    let page = coach.get_text("/trainer/timesheets").await;
    let card = week_card(&page, week);
    // 8:15 at £15.00 an hour.
    assert!(
        card.contains("Added by hand") && card.contains("Covered Tuesday") && card.contains("£123.75"),
        "{card}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approved_time_keeps_the_rate_it_was_approved_at() {
    let app = spawn_app().await;
    let (sam_id, sam) = trainer(&app, "sam@example.com", 1800).await;
    let week = last_week(&app);
    worked(&app.pool, sam_id, week, 0, "09:00", "11:30").await;
    let submitted =
        sam.submit("/trainer/timesheets", &format!("/trainer/timesheets/{week}/submit"), &[]).await;
    assert_eq!(submitted.status(), 303);
    let sheet: i64 = sqlx::query_scalar("select id from timesheets").fetch_one(&app.pool).await.unwrap();
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let approved = approve(&finance, sheet).await;
    assert_eq!(approved.status(), 303);

    sqlx::query("update trainer_profiles set hourly_rate_pence = 2500 where user_id = $1")
        .bind(sam_id)
        .execute(&app.pool)
        .await
        .unwrap();

    let csv = finance.get_text(&format!("/admin/timesheets.csv?from={week}&to={week}")).await;
    assert!(csv.contains(",2.50,18.00,45.00"), "2.5 hours at the approved £18.00: {csv}");
    assert!(sam.get_text("/trainer/timesheets").await.contains("£45.00"));
}

/// "Tue 24 Nov": the day `at` falls on where the provider is, as the pages name it.
fn day_name(app: &TestApp, at: OffsetDateTime) -> String {
    at.to_timezone(app.config.timezone)
        .format(format_description!("[weekday repr:short] [day padding:none] [month repr:short]"))
        .unwrap()
}

/// "7:05" for 425 minutes, as the pages show hours.
fn hours(minutes: i64) -> String {
    format!("{}:{:02}", minutes / 60, minutes % 60)
}

/// A timesheet as the database holds it: status, why it came back by itself (how, and
/// the entry's source), who decided, and the rate it was approved at.
type SheetRow = (String, Option<String>, Option<String>, Option<i64>, Option<i32>);

async fn sheet_row(pool: &PgPool, id: i64) -> SheetRow {
    sqlx::query_as(
        "select status, changed_after_submit, changed_entry_source, decided_by, hourly_rate_pence
         from timesheets where id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn timesheet_of_week(pool: &PgPool, trainer_id: i64, week: Date) -> i64 {
    sqlx::query_scalar("select id from timesheets where trainer_id = $1 and week_start = $2")
        .bind(trainer_id)
        .bind(week)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_out_after_submitting_sends_the_week_back_and_finance_approves_only_what_was_resubmitted() {
    let app = spawn_app().await;
    let (trainer_id, coach) = trainer(&app, "coach@example.com", 1200).await;
    // A shift the trainer checked in to 75 minutes ago and has not checked out of.
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session_id = session_in_minutes(&app.pool, &football, -90, 10).await;
    let held = shift(&app.pool, session_id, Some(trainer_id), "accepted").await;
    let checked_in = OffsetDateTime::now_utc() - Duration::minutes(75);
    sqlx::query("update shifts set status = 'checked_in', checked_in_at = $2 where id = $1")
        .bind(held)
        .bind(checked_in)
        .execute(&app.pool)
        .await
        .unwrap();
    let week = week_of(checked_in, app.config.timezone);
    worked(&app.pool, trainer_id, week, 0, "09:00", "12:30").await;

    // The trainer submits 3:30; finance opens it, about to approve.
    let submit_path = format!("/trainer/timesheets/{week}/submit");
    assert_eq!(coach.submit("/trainer/timesheets", &submit_path, &[]).await.status(), 303);
    let id = timesheet_of_week(&app.pool, trainer_id, week).await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let show = format!("/admin/timesheets/{id}");
    let detail = finance.get_text(&show).await;
    assert!(detail.contains("<dd>3:30</dd>") && detail.contains("£42.00"), "{detail}");
    let opened = approve_form(&finance, id).await;

    // Checking out lands more time in that week, which goes back to the trainer.
    let shift_page = format!("/trainer/shifts/{held}");
    let checked_out = coach.submit(&shift_page, &format!("{shift_page}/check-out"), &[]).await;
    assert_eq!(checked_out.status(), 303);
    let told = coach.get_text(&shift_page).await;
    assert!(told.contains("You had already submitted that week, so it is back with you"), "{told}");
    let shift_minutes: i64 = sqlx::query_scalar(
        "select floor(extract(epoch from ended_at - started_at) / 60)::bigint from time_entries where shift_id = $1",
    )
    .bind(held)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(shift_minutes >= 75, "{shift_minutes}");
    let total = hours(210 + shift_minutes);
    assert_eq!(
        sheet_row(&app.pool, id).await,
        ("returned".into(), Some("added".into()), Some("shift".into()), None, None)
    );
    let (actor, after): (Option<i64>, serde_json::Value) = sqlx::query_as(
        "select actor_id, after from audit_log
         where entity_type = 'timesheet' and entity_id = $1 and action = 'timesheet.returned'",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(actor, None, "returned by the rule, not by a person");
    assert_eq!(after["changed_after_submit"], "added");
    assert_eq!(after["entry_source"], "shift");
    assert_eq!(after["minutes"], 210 + shift_minutes);

    // The trainer reads why on the week, with the new total, and may submit it again.
    let reason = format!(
        "Changed after you submitted it: a new time entry for {} (check-out). \
         Check the week and submit it again.",
        day_name(&app, checked_in)
    );
    let page = coach.get_text("/trainer/timesheets").await;
    let card = week_card(&page, week);
    assert!(card.contains("Returned") && card.contains(&reason), "{card}");
    assert!(
        card.contains(&format!("<strong>{total}</strong>")) && card.contains("Submit timesheet"),
        "{card}"
    );

    // Finance's open page can no longer approve it, and the page now says why.
    let refused = press_approve(&finance, id, &opened).await;
    assert_eq!(refused.status(), 409);
    let body = refused.text().await.unwrap();
    assert!(body.contains("Nothing changed: the timesheet is now “Returned”."), "{body}");
    assert_eq!(
        sheet_row(&app.pool, id).await,
        ("returned".into(), Some("added".into()), Some("shift".into()), None, None),
        "nothing approved"
    );
    let detail = finance.get_text(&show).await;
    assert!(!detail.contains(&format!("{show}/approve")), "no Approve on a changed week: {detail}");
    assert!(
        detail.contains("Returned to the trainer automatically")
            && detail.contains(&format!("a new time entry for {} (check-out)", day_name(&app, checked_in))),
        "{detail}"
    );
    assert!(!finance.get_text("/admin/timesheets").await.contains(&show), "not waiting for approval");

    // Resubmitted, the old page still cannot approve: finance has not seen the new total.
    assert_eq!(coach.submit("/trainer/timesheets", &submit_path, &[]).await.status(), 303);
    assert_eq!(sheet_row(&app.pool, id).await, ("submitted".into(), None, None, None, None));
    let stale = press_approve(&finance, id, &opened).await;
    assert_eq!(stale.status(), 409);
    assert!(stale.text().await.unwrap().contains("submitted again since this page was shown"));
    assert_eq!(timesheet_status(&app.pool, id).await, "submitted");

    // Opened again, it shows and approves the total the trainer resubmitted.
    let detail = finance.get_text(&show).await;
    assert!(detail.contains(&format!("<dd>{total}</dd>")), "{detail}");
    assert_eq!(approve(&finance, id).await.status(), 303);
    let (status, _, _, decided_by, rate) = sheet_row(&app.pool, id).await;
    assert_eq!((status.as_str(), decided_by.is_some(), rate), ("approved", true, Some(1200)));
    let mail = app.smtp.wait_for(1).await;
    assert!(
        mail.iter().any(|m| m.contains("Timesheet approved") && m.contains(&format!("Hours: {total}"))),
        "{mail:?}"
    );
    let history: Vec<(String, bool)> = sqlx::query_as(
        "select action, actor_id is not null from audit_log where entity_type = 'timesheet' order by id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let history: Vec<(&str, bool)> = history.iter().map(|(a, by)| (a.as_str(), *by)).collect();
    assert_eq!(
        history,
        [
            ("timesheet.submitted", true),
            ("timesheet.returned", false),
            ("timesheet.submitted", true),
            ("timesheet.approved", true)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_change_to_a_submitted_weeks_time_sends_it_back_but_other_edits_do_not() {
    let app = spawn_app().await;
    let (trainer_id, coach) = trainer(&app, "coach@example.com", 1000).await;
    let week = last_week(&app);
    let monday = worked(&app.pool, trainer_id, week, 0, "09:00", "12:00").await;
    let friday = worked(&app.pool, trainer_id, week, 4, "09:00", "10:00").await;
    let submit_path = format!("/trainer/timesheets/{week}/submit");
    assert_eq!(coach.submit("/trainer/timesheets", &submit_path, &[]).await.status(), 303);
    let id = timesheet_of_week(&app.pool, trainer_id, week).await;
    let day = |days: i64| {
        (week + Duration::days(days))
            .format(format_description!("[weekday repr:short] [day padding:none] [month repr:short]"))
            .unwrap()
    };

    // The trainer cannot add time by hand to a week waiting for approval.
    let new = "/trainer/timesheets/entries/new";
    let by_hand = coach
        .submit(
            new,
            new,
            &[("date", &week.to_string()), ("start", "18:00"), ("end", "19:00"), ("reason", "Extra")],
        )
        .await;
    assert_eq!(by_hand.status(), 422);
    assert!(by_hand.text().await.unwrap().contains("waiting for approval"));
    assert_eq!(count(&app.pool, "select count(*) from time_entries").await, 2);

    // What finance does not approve may change: the link to a shift, the row's clock.
    sqlx::query("update time_entries set shift_id = null, updated_at = now() where id = $1")
        .bind(friday)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(timesheet_status(&app.pool, id).await, "submitted");

    // New times for an entry, however they are written, send the week back.
    sqlx::query("update time_entries set ended_at = ended_at + interval '30 minutes' where id = $1")
        .bind(friday)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(sheet_row(&app.pool, id).await.0, "returned");
    let page = coach.get_text("/trainer/timesheets").await;
    let changed = format!(
        "Changed after you submitted it: the time entry for {} was changed. Check the week and submit it again.",
        day(4)
    );
    assert!(week_card(&page, week).contains(&changed), "{page}");

    // So does removing one.
    assert_eq!(coach.submit("/trainer/timesheets", &submit_path, &[]).await.status(), 303);
    sqlx::query("delete from time_entries where id = $1").bind(monday).execute(&app.pool).await.unwrap();
    assert_eq!(
        sheet_row(&app.pool, id).await,
        ("returned".into(), Some("removed".into()), Some("shift".into()), None, None)
    );
    let page = coach.get_text("/trainer/timesheets").await;
    let card = week_card(&page, week);
    assert!(card.contains(&format!("the time entry for {} was removed", day(0))), "{card}");
    assert!(!card.contains("was changed"), "only the latest reason is shown: {card}");
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let detail = finance.get_text(&format!("/admin/timesheets/{id}")).await;
    assert!(!detail.contains("/approve") && detail.contains("was removed"), "{detail}");
    assert_eq!(
        count(&app.pool, "select count(*) from audit_log where action = 'timesheet.returned'").await,
        2
    );

    // An approved week is still locked, with the same refusal as before.
    assert_eq!(coach.submit("/trainer/timesheets", &submit_path, &[]).await.status(), 303);
    assert_eq!(approve(&finance, id).await.status(), 303);
    let refused = sqlx::query("delete from time_entries where id = $1").bind(friday).execute(&app.pool).await;
    let constraint = refused.unwrap_err().as_database_error().and_then(|e| e.constraint().map(str::to_owned));
    assert_eq!(constraint.as_deref(), Some("time_entries_locked_when_approved"));
    assert_eq!(timesheet_status(&app.pool, id).await, "approved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_landing_while_finance_approves_waits_and_either_is_refused_or_stops_the_approval() {
    let app = spawn_app().await;
    let (trainer_id, coach) = trainer(&app, "coach@example.com", 1000).await;
    let week = last_week(&app);
    worked(&app.pool, trainer_id, week, 0, "09:00", "12:00").await;
    let submit_path = format!("/trainer/timesheets/{week}/submit");
    assert_eq!(coach.submit("/trainer/timesheets", &submit_path, &[]).await.status(), 303);
    let id = timesheet_of_week(&app.pool, trainer_id, week).await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let new_entry = "insert into time_entries (trainer_id, started_at, ended_at, source, week_start)
                     values ($1, ($2::date + time '14:00') at time zone 'Europe/London',
                             ($2::date + time '15:00') at time zone 'Europe/London', 'shift', $2)";

    // Time that lands while the week is being returned by the change holds the week:
    // finance's approval waits for it, then finds the week returned.
    let opened = approve_form(&finance, id).await;
    let mut check_out = app.pool.begin().await.unwrap();
    sqlx::query(new_entry).bind(trainer_id).bind(week).execute(&mut *check_out).await.unwrap();
    let approving = tokio::spawn(async move { press_approve(&finance, id, &opened).await.status() });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!approving.is_finished(), "the approval waits for the change");
    check_out.commit().await.unwrap();
    assert_eq!(approving.await.unwrap(), 409);
    assert_eq!(timesheet_status(&app.pool, id).await, "returned");

    // Time that lands while an approval is being written waits for it, then is refused
    // as time in an approved week.
    assert_eq!(coach.submit("/trainer/timesheets", &submit_path, &[]).await.status(), 303);
    let mut approval = app.pool.begin().await.unwrap();
    sqlx::query("select 1 from timesheets where id = $1 for update")
        .bind(id)
        .execute(&mut *approval)
        .await
        .unwrap();
    sqlx::query("update timesheets set status = 'approved', hourly_rate_pence = 1000 where id = $1")
        .bind(id)
        .execute(&mut *approval)
        .await
        .unwrap();
    let pool = app.pool.clone();
    let landing =
        tokio::spawn(async move { sqlx::query(new_entry).bind(trainer_id).bind(week).execute(&pool).await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!landing.is_finished(), "the change waits for the approval");
    approval.commit().await.unwrap();
    let refused = landing.await.unwrap().unwrap_err();
    let constraint = refused.as_database_error().and_then(|e| e.constraint().map(str::to_owned));
    assert_eq!(constraint.as_deref(), Some("time_entries_locked_when_approved"));
    assert_eq!(timesheet_status(&app.pool, id).await, "approved");
    assert_eq!(
        count(&app.pool, "select count(*) from time_entries").await,
        2,
        "nothing landed after approval"
    );
}
