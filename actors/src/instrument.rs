//! Per-message instrumentation that needs no per-actor code.
//!
//! Every message sent through an [`ActorRef`](crate::ActorRef) or a [`Port`](crate::Port) travels
//! wrapped in [`Traced`]. One generic handler (generated for an actor type by [`instrument!`])
//! unwraps it, records mailbox wait, handling time (including the async part of the reply) and
//! the outcome, then calls the actor's ordinary `Handler<M>`.
//!
//! The generic handler turns every reply into an actor future that runs inside the actor's own
//! context. That is deliberate: a panic in the async part of a handler then unwinds through the
//! actor's context future, where the supervisor catches it, instead of dying silently in a
//! detached task (which is what actix does with a plain `ResponseFuture`).

use crate::metrics::{actor_metrics, short_type_name};
use actix::ActorResponse;
use actix::fut::{ActorFutureExt, wrap_future};
use actix::prelude::*;
use std::time::Instant;

/// A message on its way to an actor, stamped with the moment it was sent.
pub struct Traced<M> {
    pub(crate) msg: M,
    pub(crate) enqueued: Instant,
    pub(crate) depth: DepthToken,
}

impl<M: Message> Message for Traced<M>
where
    M::Result: 'static,
{
    type Result = M::Result;
}

impl<M> Traced<M> {
    pub(crate) fn new(msg: M, actor: &'static str) -> Self {
        Self {
            msg,
            enqueued: Instant::now(),
            depth: DepthToken::new(actor),
        }
    }
}

/// Counts a message in `actor_mailbox_depth` from send until it is handled or dropped unhandled,
/// exactly once either way (a mailbox closed by a dying actor must not leave the gauge high).
pub(crate) struct DepthToken {
    actor: &'static str,
    counted: bool,
}

impl DepthToken {
    fn new(actor: &'static str) -> Self {
        actor_metrics()
            .mailbox_depth
            .with_label_values(&[actor])
            .inc();
        Self {
            actor,
            counted: true,
        }
    }

    fn release(&mut self) {
        if std::mem::take(&mut self.counted) {
            actor_metrics()
                .mailbox_depth
                .with_label_values(&[self.actor])
                .dec();
        }
    }
}

impl Drop for DepthToken {
    fn drop(&mut self) {
        self.release();
    }
}

/// How a reply counts in `actor_messages_total`: `Err` is an error, anything else is ok.
pub trait Outcome {
    fn is_ok(&self) -> bool {
        true
    }
}

impl<T, E> Outcome for Result<T, E> {
    fn is_ok(&self) -> bool {
        Result::is_ok(self)
    }
}
impl Outcome for () {}
impl Outcome for bool {}
impl Outcome for usize {}
impl<T> Outcome for Option<T> {}
impl<T> Outcome for Vec<T> {}

/// The reply shapes our handlers use. A ready value is answered at once (so it reaches the caller
/// even when the handler also stops the actor); a future runs inside the actor's context.
pub enum Reply<A: Actor, T> {
    Ready(T),
    Later(ResponseActFuture<A, T>),
}

pub trait IntoReply<A: Actor, T> {
    fn into_reply(self) -> Reply<A, T>;
}

impl<A: Actor, T: 'static> IntoReply<A, T> for ResponseFuture<T> {
    fn into_reply(self) -> Reply<A, T> {
        Reply::Later(Box::pin(wrap_future(self)))
    }
}

impl<A: Actor, T> IntoReply<A, T> for ResponseActFuture<A, T> {
    fn into_reply(self) -> Reply<A, T> {
        Reply::Later(self)
    }
}

macro_rules! ready_replies {
    ($([$($g:ident),*] $t:ty),+ $(,)?) => {
        $(impl<A: Actor, $($g),*> IntoReply<A, $t> for $t {
            fn into_reply(self) -> Reply<A, $t> {
                Reply::Ready(self)
            }
        })+
    };
}
ready_replies!([T, E] Result<T, E>, [] (), [] bool, [T] Option<T>, [T] Vec<T>);

