//! `hexactor traffic`: realistic mixed traffic against a running API, so that every dashboard
//! panel comes alive — registrations, good and bad logins, reads, refreshes, updates,
//! deactivations, unknown paths and a few poison messages straight onto the command queue. A
//! progress bar while it runs, a summary table per operation at the end.
//!
//! Bad logins count against the client address: past `LOGIN_MAX_FAILURES_PER_IP` the API locks
//! this machine out (429, shown as `locked`), which is the brute-force protection working. Raise
//! that limit on the server for long demo runs.
//!
//! `mix.rs` picks the operations, `operations.rs` sends them, `tally.rs` counts and summarises the
//! answers, `poison.rs` publishes the poison; this file is the command line and the paced run.

mod mix;
mod operations;
mod poison;
mod tally;

use crate::config::Settings;
use indicatif::{ProgressBar, ProgressStyle};
use mix::Op;
use operations::{Client, Shared, State, run_op};
use poison::publish_poison;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tally::summary;

#[derive(clap::Args, Debug, Clone)]
pub struct TrafficArgs {
    /// Base URL of the API.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    pub url: String,
    /// How long to run: `90s`, `5m`, `1h` or plain seconds.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Operations started per second.
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Poison messages published to the command queue during the run (they end in the DLQ).
    #[arg(long, default_value_t = 3)]
    pub poison: u32,
    /// Operations in flight at most (a slow server slows the run rather than piling up).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
}

pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let (number, unit) = raw
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((raw, "s"), |i| raw.split_at(i));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("not a duration: {raw:?} (try 90s, 5m, 1h)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("unknown unit {unit:?} in {raw:?} (ms, s, m, h)")),
    };
    if !(seconds > 0.0 && seconds.is_finite()) {
        return Err(format!("the duration must be positive: {raw:?}"));
    }
    Ok(Duration::from_secs_f64(seconds))
}
/// What a run did, per operation: (sent, answered 2xx).
#[derive(Debug, Default)]
pub struct TrafficReport {
    pub by_operation: BTreeMap<&'static str, (u64, u64)>,
    pub server_errors: u64,
    pub poison_published: u32,
}

pub async fn run(settings: &Settings, args: TrafficArgs) -> anyhow::Result<TrafficReport> {
    anyhow::ensure!(args.rate > 0.0, "--rate must be positive");
    let client = Rc::new(Client {
        http: awc::Client::builder()
            .timeout(Duration::from_secs(30))
            .finish(),
        base: args.url.trim_end_matches('/').to_owned(),
    });
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let state: Shared = Rc::new(RefCell::new(State {
        seed: u64::from_str_radix(&run_id, 16).unwrap_or(1) | 1,
        ..State::default()
    }));
    let total_ops = (args.duration.as_secs_f64() * args.rate).ceil() as u64;
    let bar = ProgressBar::new(total_ops);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} ops {msg}")
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .progress_chars("=> "),
    );
    let in_flight = std::sync::Arc::new(tokio::sync::Semaphore::new(args.concurrency.max(1)));
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let poison_every = (args.poison > 0).then(|| total_ops / u64::from(args.poison) + 1);
    let (mut poisoned, started) = (0, Instant::now());
    let mut tasks = Vec::new();
    for i in 0..total_ops {
        ticker.tick().await;
        if poison_every.is_some_and(|every| i % every == every / 2) && poisoned < args.poison {
            publish_poison(settings, 1).await?;
            poisoned += 1;
        }
        let permit = in_flight.clone().acquire_owned().await?;
        let op = Op::pick(state.borrow_mut().roll() as u32);
        let (client, state, bar, run_id) =
            (client.clone(), state.clone(), bar.clone(), run_id.clone());
        tasks.push(actix_web::rt::spawn(async move {
            run_op(client, state.clone(), op, run_id).await;
            drop(permit);
            let s = state.borrow();
            let errors: u64 = s.tallies.values().map(|t| t.server_error + t.failed).sum();
            bar.set_message(format!(
                "{} accounts, {errors} server errors",
                s.accounts.len()
            ));
            bar.inc(1);
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    bar.finish();
    let state = state.borrow();
    println!(
        "{}",
        summary(
            &state.tallies,
            state.accounts.len(),
            started.elapsed(),
            poisoned
        )
    );
    Ok(TrafficReport {
        by_operation: state
            .tallies
            .iter()
            .map(|(op, t)| {
                let sent = t.ok + t.client_error + t.locked + t.server_error + t.failed;
                (op.name(), (sent, t.ok))
            })
            .collect(),
        server_errors: state
            .tallies
            .values()
            .map(|t| t.server_error + t.failed)
            .sum(),
        poison_published: poisoned,
    })
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("12"), Ok(Duration::from_secs(12)));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("0s").is_err());
    }
}
