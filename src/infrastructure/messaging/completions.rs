//! API side: waits for commands to complete. Completion notices arrive on this replica's own
//! reply queue; the command log is read once when a wait starts (the command may be done already:
//! a replay, or a very fast worker) and once more when it times out (a notice may have been lost).

use super::command_dispatcher::CompletionNotice;
use crate::application::commands::CommandRecord;
use crate::application::ports::{AwaitCompletion, GetCommand, InfraError};
use ::actors::Port;
use ::actors::rabbit::{Disposition, HandleDelivery};
use actix::prelude::*;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::oneshot;
use uuid::Uuid;

pub struct CompletionTracker {
    commands: Port<GetCommand>,
    waiters: HashMap<Uuid, Vec<oneshot::Sender<()>>>,
}

impl CompletionTracker {
    pub fn new(commands: Port<GetCommand>) -> Self {
        Self {
            commands,
            waiters: HashMap::new(),
        }
    }
}

impl Actor for CompletionTracker {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Waiters whose request timed out or went away.
        ctx.run_interval(Duration::from_secs(5), |act, _| {
            act.waiters.retain(|_, senders| {
                senders.retain(|s| !s.is_closed());
                !senders.is_empty()
            });
        });
    }
}

impl Supervised for CompletionTracker {
    fn restarting(&mut self, _: &mut Context<Self>) {
        // Dropping the senders wakes every waiter; each re-reads the command log.
        self.waiters.clear();
    }
}

impl Handler<HandleDelivery> for CompletionTracker {
    type Result = Disposition;

    fn handle(&mut self, msg: HandleDelivery, _: &mut Context<Self>) -> Disposition {
        match serde_json::from_slice::<CompletionNotice>(&msg.0.payload) {
            Ok(notice) => {
                for waiter in self.waiters.remove(&notice.command_id).unwrap_or_default() {
                    let _ = waiter.send(());
                }
                Disposition::Ack
            }
            Err(e) => Disposition::DeadLetter {
                reason: "undecodable".into(),
                error: e.to_string(),
            },
        }
    }
}

impl Handler<AwaitCompletion> for CompletionTracker {
    type Result = ResponseFuture<Result<Option<CommandRecord>, InfraError>>;

    fn handle(&mut self, msg: AwaitCompletion, _: &mut Context<Self>) -> Self::Result {
        // Registered before the first read, so a notice arriving in between is not missed.
        let (tx, rx) = oneshot::channel();
        self.waiters.entry(msg.command_id).or_default().push(tx);
        let commands = self.commands.clone();
        let read = move || {
            let commands = commands.clone();
            async move {
                commands
                    .ask(GetCommand { id: msg.command_id })
                    .await
                    .map_err(|e| InfraError::new("command store", e))?
            }
        };
        Box::pin(async move {
            let record = read().await?;
            if record.as_ref().is_none_or(|r| r.status.is_terminal()) || msg.wait.is_zero() {
                return Ok(record);
            }
            let _ = tokio::time::timeout(msg.wait, rx).await;
            read().await
        })
    }
}

::actors::instrument!(CompletionTracker: HandleDelivery, AwaitCompletion);