/// Records one message's handling; if dropped while the thread unwinds, the handler panicked.
struct InFlight {
    actor: &'static str,
    message: &'static str,
    started: Instant,
    finished: bool,
    /// Registered with the stall watchdog until the reply is ready (or the future is dropped).
    _handling: crate::stall::Handling,
}

impl InFlight {
    fn finish(mut self, outcome: &'static str) {
        self.record(outcome);
    }

    fn record(&mut self, outcome: &'static str) {
        self.finished = true;
        let m = actor_metrics();
        m.duration
            .with_label_values(&[self.actor, self.message])
            .observe(self.started.elapsed().as_secs_f64());
        m.messages
            .with_label_values(&[self.actor, self.message, outcome])
            .inc();
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.finished && std::thread::panicking() {
            self.record("panic");
        }
    }
}

/// Handling of a [`Traced`] message for any actor that handles the inner message. Kept as a
/// trait implemented once here, so the per-actor impl that [`instrument!`] writes has a single
/// bound (a direct `Self: Handler<M>` bound there sends rustc's trait solver into a loop).
pub trait TracedHandler<M: Message>: Actor {
    fn handle_traced(
        &mut self,
        traced: Traced<M>,
        ctx: &mut Self::Context,
    ) -> ActorResponse<Self, M::Result>;
}

impl<A, M> TracedHandler<M> for A
where
    A: Actor + Handler<M>,
    M: Message + 'static,
    M::Result: Outcome + 'static,
    <A as Handler<M>>::Result: IntoReply<A, M::Result>,
{
    fn handle_traced(
        &mut self,
        traced: Traced<M>,
        ctx: &mut A::Context,
    ) -> ActorResponse<A, M::Result> {
        let Traced {
            msg,
            enqueued,
            mut depth,
        } = traced;
        depth.release();
        let actor = short_type_name::<A>();
        let message = short_type_name::<M>();
        actor_metrics()
            .mailbox_wait
            .with_label_values(&[actor, message])
            .observe(enqueued.elapsed().as_secs_f64());

        let started = Instant::now();
        let in_flight = InFlight {
            actor,
            message,
            started,
            finished: false,
            _handling: crate::stall::Handling::start(actor, message, started),
        };
        // A synchronous panic in `handle` unwinds past `in_flight`, which records it.
        match <A as Handler<M>>::handle(self, msg, ctx).into_reply() {
            Reply::Ready(result) => {
                in_flight.finish(if result.is_ok() { "ok" } else { "error" });
                ActorResponse::reply(result)
            }
            Reply::Later(reply) => ActorResponse::r#async(reply.map(move |result, _, _| {
                in_flight.finish(if result.is_ok() { "ok" } else { "error" });
                result
            })),
        }
    }
}

/// Makes an actor reachable through [`ActorRef`](crate::ActorRef) and [`Port`](crate::Port) for
/// the listed messages, with full per-message instrumentation and no per-message code. The list
/// doubles as the actor's protocol at a glance:
///
/// ```ignore
/// actors::instrument!(UserRepository: FindUser, InsertUser);
/// ```
///
/// (A single generic impl over every `M` would be nicer, but `Self: Handler<M>` inside an impl of
/// `Handler<Traced<M>>` sends rustc's trait solver into unbounded recursion.)
#[macro_export]
macro_rules! instrument {
    ($actor:ty : $($msg:ty),+ $(,)?) => {
        $(
            impl ::actix::Handler<$crate::Traced<$msg>> for $actor {
                type Result = ::actix::ActorResponse<Self, <$msg as ::actix::Message>::Result>;

                fn handle(
                    &mut self,
                    msg: $crate::Traced<$msg>,
                    ctx: &mut <Self as ::actix::Actor>::Context,
                ) -> Self::Result {
                    $crate::TracedHandler::handle_traced(self, msg, ctx)
                }
            }
        )+
    };
}
