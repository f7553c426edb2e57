//! The permission matrix (README, "Who may see and change what") as one table: each
//! row signs in as a role, opens a route and checks the status or what the page must
//! or must not show — another family's or trainer's object is 404.

use crate::common::{
    TestClient,
    fixtures::{self, child, parent},
    spawn_app,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Owner,
    Coordinator,
    Finance,
    Safeguarding,
    Trainer,
    Parent,
}

#[derive(Debug)]
enum Expect {
    Status(u16),
    /// 200, and the page shows this text.
    Shows(&'static str),
    /// 200, and the page does not show this text.
    Hides(&'static str),
}

use Expect::{Hides, Shows, Status};
use Role::{Coordinator, Finance, Owner, Parent, Safeguarding, Trainer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_sees_and_changes_only_what_the_matrix_gives_it() {
    let app = spawn_app().await;
    let football = fixtures::activity(&app.pool, "Football", false, (4, 12), 24).await;
    let ours = fixtures::session(&app.pool, &football, 2, 10, None).await;
    let theirs = fixtures::session(&app.pool, &football, 50, 10, None).await;

    let (family_id, family) = parent(&app, "family@example.com").await;
    let maya = child(&app.pool, family_id, "Maya", 7).await;
    let (other_id, other) = parent(&app, "other@example.com").await;
    let sam = child(&app.pool, other_id, "Sam", 8).await;
    sqlx::query!("update children set allergies = 'Peanut allergy: EpiPen in bag' where id = $1", maya)
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query!("update children set medical_notes = 'Asthma: blue inhaler' where id = $1", sam)
        .execute(&app.pool)
        .await
        .unwrap();
    let token = family.csrf_token("/parent").await;
    assert_eq!(fixtures::book(&family, &token, ours, &[maya]).await.status(), 303);
    let token = other.csrf_token("/parent").await;
    assert_eq!(fixtures::book(&other, &token, theirs, &[sam]).await.status(), 303);
    let booking = |parent_id: i64| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar!("select id from bookings where parent_id = $1", parent_id)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let (our_booking, their_booking) = (booking(family_id).await, booking(other_id).await);

    let (trainer_id, trainer) = fixtures::trainer(&app, "trainer@example.com", &football).await;
    fixtures::shift(&app.pool, ours, Some(trainer_id), "accepted").await;
    let lead_id = app.create_user("lead@example.com", "admin", Some("safeguarding_lead")).await;
    let concern = sqlx::query_scalar!(
        "insert into safeguarding_concerns (child_id, session_id, raised_by, concern)
         values ($1, $2, $3, 'Arrived upset') returning id",
        maya,
        ours,
        trainer_id
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    // Money in the audit log: a payment entry, and a refund amount inside another entry.
    sqlx::query!(
        r#"insert into audit_log (actor_id, action, entity_type, entity_id, after) values
           ($1, 'payment.recorded', 'payment', 1, '{"amount_pence": 4321}'),
           ($1, 'booking.cancelled', 'booking', $2, '{"status": "cancelled", "refunded_pence": 5555}')"#,
        lead_id,
        our_booking
    )
    .execute(&app.pool)
    .await
    .unwrap();

    let owner = app.signed_in("owner@example.com", "admin", Some("owner")).await;
    let coordinator = app.signed_in("coordinator@example.com", "admin", Some("coordinator")).await;
    let finance = app.signed_in("finance@example.com", "admin", Some("finance")).await;
    let lead = app.client();
    assert_eq!(lead.login("lead@example.com", crate::common::PASSWORD).await.status(), 303);
    let as_role = |role: Role| -> &TestClient {
        match role {
            Owner => &owner,
            Coordinator => &coordinator,
            Finance => &finance,
            Safeguarding => &lead,
            Trainer => &trainer,
            Parent => &family,
        }
    };

    let allergy = "Peanut allergy";
    let booking_page = format!("/admin/bookings/{our_booking}");
    let register = format!("/trainer/sessions/{ours}/register");
    let concern_page = format!("/admin/safeguarding/{concern}");
    let reads: Vec<(Role, String, Expect)> = vec![
        // Bookings, and the children's medical details on them.
        (Owner, booking_page.clone(), Shows(allergy)),
        (Coordinator, booking_page.clone(), Shows(allergy)),
        (Finance, booking_page.clone(), Hides(allergy)),
        (Finance, "/admin/bookings".into(), Hides(r#"<span class="badge warn">Medical</span>"#)),
        (Coordinator, "/admin/bookings".into(), Shows(r#"<span class="badge warn">Medical</span>"#)),
        (Safeguarding, "/admin/bookings".into(), Status(403)),
        (Trainer, "/admin/bookings".into(), Status(403)),
        (Parent, "/admin/bookings".into(), Status(403)),
        (Parent, format!("/parent/bookings/{our_booking}"), Status(200)),
        (Parent, format!("/parent/bookings/{their_booking}"), Status(404)),
        (Parent, format!("/parent/children/{maya}"), Shows(allergy)),
        (Parent, format!("/parent/children/{sam}"), Status(404)),
        // Medical details: the lead on a concern, the trainer working the session.
        (Safeguarding, concern_page.clone(), Shows(allergy)),
        (Trainer, register.clone(), Shows(allergy)),
        (Trainer, format!("/trainer/sessions/{theirs}/register"), Status(404)),
        // Sessions, calendar and staffing.
        (Owner, "/admin/sessions".into(), Status(200)),
        (Coordinator, format!("/admin/sessions/{ours}"), Status(200)),
        (Finance, "/admin/sessions".into(), Status(403)),
        (Safeguarding, "/admin/sessions".into(), Status(403)),
        (Trainer, "/admin/sessions".into(), Status(403)),
        (Parent, "/trainer/shifts".into(), Status(403)),
        // Trainers.
        (Coordinator, "/admin/trainers".into(), Status(200)),
        (Finance, "/admin/trainers".into(), Status(403)),
        (Safeguarding, "/admin/trainers".into(), Status(403)),
        // Timesheets.
        (Finance, "/admin/timesheets".into(), Status(200)),
        (Owner, "/admin/timesheets".into(), Status(200)),
        (Coordinator, "/admin/timesheets".into(), Status(403)),
        (Trainer, "/trainer/timesheets".into(), Status(200)),
        (Parent, "/trainer/timesheets".into(), Status(403)),
        // Payments and refunds.
        (Finance, "/admin/payments".into(), Status(200)),
        (Owner, "/admin/payments".into(), Status(200)),
        (Coordinator, "/admin/payments".into(), Status(403)),
        (Safeguarding, "/admin/payments".into(), Status(403)),
        (Trainer, "/admin/payments".into(), Status(403)),
        (Parent, "/parent/payments".into(), Status(200)),
        // Discount codes and packages: finance sells, the office defines passes.
        (Finance, "/admin/discounts".into(), Status(200)),
        (Coordinator, "/admin/discounts".into(), Status(403)),
        (Finance, "/admin/package-sales".into(), Status(200)),
        (Coordinator, "/admin/package-sales".into(), Status(403)),
        (Coordinator, "/admin/packages".into(), Status(200)),
        (Finance, "/admin/packages".into(), Status(403)),
        // The audit log: no money for those who cannot open payments.
        (Owner, "/admin/audit".into(), Shows("4321")),
        (Owner, "/admin/audit".into(), Shows("5555")),
        (Coordinator, "/admin/audit".into(), Hides("4321")),
        (Coordinator, "/admin/audit".into(), Hides("payment.recorded")),
        (Coordinator, "/admin/audit".into(), Hides("5555")),
        (Coordinator, "/admin/audit".into(), Shows("booking.cancelled")),
        (Finance, "/admin/audit".into(), Status(403)),
        (Safeguarding, "/admin/audit".into(), Status(403)),
        // The outbox.
        (Owner, "/admin/outbox".into(), Status(200)),
        (Coordinator, "/admin/outbox".into(), Status(403)),
        (Finance, "/admin/outbox".into(), Status(403)),
        // Safeguarding: the lead alone, not even the owner.
        (Safeguarding, "/admin/safeguarding".into(), Status(200)),
        (Owner, "/admin/safeguarding".into(), Status(403)),
        (Owner, concern_page.clone(), Status(403)),
        (Coordinator, "/admin/safeguarding".into(), Status(403)),
        (Trainer, "/admin/safeguarding".into(), Status(403)),
    ];
    let mut wrong = Vec::new();
    for (role, path, expect) in &reads {
        let response = as_role(*role).get(path).await;
        let status = response.status().as_u16();
        let page = response.text().await.unwrap_or_default();
        let fine = match expect {
            Status(want) => status == *want,
            Shows(text) => status == 200 && page.contains(text),
            Hides(text) => status == 200 && !page.contains(text),
        };
        if !fine {
            wrong.push(format!("{role:?} GET {path}: expected {expect:?}, got {status}"));
        }
    }

    // Changes: the roles without the right are refused before anything is read.
    let changes: Vec<(Role, String, u16)> = vec![
        (Finance, format!("/admin/bookings/{our_booking}/approve"), 403),
        (Safeguarding, format!("/admin/bookings/{our_booking}/cancel"), 403),
        (Finance, format!("/admin/sessions/{ours}/shifts"), 403),
        (Finance, format!("/admin/sessions/{ours}/cancel"), 403),
        (Coordinator, format!("/admin/payments/{our_booking}/refund"), 403),
        (Coordinator, "/admin/discounts".into(), 403),
        (Finance, format!("/admin/safeguarding/{concern}/actions"), 403),
        (Owner, format!("/admin/safeguarding/{concern}/actions"), 403),
        (Parent, format!("/parent/bookings/{their_booking}/cancel"), 404),
        (Trainer, format!("/trainer/sessions/{theirs}/notes"), 404),
    ];
    for (role, path, want) in &changes {
        let client = as_role(*role);
        let page = if *role == Parent {
            "/parent"
        } else if *role == Trainer {
            "/trainer"
        } else {
            "/admin"
        };
        let token = client.csrf_token(page).await;
        let status =
            client.post_raw(path, &[("csrf_token", &token), ("note", "x"), ("reason", "x")]).await.status();
        if status.as_u16() != *want {
            wrong.push(format!("{role:?} POST {path}: expected {want}, got {status}"));
        }
    }
    assert!(wrong.is_empty(), "the matrix is not what the code does:\n{}", wrong.join("\n"));
    assert_eq!(
        fixtures::count(
            &app.pool,
            "select count(*) from bookings where status = 'pending' or status = 'approved'"
        )
        .await,
        2,
        "no refused change touched a booking"
    );
}
