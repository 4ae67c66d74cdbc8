//! `actors`: the domain-free actor runtime of hexactor.
//!
//! - [`supervisor`]: OTP-style supervision for actix actors — panics and error stops restart the
//!   actor with backoff (same address, mailbox kept), restart intensity, escalation.
//! - [`instrument!`], [`ActorRef`], [`Port`]: typed handles and per-message metrics for every actor.
//! - [`stall`]: a watchdog for messages stuck in their handler (reported, optionally restarted).
//! - [`rabbit`]: the RabbitMQ connection manager, publisher and consumer actors.
//!
//! This crate never imports the service crate; it knows nothing of users or commands.

pub mod actor_ref;
pub mod backoff_policy;
pub mod error_chain;
pub mod instrument;
pub mod metrics;
pub mod rabbit;
pub mod stall;
pub mod supervisor;

pub use actor_ref::{ActorRef, Port};
pub use error_chain::ErrorChain;
pub use instrument::{IntoReply, Outcome, Reply, Traced, TracedHandler};
pub use supervisor::{
    ChildInfo, ChildOptions, Escalated, Intensity, OnEscalation, Restart, SupervisorConfig,
    SupervisorRef, TreeNode,
};
