//! Stalled-actor detection.
//!
//! Every message in a handler (from the moment its handler runs until its reply is ready, async
//! part included) is registered here. A watchdog on its own OS thread — not on an arbiter, since
//! a blocked arbiter is exactly what it must see — scans the registry; a message in its handler
//! longer than the limit ([`set_limit`], `ACTOR_STALL_MS` in the service) is reported once:
//! `actor_stalls_total{actor}` and an error log line naming the actor and the message type.
//!
//! Children spawned with [`ChildOptions::restart_on_stall`](crate::supervisor::ChildOptions) are
//! then restarted by their supervisor like after a panic (reason `stall`). A handler stuck in an
//! *await* (a hung query) is cut off at once: the restart drops the actor's pending futures and
//! the caller gets a mailbox error. A handler that *blocks its thread* cannot be pre-empted: it is
//! reported while it blocks and the actor is restarted the moment the thread comes back.

use crate::metrics::actor_metrics;
use futures_util::task::AtomicWaker;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Once};
use std::time::{Duration, Instant};

/// 30 s unless [`set_limit`] says otherwise.
static LIMIT_MS: AtomicU64 = AtomicU64::new(30_000);

/// Sets how long a message may stay in its handler before it counts as a stall.
pub fn set_limit(limit: Duration) {
    LIMIT_MS.store(limit.as_millis().max(1) as u64, Ordering::Relaxed);
    ensure_watchdog();
}

fn limit() -> Duration {
    Duration::from_millis(LIMIT_MS.load(Ordering::Relaxed))
}

/// One supervised child as the watchdog sees it.
pub(crate) struct ChildWatch {
    pub(crate) restart_on_stall: bool,
    stalled: AtomicBool,
    /// The message type that stalled, for the supervisor's log line.
    stalled_message: Mutex<Option<&'static str>>,
    waker: AtomicWaker,
}

impl ChildWatch {
    pub(crate) fn new(restart_on_stall: bool) -> Arc<Self> {
        Arc::new(Self {
            restart_on_stall,
            stalled: AtomicBool::new(false),
            stalled_message: Mutex::new(None),
            waker: AtomicWaker::new(),
        })
    }

    /// Registers the child's task to be woken when a stall should restart it.
    pub(crate) fn register(&self, waker: &std::task::Waker) {
        self.waker.register(waker);
    }

    /// The stalled message type, if the watchdog asked for a restart since the last call.
    pub(crate) fn take_stall(&self) -> Option<&'static str> {
        if self.stalled.swap(false, Ordering::SeqCst) {
            Some(
                self.stalled_message
                    .lock()
                    .map(|m| m.unwrap_or("unknown"))
                    .unwrap_or("unknown"),
            )
        } else {
            None
        }
    }
}

thread_local! {
    /// The child whose context future this thread is polling right now (set by `child::run`).
    static CURRENT: RefCell<Option<Arc<ChildWatch>>> = const { RefCell::new(None) };
}

/// Runs `f` with `watch` as the current child, so messages handled inside are attributed to it.
pub(crate) fn with_current<R>(watch: &Arc<ChildWatch>, f: impl FnOnce() -> R) -> R {
    struct Reset(Option<Arc<ChildWatch>>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = previous);
        }
    }
    let previous = CURRENT.with(|c| c.borrow_mut().replace(watch.clone()));
    let _reset = Reset(previous);
    f()
}

struct Entry {
    actor: &'static str,
    message: &'static str,
    started: Instant,
    child: Option<Arc<ChildWatch>>,
    reported: bool,
}

static REGISTRY: LazyLock<Mutex<HashMap<u64, Entry>>> = LazyLock::new(Default::default);
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A message in its handler, registered until dropped.
pub(crate) struct Handling(u64);

impl Handling {
    pub(crate) fn start(actor: &'static str, message: &'static str, started: Instant) -> Self {
        ensure_watchdog();
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let child = CURRENT.with(|c| c.borrow().clone());
        if let Ok(mut registry) = REGISTRY.lock() {
            registry.insert(
                id,
                Entry {
                    actor,
                    message,
                    started,
                    child,
                    reported: false,
                },
            );
        }
        Self(id)
    }
}

impl Drop for Handling {
    fn drop(&mut self) {
        if let Ok(mut registry) = REGISTRY.lock() {
            registry.remove(&self.0);
        }
    }
}

fn ensure_watchdog() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("actor-stall-watchdog".into())
            .spawn(|| {
                loop {
                    // A quarter of the limit bounds how late a stall is seen (and at most 1 s).
                    let tick =
                        (limit() / 4).clamp(Duration::from_millis(5), Duration::from_secs(1));
                    std::thread::sleep(tick);
                    scan(limit());
                }
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "could not start the actor stall watchdog");
        }
    });
}

fn scan(limit: Duration) {
    let Ok(mut registry) = REGISTRY.lock() else {
        return;
    };
    for entry in registry.values_mut() {
        let elapsed = entry.started.elapsed();
        if entry.reported || elapsed < limit {
            continue;
        }
        entry.reported = true;
        actor_metrics()
            .stalls
            .with_label_values(&[entry.actor])
            .inc();
        let restart = entry.child.as_ref().is_some_and(|c| c.restart_on_stall);
        tracing::error!(
            actor = entry.actor,
            message_type = entry.message,
            elapsed_ms = elapsed.as_millis() as u64,
            limit_ms = limit.as_millis() as u64,
            restart,
            "actor stalled: a message has been in its handler longer than the limit"
        );
        if let Some(child) = entry.child.as_ref().filter(|c| c.restart_on_stall) {
            if let Ok(mut m) = child.stalled_message.lock() {
                *m = Some(entry.message);
            }
            child.stalled.store(true, Ordering::SeqCst);
            child.waker.wake();
        }
    }
}
