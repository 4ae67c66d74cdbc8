//! `queue_depth{queue}`: a passive `queue.declare` per watched queue, periodically, on its own
//! channel. Works against any broker (no management or Prometheus plugin needed), and a passive
//! declare never creates or changes a queue: a missing queue only closes the monitor's channel,
//! which is reopened on the next round.

use super::ConnectionManager;
use super::connection::{AmqpConnection, ConnectionEvent, Subscribe};
use crate::actor_ref::ActorRef;
use actix::prelude::*;
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use prometheus::{IntGaugeVec, Opts, register_int_gauge_vec};
use std::sync::LazyLock;
use std::time::Duration;

/// Messages ready in a queue (not counting unacked ones), per queue.
pub fn queue_depth_gauge() -> &'static IntGaugeVec {
    static GAUGE: LazyLock<IntGaugeVec> = LazyLock::new(|| {
        register_int_gauge_vec!(
            Opts::new(
                "queue_depth",
                "Messages ready in a queue (passive declare), per queue"
            ),
            &["queue"]
        )
        .expect("metric registered once")
    });
    &GAUGE
}

pub struct QueueMonitor {
    manager: ActorRef<ConnectionManager>,
    queues: Vec<String>,
    every: Duration,
    conn: Option<AmqpConnection>,
    busy: bool,
}

impl QueueMonitor {
    pub fn new(manager: ActorRef<ConnectionManager>, queues: Vec<String>, every: Duration) -> Self {
        Self {
            manager,
            queues,
            every,
            conn: None,
            busy: false,
        }
    }

    fn sample(&mut self, ctx: &mut Context<Self>) {
        let Some(conn) = self.conn.clone().filter(|c| c.is_connected()) else {
            return;
        };
        if std::mem::replace(&mut self.busy, true) {
            return; // the previous round is still waiting for the broker
        }
        let queues = self.queues.clone();
        let round = async move {
            let mut depths = Vec::with_capacity(queues.len());
            let mut channel = conn.create_channel().await?;
            for queue in queues {
                if !channel.status().connected() {
                    channel = conn.create_channel().await?;
                }
                let options = QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                };
                match channel
                    .queue_declare(queue.as_str().into(), options, FieldTable::default())
                    .await
                {
                    Ok(q) => depths.push((queue, i64::from(q.message_count()))),
                    // Not declared (yet): the broker closed the channel; skip this queue.
                    Err(error) => {
                        tracing::debug!(%queue, error = %crate::error_chain::ErrorChain(&error), "queue depth unavailable")
                    }
                }
            }
            let _ = channel.close(200, "done".into()).await;
            Ok::<_, lapin::Error>(depths)
        };
        ctx.spawn(
            async move { tokio::time::timeout(Duration::from_secs(10), round).await }
                .into_actor(self)
                .map(|result, act, _| {
                    act.busy = false;
                    match result {
                        Ok(Ok(depths)) => {
                            for (queue, depth) in depths {
                                queue_depth_gauge().with_label_values(&[&queue]).set(depth);
                            }
                        }
                        Ok(Err(error)) => tracing::debug!(error = %crate::error_chain::ErrorChain(&error), "queue depth round failed"),
                        Err(_) => tracing::debug!("queue depth round timed out"),
                    }
                }),
        );
    }
}

impl Actor for QueueMonitor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.manager.tell(Subscribe(ctx.address().recipient()));
        ctx.run_interval(self.every, |act, ctx| act.sample(ctx));
    }
}

impl Supervised for QueueMonitor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.busy = false;
    }
}

impl Handler<ConnectionEvent> for QueueMonitor {
    type Result = ();

    fn handle(&mut self, event: ConnectionEvent, ctx: &mut Context<Self>) {
        match event {
            ConnectionEvent::Up(conn) => {
                self.conn = Some(conn);
                self.sample(ctx);
            }
            ConnectionEvent::Down { .. } => self.conn = None,
        }
    }
}
