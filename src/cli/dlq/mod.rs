//! `hexactor dlq list|show|replay|purge`: operators inspect and re-drive dead letters.
//!
//! Messages are taken with `basic.get` *without* auto-ack, so nothing leaves the dead-letter
//! queue unless this tool decides so: a replayed message is acked (removed) only after the broker
//! has confirmed its re-publish to the original queue, a purged one is acked, and every message
//! merely looked at is handed back (`basic.nack` with requeue) before the tool exits. If the tool
//! dies half-way, the broker returns whatever it held to the queue.
//!
//! One file per reason to change: `connection.rs` (reaching the queue, taking and handing back),
//! `letter.rs` (what an operator sees), `read.rs` (list, show), `replay.rs`, `purge.rs`.

mod connection;
mod letter;
mod purge;
mod read;
mod replay;

pub use connection::Broker;
pub use letter::{DeadLetter, payload_text};
pub use purge::purge;
pub use read::{list, show};
pub use replay::{ReplayReport, replay};

use crate::config::Settings;
use crate::infrastructure::messaging::names::Names;
use clap::{Args, Subcommand};

#[derive(Debug, Clone, Args)]
pub struct DlqArgs {
    /// The dead-letter queue [default: <AMQP_PREFIX>.commands.users.dlq]
    #[arg(long)]
    pub queue: Option<String>,
    /// Only the message with this message id
    #[arg(long)]
    pub id: Option<String>,
    /// At most this many messages (list, show, replay)
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
}

#[derive(Debug, Clone, Subcommand)]
pub enum DlqCmd {
    /// List dead letters: id, why (reason, error, attempts), when (first and last failure), from where
    List(DlqArgs),
    /// Show dead letters in full: properties, every header, the payload (secrets redacted)
    Show(DlqArgs),
    /// Re-publish dead letters to their original queue; each leaves the DLQ only once the broker confirmed it
    Replay(DlqArgs),
    /// Delete dead letters: every one in the queue, or only the one with --id
    Purge(DlqArgs),
}

pub fn default_queue(settings: &Settings) -> String {
    format!(
        "{}.dlq",
        Names::new(&settings.messaging.amqp_prefix).command_queue
    )
}

/// Runs one `dlq` subcommand and prints what it did.
pub async fn run(settings: &Settings, command: DlqCmd) -> anyhow::Result<()> {
    let url = Broker {
        url: settings.messaging.rabbitmq_url.expose(),
        tls: settings.messaging.rabbitmq_tls.clone(),
    };
    let url = &url;
    let queue_of = |args: &DlqArgs| {
        args.queue
            .clone()
            .unwrap_or_else(|| default_queue(settings))
    };
    match command {
        DlqCmd::List(args) => {
            let queue = queue_of(&args);
            let letters = list(url, &queue, args.id.as_deref(), args.limit).await?;
            println!(
                "{} dead letter(s) in {queue}{}",
                letters.len(),
                limited(letters.len(), args.limit)
            );
            for letter in &letters {
                println!("{}", letter.summary());
            }
        }
        DlqCmd::Show(args) => {
            let queue = queue_of(&args);
            let letters = show(url, &queue, args.id.as_deref(), args.limit).await?;
            if letters.is_empty() {
                anyhow::bail!("no matching dead letter in {queue}");
            }
            for letter in letters {
                println!("{letter}");
            }
        }
        DlqCmd::Replay(args) => {
            let queue = queue_of(&args);
            let report = replay(url, &queue, args.id.as_deref(), args.limit).await?;
            for id in &report.replayed {
                println!("replayed {id}");
            }
            for (id, why) in &report.kept {
                println!("kept {id}: {why}");
            }
            println!(
                "{} replayed, {} kept in {queue}",
                report.replayed.len(),
                report.kept.len()
            );
            if !report.kept.is_empty() {
                anyhow::bail!("{} dead letter(s) could not be replayed", report.kept.len());
            }
        }
        DlqCmd::Purge(args) => {
            let queue = queue_of(&args);
            let purged = purge(url, &queue, args.id.as_deref()).await?;
            println!("purged {purged} dead letter(s) from {queue}");
        }
    }
    Ok(())
}

fn limited(n: usize, limit: usize) -> &'static str {
    if n >= limit {
        " (limit reached; --limit shows more)"
    } else {
        ""
    }
}
