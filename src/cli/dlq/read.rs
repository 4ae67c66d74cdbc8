//! `list` and `show`: looking at dead letters without removing them (every one taken is handed
//! back before the tool exits).

use super::connection::{Broker, close, connect, give_back, take};
use super::letter::{DeadLetter, describe};

/// The dead letters (up to `limit`), left in the queue.
pub async fn list<'a>(
    url: impl Into<Broker<'a>>,
    queue: &str,
    id: Option<&str>,
    limit: usize,
) -> anyhow::Result<Vec<DeadLetter>> {
    let (conn, channel) = connect(url.into()).await?;
    let taken = take(&channel, queue, id, limit).await?;
    let letters = taken.iter().map(DeadLetter::from_delivery).collect();
    give_back(taken).await;
    close(conn).await;
    Ok(letters)
}

/// Full descriptions of the dead letters (up to `limit`), left in the queue.
pub async fn show<'a>(
    url: impl Into<Broker<'a>>,
    queue: &str,
    id: Option<&str>,
    limit: usize,
) -> anyhow::Result<Vec<String>> {
    let (conn, channel) = connect(url.into()).await?;
    let taken = take(&channel, queue, id, limit).await?;
    let shown = taken.iter().map(describe).collect();
    give_back(taken).await;
    close(conn).await;
    Ok(shown)
}
