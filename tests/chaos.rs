//! Chaos tests: real `hexactor` processes (2 APIs, 3 workers) under load while the broker
//! restarts, workers die, the database goes away and poison is injected. Every scenario ends
//! with the same checks (see `harness::Cluster::verify`) and prints a summary line:
//!
//! ```text
//! chaos[rabbit-stop-app]: accepted=1000 completed=1000 ... lost=0 duplicated=0 dead_lettered=0 ...
//! ```
//!
//! They run against PRIVATE services only — a 3-node RabbitMQ cluster and a PostgreSQL instance
//! that `scripts/chaos-services.sh run` starts once for the whole run and removes afterwards (see
//! `chaos/services.rs`); each scenario has its own namespace on them. They run one at a time
//! (`make test` runs them in a second nextest invocation, `--test-threads 1`); every fault is
//! held by a guard that undoes it even when the test fails, so each scenario ends with all three
//! nodes up. CHAOS_COMMANDS (default 1000) sets the load per scenario, CHAOS_ROUNDS (default 1)
//! how many times the fault is repeated.
//!
//! Most scenarios are one fault run by the round loop (`chaos/rounds.rs`): start a round's load,
//! wait until a third of it is accepted, inject the fault, let the load finish; verify after the
//! last round. The fault helpers are in `chaos/faults.rs`, the checks and summary in
//! `chaos/verify.rs`.
//!
//! (Over 400 lines on purpose: this file is the scenario table — each fault is a few lines, and
//! reading them side by side is how one sees what the suite covers. The tests stay at the crate
//! root: `make test` selects them by `test(/^chaos_/)`.)

#[path = "chaos/faults.rs"]
mod faults;
#[path = "chaos/harness.rs"]
mod harness;
#[path = "chaos/launch.rs"]
mod launch;
#[path = "chaos/load.rs"]
mod load;
#[path = "chaos/probe.rs"]
mod probe;
#[path = "chaos/processes.rs"]
mod processes;
#[path = "chaos/rounds.rs"]
mod rounds;
#[path = "chaos/services.rs"]
mod services;
#[path = "support/mod.rs"]
mod support;
#[path = "chaos/verify.rs"]
mod verify;

use faults::*;
use harness::*;
use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable};
use rounds::*;
use services::ClusterGuard;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// `stop_app` on all three nodes, then `start_app`.
#[actix_web::test]
async fn chaos_rabbit_stop_app() {
    scenario("rabbit-stop-app", async |c, load, round| {
        whole_broker_away(c, load, round, "stop_app", Duration::from_secs(3)).await
    })
    .await;
}

/// The whole cluster stopped (every node's VM exits) and booted again.
#[actix_web::test]
async fn chaos_rabbit_node_restart() {
    scenario("rabbit-node-restart", async |c, load, round| {
        whole_broker_away(c, load, round, "stop", Duration::from_secs(2)).await
    })
    .await;
}

