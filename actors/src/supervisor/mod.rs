//! OTP-style supervision for actix actors.
//!
//! actix's own `Supervisor` restarts an actor only when it *stops*: it never catches a panic and
//! has no restart limit. Here every child runs inside [`child::run`], which polls the actor's
//! context future under `catch_unwind`:
//!
//! - a **panic** in a handler (or in the async part of its reply, see `instrument`) or an
//!   **error stop** (the actor stopped itself while its address is still held) is reported to the
//!   supervisor, which answers with a restart delay from a capped exponential backoff;
//! - the restart keeps the mailbox and the address (`ContextFut::restart`), calls
//!   `Supervised::restarting` so the actor can reset state, then `started` again;
//! - more than `intensity.max_restarts` restarts within `intensity.within` **escalates**: to the
//!   parent supervisor, and at the root to whoever owns the [`OnEscalation::Report`] receiver.
//!   The library never exits the process; hexactor's binary stops gracefully, then exits 70 so
//!   that an orchestrator restarts it with a clean slate.
//!
//! Strategy: one-for-one (a failing child is restarted alone); children are independent actors
//! that rebuild their own resources in `started`.

pub(crate) mod child;
mod tree;

pub use tree::{ChildInfo, TreeNode};

use crate::actor_ref::ActorRef;
use crate::backoff_policy::Backoff;
use crate::metrics::{actor_metrics, short_type_name};
use actix::dev::channel;
use actix::prelude::*;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Mailbox bound for `ask`: large enough that bursts queue instead of pushing back on HTTP workers.
const MAILBOX_CAPACITY: usize = 1024;

/// What to do when a child exits abnormally.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Restart {
    /// Restart after a panic or an error stop.
    Permanent,
    /// Never restart (one-shot work).
    Temporary,
}

/// How a child is supervised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildOptions {
    pub restart: Restart,
    /// Restart the child, like after a panic, when a message stays in its handler longer than
    /// the stall limit (see [`crate::stall`]). Stalls are reported for every child regardless.
    pub restart_on_stall: bool,
}

impl From<Restart> for ChildOptions {
    fn from(restart: Restart) -> Self {
        Self {
            restart,
            restart_on_stall: false,
        }
    }
}

/// Restart intensity: more than `max_restarts` within `within` escalates.
#[derive(Clone, Copy, Debug)]
pub struct Intensity {
    pub max_restarts: u32,
    pub within: Duration,
}

#[derive(Clone, Debug)]
pub struct SupervisorConfig {
    pub name: String,
    pub intensity: Intensity,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
}

impl SupervisorConfig {
    pub fn new(name: impl Into<String>, intensity: Intensity) -> Self {
        Self {
            name: name.into(),
            intensity,
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
        }
    }
}

/// Where a supervisor's escalation goes.
pub enum OnEscalation {
    /// The root of a process: report on a channel. The library never exits the process; the
    /// binary that owns the receiver decides (hexactor shuts down gracefully, then exits 70 so
    /// that an orchestrator starts a fresh process: the cleanest restart of the whole tree).
    Report(tokio::sync::mpsc::UnboundedSender<Escalated>),
    /// Tell someone (a parent supervisor, or a test).
    Notify(Recipient<Escalated>),
}

impl OnEscalation {
    /// A `Report` and the receiver its escalations arrive on.
    pub fn report() -> (Self, tokio::sync::mpsc::UnboundedReceiver<Escalated>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (Self::Report(tx), rx)
    }
}

