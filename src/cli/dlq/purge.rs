//! `purge`: deleting dead letters for good (all of them, or the one with an id).

use super::connection::{Broker, close, connect, take};
use lapin::options::{BasicAckOptions, QueuePurgeOptions};

/// Removes dead letters: the one(s) with `id` (looking through the whole queue), or every
/// message in the queue (`queue.purge`). Returns how many were removed.
pub async fn purge<'a>(
    url: impl Into<Broker<'a>>,
    queue: &str,
    id: Option<&str>,
) -> anyhow::Result<usize> {
    let (conn, channel) = connect(url.into()).await?;
    let purged = match id {
        None => {
            channel
                .queue_purge(queue.into(), QueuePurgeOptions::default())
                .await? as usize
        }
        Some(id) => {
            let taken = take(&channel, queue, Some(id), usize::MAX).await?;
            for delivery in &taken {
                delivery.acker.ack(BasicAckOptions::default()).await?;
            }
            taken.len()
        }
    };
    close(conn).await;
    Ok(purged)
}
