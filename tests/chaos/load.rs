//! The load driver: registrations through the APIs, each retried with its Idempotency-Key until
//! accepted, so that exactly the accepted commands are known.

use crate::harness::{eventually, sleep};
use futures_util::StreamExt;
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};
use uuid::Uuid;

#[derive(Default)]
pub struct LoadResult {
    pub accepted: Vec<Uuid>,
    pub gave_up: usize,
    pub http_retries: usize,
}

impl LoadResult {
    pub fn merge(&mut self, other: LoadResult) {
        self.accepted.extend(other.accepted);
        self.gave_up += other.gave_up;
        self.http_retries += other.http_retries;
    }
}

#[derive(Default)]
struct LoadState {
    accepted: RefCell<Vec<Uuid>>,
    gave_up: Cell<usize>,
    http_retries: Cell<usize>,
    started_at: Cell<Option<Instant>>,
}

/// `commands` registrations, 24 in flight, spread over the APIs. Each has an Idempotency-Key and
/// is retried (on 5xx and transport errors) until accepted: exactly the registrations the
/// service accepted are in `accepted`, no more and no fewer.
pub struct Load {
    state: Rc<LoadState>,
    handle: actix_web::rt::task::JoinHandle<()>,
    pub total: usize,
}

impl Load {
    pub(crate) fn start(http: awc::Client, apis: Vec<String>, commands: usize) -> Self {
        let state = Rc::new(LoadState::default());
        state.started_at.set(Some(Instant::now()));
        let s = state.clone();
        let run_id = Uuid::new_v4().simple().to_string()[..8].to_owned();
        let handle = actix_web::rt::spawn(async move {
            futures_util::stream::iter(0..commands)
                .map(|i| register_until_accepted(&http, &apis, &s, &run_id, i))
                .buffer_unordered(24)
                .for_each(|()| async {})
                .await;
        });
        Self {
            state,
            handle,
            total: commands,
        }
    }

    pub fn accepted(&self) -> usize {
        self.state.accepted.borrow().len()
    }

    /// Waits until `fraction` of the load has been accepted.
    pub async fn reached(&self, fraction: f64) {
        let target = ((self.total as f64) * fraction).ceil() as usize;
        eventually(
            &format!("{target} commands are accepted"),
            Duration::from_secs(300),
            async || self.accepted() >= target || self.handle.is_finished(),
        )
        .await;
    }

    pub async fn finish(self) -> LoadResult {
        self.handle.await.expect("load driver");
        LoadResult {
            accepted: self.state.accepted.take(),
            gave_up: self.state.gave_up.get(),
            http_retries: self.state.http_retries.get(),
        }
    }
}

pub fn user_body(run: &str, i: usize) -> Value {
    crate::support::registration(&format!("chaos{i}.{run}"), &format!("chaos_{run}_{i}"))
}

async fn register_until_accepted(
    http: &awc::Client,
    apis: &[String],
    state: &LoadState,
    run: &str,
    i: usize,
) {
    let body = serde_json::to_vec(&user_body(run, i)).unwrap();
    let key = format!("chaos-{run}-{i}");
    let deadline = Instant::now() + Duration::from_secs(240);
    for attempt in 0usize.. {
        let api = &apis[(i + attempt) % apis.len()];
        let sent = http
            .post(format!("{api}/api/v1/users"))
            .insert_header(("content-type", "application/json"))
            .insert_header(("prefer", "respond-async"))
            .insert_header(("idempotency-key", key.as_str()))
            .send_body(body.clone())
            .await;
        match sent {
            Ok(mut res) if res.status().as_u16() == 202 => {
                let v: Value = res.json().await.expect("202 body");
                let id = Uuid::parse_str(v["command_id"].as_str().expect("command_id")).unwrap();
                state.accepted.borrow_mut().push(id);
                return;
            }
            Ok(mut res) if res.status().is_client_error() => {
                let body = res.body().await.unwrap_or_default();
                panic!(
                    "registration {i} refused with {}: {}",
                    res.status(),
                    String::from_utf8_lossy(&body)
                );
            }
            // 5xx, timeouts, refused connections: transient, try again (same key).
            Ok(_) | Err(_) => {
                state.http_retries.set(state.http_retries.get() + 1);
                if Instant::now() > deadline {
                    state.gave_up.set(state.gave_up.get() + 1);
                    return;
                }
                sleep(Duration::from_millis(50 * (attempt as u64 + 1).min(20))).await;
            }
        }
    }
}
