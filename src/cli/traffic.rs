//! `hexactor traffic`: realistic mixed traffic against a running API, so that every dashboard
//! panel comes alive — registrations, good and bad logins, reads, refreshes, updates,
//! deactivations, unknown paths and a few poison messages straight onto the command queue. A
//! progress bar while it runs, a summary table per operation at the end.
//!
//! Bad logins count against the client address: past `LOGIN_MAX_FAILURES_PER_IP` the API locks
//! this machine out (429, shown as `locked`), which is the brute-force protection working. Raise
//! that limit on the server for long demo runs.

use crate::config::Settings;
use crate::infrastructure::messaging::names::Names;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

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

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Register,
    Login,
    BadLogin,
    Read,
    Refresh,
    Update,
    Deactivate,
    NotFound,
}

impl Op {
    /// Weights per 100 operations: mostly reads and logins, like a real user base.
    const MIX: [(Op, u32); 8] = [
        (Op::Register, 18),
        (Op::Login, 18),
        (Op::BadLogin, 5),
        (Op::Read, 30),
        (Op::Refresh, 8),
        (Op::Update, 12),
        (Op::Deactivate, 4),
        (Op::NotFound, 5),
    ];

    fn pick(roll: u32) -> Op {
        let mut left = roll % 100;
        for (op, weight) in Self::MIX {
            if left < weight {
                return op;
            }
            left -= weight;
        }
        Op::Read
    }

    fn name(self) -> &'static str {
        match self {
            Op::Register => "register",
            Op::Login => "login",
            Op::BadLogin => "bad login",
            Op::Read => "read",
            Op::Refresh => "refresh",
            Op::Update => "update",
            Op::Deactivate => "deactivate",
            Op::NotFound => "unknown path",
        }
    }
}

struct Account {
    id: String,
    email: String,
    password: String,
    access: Option<String>,
    refresh: Option<String>,
}

#[derive(Default)]
struct Tally {
    ok: u64,
    client_error: u64,
    locked: u64,
    server_error: u64,
    failed: u64,
    millis: Vec<f64>,
}

#[derive(Default)]
struct State {
    accounts: Vec<Account>,
    tallies: BTreeMap<Op, Tally>,
    next_user: u64,
    seed: u64,
}

