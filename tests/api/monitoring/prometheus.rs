//! A Prometheus of the test's own, scraping test apps; and the Grafana macros replaced by values
//! it accepts.

use super::monitoring_dir;
use crate::helpers::*;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// Where Prometheus scrapes a test app. One place, so moving `/metrics` (to an ops port) is a
/// one-line change.
pub(super) fn scrape_target(app: &TestApp) -> (String, String) {
    let url = app.metrics_url();
    let rest = url.trim_start_matches("http://");
    let (host_port, path) = rest.split_once('/').expect("host/path");
    (host_port.to_owned(), format!("/{path}"))
}

/// A Prometheus of our own: temp dir, free port; killed and removed when dropped (also when the
/// test panics).
pub(super) struct Prometheus {
    child: Child,
    dir: PathBuf,
    pub(super) base: String,
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
    pub(super) fn start(targets: &[(&str, (String, String))]) -> Self {
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

    pub(super) async fn get(
        &self,
        client: &awc::Client,
        path: &str,
        query: &[(&str, &str)],
    ) -> Value {
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

    pub(super) async fn query(&self, client: &awc::Client, expr: &str) -> Value {
        self.get(client, "/api/v1/query", &[("query", expr)]).await
    }
}

/// Grafana's macros and the Actors variables, replaced by values Prometheus accepts.
pub(super) fn substitute(expr: &str) -> String {
    expr.replace("$__rate_interval", "20s")
        .replace("$__range", "10m")
        .replace("$__interval", "5s")
        .replace("$instance", ".*")
        .replace("$actor", ".*")
}
