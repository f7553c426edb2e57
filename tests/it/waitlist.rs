//! Waitlists: a freed place goes to the first child waiting, held for them, and passes
//! on when they do not claim it in time.

use crate::common::{
    client::location,
    fixtures::{activity, book, child, count, parent, session},
    spawn_app,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_freed_place_is_offered_to_the_first_child_waiting_and_held_until_claimed() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session_id = session(&app.pool, &football, 72, 1, None).await;
    let (holder_id, holder) = parent(&app, "holder@example.com").await;
    let holder_child = child(&app.pool, holder_id, "Hana", 7).await;
    let token = holder.csrf_token("/parent").await;
    let booking = location(&book(&holder, &token, session_id, &[holder_child]).await).to_owned();

    let (first_id, first) = parent(&app, "first@example.com").await;
    let amir = child(&app.pool, first_id, "Amir", 7).await;
    let page = first.get_text(&format!("/parent/sessions/{session_id}")).await;
    assert!(page.contains("This session is full.") && page.contains("Join waitlist</button>"), "{page}");
    let amir_id = amir.to_string();
    let joined = first
        .submit(
            &format!("/parent/sessions/{session_id}"),
            &format!("/parent/sessions/{session_id}/waitlist"),
            &[("child", amir_id.as_str())],
        )
        .await;
    assert_eq!(joined.status(), 303);
    assert!(first.get_text("/parent/waitlist").await.contains("number 1 in the queue"));
    let (second_id, second) = parent(&app, "second@example.com").await;
    let bea = child(&app.pool, second_id, "Bea", 7).await.to_string();
    second
        .submit(
            &format!("/parent/sessions/{session_id}"),
            &format!("/parent/sessions/{session_id}/waitlist"),
            &[("child", bea.as_str())],
        )
        .await;

    let cancelled = holder.submit(&booking, &format!("{booking}/cancel"), &[]).await;
    assert_eq!(cancelled.status(), 303);

    let mail = app.smtp.wait_for(3).await;
    assert!(
        mail.iter().any(|m| m.contains("To: first@example.com") && m.contains("A place for Amir")),
        "{mail:?}"
    );
    assert!(!mail.iter().any(|m| m.contains("To: second@example.com")), "only the first child is offered");
    // The place is held: someone booking directly cannot take it.
    let (_, walk_in) = parent(&app, "walkin@example.com").await;
    let walk_in_id: i64 = sqlx::query_scalar("select id from users where email = 'walkin@example.com'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let walk_in_child = child(&app.pool, walk_in_id, "Wes", 7).await;
    let token = walk_in.csrf_token("/parent").await;
    assert_eq!(book(&walk_in, &token, session_id, &[walk_in_child]).await.status(), 409);

    let waitlist = first.get_text("/parent/waitlist").await;
    assert!(waitlist.contains("Place offered until"));
    let entry: i64 = sqlx::query_scalar("select id from waitlist_entries where status = 'offered'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let claimed = first.submit("/parent/waitlist", &format!("/parent/waitlist/{entry}/claim"), &[]).await;
    assert_eq!(claimed.status(), 303);
    assert!(location(&claimed).starts_with("/parent/bookings/"));
    assert!(first.get_text(location(&claimed)).await.contains("Amir"));
    let (taken, offered): (i32, i32) =
        sqlx::query_as("select places_taken, places_offered from sessions where id = $1")
            .bind(session_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((taken, offered), (1, 0));
    assert_eq!(count(&app.pool, "select count(*) from waitlist_entries where status = 'claimed'").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unclaimed_offer_expires_and_passes_to_the_next_child() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session_id = session(&app.pool, &football, 72, 1, None).await;
    let (holder_id, holder) = parent(&app, "holder@example.com").await;
    let hana = child(&app.pool, holder_id, "Hana", 7).await;
    let token = holder.csrf_token("/parent").await;
    let booking = location(&book(&holder, &token, session_id, &[hana]).await).to_owned();
    let mut waiting = Vec::new();
    for name in ["first", "second"] {
        let (id, client) = parent(&app, &format!("{name}@example.com")).await;
        let kid = child(&app.pool, id, name, 7).await.to_string();
        client
            .submit(
                &format!("/parent/sessions/{session_id}"),
                &format!("/parent/sessions/{session_id}/waitlist"),
                &[("child", kid.as_str())],
            )
            .await;
        waiting.push(client);
    }
    holder.submit(&booking, &format!("{booking}/cancel"), &[]).await;
    let first_offer: i64 = sqlx::query_scalar("select id from waitlist_entries where status = 'offered'")
        .fetch_one(&app.pool)
        .await
        .unwrap();

    sqlx::query("update waitlist_entries set offer_expires_at = now() - interval '1 second' where id = $1")
        .bind(first_offer)
        .execute(&app.pool)
        .await
        .unwrap();
    portico::waitlist::sweep(&app.state).await.unwrap();

    let statuses: Vec<String> = sqlx::query_scalar("select status from waitlist_entries order by id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(statuses, ["expired", "offered"]);
    let mail = app.smtp.wait_for(4).await;
    assert!(
        mail.iter().any(|m| m.contains("To: second@example.com") && m.contains("A place for second")),
        "{mail:?}"
    );
    let late =
        waiting[0].submit("/parent/waitlist", &format!("/parent/waitlist/{first_offer}/claim"), &[]).await;
    assert_eq!(late.status(), 303);
    assert!(waiting[0].get_text("/parent/waitlist").await.contains("That offer has ended"));
    let offered: i32 = sqlx::query_scalar("select places_offered from sessions where id = $1")
        .bind(session_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(offered, 1, "still held, now for the second child");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_cannot_claim_or_withdraw_another_familys_waitlist_entry() {
    let app = spawn_app().await;
    let football = activity(&app.pool, "Football", false, (4, 12), 24).await;
    let session_id = session(&app.pool, &football, 72, 0, None).await;
    let (owner_id, owner) = parent(&app, "owner@example.com").await;
    let kid = child(&app.pool, owner_id, "Kai", 7).await.to_string();
    owner
        .submit(
            &format!("/parent/sessions/{session_id}"),
            &format!("/parent/sessions/{session_id}/waitlist"),
            &[("child", kid.as_str())],
        )
        .await;
    let entry: i64 =
        sqlx::query_scalar("select id from waitlist_entries").fetch_one(&app.pool).await.unwrap();
    let (_, other) = parent(&app, "other@example.com").await;

    assert_eq!(
        other.submit("/parent", &format!("/parent/waitlist/{entry}/withdraw"), &[]).await.status(),
        404
    );
    other.submit("/parent", &format!("/parent/waitlist/{entry}/claim"), &[]).await;
    assert_eq!(count(&app.pool, "select count(*) from waitlist_entries where status = 'waiting'").await, 1);
    assert_eq!(count(&app.pool, "select count(*) from bookings").await, 0);
    assert!(!other.get_text("/parent/waitlist").await.contains("Kai"));
}
