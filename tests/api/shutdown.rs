//! A process that is shutting down never declares again what was deleted meanwhile: before the
//! fix, a consumer cancelled by the deletion of its queue asked for the topology again and the
//! test namespaces came back after the tests had removed them.

use crate::helpers::*;
use hexactor::startup::ProcessRole;
use std::time::{Duration, Instant};

#[actix_web::test]
async fn a_queue_deleted_after_the_amqp_connection_closed_stays_deleted() {
    let ns = Namespace::new().await;
    let app = spawn_role(&ns, ProcessRole::All, &[]).await;
    let queue = ns.names().command_queue;
    let conn = amqp().await;

    // While running, the worker re-declares a deleted queue and subscribes again (basic.cancel).
    delete_queue(&conn, &queue)
        .await
        .expect("delete the command queue");
    let t = Instant::now();
    eventually(
        "the running worker re-declares its queue and consumes again",
        Duration::from_secs(20),
        async || consumer_count(&conn, &queue).await == Some(1),
    )
    .await;
    let redeclared_after = t.elapsed();

    // Shutting down: once the connection is closed, a deleted queue stays deleted. Watched for
    // five times as long as the re-declaration took above (at least 2 s).
    app.close_amqp().await;
    delete_queue(&conn, &queue)
        .await
        .expect("delete the command queue");
    let watch = (redeclared_after * 5).max(Duration::from_secs(2));
    let until = Instant::now() + watch;
    while Instant::now() < until {
        assert_eq!(
            queue_counts(&conn, &queue).await,
            None,
            "the queue was declared again after the connection was closed"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = conn.close(200, "done".into()).await;
}
