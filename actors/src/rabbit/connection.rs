//! The connection manager: owns the process's single AMQP connection, declares the topology on
//! every (re)connect, and tells its subscribers when the connection comes up or goes down.
//!
//! lapin's automatic recovery is deliberately not used: reconnecting here, with our own backoff
//! and a fresh topology declaration, makes every subscriber rebuild its channel and consumer from
//! scratch — one code path for first start and recovery, which is the path the chaos tests drive.
//!
//! With several endpoints (a cluster's nodes, see [`Endpoints`]) every attempt goes to the next
//! one in the list, so a node that went away is failed over with the same backoff, topology
//! declaration and resubscription as a reconnect to a single node. Once told to [`Close`] (the
//! process is shutting down) the manager never connects or declares anything again: a namespace
//! deleted after its processes were told to stop stays deleted.

use super::endpoints::{Endpoint, Endpoints};
use super::tls::{self, AmqpTls};
use super::topology::Topology;
use crate::backoff_policy::Backoff;
use crate::error_chain::ErrorChain;
use crate::metrics::amqp_metrics;
use actix::prelude::*;
use futures_util::StreamExt;
use lapin::{Channel, Connection, ConnectionProperties, Event};
use std::sync::Arc;
use std::time::Duration;

/// A live connection, as handed to subscribers. Cheap to clone.
#[derive(Clone)]
pub struct AmqpConnection {
    inner: Arc<Connection>,
    pub generation: u64,
}

impl AmqpConnection {
    pub async fn create_channel(&self) -> lapin::Result<Channel> {
        self.inner.create_channel().await
    }

    pub fn is_connected(&self) -> bool {
        self.inner.status().connected()
    }
}

#[derive(Message, Clone)]
#[rtype(result = "()")]
pub enum ConnectionEvent {
    Up(AmqpConnection),
    Down { generation: u64 },
}

/// Register for [`ConnectionEvent`]s; a subscriber joining while connected gets `Up` at once.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Subscribe(pub Recipient<ConnectionEvent>);

/// Is the connection up right now? (for readiness probes)
#[derive(Message)]
#[rtype(result = "bool")]
pub struct ConnectionStatus;

/// Declare the topology again on the live connection: a consumer whose queue was deleted (the
/// broker cancelled it with `basic.cancel`) asks for this before it subscribes again.
#[derive(Message)]
#[rtype(result = "Result<(), RedeclareError>")]
pub struct Redeclare;

