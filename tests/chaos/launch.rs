//! How a scenario's cluster starts its `hexactor` processes: the environment each one gets (its
//! namespace, the private services, settings that keep an outage from dead-lettering anything),
//! and the wait until every process listens and is ready.

use crate::harness::*;
use std::fs::File;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

impl Cluster {
    pub fn spawn(&mut self, role: ProcRole) -> Proc {
        self.next_proc += 1;
        let name = format!(
            "{}-{}",
            match role {
                ProcRole::Api => "api",
                ProcRole::Worker => "worker",
            },
            self.next_proc
        );
        let log = self.dir.join(format!("{name}.log"));
        let out = File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = Command::new(BIN)
            .arg(match role {
                ProcRole::Api => "serve",
                ProcRole::Worker => "worker",
            })
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            // The marker scripts/chaos-services.sh finds leftover processes by, should this test
            // process be killed before it could reap them.
            .env(
                "CHAOS_SERVICES_DIR",
                std::env::var("CHAOS_SERVICES_DIR").unwrap_or_default(),
            )
            .env(
                "DATABASE_URL",
                format!("{}/{}", postgres_base(), self.database),
            )
            .env("RABBITMQ_URL", &self.rabbitmq_urls)
            .env("SMTP_URL", self.smtp.url())
            .env("MAIL_FROM", "hexactor <no-reply@example.test>")
            .env("PUBLIC_BASE_URL", "https://id.example.test")
            .env("AMQP_PREFIX", &self.prefix)
            // The load driver is one client (127.0.0.1) sending thousands of registrations:
            // the per-client rate limit is not what these scenarios test.
            .env("RATE_LIMIT_PER_MINUTE", "0")
            .env("BCRYPT_COST", "4")
            .env("ARGON2_MEMORY_KIB", "1024")
            .env("ARGON2_ITERATIONS", "1")
            .env("LOG_FORMAT", "json")
            .env("LOG_LEVEL", "info")
            .env("PORT", "0")
            .env("WORKER_PORT", "0")
            .env("OPS_PORT", "0")
            .env("RETRY_DELAYS_MS", RETRY_DELAYS_MS)
            .env("MAX_ATTEMPTS", MAX_ATTEMPTS)
            .env("WORKER_PREFETCH", "20")
            .env("DB_MAX_CONNECTIONS", "8")
            .env("SHUTDOWN_TIMEOUT_SECONDS", SHUTDOWN_SECONDS.to_string())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn hexactor");
        Proc {
            name,
            port: 0,
            ops_port: 0,
            log,
            child,
            exited: None,
        }
    }

    pub async fn spawn_worker(&mut self) {
        let p = self.spawn(ProcRole::Worker);
        self.workers.push(p);
        self.wait_ready_all().await;
    }

    pub async fn spawn_api(&mut self) {
        let p = self.spawn(ProcRole::Api);
        self.apis.push(p);
        self.wait_ready_all().await;
    }

    /// Learns every process's port from its log, then waits until all are fully ready.
    pub async fn wait_ready_all(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let http = self.http.clone();
        for p in self.apis.iter_mut().chain(self.workers.iter_mut()) {
            if p.exited.is_some() {
                continue;
            }
            while p.port == 0 {
                if let Some((port, ops_port)) = listening_ports(&p.log) {
                    (p.port, p.ops_port) = (port, ops_port);
                    break;
                }
                if let Ok(Some(status)) = p.child.try_wait() {
                    panic!("{} exited with {status}:\n{}", p.name, p.log_text());
                }
                assert!(
                    Instant::now() < deadline,
                    "{} never listened:\n{}",
                    p.name,
                    p.log_text()
                );
                sleep(Duration::from_millis(50)).await;
            }
            loop {
                let ready = get_json(&http, &p.url("/ready")).await;
                if matches!(&ready, Some((200, v)) if v["checks"]["rabbitmq"] == "ok" && v["checks"]["postgres"] == "ok")
                {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{} never became ready ({ready:?}):\n{}",
                    p.name,
                    p.log_text()
                );
                sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
