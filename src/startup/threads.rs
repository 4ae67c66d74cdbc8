//! The process's threads (actix arbiters): which actor runs where.

use actix::{Arbiter, ArbiterHandle};

/// Every arbiter the tree runs on; kept by [`super::Application`] so that they live as long as
/// the application.
pub(super) struct Threads {
    /// One per core: the database-bound actors (repositories, stores, services).
    pub io: Vec<ArbiterHandle>,
    /// The AMQP connection, publisher and consumers.
    pub amqp: ArbiterHandle,
    arbiters: Vec<Arbiter>,
}

impl Threads {
    pub fn new(cores: usize) -> Self {
        let arbiters: Vec<Arbiter> = (0..=cores).map(|_| Arbiter::new()).collect();
        let amqp = arbiters[cores].handle();
        let io = arbiters[..cores].iter().map(Arbiter::handle).collect();
        Self { io, amqp, arbiters }
    }

    /// A new thread of its own (e.g. for an actor that blocks, like password hashing).
    pub fn dedicated(&mut self) -> ArbiterHandle {
        let arbiter = Arbiter::new();
        let handle = arbiter.handle();
        self.arbiters.push(arbiter);
        handle
    }

    /// The io thread most singletons share.
    pub fn first_io(&self) -> &ArbiterHandle {
        &self.io[0]
    }

    /// The other io thread singletons go to, so that they do not all share `first_io`.
    pub fn last_io(&self) -> &ArbiterHandle {
        &self.io[self.io.len() - 1]
    }

    pub fn into_arbiters(self) -> Vec<Arbiter> {
        self.arbiters
    }
}