#[derive(Debug, thiserror::Error)]
pub enum RedeclareError {
    #[error("shutting down: the topology is not declared again")]
    ShuttingDown,
    #[error("not connected")]
    NotConnected,
    #[error("topology declaration failed")]
    Amqp(#[source] lapin::Error),
    #[error("topology declaration timed out")]
    Timeout,
}

/// Why a connection attempt failed (logged, then retried with the next endpoint).
#[derive(Debug, thiserror::Error)]
enum ConnectError {
    /// An untrusted certificate will not fix itself: said plainly.
    #[error("TLS: the broker's certificate is not trusted ({problem})")]
    UntrustedCertificate {
        problem: String,
        #[source]
        source: lapin::Error,
    },
    #[error("could not connect and declare the topology")]
    Amqp(#[source] lapin::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

/// Why a live connection was given up.
#[derive(Debug, thiserror::Error)]
enum LostReason {
    #[error("the connection reported an error")]
    Error(#[source] lapin::Error),
    #[error("connection no longer open")]
    NoLongerOpen,
}

/// The process is shutting down: close the connection and never connect (nor declare the
/// topology) again. Answers once the connection is closed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Close;

/// A connection attempt (TCP, AMQP handshake, topology) that takes longer than this is abandoned
/// and retried: a broker that is still booting can accept TCP and then not answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Message)]
#[rtype(result = "()")]
struct Lost {
    generation: u64,
    reason: LostReason,
}

pub struct ConnectionManager {
    endpoints: Endpoints,
    tls: AmqpTls,
    connection_name: String,
    topology: Arc<Topology>,
    conn: Option<AmqpConnection>,
    /// The node `conn` is connected to (`host:port`).
    node: Option<String>,
    generation: u64,
    connecting: bool,
    closing: bool,
    subscribers: Vec<Recipient<ConnectionEvent>>,
    backoff: Backoff,
}

impl ConnectionManager {
    pub fn new(
        endpoints: Endpoints,
        connection_name: impl Into<String>,
        topology: Topology,
    ) -> Self {
        Self {
            endpoints,
            tls: AmqpTls::default(),
            connection_name: connection_name.into(),
            topology: Arc::new(topology),
            conn: None,
            node: None,
            generation: 0,
            connecting: false,
            closing: false,
            subscribers: Vec::new(),
            backoff: Backoff::new(Duration::from_millis(200), Duration::from_secs(5)),
        }
    }

    /// Extra trust for `amqps://` (a private CA).
    pub fn with_tls(mut self, tls: AmqpTls) -> Self {
        self.tls = tls;
        self
    }

    fn connect(&mut self, ctx: &mut Context<Self>) {
        if self.connecting || self.conn.is_some() || self.closing {
            return;
        }
        self.connecting = true;
        let Endpoint { url: uri, node } = self.endpoints.advance().clone();
        let tls = self.tls.clone();
        let props = ConnectionProperties::default()
            .with_connection_name(self.connection_name.clone().into_bytes().into());
        let topology = self.topology.clone();
        let attempt = async move {
            let connect = async {
                let conn = tls::open(&uri, props, &tls).await?;
                declare(&conn, &topology).await?;
                Ok::<_, lapin::Error>(conn)
            };
            match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
                // An untrusted certificate will not fix itself: say so plainly (start-up fails
                // fast on it; later, e.g. after a certificate rotation, this keeps retrying).
                Ok(Err(e)) => Err(match tls::certificate_problem(&e) {
                    Some(problem) => ConnectError::UntrustedCertificate { problem, source: e },
                    None => ConnectError::Amqp(e),
                }),
                Ok(Ok(conn)) => Ok(conn),
                Err(_) => Err(ConnectError::Timeout(CONNECT_TIMEOUT)),
            }
        };
        ctx.spawn(attempt.into_actor(self).map(|result, act, ctx| {
            act.connecting = false;
            match result {
                Ok(conn) if act.closing => {
                    actix::spawn(async move {
                        let _ = conn.close(200, "shutting down".into()).await;
                    });
                }
                Ok(conn) => act.on_connected(conn, node, ctx),
                Err(_) if act.closing => {}
                Err(error) => {
                    let delay = act.backoff.next_delay();
                    tracing::warn!(error = %ErrorChain(&error), %node, delay_ms = delay.as_millis() as u64, "AMQP connect failed; retrying with the next endpoint");
                    ctx.run_later(delay, |act, ctx| act.connect(ctx));
                }
            }
        }));
    }

    fn on_connected(&mut self, conn: Connection, node: String, ctx: &mut Context<Self>) {
        self.generation += 1;
        let generation = self.generation;
        if generation > 1 {
            amqp_metrics().reconnects.inc();
        }
        amqp_metrics().connection_up.set(1);
        amqp_metrics()
            .connected_node
            .with_label_values(&[node.as_str()])
            .set(1);
        self.backoff.reset();
        // Watch for the connection dying: lapin reports errors on its event stream.
        let mut events = conn.events_listener();
        let me = ctx.address();
        actix::spawn(async move {
            while let Some(event) = events.next().await {
                if let Event::Error(error) = event {
                    me.do_send(Lost {
                        generation,
                        reason: LostReason::Error(error),
                    });
                    return;
                }
            }
        });
        let conn = AmqpConnection {
            inner: Arc::new(conn),
            generation,
        };
        tracing::info!(generation, %node, "AMQP connected; topology declared");
        self.conn = Some(conn.clone());
        self.node = Some(node);
        self.broadcast(ConnectionEvent::Up(conn));
    }

    fn lost(&mut self, generation: u64, reason: &LostReason, ctx: &mut Context<Self>) {
        if self.conn.as_ref().map(|c| c.generation) != Some(generation) {
            return; // a stale report about a connection we already replaced
        }
        if let Some(conn) = self.conn.take() {
            // It may be half-open (the broker stopped answering): close it so that nothing is
            // left consuming or holding deliveries on it.
            let inner = conn.inner.clone();
            actix::spawn(async move {
                let _ =
                    tokio::time::timeout(Duration::from_secs(5), inner.close(320, "lost".into()))
                        .await;
            });
        }
        self.mark_down();
        tracing::warn!(generation, reason = %ErrorChain(reason), "AMQP connection lost");
        self.broadcast(ConnectionEvent::Down { generation });
        let delay = self.backoff.next_delay();
        ctx.run_later(delay, |act, ctx| act.connect(ctx));
    }

    fn mark_down(&mut self) {
        amqp_metrics().connection_up.set(0);
        if let Some(node) = self.node.take() {
            amqp_metrics()
                .connected_node
                .with_label_values(&[node.as_str()])
                .set(0);
        }
    }

    fn broadcast(&mut self, event: ConnectionEvent) {
        self.subscribers.retain(|s| s.connected());
        for s in &self.subscribers {
            s.do_send(event.clone());
        }
    }
}

impl Actor for ConnectionManager {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.connect(ctx);
        // Safety net: some failures (a broker that stops answering) show up only as a status.
        ctx.run_interval(Duration::from_millis(500), |act, ctx| {
            if let Some(conn) = &act.conn
                && !conn.is_connected()
            {
                let generation = conn.generation;
                ctx.notify(Lost {
                    generation,
                    reason: LostReason::NoLongerOpen,
                });
            }
        });
    }
}

impl Supervised for ConnectionManager {
    fn restarting(&mut self, _: &mut Context<Self>) {
        // Start over: a restarted manager reconnects and re-announces the connection.
        if self.conn.take().is_some() {
            self.mark_down();
        }
        self.connecting = false;
    }
}

impl Handler<Lost> for ConnectionManager {
    type Result = ();

