//! The monitoring assets, verified rather than assumed:
//! - the alert rules pass `promtool check rules` and their unit tests (`promtool test rules`);
//! - the dashboards' JSON is well formed (unique uids and titles, datasource by uid, valid grid
//!   positions, a unit and a description on every panel, `$__rate_interval`);
//! - a real Prometheus (temp dir, free port, killed at the end) scrapes a running API and worker
//!   while traffic exercises every panel; then every PromQL expression of every dashboard and
//!   every alert rule is evaluated through Prometheus's HTTP API: each must parse, each panel
//!   must return data.
//!
//! Here the asset checks; `prometheus.rs` runs a Prometheus of our own, `live.rs` drives traffic
//! and queries it.

mod live;
mod prometheus;

use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

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
