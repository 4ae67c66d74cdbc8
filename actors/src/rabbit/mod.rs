//! RabbitMQ actors: one [`ConnectionManager`] per process owns the AMQP connection; publishers
//! and consumers subscribe to it and open their own long-lived channels whenever it (re)connects.
//!
//! ```text
//! ConnectionManager --ConnectionEvent::Up/Down--> Publisher (confirm channel)
//!                                             \-> QueueConsumer (qos channel) --HandleDelivery--> Port
//!                                             \-> QueueMonitor (passive declares) --> queue_depth{queue}
//! ```

mod connection;
mod consumer;
mod endpoints;
pub mod headers;
mod publisher;
mod queue_monitor;
mod tls;
mod topology;
mod watchdog;

pub use connection::{
    AmqpConnection, Close, ConnectionEvent, ConnectionManager, ConnectionStatus, Redeclare,
    RedeclareError, Subscribe,
};
pub use consumer::{
    Breaker, ConsumerConfig, Disposition, HandleDelivery, Incoming, ProbeReady, QueueConsumer,
    RetryRoute, StopConsuming,
};
pub use endpoints::{Endpoint, Endpoints, EndpointsError};
pub use publisher::{Publish, PublishError, Publisher, ReleaseChannel};
pub use queue_monitor::{QueueMonitor, queue_depth_gauge};
pub use tls::{AmqpTls, certificate_problem, open};
pub use topology::{BindingSpec, ExchangeSpec, QueueKind, QueueSpec, Topology, WorkQueue};
