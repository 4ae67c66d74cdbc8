//! Supervision: restart on panic, restart on error stop, escalation past the intensity limit,
//! and the per-actor metrics that move on the way. Real actix actors, no mocks.

mod common;

use ::actors::{Intensity, OnEscalation, Restart, SupervisorConfig, SupervisorRef};
use actix::prelude::*;
use common::{WITHIN, counter_value, eventually};
use std::time::Duration;

#[derive(Default)]
struct Counter {
    count: u32,
}

impl Actor for Counter {
    type Context = Context<Self>;
}

impl Supervised for Counter {
    fn restarting(&mut self, _: &mut Context<Self>) {
        // State may be half-updated after a panic: start from a clean slate.
        self.count = 0;
    }
}

::actors::instrument!(Counter: Increment, Explode, ExplodeLater, Fail);

#[derive(Message)]
#[rtype(result = "Result<u32, String>")]
struct Increment;

#[derive(Message)]
#[rtype(result = "Result<u32, String>")]
struct Explode;

#[derive(Message)]
#[rtype(result = "Result<u32, String>")]
struct ExplodeLater;

#[derive(Message)]
#[rtype(result = "Result<u32, String>")]
struct Fail;

impl Handler<Increment> for Counter {
    type Result = Result<u32, String>;
    fn handle(&mut self, _: Increment, _: &mut Context<Self>) -> Self::Result {
        self.count += 1;
        Ok(self.count)
    }
}

impl Handler<Explode> for Counter {
    type Result = Result<u32, String>;
    fn handle(&mut self, _: Explode, _: &mut Context<Self>) -> Self::Result {
        panic!("boom");
    }
}

impl Handler<ExplodeLater> for Counter {
    type Result = ResponseFuture<Result<u32, String>>;
    fn handle(&mut self, _: ExplodeLater, _: &mut Context<Self>) -> Self::Result {
        Box::pin(async {
            actix::clock::sleep(Duration::from_millis(5)).await;
            panic!("boom in the async part of a reply");
        })
    }
}

impl Handler<Fail> for Counter {
    type Result = Result<u32, String>;
    fn handle(&mut self, _: Fail, ctx: &mut Context<Self>) -> Self::Result {
        // An actor that cannot go on stops itself; the supervisor treats that as an error exit.
        ctx.stop();
        Err("cannot continue".into())
    }
}

fn config(max_restarts: u32) -> SupervisorConfig {
    let mut c = SupervisorConfig::new(
        format!("test-sup-{}", uuid::Uuid::new_v4().simple()),
        Intensity {
            max_restarts,
            within: Duration::from_secs(10),
        },
    );
    c.backoff_initial = Duration::from_millis(5);
    c.backoff_max = Duration::from_millis(20);
    c
}

#[derive(Default)]
struct EscalationProbe {
    seen: Vec<::actors::Escalated>,
}
impl Actor for EscalationProbe {
    type Context = Context<Self>;
}
impl Handler<::actors::Escalated> for EscalationProbe {
    type Result = ();
    fn handle(&mut self, msg: ::actors::Escalated, _: &mut Context<Self>) {
        self.seen.push(msg);
    }
}
#[derive(Message)]
#[rtype(result = "usize")]
struct SeenCount;
impl Handler<SeenCount> for EscalationProbe {
    type Result = usize;
    fn handle(&mut self, _: SeenCount, _: &mut Context<Self>) -> usize {
        self.seen.len()
    }
}

fn probe() -> (Addr<EscalationProbe>, OnEscalation) {
    let probe = EscalationProbe::default().start();
    let on = OnEscalation::Notify(probe.clone().recipient());
    (probe, on)
}

#[actix_rt::test]
async fn a_panicking_handler_restarts_the_actor_at_the_same_address() {
    let (_probe, on) = probe();
    let sup = SupervisorRef::start_root(config(5), on);
    let counter = sup.spawn_here("counter", Restart::Permanent, Counter::default);

    assert_eq!(counter.ask(Increment).await.unwrap(), Ok(1));
    assert_eq!(counter.ask(Increment).await.unwrap(), Ok(2));
    let restarts_before = counter_value(
        "actor_restarts_total",
        &[("actor", "Counter"), ("reason", "panic")],
    );
    let panics_before = counter_value(
        "actor_messages_total",
        &[("actor", "Counter"), ("outcome", "panic")],
    );

    // The caller of the panicking message gets an error, the process lives on.
    assert!(counter.ask(Explode).await.is_err());

    // Same address, fresh state: `restarting` reset the count.
    let mut reply = None;
    eventually("the counter answers again", WITHIN, async || {
        reply = counter.ask(Increment).await.ok();
        reply.is_some()
    })
    .await;
    assert_eq!(reply.unwrap(), Ok(1));
    assert!(
        counter_value(
            "actor_restarts_total",
            &[("actor", "Counter"), ("reason", "panic")]
        ) > restarts_before
    );
    assert!(
        counter_value(
            "actor_messages_total",
            &[("actor", "Counter"), ("outcome", "panic")]
        ) > panics_before
    );

    let tree = sup.describe().await.unwrap();
    let child = tree.children.iter().find(|c| c.name == "counter").unwrap();
    assert_eq!(child.restarts, 1);
}

