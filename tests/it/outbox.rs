//! The email outbox: written in the caller's transaction, sent once by the workers.

use std::{collections::HashSet, time::Duration};

use portico::{
    Workers,
    notifications::{Email, Mailer, Outbox, Retries},
};

use crate::common::spawn_app;

fn email(n: usize) -> Email {
    Email { to: format!("family{n}@example.com"), subject: format!("Message {n}"), body: format!("Body {n}") }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_outbox_sends_each_email_exactly_once_with_two_workers_running() {
    let app = spawn_app().await;
    // The app already runs one worker; start a second, as a second process would.
    let mailer = Mailer::from_config(
        Some(&app.smtp.url()),
        "Portico <no-reply@portico.test>",
        Duration::from_secs(10),
    )
    .unwrap();
    let second = Outbox::new(app.pool.clone(), mailer, Retries::default()).await.unwrap();
    let mut second_worker = Workers::new(Duration::from_secs(10));
    second.start_worker(&mut second_worker);

    const COUNT: usize = 40;
    for n in 0..COUNT {
        let mut tx = app.pool.begin().await.unwrap();
        second.queue(&mut tx, &email(n)).await.unwrap();
        tx.commit().await.unwrap();
    }

    let messages = app.smtp.wait_for(COUNT).await;
    // Give a duplicate, if any, time to arrive.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let messages = if messages.len() == COUNT { app.smtp.messages().await } else { messages };
    assert_eq!(messages.len(), COUNT);
    let subjects: HashSet<String> = messages
        .iter()
        .filter_map(|m| m.lines().find(|l| l.starts_with("Subject: ")).map(str::to_owned))
        .collect();
    assert_eq!(subjects.len(), COUNT, "every message once");
    let sent: i64 =
        sqlx::query_scalar("select count(*) from outbox_emails where status = 'sent' and attempts = 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(sent, COUNT as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_whose_transaction_rolls_back_is_never_sent() {
    let app = spawn_app().await;
    let mailer = Mailer::from_config(
        Some(&app.smtp.url()),
        "Portico <no-reply@portico.test>",
        Duration::from_secs(10),
    )
    .unwrap();
    let outbox = Outbox::new(app.pool.clone(), mailer, Retries::default()).await.unwrap();

    let mut tx = app.pool.begin().await.unwrap();
    outbox.queue(&mut tx, &email(1)).await.unwrap();
    tx.rollback().await.unwrap();
    let mut tx = app.pool.begin().await.unwrap();
    outbox.queue(&mut tx, &email(2)).await.unwrap();
    tx.commit().await.unwrap();

    let messages = app.smtp.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let messages = if messages.len() == 1 { app.smtp.messages().await } else { messages };
    assert_eq!(messages.len(), 1);
    assert!(messages[0].contains("Subject: Message 2"));
}
