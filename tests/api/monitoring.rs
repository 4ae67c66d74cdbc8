//! The monitoring assets, verified rather than assumed:
//! - the alert rules pass `promtool check rules` and their unit tests (`promtool test rules`);
//! - the dashboards' JSON is well formed (unique uids and titles, datasource by uid, valid grid
//!   positions, a unit and a description on every panel, `$__rate_interval`);
//! - a real Prometheus (temp dir, free port, killed at the end) scrapes a running API and worker
//!   while traffic exercises every panel; then every PromQL expression of every dashboard and
//!   every alert rule is evaluated through Prometheus's HTTP API: each must parse, each panel
//!   must return data.

use crate::helpers::*;
use ::hexactor::startup::ProcessRole;
use lapin::BasicProperties;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn monitoring_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("monitoring")
}

fn dashboards() -> Vec<(String, Value)> {
    let dir = monitoring_dir().join("grafana/dashboards");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("dashboards directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", p.display()));
            (p.file_name().unwrap().to_string_lossy().into_owned(), json)
        })
        .collect()
}

/// Every non-row panel, nested rows included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(ps: &'a [Value], out: &mut Vec<&'a Value>) {
        for p in ps {
            if p["type"] != "row" {
                out.push(p);
            }
            walk(p["panels"].as_array().map_or(&[], |v| v), out);
        }
    }
    let mut out = Vec::new();
    walk(dashboard["panels"].as_array().expect("panels"), &mut out);
    out
}

const DATASOURCE_UID: &str = "prometheus";

fn promtool(args: &[&str]) -> std::process::Output {
    Command::new("promtool")
        .args(args)
        .current_dir(monitoring_dir())
        .output()
        .expect("promtool runs (scripts/services.sh installs Debian's prometheus package)")
}

#[test]
fn monitoring_alert_rules_pass_promtool_and_their_unit_tests() {
    for args in [
        &["check", "rules", "alerts.yml"][..],
        &["test", "rules", "alerts_test.yml"][..],
    ] {
        let out = promtool(args);
        assert!(
            out.status.success(),
            "promtool {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Every rule has a runbook section, and every rule is exercised by a unit test.
    let rules = std::fs::read_to_string(monitoring_dir().join("alerts.yml")).unwrap();
    let tests = std::fs::read_to_string(monitoring_dir().join("alerts_test.yml")).unwrap();
    let runbook = std::fs::read_to_string(monitoring_dir().join("../docs/runbook.md")).unwrap();
    let anchors: HashSet<String> = runbook
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| h.trim().to_lowercase())
        .collect();
    let names: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert!(names.len() >= 10, "{names:?}");
    for name in &names {
        assert!(
            tests.contains(&format!("alertname: {name}\n")),
            "{name} has no promtool unit test"
        );
    }
    let links: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("runbook_url: docs/runbook.md#"))
        .collect();
    assert_eq!(links.len(), names.len(), "every rule has a runbook_url");
    for anchor in links {
        assert!(anchors.contains(anchor), "no runbook section for #{anchor}");
    }
}

