//! The notifications context: every new user is welcomed once, whatever the broker redelivers.

use crate::helpers::*;
use hexactor::startup::ProcessRole;
use lapin::BasicProperties;
use std::time::Duration;

#[actix_web::test]
async fn a_new_user_is_welcomed_once_even_when_the_event_comes_again() {
    let ns = Namespace::new().await;
    let app = spawn_role(&ns, ProcessRole::All, &[]).await;
    let res = app.register(&user_body("welcome"), &[]).await;
    assert_eq!(res.status, 201);
    let user_id = res.json()["id"].as_str().unwrap().to_owned();

    eventually(
        "the welcome is recorded",
        Duration::from_secs(10),
        async || {
            app.count("SELECT count(*) FROM notifications WHERE kind = 'welcome'")
                .await
                == 1
        },
    )
    .await;
    let (recorded_user, email, kind): (uuid::Uuid, String, String) =
        sqlx::query_as("SELECT user_id, email, kind FROM notifications WHERE kind = 'welcome'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(recorded_user.to_string(), user_id);
    assert_eq!(email, "userwelcome@example.com");
    assert_eq!(kind, "welcome");
    assert!(captured_logs().contains("Welcome to hexactor, user_welcome!"));

    // The broker delivers the same event again (at-least-once): nothing is sent twice.
    let event: Vec<u8> =
        sqlx::query_scalar("SELECT payload FROM outbox WHERE routing_key = 'users.user.created'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let queue = ns.names().notifications_queue;
    let conn = amqp().await;
    publish_raw(&conn, &queue, &event, BasicProperties::default()).await;
    publish_raw(
        &conn,
        &queue,
        b"not an event",
        BasicProperties::default().with_message_id("bad".into()),
    )
    .await;

    // The poison is dead-lettered; by then the duplicate (published before it) has been handled.
    let mut dead = None;
    eventually(
        "the poison event is dead-lettered",
        Duration::from_secs(10),
        async || {
            dead = take_message(&conn, &dead_letter_queue(&queue)).await;
            dead.is_some()
        },
    )
    .await;
    assert_eq!(
        dead.unwrap()
            .delivery
            .properties
            .message_id()
            .as_ref()
            .unwrap()
            .as_str(),
        "bad"
    );
    eventually(
        "the duplicate event is consumed",
        Duration::from_secs(10),
        async || queue_depth(&conn, &queue).await == Some(0),
    )
    .await;
    assert_eq!(
        app.count("SELECT count(*) FROM notifications WHERE kind = 'welcome'")
            .await,
        1
    );
}
