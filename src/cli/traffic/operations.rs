//! What each operation sends to the API, and the run's shared state: the accounts it registered
//! (to act as) and their tokens. Single-threaded (`Rc<RefCell>`): the run is one actix runtime.

use super::mix::Op;
use super::tally::{Tally, record};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Instant;

pub(super) struct Account {
    id: String,
    email: String,
    password: String,
    access: Option<String>,
    refresh: Option<String>,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) accounts: Vec<Account>,
    pub(super) tallies: BTreeMap<Op, Tally>,
    pub(super) next_user: u64,
    pub(super) seed: u64,
}

impl State {
    /// xorshift64*: good enough to mix operations, and no dependency.
    pub(super) fn roll(&mut self) -> u64 {
        let mut x = self.seed;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.seed = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

pub(super) type Shared = Rc<RefCell<State>>;

pub(super) struct Client {
    pub(super) http: awc::Client,
    pub(super) base: String,
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
pub(super) async fn run_op(client: Rc<Client>, state: Shared, mut op: Op, run_id: String) {
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
    record(&mut state.borrow_mut().tallies, op, started, &outcome);
}