#[test]
fn monitoring_dashboards_are_well_formed() {
    let dashboards = dashboards();
    let titles: Vec<&str> = dashboards
        .iter()
        .map(|(_, d)| d["title"].as_str().unwrap())
        .collect();
    for wanted in [
        "Service overview",
        "Actors",
        "Messaging",
        "Business",
        "Database",
    ] {
        assert!(
            titles.iter().any(|t| t.ends_with(wanted)),
            "no {wanted} dashboard in {titles:?}"
        );
    }
    let mut uids = HashSet::new();
    let mut unique_titles = HashSet::new();
    for (file, d) in &dashboards {
        let uid = d["uid"].as_str().unwrap_or_default();
        assert!(!uid.is_empty() && uid.len() <= 40, "{file}: stable uid");
        assert!(uids.insert(uid.to_owned()), "{file}: duplicate uid {uid}");
        assert!(
            unique_titles.insert(d["title"].as_str().unwrap().to_owned()),
            "{file}: duplicate title"
        );
        for v in d["templating"]["list"].as_array().unwrap() {
            assert_eq!(
                v["datasource"]["uid"], DATASOURCE_UID,
                "{file}: variable {v}"
            );
        }
        let mut occupied = HashSet::new();
        let mut panel_titles = HashSet::new();
        for p in panels(d) {
            let title = p["title"].as_str().unwrap_or_default();
            let at = format!("{file}: panel '{title}'");
            assert!(!title.is_empty(), "{at}: a title");
            assert!(panel_titles.insert(title), "{at}: duplicate panel title");
            assert_eq!(
                p["datasource"]["uid"], DATASOURCE_UID,
                "{at}: datasource uid"
            );
            let unit = p["fieldConfig"]["defaults"]["unit"]
                .as_str()
                .unwrap_or_default();
            assert!(!unit.is_empty(), "{at}: a unit");
            let description = p["description"].as_str().unwrap_or_default();
            assert!(description.len() > 10, "{at}: a description");
            let g = &p["gridPos"];
            let (x, y, w, h) = (
                g["x"].as_i64().unwrap(),
                g["y"].as_i64().unwrap(),
                g["w"].as_i64().unwrap(),
                g["h"].as_i64().unwrap(),
            );
            assert!(
                x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 24,
                "{at}: gridPos {g}"
            );
            for cx in x..x + w {
                for cy in y..y + h {
                    assert!(occupied.insert((cx, cy)), "{at}: overlaps another panel");
                }
            }
            let targets = p["targets"].as_array().expect("targets");
            assert!(!targets.is_empty(), "{at}: no query");
            for t in targets {
                assert_eq!(
                    t["datasource"]["uid"], DATASOURCE_UID,
                    "{at}: target datasource"
                );
                let expr = t["expr"].as_str().unwrap_or_default();
                assert!(!expr.is_empty(), "{at}: empty expression");
                if expr.contains("rate(") {
                    assert!(
                        expr.contains("[$__rate_interval]") || expr.contains("[$__range]"),
                        "{at}: rate() over a fixed window: {expr}"
                    );
                }
            }
        }
    }
    let actors = dashboards
        .iter()
        .find(|(_, d)| d["title"].as_str().unwrap().ends_with("Actors"))
        .unwrap();
    let vars: Vec<&str> = actors.1["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(vars, ["instance", "actor"]);
    // The provisioned datasource is the uid the panels name.
    let datasource = std::fs::read_to_string(
        monitoring_dir().join("grafana/provisioning/datasources/prometheus.yml"),
    )
    .unwrap();
    assert!(datasource.contains(&format!("uid: {DATASOURCE_UID}")));
}

/// Where Prometheus scrapes a test app. One place, so moving `/metrics` (to an ops port) is a
/// one-line change.
fn scrape_target(app: &TestApp) -> (String, String) {
    let url = app.metrics_url();
    let rest = url.trim_start_matches("http://");
    let (host_port, path) = rest.split_once('/').expect("host/path");
    (host_port.to_owned(), format!("/{path}"))
}

/// A Prometheus of our own: temp dir, free port; killed and removed when dropped (also when the
/// test panics).
struct Prometheus {
    child: Child,
    dir: PathBuf,
    base: String,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Prometheus {
    fn start(targets: &[(&str, (String, String))]) -> Self {
        let dir = std::env::temp_dir().join(format!("hexactor-prom-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(monitoring_dir().join("alerts.yml"), dir.join("alerts.yml")).unwrap();
        let mut config = String::from(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - alerts.yml\nscrape_configs:\n",
        );
        for (job, (target, path)) in targets {
            config.push_str(&format!(
                "  - job_name: {job}\n    metrics_path: {path}\n    static_configs:\n      - targets: [\"{target}\"]\n"
            ));
        }
        std::fs::write(dir.join("prometheus.yml"), config).unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let mut command = Command::new("prometheus");
        // Killed with the test process even when that is killed outright (a nextest timeout),
        // where no Drop runs.
        #[cfg(target_os = "linux")]
        unsafe {
            use std::os::unix::process::CommandExt as _;
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus runs (scripts/services.sh installs Debian's prometheus package)");
        Self {
            child,
            dir,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn get(&self, client: &awc::Client, path: &str, query: &[(&str, &str)]) -> Value {
        let mut res = client
            .get(format!("{}{path}", self.base))
            .query(&query)
            .unwrap()
            .send()
            .await
            .unwrap_or_else(|e| panic!("Prometheus {path}: {e}"));
        let body = res.body().limit(16 << 20).await.unwrap();
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    }

    async fn query(&self, client: &awc::Client, expr: &str) -> Value {
        self.get(client, "/api/v1/query", &[("query", expr)]).await
    }
}

/// Grafana's macros and the Actors variables, replaced by values Prometheus accepts.
fn substitute(expr: &str) -> String {
    expr.replace("$__rate_interval", "20s")
        .replace("$__range", "10m")
        .replace("$__interval", "5s")
        .replace("$instance", ".*")
        .replace("$actor", ".*")
}

/// Registrations, good and bad logins, reads, refreshes, updates, a password change, a
/// deactivation, a duplicate, an unknown path and a poison message.
async fn drive_traffic(api: &TestApp, namespace: &Namespace, round: usize) {
    let (user, token) = api.user(&format!("m{round}")).await;
    let id = user["id"].as_str().unwrap().to_owned();
    let body = user_body(&format!("m{round}"));
    let email = body["email"].as_str().unwrap();
    let password = body["password"].as_str().unwrap();
    let tokens = api.login(email, password).await;
    assert_eq!(
        api.post_json(
            "/api/v1/auth/login",
            &json!({"email": email, "password": "wrong password 123"}),
            &[]
        )
        .await
        .status,
        401
    );
    assert_eq!(api.get_as("/api/v1/users/me", &token).await.status, 200);
    let read = api.get_as(&format!("/api/v1/users/{id}"), &token).await;
    assert_eq!(read.status, 200);
    let refresh = json!({"refresh_token": tokens["refresh_token"]});
    assert_eq!(
        api.post_json("/api/v1/auth/refresh", &refresh, &[])
            .await
            .status,
        200
    );
    let etag = read.header("etag").unwrap();
    let patch = api
        .send_as(
            "PATCH",
            &format!("/api/v1/users/{id}"),
            &token,
            Some(&json!({"first_name": "Augusta"})),
            &[("if-match", etag.as_str())],
        )
        .await;
    assert!(
        matches!(patch.status, 200 | 202),
        "update: {}",
        patch.status
    );
    // A duplicate registration: a rejected command.
    assert_eq!(api.register(&body, &[]).await.status, 409);
    let change = api
        .send_as(
            "PUT",
            &format!("/api/v1/users/{id}/password"),
            &token,
            Some(&json!({"current_password": password, "new_password": "analytical engines weave algebra"})),
            &[],
        )
        .await;
    assert!(
        matches!(change.status, 200 | 202 | 204),
        "password: {}",
        change.status
    );
    assert_eq!(api.get("/no/such/path").await.status, 404);
    if round % 2 == 1 {
        let (other, other_token) = api.user(&format!("d{round}")).await;
        let other_id = other["id"].as_str().unwrap();
        let gone = api
            .send_as(
                "DELETE",
                &format!("/api/v1/users/{other_id}"),
                &other_token,
                None,
                &[],
            )
            .await;
        assert!(
            matches!(gone.status, 200 | 202 | 204),
            "deactivate: {}",
            gone.status
        );
    }
    if round == 0 {
        let conn = amqp().await;
        let queue = format!("{}.commands.users", namespace.prefix);
        publish_raw(&conn, &queue, b"not a command", BasicProperties::default()).await;
        let _ = conn.close(200, "done".into()).await;
    }
}

#[actix_web::test]
async fn monitoring_every_panel_and_alert_query_answers_from_a_live_prometheus() {
    let namespace = Namespace::new().await;
    let fast = [("MONITOR_INTERVAL_MS", "500")];
    let api = spawn_role(&namespace, ProcessRole::Api, &fast).await;
    let worker = spawn_role(&namespace, ProcessRole::Worker, &fast).await;
    let prometheus = Prometheus::start(&[
        ("hexactor-api", scrape_target(&api)),
        ("hexactor-worker", scrape_target(&worker)),
    ]);
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish();
    eventually("Prometheus is ready", Duration::from_secs(30), async || {
        client
            .get(format!("{}/-/ready", prometheus.base))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    eventually("both targets are up", Duration::from_secs(30), async || {
        let up = prometheus
            .query(&client, r#"sum(up{job=~"hexactor-.*"})"#)
            .await;
        up["data"]["result"][0]["value"][1] == "2"
    })
    .await;

    // Traffic spread over time, so that every rate() sees at least two samples of a change.
    for round in 0..4 {
        drive_traffic(&api, &namespace, round).await;
        actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    }

    let mut expressions = Vec::new();
    for (file, d) in dashboards() {
        for p in panels(&d) {
            for t in p["targets"].as_array().unwrap() {
                let title = format!("{file} / {} / {}", p["title"].as_str().unwrap(), t["refId"]);
                expressions.push((title, substitute(t["expr"].as_str().unwrap())));
            }
        }
    }
    let total = expressions.len();
    let mut missing: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(45);
    let mut pending = expressions;
    // Poll until every panel query returns at least one sample, or the deadline passes.
    loop {
        let mut still = Vec::new();
        for (title, expr) in pending {
            let answer = prometheus.query(&client, &expr).await;
            assert_eq!(
                answer["status"], "success",
                "{title}: {expr} does not parse: {answer}"
            );
            if answer["data"]["result"]
                .as_array()
                .is_none_or(|r| r.is_empty())
            {
                still.push((title, expr));
            }
        }
        pending = still;
        if pending.is_empty() || Instant::now() > deadline {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_secs(1)).await;
    }
    missing.extend(pending.iter().map(|(t, e)| format!("{t}: {e}")));
    println!(
        "monitoring: {} of {total} dashboard panel queries returned data",
        total - missing.len()
    );
    assert!(
        missing.is_empty(),
        "panel queries without data:\n{}",
        missing.join("\n")
    );

    // The Actors dashboard's variables find values.
    for label in ["instance", "actor"] {
        let values = prometheus
            .get(
                &client,
                &format!("/api/v1/label/{label}/values"),
                &[("match[]", r#"actor_instances{job=~"hexactor-.*"}"#)],
            )
            .await;
        assert!(
            values["data"].as_array().is_some_and(|v| !v.is_empty()),
            "variable ${label} has no values: {values}"
        );
    }

    // Every alert rule, as Prometheus parsed and evaluated it: healthy, and its query runs.
    let rules = prometheus.get(&client, "/api/v1/rules", &[]).await;
    let rules: Vec<Value> = rules["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().clone())
        .collect();
    assert!(rules.len() >= 10, "alert rules loaded: {}", rules.len());
    for rule in &rules {
        let name = rule["name"].as_str().unwrap();
        assert_ne!(rule["health"], "err", "{name}: {}", rule["lastError"]);
        let answer = prometheus
            .query(&client, rule["query"].as_str().unwrap())
            .await;
        assert_eq!(answer["status"], "success", "{name}: {answer}");
    }
    println!("monitoring: {} alert rules evaluated", rules.len());
    // The poison message is in the DLQ: the depth-based alert's condition holds.
    let dlq = prometheus
        .query(
            &client,
            r#"max by (queue) (queue_depth{queue=~".*\\.dlq"}) > 0"#,
        )
        .await;
    assert!(
        dlq["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty()),
        "the DLQ depth does not show the poison message: {dlq}"
    );
    drop(prometheus);
    drop((api, worker));
}
