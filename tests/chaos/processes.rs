//! The `hexactor` processes of a chaos scenario: spawned by `Cluster::spawn`, killed and reaped
//! when dropped.

use crate::harness::sleep;
use serde_json::Value;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcRole {
    Api,
    Worker,
}

/// One `hexactor` process. Dropping it kills it (SIGKILL, by PID) and reaps it.
pub struct Proc {
    pub name: String,
    pub port: u16,
    pub log: PathBuf,
    pub(crate) child: Child,
    pub(crate) exited: Option<ExitStatus>,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {} failed", self.pid());
    }

    pub fn sigterm(&self) {
        self.signal("TERM");
    }

    pub fn sigkill(&mut self) {
        self.signal("KILL");
    }

    /// Waits (polling) for the process to exit; None if it is still running after `within`.
    pub async fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.exited {
                return Some(status);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exited = Some(status);
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.exited.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The port a process logged in its "listening" line (LOG_FORMAT=json).
pub fn listening_port(log: &PathBuf) -> Option<u16> {
    let file = File::open(log).ok()?;
    BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            let v: Value = serde_json::from_str(&line).ok()?;
            (v["message"] == "listening")
                .then(|| v["port"].as_u64())??
                .try_into()
                .ok()
        })
}
