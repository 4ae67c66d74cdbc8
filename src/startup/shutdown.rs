//! Graceful shutdown: on SIGTERM/SIGINT or a root escalation, stop consuming, let in-flight
//! work finish, stop the HTTP servers, stop the completion notices, close the AMQP connection.

use super::{Application, Stopped};
use ::actors::ActorRef;
use ::actors::rabbit::{ConnectionManager, Publisher, ReleaseChannel, StopConsuming};

impl Application {
    /// Serves until SIGTERM/SIGINT or a root escalation, then shuts down gracefully: stop
    /// consuming, let in-flight commands finish and be acked, stop the HTTP server — all within
    /// the shutdown deadline. Says which of the two stopped it.
    pub async fn run_until_stopped(mut self) -> std::io::Result<Stopped> {
        let handles: Vec<_> = self.servers().map(|s| s.handle()).collect();
        let consumers = self.consumers.clone();
        let reply_consumer = self.reply_consumer.clone();
        let deadline = self.settings.runtime.shutdown_timeout;
        let amqp = self.amqp.clone();
        let mut escalations = self.escalations.take();
        let (why_tx, why_rx) = tokio::sync::oneshot::channel();
        actix::spawn(async move {
            let escalated = async {
                match escalations.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => None,
                }
            };
            let why = tokio::select! {
                _ = wait_for_signal() => Stopped::Signal,
                Some(e) = escalated => {
                    tracing::error!(supervisor = %e.supervisor, child = %e.child, reason = %e.reason,
                        "the root supervisor gave up: shutting down");
                    Stopped::Escalated(e)
                }
            };
            tracing::info!("shutdown requested");
            let stops = consumers.iter().map(|c| c.ask(StopConsuming { deadline }));
            let left: usize = futures_util::future::join_all(stops)
                .await
                .into_iter()
                .map(|r| r.unwrap_or(usize::MAX))
                .fold(0, usize::saturating_add);
            tracing::info!(unfinished = left, "consumers stopped");
            futures_util::future::join_all(handles.iter().map(|h| h.stop(true))).await;
            // Only now: a request still answering above may be waiting for its completion notice.
            // Its channel is closed before the connection is (closing a channel of a connection
            // already closing is reported by lapin as a connection error).
            if let Some(replies) = reply_consumer {
                let _ = replies.ask(StopConsuming { deadline }).await;
            }
            amqp.close().await;
            let _ = why_tx.send(why);
        });
        self.into_server().await?;
        Ok(why_rx.await.unwrap_or(Stopped::Signal))
    }
}

/// Closes the AMQP connection at the end of a shutdown. After that nothing reconnects or
/// redeclares the topology: a process still stopping must not re-create queues or exchanges
/// that were deleted meanwhile (a consumer cancelled by the deletion asks for a redeclare).
#[derive(Clone)]
pub struct AmqpShutdown {
    manager: ActorRef<ConnectionManager>,
    publisher: ActorRef<Publisher>,
}

impl AmqpShutdown {
    pub(super) fn new(
        manager: ActorRef<ConnectionManager>,
        publisher: ActorRef<Publisher>,
    ) -> Self {
        Self { manager, publisher }
    }

    /// The publisher's channel first, then the connection (see [`ReleaseChannel`]).
    pub async fn close(&self) {
        let _ = self.publisher.ask(ReleaseChannel).await;
        let _ = self.manager.ask(::actors::rabbit::Close).await;
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
