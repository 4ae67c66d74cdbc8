//! Every exchange and queue name derives from one prefix, so tests (and tenants) get their own
//! namespace on a shared broker.

use ::actors::rabbit::{QueueKind, QueueSpec, Topology, WorkQueue};
use lapin::ExchangeKind;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Names {
    pub prefix: String,
    pub commands_exchange: String,
    pub events_exchange: String,
    pub dead_letter_exchange: String,
    pub command_queue: String,
    /// The notifications context's own queue of `UserCreated` events.
    pub notifications_queue: String,
    /// The notifications context's queue of password-reset and email-verification requests.
    pub account_mail_queue: String,
}

impl Names {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            commands_exchange: format!("{prefix}.commands"),
            events_exchange: format!("{prefix}.events"),
            dead_letter_exchange: format!("{prefix}.dlx"),
            command_queue: format!("{prefix}.commands.users"),
            notifications_queue: format!("{prefix}.notifications.user-created"),
            account_mail_queue: format!("{prefix}.notifications.account-mail"),
        }
    }

    pub fn command_work_queue(&self, retry_tiers: &[Duration]) -> WorkQueue {
        WorkQueue::new(&self.command_queue, retry_tiers)
    }

    /// The command queue's work, retry and dead-letter queues: the ones whose depth is worth
    /// watching on this side (bounded contexts add their own, see `startup::monitored_queues`).
    pub fn monitored_queues(&self, retry_tiers: &[Duration]) -> Vec<String> {
        self.command_work_queue(retry_tiers).all_queue_names()
    }

    /// A queue of this process's own for completion notices (exclusive: gone with the connection).
    pub fn reply_queue(&self, replica: &str) -> String {
        format!("{}.replies.{replica}", self.prefix)
    }

    /// The command side's topology: exchanges, the command queue with its retry tiers and DLQ,
    /// and this replica's reply queue. Bounded contexts declare their own queues on top of it
    /// (`startup::topology` puts the whole together), so this module imports none of them.
    pub fn topology(
        &self,
        retry_tiers: &[Duration],
        kind: QueueKind,
        reply_queue: Option<&str>,
    ) -> Topology {
        let mut t = Topology::default();
        t.exchange(&self.commands_exchange, ExchangeKind::Topic)
            .exchange(&self.events_exchange, ExchangeKind::Topic)
            .exchange(&self.dead_letter_exchange, ExchangeKind::Direct)
            .work_queue(
                &self.command_work_queue(retry_tiers),
                kind,
                &self.dead_letter_exchange,
            )
            .bind(&self.command_queue, &self.commands_exchange, "users.#");
        if let Some(queue) = reply_queue {
            t.queue(QueueSpec::exclusive(queue));
        }
        t
    }
}