    fn handle(&mut self, msg: Lost, ctx: &mut Context<Self>) {
        self.lost(msg.generation, &msg.reason, ctx);
    }
}

impl Handler<Subscribe> for ConnectionManager {
    type Result = ();

    fn handle(&mut self, msg: Subscribe, _: &mut Context<Self>) {
        if let Some(conn) = self.conn.as_ref().filter(|_| !self.closing) {
            msg.0.do_send(ConnectionEvent::Up(conn.clone()));
        }
        // A restarted subscriber subscribes again from the same address: keep one entry.
        if !self.subscribers.contains(&msg.0) {
            self.subscribers.push(msg.0);
        }
    }
}

impl Handler<ConnectionStatus> for ConnectionManager {
    type Result = bool;

    fn handle(&mut self, _: ConnectionStatus, _: &mut Context<Self>) -> bool {
        self.conn.as_ref().is_some_and(|c| c.is_connected())
    }
}

impl Handler<Redeclare> for ConnectionManager {
    type Result = ResponseFuture<Result<(), RedeclareError>>;

    fn handle(&mut self, _: Redeclare, _: &mut Context<Self>) -> Self::Result {
        let conn = self.conn.clone();
        let topology = self.topology.clone();
        let closing = self.closing;
        Box::pin(async move {
            if closing {
                // Typically a consumer whose queue a test (or an operator) deleted while this
                // process shuts down: declaring it again would resurrect the deleted namespace.
                return Err(RedeclareError::ShuttingDown);
            }
            let conn = conn.ok_or(RedeclareError::NotConnected)?;
            let redeclare = declare(&conn.inner, &topology);
            match tokio::time::timeout(CONNECT_TIMEOUT, redeclare).await {
                Ok(result) => result.map_err(RedeclareError::Amqp),
                Err(_) => Err(RedeclareError::Timeout),
            }
        })
    }
}

impl Handler<Close> for ConnectionManager {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Close, _: &mut Context<Self>) -> Self::Result {
        self.closing = true;
        let conn = self.conn.take();
        if let Some(c) = &conn {
            let generation = c.generation;
            self.mark_down();
            self.broadcast(ConnectionEvent::Down { generation });
            tracing::info!(generation, "AMQP connection closing (shutdown)");
        }
        Box::pin(async move {
            if let Some(conn) = conn {
                let _ = tokio::time::timeout(
                    Duration::from_secs(5),
                    conn.inner.close(200, "shutting down".into()),
                )
                .await;
            }
        })
    }
}

async fn declare(conn: &Connection, topology: &Topology) -> lapin::Result<()> {
    let channel = conn.create_channel().await?;
    topology.declare(&channel).await?;
    let _ = channel.close(200, "topology declared".into()).await;
    Ok(())
}

crate::instrument!(ConnectionManager: Subscribe, ConnectionStatus, Redeclare, Close);
