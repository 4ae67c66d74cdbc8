//! Stalled actors: a message that stays in its handler past the limit is counted in
//! `actor_stalls_total{actor}`, and a child marked restart-on-stall is restarted by its
//! supervisor (reason `stall`). The actors here really block: on a future that never resolves,
//! or on their thread until the test lets them go.

mod common;

use ::actors::{ChildOptions, Intensity, OnEscalation, Restart, SupervisorConfig, SupervisorRef};
use actix::prelude::*;
use common::{WITHIN, capture_logs, captured_logs, counter_value, eventually};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_millis(100);

#[derive(Default)]
struct Worker {
    handled: u32,
    /// Released by the test to end a thread-blocking handler.
    gate: Option<mpsc::Receiver<()>>,
}

impl Actor for Worker {
    type Context = Context<Self>;
}

impl Supervised for Worker {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.handled = 0;
    }
}

#[derive(Message)]
#[rtype(result = "Result<u32, String>")]
struct Ping;

/// Awaits a future that never resolves (a hung query, say).
#[derive(Message)]
#[rtype(result = "Result<u32, String>")]
struct HangForever;

/// Blocks the actor's thread until the gate opens (a deadlock, a blocking call).
#[derive(Message)]
#[rtype(result = "Result<u32, String>")]
struct BlockThread(mpsc::Receiver<()>);

/// Awaits a oneshot the test completes later: slow, but it does finish.
#[derive(Message)]
#[rtype(result = "Result<u32, String>")]
struct SlowButFinishes(tokio::sync::oneshot::Receiver<()>);

impl Handler<Ping> for Worker {
    type Result = Result<u32, String>;
    fn handle(&mut self, _: Ping, _: &mut Context<Self>) -> Self::Result {
        self.handled += 1;
        Ok(self.handled)
    }
}

impl Handler<HangForever> for Worker {
    type Result = ResponseFuture<Result<u32, String>>;
    fn handle(&mut self, _: HangForever, _: &mut Context<Self>) -> Self::Result {
        Box::pin(std::future::pending())
    }
}

impl Handler<BlockThread> for Worker {
    type Result = Result<u32, String>;
    fn handle(&mut self, msg: BlockThread, _: &mut Context<Self>) -> Self::Result {
        self.gate = Some(msg.0);
        let _ = self.gate.as_ref().map(|g| g.recv());
        self.handled += 1;
        Ok(self.handled)
    }
}

impl Handler<SlowButFinishes> for Worker {
    type Result = ResponseFuture<Result<u32, String>>;
    fn handle(&mut self, msg: SlowButFinishes, _: &mut Context<Self>) -> Self::Result {
        Box::pin(async move {
            let _ = msg.0.await;
            Ok(0)
        })
    }
}

::actors::instrument!(Worker: Ping, HangForever, BlockThread, SlowButFinishes);

fn supervisor() -> SupervisorRef {
    ::actors::stall::set_limit(LIMIT);
    let mut c = SupervisorConfig::new(
        format!("stall-sup-{}", uuid::Uuid::new_v4().simple()),
        Intensity {
            max_restarts: 5,
            within: Duration::from_secs(10),
        },
    );
    c.backoff_initial = Duration::from_millis(5);
    c.backoff_max = Duration::from_millis(20);
    SupervisorRef::start_root(c, OnEscalation::report().0)
}

fn stalls() -> f64 {
    counter_value("actor_stalls_total", &[("actor", "Worker")])
}

fn stall_restarts() -> f64 {
    counter_value(
        "actor_restarts_total",
        &[("actor", "Worker"), ("reason", "stall")],
    )
}

const RESTART_ON_STALL: ChildOptions = ChildOptions {
    restart: Restart::Permanent,
    restart_on_stall: true,
};