/// SIGKILL the node hosting the command queue's quorum leader mid-load: a follower takes over,
/// the processes connected to it fail over to another node; it comes back later.
#[actix_web::test]
async fn chaos_quorum_leader_killed() {
    scenario("quorum-leader-killed", async |c, _load, round| {
        let queue = c.names.command_queue.clone();
        let leader = services::quorum_leader(&queue, None)
            .await
            .expect("the command queue has a leader");
        let guard = ClusterGuard;
        let on_leader = connected_to(c, leader).await;
        let t = Instant::now();
        services::node(leader, "kill").await;
        // Every surviving node is asked each time; on timeout the test says what each answered.
        let deadline = t + Duration::from_secs(60);
        let elected = loop {
            let answers = services::leader_answers(&queue, Some(leader)).await;
            if answers.iter().any(|a| a.leader.is_some_and(|l| l != leader)) {
                break t.elapsed();
            }
            if Instant::now() > deadline {
                let said: Vec<String> = answers.iter().map(ToString::to_string).collect();
                panic!(
                    "no node but the killed node {} leads {queue} after 60s; the survivors said:\n{}",
                    leader + 1,
                    said.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_all_connected(c, "every process failed over and consumes again").await;
        assert_eq!(connected_to(c, leader).await, 0, "a process still on the dead node");
        eprintln!(
            "chaos[quorum-leader-killed]: round {round}: SIGKILLed node {} (leader, {on_leader} processes on it); new leader after {:.1}s, all failed over after {:.1}s",
            leader + 1,
            elected.as_secs_f64(),
            t.elapsed().as_secs_f64()
        );
        drop(guard); // the node comes back
        Injected::default()
    })
    .await;
}

/// Each node stopped and started in turn, each time under a load of its own.
#[actix_web::test]
async fn chaos_rolling_restart() {
    scenario("rolling-restart", async |c, _load, round| {
        let mut accepted = Vec::new();
        for i in ALL_NODES {
            let load = c.start_load(commands().div_ceil(rounds() * services::NODES));
            load.reached(1.0 / 3.0).await;
            let before = load.accepted();
            let guard = ClusterGuard;
            let t = Instant::now();
            services::node(i, "stop").await;
            services::node(i, "start").await;
            drop(guard);
            assert_all_connected(c, "every process is connected and consuming").await;
            eprintln!(
                "chaos[rolling-restart]: round {round}: node {} restarted in {:.1}s, {} commands accepted meanwhile",
                i + 1,
                t.elapsed().as_secs_f64(),
                load.accepted() - before
            );
            let result = load.finish().await;
            assert_eq!(result.gave_up, 0);
            accepted.extend(result.accepted);
        }
        Injected::accepted(accepted)
    })
    .await;
}

/// Two of three nodes down (SIGKILL: a graceful stop of the second node waits for quorum
/// hand-overs that cannot happen): the quorum queues are unavailable. The API keeps accepting
/// (the outbox holds the commands); everything completes once the nodes are back.
#[actix_web::test]
async fn chaos_majority_lost() {
    scenario("majority-lost", async |c, load, round| {
        let guard = ClusterGuard;
        let before = load.accepted();
        let t = Instant::now();
        on_nodes(&[1, 2], "kill").await;
        let mut accepted = Vec::new();
        for api in 0..c.apis.len() {
            accepted.push(c.register_one(api).await);
        }
        let remaining = Duration::from_secs(5).saturating_sub(t.elapsed());
        sleep(remaining).await; // the rest of the outage
        let during = load.accepted() - before;
        let outage = t.elapsed();
        let t = Instant::now();
        drop(guard); // boots both nodes
        let boot = t.elapsed();
        assert_all_connected(c, "every process is connected and consuming").await;
        eprintln!(
            "chaos[majority-lost]: round {round}: 2 of 3 nodes SIGKILLed for {:.1}s, {during} + {} commands accepted meanwhile; booting them took {:.1}s, all processes consuming {:.1}s later",
            outage.as_secs_f64(),
            accepted.len(),
            boot.as_secs_f64(),
            (t.elapsed() - boot).as_secs_f64()
        );
        Injected::accepted(accepted)
    })
    .await;
}

/// `pg_ctl restart -m fast` mid-load: every connection is cut, the server is back moments later.
#[actix_web::test]
async fn chaos_postgres_fast_restart() {
    scenario("postgres-fast-restart", async |c, _load, round| {
        let t = Instant::now();
        services::postgres_fast_restart().await;
        let down = t.elapsed();
        let conn = amqp().await;
        eventually(
            "every worker consumes commands again",
            Duration::from_secs(60),
            async || {
                consumer_count(&conn, &c.names.command_queue).await == Some(c.workers.len() as u32)
            },
        )
        .await;
        let _ = conn.close(200, "done".into()).await;
        eprintln!(
            "chaos[postgres-fast-restart]: round {round}: restart took {:.1}s, consumers back after {:.1}s",
            down.as_secs_f64(),
            t.elapsed().as_secs_f64()
        );
        Injected::default()
    })
    .await;
}

/// An API replica SIGKILLed mid-load: what it accepted completes (its outbox rows are relayed by
/// the others), and a client retrying with the same Idempotency-Key on the other replica gets
/// the original outcome.
#[actix_web::test]
async fn chaos_api_killed() {
    scenario("api-killed", async |c, _load, round| {
        let key = format!("chaos-api-killed-{round}-{}", Uuid::new_v4().simple());
        let body = user_body(&Uuid::new_v4().simple().to_string()[..8], round);
        let (status, first) = c.register_with_key(0, &key, &body).await;
        assert_eq!(status, 202, "{first}");
        let mut killed = c.apis.remove(0);
        killed.sigkill();
        assert!(killed.wait_exit(Duration::from_secs(10)).await.is_some());
        let (status, again) = c.register_with_key(0, &key, &body).await;
        assert_eq!(status, 202, "{again}");
        assert_eq!(
            again["command_id"], first["command_id"],
            "the retry on the other replica must get the original command"
        );
        eprintln!(
            "chaos[api-killed]: round {round}: SIGKILLed {}; the retry on {} got the original command",
            killed.name, c.apis[0].name
        );
        c.spawn_api().await;
        Injected::accepted([Uuid::parse_str(first["command_id"].as_str().unwrap()).unwrap()])
    })
    .await;
}

#[actix_web::test]
async fn chaos_worker_kill_and_term() {
    scenario("worker-kill-term", async |c, load, round| {
        // SIGKILL the oldest worker mid-batch; a replacement joins (scaling up again).
        let mut killed = c.workers.remove(0);
        killed.sigkill();
        assert!(killed.wait_exit(Duration::from_secs(10)).await.is_some());
        c.spawn_worker().await;

        // SIGTERM another: it finishes what it holds and exits 0 within the deadline.
        load.reached(0.5).await;
        let mut stopped = c.workers.remove(0);
        let t = Instant::now();
        stopped.sigterm();
        let status = stopped
            .wait_exit(Duration::from_secs(SHUTDOWN_SECONDS + 5))
            .await
            .unwrap_or_else(|| {
                panic!(
                    "{} still running after SIGTERM:\n{}",
                    stopped.name,
                    stopped.log_text()
                )
            });
        assert!(
            status.success(),
            "{} exited with {status}:\n{}",
            stopped.name,
            stopped.log_text()
        );
        // It finished (and acked) everything it had taken before it exited.
        assert!(
            stopped
                .log_text()
                .contains(r#""unfinished":0,"message":"consumers stopped""#)
                || stopped
                    .log_text()
                    .contains(r#""message":"consumers stopped","unfinished":0"#),
            "{} did not settle its deliveries before exiting:\n{}",
            stopped.name,
            stopped.log_text()
        );
        // A graceful stop logs no error: the publisher's channel is closed before the connection
        // (lapin reports a channel still closing when the connection's close begins as an error).
        let log = stopped.log_text();
        let stopping = log.split_once("shutdown requested").map_or("", |(_, rest)| rest);
        assert!(
            !stopping.contains(r#""level":"ERROR""#),
            "{} logged an error while stopping:\n{stopping}",
            stopped.name
        );
        eprintln!(
            "chaos[worker-kill-term]: round {round}: SIGKILLed {}, SIGTERMed {} (exit 0 after {:.1}s)",
            killed.name,
            stopped.name,
            t.elapsed().as_secs_f64()
        );
        c.spawn_worker().await;
        Injected::default()
    })
    .await;
}
#[actix_web::test]
async fn chaos_postgres_refuses_connections() {
    scenario("postgres-refuses", async |c, _load, round| {
        let queue = format!(r#"queue="{}""#, c.names.command_queue);
        let template = command_template(c).await;
        let retries_before = command_retries(c).await;
        let lockout = DatabaseLockout::start(&c.database).await;
        let t = Instant::now();
        // Work arrives while the database is away: the workers fail a few, then stop taking
        // messages (circuit breaker) instead of burning through the retries.
        let injected = inject_commands(c, &template, 60).await;
        let conn = amqp().await;
        eventually(
            "every worker paused its command consumer",
            Duration::from_secs(30),
            async || consumer_count(&conn, &c.names.command_queue).await == Some(0),
        )
        .await;
        for w in &c.workers {
            assert_eq!(
                c.metric(w, "amqp_consumer_paused", &[&queue]).await,
                Some(1.0),
                "{}",
                w.name
            );
        }
        let api_ready = c.ready(&c.apis[0]).await;
        assert!(
            matches!(&api_ready, Some((503, _))),
            "API /ready with PostgreSQL away: {api_ready:?}"
        );
        let remaining = Duration::from_secs(5).saturating_sub(t.elapsed());
        sleep(remaining).await; // the rest of the outage
        drop(lockout);
        eventually(
            "the workers resume consuming",
            Duration::from_secs(30),
            async || {
                consumer_count(&conn, &c.names.command_queue).await == Some(c.workers.len() as u32)
            },
        )
        .await;
        let _ = conn.close(200, "done".into()).await;
        for w in &c.workers {
            assert_eq!(
                c.metric(w, "amqp_consumer_paused", &[&queue]).await,
                Some(0.0),
                "{}",
                w.name
            );
        }
        // Without the breaker each of the 60 injected commands (and what was in flight) would go
        // through the retry tiers again and again for as long as the database is away; with it a
        // worker spends about trip_after (5) failures, plus what failed alongside them, then stops.
        let retries = command_retries(c).await - retries_before;
        eprintln!(
            "chaos[postgres-refuses]: round {round}: database away {:.1}s, {retries} command deliveries sent to retry tiers",
            t.elapsed().as_secs_f64()
        );
        assert!(
            retries < 60.0,
            "{retries} retries: the breaker did not stop the burn"
        );
        Injected::accepted(injected)
    })
    .await;
}

#[actix_web::test]
async fn chaos_poison_messages() {
    scenario("poison", async |c, _load, round| {
        let mut poison = Vec::new();
        let conn = amqp().await;
        let schema = |v: i64| {
            let mut h = FieldTable::default();
            h.insert("x-schema-version".into(), AMQPValue::LongLongInt(v));
            h
        };
        let bad: [(&[u8], FieldTable); 5] = [
            (b"this is not JSON", FieldTable::default()),
            (b"", FieldTable::default()),
            (
                br#"{"type":"DropAllTables","command_id":"5d1f0d1e-0000-4000-8000-000000000000"}"#,
                schema(1),
            ),
            (br#"{"type":"RegisterUser"}"#, schema(1)),
            (
                br#"{"type":"RegisterUser","command_id":"5d1f0d1e-0000-4000-8000-000000000001"}"#,
                schema(99),
            ),
        ];
        for (i, (payload, headers)) in bad.into_iter().enumerate() {
            let id = format!("poison-{round}-{i}");
            let props = BasicProperties::default()
                .with_delivery_mode(2)
                .with_message_id(id.as_str().into())
                .with_headers(headers);
            publish_raw(&conn, &c.names.command_queue, payload, props).await;
            poison.push(id);
        }
        let _ = conn.close(200, "done".into()).await;
        Injected {
            poison,
            ..Injected::default()
        }
    })
    .await;
}

/// The broker cancels consumers of a deleted queue (`basic.cancel`); the workers notice,
/// redeclare the topology and subscribe again. A worker the broker forgot without a cancel
/// (1 to 3 in 100 deletions: one that subscribed just before the deletion) comes back
/// by renewing its idle subscription (`actors` `consumer/watch.rs`), hence the deadline:
/// `CONSUMER_RENEW_IDLE_SECONDS` (30 by default) plus the 5 s watch period, with room.
#[actix_web::test]
async fn chaos_broker_cancel_resubscribes() {
    // Every process on one node: a quorum queue deleted and declared again within a fraction of
    // a second (the first worker to be cancelled re-creates it at once) can leave consumers that
    // are attached through ANOTHER node without their basic.cancel (seen once in three runs on
    // RabbitMQ 3.10: those workers never learnt that their subscription was gone). The
    // scenario is about the cancel path itself, which is per connection.
    let first_node = services::rabbitmq_url_list().swap_remove(0);
    let mut c = Cluster::start_with_urls("broker-cancel", first_node).await;
    let conn = amqp().await;
    for _ in 0..rounds() {
        // Not a single reading: an idle subscription may be between its end and its renewal.
        eventually(
            "three consumers before the deletion",
            Duration::from_secs(10),
            async || consumer_count(&conn, &c.names.command_queue).await == Some(3),
        )
        .await;
        delete_queue(&conn, &c.names.command_queue)
            .await
            .expect("delete the (empty) command queue");
        eventually(
            "the workers resubscribe",
            Duration::from_secs(60),
            async || consumer_count(&conn, &c.names.command_queue).await == Some(3),
        )
        .await;
    }
    let _ = conn.close(200, "done".into()).await;
    // The cancel path itself ran: every deletion cancelled at least one worker.
    let queue = format!(r#"queue="{}""#, c.names.command_queue);
    let mut cancels = 0.0;
    for w in &c.workers {
        cancels += c
            .metric(
                w,
                "amqp_subscriptions_restarted_total",
                &[queue.as_str(), r#"reason="cancelled""#],
            )
            .await
            .unwrap_or(0.0);
    }
    assert!(
        cancels >= rounds() as f64,
        "{cancels} broker cancels for {} deletions",
        rounds()
    );
    for w in &c.workers {
        eventually(
            &format!("{} runs all its consumers", w.name),
            Duration::from_secs(10),
            async || gauge(&c, w, "amqp_consumers_running").await == Some(c.worker_consumers()),
        )
        .await;
    }
    let load = c.start_load(commands() / 2);
    let result = load.finish().await;
    c.verify(result, &[]).await;
    c.cleanup().await;
}
