//! The loop that runs one supervised actor: poll under `catch_unwind`, report exits, restart.

use super::{ChildExited, ChildOptions, Decision, ExitReason, Restart, Supervisor};
use crate::metrics::{actor_metrics, short_type_name};
use crate::stall::{ChildWatch, with_current};
use actix::dev::ContextFut;
use actix::prelude::*;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::Poll;

enum Exit {
    Stopped,
    Panicked(String),
    Stalled(&'static str),
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

pub(crate) async fn run<A>(
    mut fut: ContextFut<A, Context<A>>,
    supervisor: Addr<Supervisor>,
    name: String,
    options: ChildOptions,
) where
    A: Actor<Context = Context<A>> + Supervised + Unpin,
{
    let actor_type = short_type_name::<A>();
    let metrics = actor_metrics();
    let restart = options.restart;
    let watch = ChildWatch::new(options.restart_on_stall);
    metrics.stalls.with_label_values(&[actor_type]);
    let instances = metrics.instances.with_label_values(&[actor_type]);
    instances.inc();
    // Restart series exist at 0 from the start: a healthy system shows 0, not "No data".
    for reason in ExitReason::LABELS {
        metrics.restarts.with_label_values(&[actor_type, reason]);
    }
    loop {
        // The actor's state after a panic may be half-updated; `restart` below hands it to
        // `Supervised::restarting`, which is where an actor resets what it must.
        let exit = poll_fn(|cx| {
            watch.register(cx.waker());
            // A stall is acted on between polls: a thread-blocking handler has returned by now.
            if let Some(message) = watch.take_stall() {
                return Poll::Ready(Exit::Stalled(message));
            }
            let polled = with_current(&watch, || {
                catch_unwind(AssertUnwindSafe(|| Pin::new(&mut fut).poll(cx)))
            });
            match polled {
                Ok(Poll::Pending) => match watch.take_stall() {
                    Some(message) => Poll::Ready(Exit::Stalled(message)),
                    None => Poll::Pending,
                },
                Ok(Poll::Ready(())) => Poll::Ready(Exit::Stopped),
                Err(payload) => Poll::Ready(Exit::Panicked(panic_message(payload.as_ref()))),
            }
        })
        .await;
        let reason = match exit {
            // Nobody holds the address any more: an orderly end, not a failure.
            Exit::Stopped if !fut.ctx().connected() => break,
            Exit::Stopped => ExitReason::Error,
            Exit::Panicked(message) => ExitReason::Panic(message),
            Exit::Stalled(message) => ExitReason::Stall(message),
        };
        if restart == Restart::Temporary {
            tracing::warn!(child = %name, reason = reason.label(), "temporary child exited; not restarted");
            break;
        }
        let label = reason.label();
        match supervisor
            .send(ChildExited {
                child: name.clone(),
                reason,
            })
            .await
        {
            Ok(Decision::Restart(delay)) => {
                actix::clock::sleep(delay).await;
                metrics
                    .restarts
                    .with_label_values(&[actor_type, label])
                    .inc();
                if !fut.restart() {
                    break;
                }
                tracing::info!(child = %name, actor = actor_type, "child restarted");
            }
            Ok(Decision::Stop) | Err(_) => break,
        }
    }
    instances.dec();
}