#[actix_rt::test]
async fn a_panic_in_the_async_part_of_a_reply_is_caught_too() {
    let (_probe, on) = probe();
    let sup = SupervisorRef::start_root(config(5), on);
    let counter = sup.spawn_here("counter", Restart::Permanent, Counter::default);
    assert_eq!(counter.ask(Increment).await.unwrap(), Ok(1));

    assert!(counter.ask(ExplodeLater).await.is_err());

    let mut reply = None;
    eventually("the counter answers again", WITHIN, async || {
        reply = counter.ask(Increment).await.ok();
        reply.is_some()
    })
    .await;
    assert_eq!(
        reply.unwrap(),
        Ok(1),
        "the actor was restarted, so its state was reset"
    );
}

#[actix_rt::test]
async fn an_actor_that_stops_itself_with_an_error_is_restarted() {
    let (_probe, on) = probe();
    let sup = SupervisorRef::start_root(config(5), on);
    let counter = sup.spawn_here("counter", Restart::Permanent, Counter::default);
    let before = counter_value(
        "actor_restarts_total",
        &[("actor", "Counter"), ("reason", "error")],
    );
    assert_eq!(counter.ask(Increment).await.unwrap(), Ok(1));

    assert_eq!(
        counter.ask(Fail).await.unwrap(),
        Err("cannot continue".to_string())
    );

    eventually("an error restart is counted", WITHIN, async || {
        counter_value(
            "actor_restarts_total",
            &[("actor", "Counter"), ("reason", "error")],
        ) > before
    })
    .await;
    let mut reply = None;
    eventually("the counter answers again", WITHIN, async || {
        reply = counter.ask(Increment).await.ok();
        reply.is_some()
    })
    .await;
    assert_eq!(reply.unwrap(), Ok(1));
}

#[actix_rt::test]
async fn exceeding_the_restart_intensity_escalates_and_stops_restarting() {
    let (probe, on) = probe();
    let sup = SupervisorRef::start_root(config(2), on);
    let counter = sup.spawn_here("counter", Restart::Permanent, Counter::default);

    for round in 0..3 {
        // Each round: wait until the actor is back, then make it panic again.
        eventually("counter alive", WITHIN, async || {
            counter.ask(Increment).await.is_ok()
        })
        .await;
        assert!(counter.ask(Explode).await.is_err(), "round {round}");
    }
    eventually("the supervisor escalated", WITHIN, async || {
        probe.send(SeenCount).await.unwrap() == 1
    })
    .await;
    // Given up: the actor stays down, its mailbox is closed.
    eventually("the actor is gone", WITHIN, async || {
        counter.ask(Increment).await.is_err()
    })
    .await;
}

#[actix_rt::test]
async fn escalation_propagates_from_a_child_supervisor_to_its_parent() {
    let (probe, on) = probe();
    let root = SupervisorRef::start_root(config(10), on);
    let inner = root.spawn_supervisor(config(0));
    let counter = inner.spawn_here("counter", Restart::Permanent, Counter::default);
    assert!(counter.ask(Explode).await.is_err());
    eventually("the root escalated", WITHIN, async || {
        probe.send(SeenCount).await.unwrap() == 1
    })
    .await;

    let tree = root.describe().await.unwrap();
    assert_eq!(tree.children.len(), 1);
    assert_eq!(tree.children[0].children[0].name, "counter");
}

#[actix_rt::test]
async fn a_root_escalation_is_reported_to_its_owner_and_the_process_goes_on() {
    // The library never exits the process: the root reports on a channel and the binary decides
    // (hexactor shuts down gracefully, then exits 70). Were it to exit, this test would die here.
    let (on, mut escalations) = OnEscalation::report();
    let root = SupervisorRef::start_root(config(0), on);
    let counter = root.spawn_here("counter", Restart::Permanent, Counter::default);
    assert!(counter.ask(Explode).await.is_err());
    let escalated = tokio::time::timeout(Duration::from_secs(10), escalations.recv())
        .await
        .expect("the root reported its escalation within 10 s")
        .expect("the channel is open");
    assert_eq!(escalated.child, "counter");
    assert!(root.describe().await.is_some(), "the runtime is still up");
}

#[actix_rt::test]
async fn messages_are_counted_timed_and_the_mailbox_gauge_returns_to_zero() {
    let (_probe, on) = probe();
    let sup = SupervisorRef::start_root(config(5), on);
    let counter = sup.spawn_here("counter", Restart::Permanent, Counter::default);
    let ok_before = counter_value(
        "actor_messages_total",
        &[
            ("actor", "Counter"),
            ("message", "Increment"),
            ("outcome", "ok"),
        ],
    );
    let err_before = counter_value(
        "actor_messages_total",
        &[
            ("actor", "Counter"),
            ("message", "Fail"),
            ("outcome", "error"),
        ],
    );

    let replies = futures_util::future::join_all((0..50).map(|_| counter.ask(Increment))).await;
    assert!(replies.iter().all(|r| matches!(r, Ok(Ok(_)))));
    let _ = counter.ask(Fail).await;

    let ok_after = counter_value(
        "actor_messages_total",
        &[
            ("actor", "Counter"),
            ("message", "Increment"),
            ("outcome", "ok"),
        ],
    );
    assert!(ok_after - ok_before >= 50.0, "{ok_before} -> {ok_after}");
    assert!(
        counter_value(
            "actor_messages_total",
            &[
                ("actor", "Counter"),
                ("message", "Fail"),
                ("outcome", "error")
            ]
        ) > err_before
    );
    let timed = prometheus::gather()
        .into_iter()
        .find(|f| f.name() == "actor_message_duration_seconds")
        .map(|f| {
            f.get_metric()
                .iter()
                .any(|m| m.get_histogram().get_sample_count() > 0)
        })
        .unwrap_or(false);
    assert!(timed, "handling time is recorded");
    assert!(counter_value("actor_instances", &[("actor", "Counter")]) >= 1.0);
}
