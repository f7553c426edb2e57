//! Cancelling a term after some of it was delivered: only the places still before their
//! cancellation cut-off come back (money and package credits), the parent sees the amount
//! before confirming, the office may give more only with a reason, and finance sees the
//! refunds the office caused, with who and why.

use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::cancellation_refunds::{card_app, last_booking, paid_by_card, pay_offline, refunded_on};
use crate::common::{
    TestApp, TestClient,
    fixtures::{self, child, count, parent},
    spawn_app,
};

/// A weekly term of twelve £6.50 football sessions (cut-off 24 hours) booked whole by a
/// parent for Maya, the first four then moved into the past as if delivered. Returns the
/// parent and the booking.
async fn term_four_weeks_in(app: &TestApp, use_credits: bool) -> (TestClient, i64) {
    let football = fixtures::activity(&app.pool, "Football", false, (4, 12), 24).await;
    let series: i64 = sqlx::query_scalar(
        "insert into series (activity_id, venue_id, name, recurrence_rule)
         values ($1, $2, 'Autumn term', 'FREQ=WEEKLY') returning id",
    )
    .bind(football.id)
    .bind(football.venue_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let mut sessions = Vec::new();
    for week in 0..12 {
        sessions.push(fixtures::session(&app.pool, &football, 48 + 24 * 7 * week, 10, Some(series)).await);
    }
    let (parent_id, family) = parent(app, "parent@example.com").await;
    if use_credits {
        let package = fixtures::package(&app.pool, "Term pass", 12, 6000, &football).await;
        let bought = family.submit("/parent/packages", &format!("/parent/packages/{package}/buy"), &[]).await;
        assert_eq!(bought.status(), 303);
        let purchase: i64 =
            sqlx::query_scalar("select max(id) from package_purchases").fetch_one(&app.pool).await.unwrap();
        let finance = app.signed_in("sales@example.com", "admin", Some("finance")).await;
        let paid = finance
            .submit(
                "/admin/package-sales",
                &format!("/admin/package-sales/{purchase}/paid"),
                &[("method", "cash"), ("reference", "Till 1")],
            )
            .await;
        assert_eq!(paid.status(), 303);
    }
    let maya = child(&app.pool, parent_id, "Maya", 7).await;
    let token = family.csrf_token("/parent").await;
    let series_id = series.to_string();
    let items: Vec<String> = sessions.iter().map(|s| format!("{s}:{maya}")).collect();
    let mut fields = vec![("csrf_token", token.as_str()), ("series", series_id.as_str())];
    fields.extend(items.iter().map(|i| ("item", i.as_str())));
    if use_credits {
        fields.push(("use_credits", "1"));
    }
    assert_eq!(family.post_raw("/parent/bookings", &fields).await.status(), 303);
    let booking = last_booking(app).await;
    // Four weeks on: the first four sessions have been held.
    sqlx::query(
        "update sessions set starts_at = now() - make_interval(days => 7 * (4 - w.n)::int),
                             ends_at = now() - make_interval(days => 7 * (4 - w.n)::int) + interval '1 hour'
           from (select id, row_number() over (order by starts_at) - 1 as n from sessions where series_id = $1) w
          where w.id = sessions.id and w.n < 4",
    )
    .bind(series)
    .execute(&app.pool)
    .await
    .unwrap();
    (family, booking)
}

async fn status_of(app: &TestApp, booking: i64) -> String {
    sqlx::query_scalar("select status from bookings where id = $1")
        .bind(booking)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_cancelling_a_term_after_four_sessions_gets_back_only_the_eight_to_come() {
    let app = spawn_app().await;
    let (family, booking) = term_four_weeks_in(&app, false).await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    pay_offline(&finance, booking, "78.00", "cash").await;

    let page = format!("/parent/bookings/{booking}");
    let before = family.get_text(&page).await;
    assert!(before.contains("If you cancel now, £52.00 will be refunded"), "{before}");
    assert!(before.contains("8 of the 12 places are still before their cancellation cut-off"), "{before}");

    let response = family.submit(&page, &format!("{page}/cancel"), &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(refunded_on(&app, booking).await, 5200, "8/12 of £78, not all of it");
    assert_eq!(status_of(&app, booking).await, "cancelled");
    assert!(family.get_text(&page).await.contains("£52.00 is being refunded"));
    let body: String =
        sqlx::query_scalar("select body_text from outbox_emails where subject like 'Refund for booking%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(body.contains("£52.00"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn package_credits_come_back_only_for_the_sessions_still_to_come() {
    let app = spawn_app().await;
    let (family, booking) = term_four_weeks_in(&app, true).await;
    let left =
        || async { count(&app.pool, "select coalesce(sum(balance), 0)::bigint from package_credits").await };
    assert_eq!(left().await, 0, "all twelve credits went on the term");

    let page = format!("/parent/bookings/{booking}");
    let before = family.get_text(&page).await;
    assert!(before.contains("no money will be refunded and 8 package credit(s) returned"), "{before}");
    let response = family.submit(&page, &format!("{page}/cancel"), &[]).await;
    assert_eq!(response.status(), 303);
    assert!(family.get_text(&page).await.contains("8 package credit(s) returned"));
    assert_eq!(left().await, 8);
    assert_eq!(
        count(&app.pool, "select count(*) from package_credit_movements where kind = 'return'").await,
        8
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_may_refund_more_than_the_rules_only_with_a_reason_and_finance_sees_who_and_why() {
    let app = spawn_app().await;
    let (_family, booking) = term_four_weeks_in(&app, false).await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    pay_offline(&finance, booking, "78.00", "cash").await;
    let office = app.signed_in("cora@example.com", "admin", Some("coordinator")).await;
    sqlx::query("update users set name = 'Cora Lane' where email = 'cora@example.com'")
        .execute(&app.pool)
        .await
        .unwrap();

    let page = format!("/admin/bookings/{booking}");
    let shown = office.get_text(&page).await;
    assert!(shown.contains("By the rules, cancelling now refunds £52.00"), "{shown}");
    let cancel = format!("{page}/cancel");

    let no_reason =
        office.submit(&page, &cancel, &[("reason", "Family moving away"), ("refund", "78.00")]).await;
    assert_eq!(no_reason.status(), 422);
    let body = no_reason.text().await.unwrap();
    assert!(body.contains("Say why you are refunding this rather than £52.00"), "{body}");
    assert!(body.contains(r#"value="78.00""#), "the amount typed is kept");
    assert_eq!(refunded_on(&app, booking).await, 0, "nothing half-written");
    assert_eq!(status_of(&app, booking).await, "approved");

    let too_much = office
        .submit(&page, &cancel, &[("reason", "Moving"), ("refund", "90.00"), ("refund_reason", "Goodwill")])
        .await;
    assert_eq!(too_much.status(), 422);
    assert!(too_much.text().await.unwrap().contains("At most £78.00 is paid and not yet refunded."));

    let done = office
        .submit(
            &page,
            &cancel,
            &[
                ("reason", "Family moving away"),
                ("refund", "78.00"),
                ("refund_reason", "Coach missed two sessions"),
            ],
        )
        .await;
    assert_eq!(done.status(), 303);
    assert_eq!(refunded_on(&app, booking).await, 7800);
    assert_eq!(status_of(&app, booking).await, "cancelled");
    let (before, after): (serde_json::Value, serde_json::Value) =
        sqlx::query_as("select before, after from audit_log where action = 'booking.refund_override'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(before["rules_pence"], 5200);
    assert_eq!(after["refund_pence"], 7800);
    assert_eq!(after["reason"], "Coach missed two sessions");

    let listed = finance.get_text("/admin/payments").await;
    let section = &listed[listed.find("Refunds caused by the office").expect("the section")..];
    assert!(section.contains("Cora Lane (coordinator)"), "{section}");
    assert!(section.contains("Coach missed two sessions") && section.contains("£78.00"), "{section}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_refund_caused_by_a_coordinator_cancelling_a_session_is_listed_with_who_and_why() {
    let mock = MockServer::start().await;
    let app = card_app(&mock).await;
    let (_parent, _booking, session_id) = paid_by_card(&app, &mock).await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "re_listed", "object": "refund", "amount": 650, "status": "succeeded",
        })))
        .mount(&mock)
        .await;
    let office = app.signed_in("cora@example.com", "admin", Some("coordinator")).await;
    sqlx::query("update users set name = 'Cora Lane' where email = 'cora@example.com'")
        .execute(&app.pool)
        .await
        .unwrap();
    let page = format!("/admin/sessions/{session_id}");
    let response = office.submit(&page, &format!("{page}/cancel"), &[("reason", "Pool closed")]).await;
    assert_eq!(response.status(), 303);

    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let listed = finance.get_text("/admin/payments").await;
    let section = &listed[listed.find("Refunds caused by the office").expect("the section")..];
    let section = &section[..section.find("Outstanding balances").unwrap_or(section.len())];
    assert!(section.contains("Cora Lane (coordinator)"), "{section}");
    assert!(
        section.contains("Pool closed") && section.contains("£6.50") && section.contains("Refunded"),
        "{section}"
    );
    assert_eq!(
        count(&app.pool, "select count(*) from cancellation_refunds where requested_by is not null").await,
        1
    );
    // The office only reads it: coordinators do not see the payments page.
    assert_eq!(office.get("/admin/payments").await.status(), 403);
}
