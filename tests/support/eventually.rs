//! The one `eventually` of every integration test in the workspace: the service's (`tests/api`,
//! `tests/chaos.rs`) and the runtime's (`actors/tests`, which include this file with `#[path]`,
//! since it needs nothing of the service).

use std::time::{Duration, Instant};

/// Polls `check` until it is true; fails the test, naming `what`, after `within`. Polls often at
/// first (most conditions hold within milliseconds), then every 200 ms (some checks scrape
/// several processes).
pub async fn eventually(what: &str, within: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + within;
    let mut pause = Duration::from_millis(25);
    loop {
        if check().await {
            return;
        }
        if Instant::now() > deadline {
            panic!("timed out after {within:?} waiting until {what}");
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}
