//! Counting what came back, per operation, and the summary table printed at the end.

use super::mix::Op;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Default)]
pub(super) struct Tally {
    pub(super) ok: u64,
    pub(super) client_error: u64,
    pub(super) locked: u64,
    pub(super) server_error: u64,
    pub(super) failed: u64,
    pub(super) millis: Vec<f64>,
}

pub(super) fn record(
    tallies: &mut BTreeMap<Op, Tally>,
    op: Op,
    started: Instant,
    outcome: &Result<u16, String>,
) {
    let tally = tallies.entry(op).or_default();
    tally.millis.push(started.elapsed().as_secs_f64() * 1000.0);
    match outcome {
        Ok(200..=299) => tally.ok += 1,
        Ok(429) => tally.locked += 1,
        Ok(400..=499) => tally.client_error += 1,
        Ok(_) => tally.server_error += 1,
        Err(_) => tally.failed += 1,
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

pub(super) fn summary(
    tallies: &BTreeMap<Op, Tally>,
    accounts: usize,
    elapsed: Duration,
    poison: u32,
) -> String {
    let mut out = format!(
        "\n{:<14} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>9} {:>9}\n",
        "operation", "sent", "2xx", "4xx", "429", "5xx", "failed", "p50 ms", "p95 ms"
    );
    let mut total = 0;
    for (op, t) in tallies {
        let mut ms = t.millis.clone();
        ms.sort_by(f64::total_cmp);
        let sent = t.ok + t.client_error + t.locked + t.server_error + t.failed;
        total += sent;
        out.push_str(&format!(
            "{:<14} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>9.1} {:>9.1}\n",
            op.name(),
            sent,
            t.ok,
            t.client_error,
            t.locked,
            t.server_error,
            t.failed,
            percentile(&ms, 0.5),
            percentile(&ms, 0.95)
        ));
    }
    out.push_str(&format!(
        "\n{total} operations in {:.1} s ({:.1}/s), {poison} poison message(s) published, {} live test accounts\n",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64().max(0.001),
        accounts
    ));
    out
}
