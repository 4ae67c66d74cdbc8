//! Handles to actors: [`ActorRef`] for a known actor type, [`Port`] for "anyone who handles `M`".
//!
//! Application code depends on ports, never on concrete actors, so a unit test can put an
//! in-memory actor in place of a PostgreSQL one. A port may be backed by several actors; sends
//! are spread round-robin, which is how a pool of repository or hasher actors shares the load.

use crate::instrument::Traced;
use crate::metrics::short_type_name;
use actix::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The address of a supervised, instrumented actor. Stable across restarts.
pub struct ActorRef<A: Actor> {
    addr: Addr<A>,
}

impl<A: Actor> Clone for ActorRef<A> {
    fn clone(&self) -> Self {
        Self {
            addr: self.addr.clone(),
        }
    }
}

impl<A: Actor> ActorRef<A> {
    pub fn new(addr: Addr<A>) -> Self {
        Self { addr }
    }

    /// Sends and waits for the reply.
    pub async fn ask<M>(&self, msg: M) -> Result<M::Result, MailboxError>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        A: Handler<Traced<M>>,
        A::Context: actix::dev::ToEnvelope<A, Traced<M>>,
    {
        self.addr
            .send(Traced::new(msg, short_type_name::<A>()))
            .await
    }

    /// Sends without waiting for a reply (the mailbox is unbounded for `tell`).
    pub fn tell<M>(&self, msg: M)
    where
        M: Message + Send + 'static,
        M::Result: Send,
        A: Handler<Traced<M>>,
        A::Context: actix::dev::ToEnvelope<A, Traced<M>>,
    {
        self.addr.do_send(Traced::new(msg, short_type_name::<A>()));
    }

    /// A type-erased handle for one message type.
    pub fn port<M>(&self) -> Port<M>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        A: Handler<Traced<M>>,
        A::Context: actix::dev::ToEnvelope<A, Traced<M>>,
    {
        Port::from_recipients(short_type_name::<A>(), vec![self.addr.clone().recipient()])
    }

    pub fn connected(&self) -> bool {
        self.addr.connected()
    }

    pub fn addr(&self) -> &Addr<A> {
        &self.addr
    }
}

/// "Some actor that handles `M`": a port in the hexagonal sense, as a message protocol.
pub struct Port<M>
where
    M: Message + Send,
    M::Result: Send,
{
    inner: Arc<PortInner<M>>,
}

struct PortInner<M>
where
    M: Message + Send,
    M::Result: Send,
{
    actor: &'static str,
    recipients: Vec<Recipient<Traced<M>>>,
    next: AtomicUsize,
}

impl<M> Clone for Port<M>
where
    M: Message + Send,
    M::Result: Send,
{
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<M> Port<M>
where
    M: Message + Send + 'static,
    M::Result: Send,
{
    fn from_recipients(actor: &'static str, recipients: Vec<Recipient<Traced<M>>>) -> Self {
        assert!(
            !recipients.is_empty(),
            "a port needs at least one actor behind it"
        );
        Self {
            inner: Arc::new(PortInner {
                actor,
                recipients,
                next: AtomicUsize::new(0),
            }),
        }
    }

    /// One port over a pool of actors of the same type; sends are spread round-robin.
    pub fn pooled<A>(refs: &[ActorRef<A>]) -> Self
    where
        A: Actor + Handler<Traced<M>>,
        A::Context: actix::dev::ToEnvelope<A, Traced<M>>,
    {
        let recipients = refs.iter().map(|r| r.addr.clone().recipient()).collect();
        Self::from_recipients(short_type_name::<A>(), recipients)
    }

    fn pick(&self) -> &Recipient<Traced<M>> {
        let recipients = &self.inner.recipients;
        if recipients.len() == 1 {
            return &recipients[0];
        }
        let i = self.inner.next.fetch_add(1, Ordering::Relaxed);
        &recipients[i % recipients.len()]
    }

    pub async fn ask(&self, msg: M) -> Result<M::Result, MailboxError> {
        self.pick().send(Traced::new(msg, self.inner.actor)).await
    }

    pub fn tell(&self, msg: M) {
        self.pick().do_send(Traced::new(msg, self.inner.actor));
    }
}