/// A supervisor gave up: its restart intensity was exceeded.
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub struct Escalated {
    pub supervisor: String,
    pub child: String,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub(crate) enum ExitReason {
    Panic(String),
    Error,
    /// The stall watchdog cut off a message that stayed in its handler too long.
    Stall(&'static str),
}

impl ExitReason {
    /// Every value [`label`](Self::label) can take.
    pub(crate) const LABELS: [&'static str; 3] = ["panic", "error", "stall"];

    pub(crate) fn label(&self) -> &'static str {
        match self {
            ExitReason::Panic(_) => "panic",
            ExitReason::Error => "error",
            ExitReason::Stall(_) => "stall",
        }
    }
}

pub(crate) enum Decision {
    Restart(Duration),
    Stop,
}

#[derive(Message)]
#[rtype(result = "Decision")]
pub(crate) struct ChildExited {
    pub(crate) child: String,
    pub(crate) reason: ExitReason,
}

impl<A, M> actix::dev::MessageResponse<A, M> for Decision
where
    A: Actor,
    M: Message<Result = Decision>,
{
    fn handle(self, _: &mut A::Context, tx: Option<actix::dev::OneshotSender<Decision>>) {
        if let Some(tx) = tx {
            let _ = tx.send(self);
        }
    }
}

pub struct Supervisor {
    config: SupervisorConfig,
    on_escalation: OnEscalation,
    recent_restarts: VecDeque<Instant>,
    children: Vec<ChildInfo>,
    backoffs: HashMap<String, (Backoff, Instant)>,
    escalated: bool,
}

impl Actor for Supervisor {
    type Context = Context<Self>;
}

impl Supervisor {
    fn escalate(&mut self, child: &str, reason: String) {
        self.escalated = true;
        actor_metrics()
            .escalations
            .with_label_values(&[&self.config.name])
            .inc();
        tracing::error!(
            supervisor = %self.config.name,
            child,
            %reason,
            max_restarts = self.config.intensity.max_restarts,
            within_s = self.config.intensity.within.as_secs_f64(),
            "restart intensity exceeded: escalating"
        );
        let escalated = Escalated {
            supervisor: self.config.name.clone(),
            child: child.to_owned(),
            reason,
        };
        match &self.on_escalation {
            OnEscalation::Report(owner) => {
                // Nobody listening any more means the process is already on its way out.
                let _ = owner.send(escalated);
            }
            OnEscalation::Notify(parent) => parent.do_send(escalated),
        }
    }

    fn restart_delay(&mut self, child: &str) -> Duration {
        let now = Instant::now();
        let (initial, max, window) = (
            self.config.backoff_initial,
            self.config.backoff_max,
            self.config.intensity.within,
        );
        let (backoff, last) = self
            .backoffs
            .entry(child.to_owned())
            .or_insert_with(|| (Backoff::new(initial, max), now));
        // A child that stayed up for a whole window starts again from the shortest delay.
        if now.duration_since(*last) > window {
            backoff.reset();
        }
        *last = now;
        backoff.next_delay()
    }
}

impl Handler<ChildExited> for Supervisor {
    type Result = Decision;

    fn handle(&mut self, msg: ChildExited, _: &mut Context<Self>) -> Decision {
        if self.escalated {
            return Decision::Stop;
        }
        let now = Instant::now();
        let window = self.config.intensity.within;
        self.recent_restarts
            .retain(|t| now.duration_since(*t) <= window);
        self.recent_restarts.push_back(now);
        if let Some(info) = self.children.iter_mut().find(|c| c.name == msg.child) {
            info.restarts += 1;
        }
        let detail = match &msg.reason {
            ExitReason::Panic(p) => format!("panicked: {p}"),
            ExitReason::Error => "stopped with an error".to_owned(),
            ExitReason::Stall(message) => format!("stalled handling {message}"),
        };
        if self.recent_restarts.len() > self.config.intensity.max_restarts as usize {
            self.escalate(&msg.child, detail);
            return Decision::Stop;
        }
        let delay = self.restart_delay(&msg.child);
        tracing::warn!(
            supervisor = %self.config.name,
            child = %msg.child,
            reason = msg.reason.label(),
            %detail,
            delay_ms = delay.as_millis() as u64,
            "child failed; restarting"
        );
        Decision::Restart(delay)
    }
}

impl Handler<Escalated> for Supervisor {
    type Result = ();

    /// A child supervisor gave up: this level cannot do better than its child, so it gives up too.
    fn handle(&mut self, msg: Escalated, _: &mut Context<Self>) {
        if !self.escalated {
            let reason = format!("supervisor {} escalated: {}", msg.supervisor, msg.reason);
            self.escalate(&msg.child, reason);
        }
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct RegisterChild(ChildInfo);

impl Handler<RegisterChild> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: RegisterChild, _: &mut Context<Self>) {
        self.children.push(msg.0);
    }
}

/// Asks a supervisor for its subtree (names, types, policies, restart counts).
#[derive(Message)]
#[rtype(result = "TreeNode")]
pub struct DescribeTree;

impl Handler<DescribeTree> for Supervisor {
    type Result = ResponseFuture<TreeNode>;

    fn handle(&mut self, _: DescribeTree, _: &mut Context<Self>) -> Self::Result {
        tree::describe(self.config.name.clone(), self.children.clone())
    }
}

/// A handle to a running supervisor: spawns children under it.
#[derive(Clone)]
pub struct SupervisorRef {
    addr: Addr<Supervisor>,
    name: String,
}

impl SupervisorRef {
    /// Starts a root supervisor on the current arbiter.
    pub fn start_root(config: SupervisorConfig, on_escalation: OnEscalation) -> Self {
        let name = config.name.clone();
        actor_metrics().escalations.with_label_values(&[&name]);
        let addr = Supervisor {
            config,
            on_escalation,
            recent_restarts: VecDeque::new(),
            children: Vec::new(),
            backoffs: HashMap::new(),
            escalated: false,
        }
        .start();
        Self { addr, name }
    }

    /// Starts a supervisor below this one; its escalations escalate this one.
    pub fn spawn_supervisor(&self, config: SupervisorConfig) -> SupervisorRef {
        let child = Self::start_root(config, OnEscalation::Notify(self.addr.clone().recipient()));
        self.addr.do_send(RegisterChild(ChildInfo::supervisor(
            child.name.clone(),
            child.addr.clone(),
        )));
        child
    }

    /// Starts `factory()`'s actor on `arbiter` under this supervisor and returns its stable address.
    ///
    /// The factory runs on the arbiter's thread, so the actor itself need not be `Send`.
    pub fn spawn<A, F>(
        &self,
        name: impl Into<String>,
        arbiter: &ArbiterHandle,
        restart: Restart,
        factory: F,
    ) -> ActorRef<A>
    where
        A: Actor<Context = Context<A>> + Supervised + Unpin,
        F: FnOnce() -> A + Send + 'static,
    {
        self.spawn_with(name, arbiter, restart.into(), factory)
    }

    /// [`spawn`](Self::spawn) with every supervision option (e.g. restart on stall).
    pub fn spawn_with<A, F>(
        &self,
        name: impl Into<String>,
        arbiter: &ArbiterHandle,
        options: ChildOptions,
        factory: F,
    ) -> ActorRef<A>
    where
        A: Actor<Context = Context<A>> + Supervised + Unpin,
        F: FnOnce() -> A + Send + 'static,
    {
        let restart = options.restart;
        let name = name.into();
        let (tx, rx) = channel::channel(MAILBOX_CAPACITY);
        self.addr.do_send(RegisterChild(ChildInfo::actor(
            name.clone(),
            short_type_name::<A>(),
            restart,
        )));
        let supervisor = self.addr.clone();
        arbiter.spawn_fn(move || {
            let ctx = Context::with_receiver(rx);
            let fut = ctx.into_future(factory());
            actix::spawn(child::run(fut, supervisor, name, options));
        });
        ActorRef::new(Addr::new(tx))
    }

    /// Like [`spawn`](Self::spawn), on the arbiter of the calling thread.
    pub fn spawn_here<A, F>(
        &self,
        name: impl Into<String>,
        restart: Restart,
        factory: F,
    ) -> ActorRef<A>
    where
        A: Actor<Context = Context<A>> + Supervised + Unpin,
        F: FnOnce() -> A + Send + 'static,
    {
        self.spawn(name, &Arbiter::current(), restart, factory)
    }

    pub async fn describe(&self) -> Option<TreeNode> {
        self.addr.send(DescribeTree).await.ok()
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}
