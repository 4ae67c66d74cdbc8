//! The broker topology as data, declared on every connect and reconnect (declarations are
//! idempotent, so a broker that lost its definitions gets them back).

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{Channel, ExchangeKind};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueKind {
    /// Replicated, durable, supports at-least-once dead-lettering and delivery limits.
    Quorum,
    Classic,
}

#[derive(Clone, Debug)]
pub struct ExchangeSpec {
    pub name: String,
    pub kind: ExchangeKind,
}

#[derive(Clone, Debug)]
pub struct QueueSpec {
    pub name: String,
    pub kind: QueueKind,
    /// Exclusive queues belong to one connection (per-replica reply queues).
    pub exclusive: bool,
    pub dead_letter_exchange: Option<String>,
    pub dead_letter_routing_key: Option<String>,
    pub message_ttl: Option<Duration>,
    /// Quorum only: dead-letter a message after this many redeliveries (a worker crashing on it).
    pub delivery_limit: Option<u32>,
}

impl QueueSpec {
    pub fn durable(name: impl Into<String>, kind: QueueKind) -> Self {
        Self {
            name: name.into(),
            kind,
            exclusive: false,
            dead_letter_exchange: None,
            dead_letter_routing_key: None,
            message_ttl: None,
            delivery_limit: None,
        }
    }

    pub fn exclusive(name: impl Into<String>) -> Self {
        Self {
            exclusive: true,
            ..Self::durable(name, QueueKind::Classic)
        }
    }

    fn arguments(&self) -> FieldTable {
        let mut args = FieldTable::default();
        let text = |s: &str| AMQPValue::LongString(LongString::from(s.as_bytes().to_vec()));
        if self.kind == QueueKind::Quorum {
            args.insert("x-queue-type".into(), text("quorum"));
        }
        if let Some(dlx) = &self.dead_letter_exchange {
            args.insert("x-dead-letter-exchange".into(), text(dlx));
            if self.kind == QueueKind::Quorum {
                // At-least-once dead-lettering (RabbitMQ 3.10+) needs reject-publish overflow.
                args.insert("x-dead-letter-strategy".into(), text("at-least-once"));
                args.insert("x-overflow".into(), text("reject-publish"));
            }
        }
        if let Some(key) = &self.dead_letter_routing_key {
            args.insert("x-dead-letter-routing-key".into(), text(key));
        }
        if let Some(ttl) = self.message_ttl {
            args.insert(
                "x-message-ttl".into(),
                AMQPValue::LongLongInt(ttl.as_millis() as i64),
            );
        }
        if let (Some(limit), QueueKind::Quorum) = (self.delivery_limit, self.kind) {
            args.insert(
                "x-delivery-limit".into(),
                AMQPValue::LongLongInt(i64::from(limit)),
            );
        }
        args
    }
}

#[derive(Clone, Debug)]
pub struct BindingSpec {
    pub queue: String,
    pub exchange: String,
    pub routing_key: String,
}

/// A work queue with its dead-letter queue and delayed-retry tiers.
///
/// Without the delayed-message plugin, a delay is a queue whose TTL dead-letters back to the work
/// queue through the default exchange. Queue TTL (not per-message TTL) keeps every message in a
/// tier expiring in order.
#[derive(Clone, Debug)]
pub struct WorkQueue {
    pub name: String,
    pub dead_letter_queue: String,
    pub retry_queues: Vec<(String, Duration)>,
}

impl WorkQueue {
    pub fn new(name: impl Into<String>, retry_tiers: &[Duration]) -> Self {
        let name = name.into();
        Self {
            dead_letter_queue: format!("{name}.dlq"),
            retry_queues: retry_tiers
                .iter()
                .map(|d| (format!("{name}.retry.{}ms", d.as_millis()), *d))
                .collect(),
            name,
        }
    }

    /// The work queue, its retry tiers and its DLQ, in that order.
    pub fn all_queue_names(&self) -> Vec<String> {
        std::iter::once(self.name.clone())
            .chain(self.retry_queues.iter().map(|(q, _)| q.clone()))
            .chain(std::iter::once(self.dead_letter_queue.clone()))
            .collect()
    }
}

#[derive(Clone, Debug, Default)]
pub struct Topology {
    pub exchanges: Vec<ExchangeSpec>,
    pub queues: Vec<QueueSpec>,
    pub bindings: Vec<BindingSpec>,
}

impl Topology {
    pub fn exchange(&mut self, name: impl Into<String>, kind: ExchangeKind) -> &mut Self {
        self.exchanges.push(ExchangeSpec {
            name: name.into(),
            kind,
        });
        self
    }

    pub fn queue(&mut self, spec: QueueSpec) -> &mut Self {
        self.queues.push(spec);
        self
    }

    pub fn bind(
        &mut self,
        queue: impl Into<String>,
        exchange: impl Into<String>,
        key: impl Into<String>,
    ) -> &mut Self {
        self.bindings.push(BindingSpec {
            queue: queue.into(),
            exchange: exchange.into(),
            routing_key: key.into(),
        });
        self
    }

    /// Declares `work` with its DLQ and retry tiers. Messages the broker dead-letters (rejected,
    /// over the delivery limit) land in the DLQ through `dead_letter_exchange`.
    pub fn work_queue(
        &mut self,
        work: &WorkQueue,
        kind: QueueKind,
        dead_letter_exchange: &str,
    ) -> &mut Self {
        let mut main = QueueSpec::durable(&work.name, kind);
        main.dead_letter_exchange = Some(dead_letter_exchange.to_owned());
        main.dead_letter_routing_key = Some(work.dead_letter_queue.clone());
        main.delivery_limit = Some(20);
        self.queue(main);
        self.queue(QueueSpec::durable(&work.dead_letter_queue, kind));
        self.bind(
            &work.dead_letter_queue,
            dead_letter_exchange,
            &work.dead_letter_queue,
        );
        for (queue, delay) in &work.retry_queues {
            let mut tier = QueueSpec::durable(queue, kind);
            tier.message_ttl = Some(*delay);
            tier.dead_letter_exchange = Some(String::new()); // the default exchange...
            tier.dead_letter_routing_key = Some(work.name.clone()); // ...routes back to the work queue
            self.queue(tier);
        }
        self
    }

    pub async fn declare(&self, channel: &Channel) -> lapin::Result<()> {
        for ex in &self.exchanges {
            let options = ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            };
            channel
                .exchange_declare(
                    ex.name.as_str().into(),
                    ex.kind.clone(),
                    options,
                    FieldTable::default(),
                )
                .await?;
        }
        for q in &self.queues {
            let options = QueueDeclareOptions {
                durable: !q.exclusive,
                exclusive: q.exclusive,
                auto_delete: q.exclusive,
                ..Default::default()
            };
            channel
                .queue_declare(q.name.as_str().into(), options, q.arguments())
                .await?;
        }
        for b in &self.bindings {
            channel
                .queue_bind(
                    b.queue.as_str().into(),
                    b.exchange.as_str().into(),
                    b.routing_key.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        Ok(())
    }
}
