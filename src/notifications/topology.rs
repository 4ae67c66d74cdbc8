//! The notifications context's own queues on the broker: one durable queue per kind of event it
//! reacts to, bound to the event exchange, each with the retry tiers and DLQ every work queue
//! has. Declared here, next to the consumers that read them, and added to the command side's
//! topology by `startup::topology`, so the messaging names never need to know this context.

use crate::domain::EventKind;
use crate::infrastructure::messaging::names::Names;
use ::actors::rabbit::{QueueKind, Topology, WorkQueue};
use std::time::Duration;

/// `UserCreated` events (welcome mail) and account-mail requests (reset, verification, email
/// change).
pub fn work_queues(names: &Names, retry_tiers: &[Duration]) -> [WorkQueue; 2] {
    [
        WorkQueue::new(&names.notifications_queue, retry_tiers),
        WorkQueue::new(&names.account_mail_queue, retry_tiers),
    ]
}

/// Adds this context's queues and their bindings to `t`.
pub fn declare(t: &mut Topology, names: &Names, retry_tiers: &[Duration], kind: QueueKind) {
    let [welcome, account_mail] = work_queues(names, retry_tiers);
    t.work_queue(&welcome, kind, &names.dead_letter_exchange)
        .bind(
            &names.notifications_queue,
            &names.events_exchange,
            EventKind::UserCreated.declaration().routing_key,
        )
        .work_queue(&account_mail, kind, &names.dead_letter_exchange);
    for kind in super::account_mail::EVENTS {
        let key = kind.declaration().routing_key;
        t.bind(&names.account_mail_queue, &names.events_exchange, key);
    }
}