impl State {
    /// xorshift64*: good enough to mix operations, and no dependency.
    fn roll(&mut self) -> u64 {
        let mut x = self.seed;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.seed = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

type Shared = Rc<RefCell<State>>;

struct Client {
    http: awc::Client,
    base: String,
}

impl Client {
    async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<(u16, Value, Option<String>), String> {
        let method = awc::http::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.insert_header(("authorization", format!("Bearer {token}")));
        }
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        let mut res = match body {
            Some(b) => req.send_json(&b).await,
            None => req.send().await,
        }
        .map_err(|e| e.to_string())?;
        let etag = res
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = res.body().await.map_err(|e| e.to_string())?;
        Ok((
            res.status().as_u16(),
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            etag,
        ))
    }
}

fn record(state: &Shared, op: Op, started: Instant, outcome: &Result<u16, String>) {
    let mut s = state.borrow_mut();
    let tally = s.tallies.entry(op).or_default();
    tally.millis.push(started.elapsed().as_secs_f64() * 1000.0);
    match outcome {
        Ok(200..=299) => tally.ok += 1,
        Ok(429) => tally.locked += 1,
        Ok(400..=499) => tally.client_error += 1,
        Ok(_) => tally.server_error += 1,
        Err(_) => tally.failed += 1,
    }
}

/// Logs in or refreshes; keeps the account's new token pair.
async fn obtain_tokens(
    client: &Client,
    state: &Shared,
    id: &str,
    path: &str,
    body: Value,
) -> Result<u16, String> {
    let res = client.send("POST", path, None, &[], Some(body)).await;
    if let Ok((200, tokens, _)) = &res
        && let Some(a) = state.borrow_mut().accounts.iter_mut().find(|a| a.id == id)
    {
        a.access = tokens["access_token"].as_str().map(str::to_owned);
        a.refresh = tokens["refresh_token"].as_str().map(str::to_owned);
    }
    res.map(|r| r.0)
}

/// One operation; falls back to a registration while there is nobody to act as.
async fn run_op(client: Rc<Client>, state: Shared, mut op: Op, run_id: String) {
    let pick = {
        let mut s = state.borrow_mut();
        let n = s.accounts.len();
        if n == 0 && !matches!(op, Op::Register | Op::BadLogin | Op::NotFound) {
            op = Op::Register;
        }
        (n > 0).then(|| (s.roll() as usize) % n)
    };
    let started = Instant::now();
    let outcome = match op {
        Op::Register => {
            let n = {
                let mut s = state.borrow_mut();
                s.next_user += 1;
                s.next_user
            };
            let (email, password) = (
                format!("traffic-{run_id}-{n}@example.com"),
                format!("violet elephants juggle {n} lanterns"),
            );
            let body = json!({
                "email": email, "username": format!("t{run_id}{n}"), "first_name": "Traffic",
                "last_name": "Generator", "password": password,
            });
            let res = client
                .send("POST", "/api/v1/users", None, &[], Some(body))
                .await;
            if let Ok((201, user, _)) = &res
                && let Some(id) = user["id"].as_str()
            {
                state.borrow_mut().accounts.push(Account {
                    id: id.to_owned(),
                    email,
                    password,
                    access: None,
                    refresh: None,
                });
            }
            res.map(|r| r.0)
        }
        Op::BadLogin => {
            let body = json!({"email": format!("nobody-{run_id}@example.com"), "password": "not the password"});
            client
                .send("POST", "/api/v1/auth/login", None, &[], Some(body))
                .await
                .map(|r| r.0)
        }
        Op::NotFound => client
            .send("GET", "/api/v1/no-such-thing", None, &[], None)
            .await
            .map(|r| r.0),
        _ => {
            let i = pick.unwrap_or(0);
            let (id, email, password, access, refresh) = {
                let s = state.borrow();
                let a = &s.accounts[i];
                (
                    a.id.clone(),
                    a.email.clone(),
                    a.password.clone(),
                    a.access.clone(),
                    a.refresh.clone(),
                )
            };
            match (op, access) {
                (Op::Login, _) | (_, None) => {
                    op = Op::Login;
                    let body = json!({"email": email, "password": password});
                    obtain_tokens(&client, &state, &id, "/api/v1/auth/login", body).await
                }
                (Op::Refresh, Some(_)) => {
                    let body = json!({"refresh_token": refresh.unwrap_or_default()});
                    obtain_tokens(&client, &state, &id, "/api/v1/auth/refresh", body).await
                }
                (Op::Update, Some(token)) => {
                    let path = format!("/api/v1/users/{id}");
                    match client.send("GET", &path, Some(&token), &[], None).await {
                        Ok((200, _, Some(etag))) => {
                            let body = json!({"first_name": format!("Traffic{}", started.elapsed().as_micros() % 1000)});
                            client
                                .send(
                                    "PATCH",
                                    &path,
                                    Some(&token),
                                    &[("if-match", &etag)],
                                    Some(body),
                                )
                                .await
                                .map(|r| r.0)
                        }
                        other => other.map(|r| r.0),
                    }
                }
                (Op::Deactivate, Some(token)) => {
                    let res = client
                        .send(
                            "DELETE",
                            &format!("/api/v1/users/{id}"),
                            Some(&token),
                            &[],
                            None,
                        )
                        .await;
                    if matches!(res, Ok((200..=299, _, _))) {
                        state.borrow_mut().accounts.retain(|a| a.id != id);
                    }
                    res.map(|r| r.0)
                }
                (_, Some(token)) => {
                    op = Op::Read;
                    let path = if started.elapsed().as_nanos().is_multiple_of(2) {
                        "/api/v1/users/me".to_owned()
                    } else {
                        format!("/api/v1/users/{id}")
                    };
                    client
                        .send("GET", &path, Some(&token), &[], None)
                        .await
                        .map(|r| r.0)
                }
            }
        }
    };
    record(&state, op, started, &outcome);
}

/// Undecodable commands, published like an API would (persistent, to the command queue).
async fn publish_poison(settings: &Settings, count: u32) -> anyhow::Result<()> {
    use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
    let conn = lapin::Connection::connect(
        settings.messaging.rabbitmq_url.expose(),
        lapin::ConnectionProperties::default(),
    )
    .await?;
    let channel = conn.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let queue = Names::new(&settings.messaging.amqp_prefix).command_queue;
    for i in 0..count {
        let payload = format!("{{\"type\":\"NoSuchCommand\",\"poison\":{i}}}");
        channel
            .basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions::default(),
                payload.as_bytes(),
                lapin::BasicProperties::default().with_delivery_mode(2),
            )
            .await?
            .await?;
    }
    let _ = conn.close(200, "done".into()).await;
    Ok(())
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn summary(state: &State, elapsed: Duration, poison: u32) -> String {
    let mut out = format!(
        "\n{:<14} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>9} {:>9}\n",
        "operation", "sent", "2xx", "4xx", "429", "5xx", "failed", "p50 ms", "p95 ms"
    );
    let mut total = 0;
    for (op, t) in &state.tallies {
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
        state.accounts.len()
    ));
    out
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
    println!("{}", summary(&state, started.elapsed(), poisoned));
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

    #[test]
    fn the_mix_covers_every_operation() {
        let seen: std::collections::BTreeSet<_> = (0..100).map(Op::pick).collect();
        assert_eq!(seen.len(), Op::MIX.len());
        assert_eq!(Op::MIX.iter().map(|(_, w)| w).sum::<u32>(), 100);
    }
}