#[actix_rt::test]
async fn a_handler_hung_in_an_await_is_reported_and_the_actor_restarted() {
    capture_logs();
    let sup = supervisor();
    let worker = sup.spawn_with(
        "hanging",
        &Arbiter::current(),
        RESTART_ON_STALL,
        Worker::default,
    );
    assert_eq!(worker.ask(Ping).await.unwrap(), Ok(1));
    let (stalls_before, restarts_before) = (stalls(), stall_restarts());

    // The restart drops the hung reply: the caller gets an error instead of waiting forever.
    let started = Instant::now();
    assert!(worker.ask(HangForever).await.is_err());
    assert!(started.elapsed() >= LIMIT, "cut off before the limit");
    assert!(stalls() > stalls_before);
    eventually("the stall restart is counted", WITHIN, async || {
        stall_restarts() > restarts_before
    })
    .await;
    // The report names the actor and the message type it is stuck on.
    let logs = captured_logs();
    let report = logs
        .lines()
        .find(|l| l.contains("actor stalled"))
        .unwrap_or_else(|| panic!("no stall report in:\n{logs}"));
    assert!(report.contains("actor=\"Worker\""), "{report}");
    assert!(report.contains("message_type=\"HangForever\""), "{report}");
    // Same address, fresh state.
    assert_eq!(worker.ask(Ping).await.unwrap(), Ok(1));
    let tree = sup.describe().await.unwrap();
    let child = tree.children.iter().find(|c| c.name == "hanging").unwrap();
    assert_eq!(child.restarts, 1);
}

#[actix_rt::test]
async fn a_handler_blocking_its_thread_is_reported_while_it_blocks_then_restarted() {
    let sup = supervisor();
    let thread = Arbiter::new();
    let worker = sup.spawn_with(
        "blocking",
        &thread.handle(),
        RESTART_ON_STALL,
        Worker::default,
    );
    assert_eq!(worker.ask(Ping).await.unwrap(), Ok(1));
    let (stalls_before, restarts_before) = (stalls(), stall_restarts());

    let (release, gate) = mpsc::channel();
    let blocked = {
        let worker = worker.clone();
        actix::spawn(async move { worker.ask(BlockThread(gate)).await })
    };
    // Seen while the thread is still blocked: the watchdog runs on its own thread.
    eventually("the stall is reported while blocked", WITHIN, async || {
        stalls() > stalls_before
    })
    .await;
    assert!(!blocked.is_finished(), "the handler is still blocked");
    assert_eq!(
        stall_restarts(),
        restarts_before,
        "no restart while blocked"
    );

    release.send(()).unwrap();
    eventually(
        "the actor is restarted once its thread is back",
        WITHIN,
        async || stall_restarts() > restarts_before,
    )
    .await;
    let _ = blocked.await;
    let mut reply = None;
    eventually("the actor answers again", WITHIN, async || {
        reply = worker.ask(Ping).await.ok();
        reply.is_some()
    })
    .await;
    assert_eq!(reply.unwrap(), Ok(1), "state was reset by the restart");
    thread.stop();
}

#[actix_rt::test]
async fn without_restart_on_stall_a_stall_is_only_reported() {
    let sup = supervisor();
    let worker = sup.spawn_here("patient", Restart::Permanent, Worker::default);
    assert_eq!(worker.ask(Ping).await.unwrap(), Ok(1));
    let (stalls_before, restarts_before) = (stalls(), stall_restarts());

    let (finish, slow) = tokio::sync::oneshot::channel();
    let pending = {
        let worker = worker.clone();
        actix::spawn(async move { worker.ask(SlowButFinishes(slow)).await })
    };
    eventually("the stall is reported", WITHIN, async || {
        stalls() > stalls_before
    })
    .await;
    finish.send(()).unwrap();
    assert_eq!(pending.await.unwrap().unwrap(), Ok(0));
    // Reported once, not restarted: the state survives.
    assert_eq!(stalls(), stalls_before + 1.0);
    assert_eq!(stall_restarts(), restarts_before);
    assert_eq!(worker.ask(Ping).await.unwrap(), Ok(2));
}
