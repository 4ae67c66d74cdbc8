//! Private TLS servers for the TLS tests: certificates made with the openssl CLI, a PostgreSQL
//! cluster with `ssl=on` (run as `postgres`) and a RabbitMQ node with only a TLS listener (run as
//! `rabbitmq`), each on free ports in its own temporary directory. Never the shared services on
//! 5432/5672. Each guard stops its server and removes its directory when dropped, pass or fail.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let path = std::env::temp_dir().join(format!("hexactor-{tag}-{}", &id[..12]));
        std::fs::create_dir_all(&path).expect("create temp dir");
        Self(path)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    /// Hands the directory to a service account (its server refuses keys others can read).
    fn give_to(&self, user: &str) {
        run("chown", &["-R", user, path_str(&self.0)]);
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn run(program: &str, args: &[&str]) -> Output {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A CA and a server certificate it signed (CN and SANs: localhost, 127.0.0.1), plus a second,
/// unrelated CA that must not be trusted for that server.
pub struct Certificates {
    pub dir: TempDir,
}

impl Certificates {
    pub fn generate() -> Self {
        let dir = TempDir::new("certs");
        let p = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
        for ca in ["ca", "other-ca"] {
            run(
                "openssl",
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    &format!("/CN=hexactor test {ca}"),
                    "-keyout",
                    &p(&format!("{ca}.key")),
                    "-out",
                    &p(&format!("{ca}.pem")),
                ],
            );
        }
        run(
            "openssl",
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
                &p("server.key"),
                "-out",
                &p("server.csr"),
            ],
        );
        std::fs::write(
            p("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        run(
            "openssl",
            &[
                "x509",
                "-req",
                "-in",
                &p("server.csr"),
                "-CA",
                &p("ca.pem"),
                "-CAkey",
                &p("ca.key"),
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &p("server.ext"),
                "-out",
                &p("server.pem"),
            ],
        );
        // The servers run as their own accounts and must read these.
        run("chmod", &["-R", "a+rX", path_str(dir.path())]);
        Self { dir }
    }
    pub fn file(&self, name: &str) -> String {
        path_str(&self.dir.path().join(name)).to_owned()
    }
    /// Copies the server's key pair into `dir` (owned by `user`, key mode 0600).
    fn install(&self, dir: &Path, user: &str) -> (String, String) {
        let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
        std::fs::copy(self.dir.path().join("server.pem"), &cert).unwrap();
        std::fs::copy(self.dir.path().join("server.key"), &key).unwrap();
        run("chown", &[user, path_str(&cert), path_str(&key)]);
        run("chmod", &["600", path_str(&key)]);
        (path_str(&cert).to_owned(), path_str(&key).to_owned())
    }
}

fn as_user(user: &str, program: &str) -> Command {
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", user, "--", program]);
    cmd
}

fn postgres_bin(tool: &str) -> String {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries under /usr/lib/postgresql")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    versions.sort();
    let bin = versions
        .last()
        .expect("a PostgreSQL version")
        .join("bin")
        .join(tool);
    path_str(&bin).to_owned()
}

/// A PostgreSQL cluster that accepts only TLS connections (`hostssl` in pg_hba.conf), trust auth.
pub struct PrivatePostgres {
    pub port: u16,
    data: PathBuf,
    dir: TempDir,
}

impl PrivatePostgres {
    pub fn start(certs: &Certificates) -> Self {
        let dir = TempDir::new("pg");
        let data = dir.path().join("data");
        let port = free_port();
        dir.give_to("postgres");
        let (cert, key) = certs.install(dir.path(), "postgres");
        let out = as_user("postgres", &postgres_bin("initdb"))
            .args([
                "-D",
                path_str(&data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ])
            .output()
            .expect("initdb");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
        )
        .unwrap();
        // From here on a failure must still stop the server: the guard exists first.
        let server = Self { port, data, dir };
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c ssl=on \
             -c ssl_cert_file={cert} -c ssl_key_file={key} -c fsync=off",
            path_str(server.dir.path())
        );
        let log = server.dir.path().join("log");
        // `-w -t`: pg_ctl itself polls until the server accepts connections, with a deadline.
        let out = as_user("postgres", &postgres_bin("pg_ctl"))
            .args([
                "-D",
                path_str(&server.data),
                "-l",
                path_str(&log),
                "-w",
                "-t",
                "90",
            ])
            .args(["-o", &options, "start"])
            .output()
            .expect("pg_ctl start");
        assert!(
            out.status.success(),
            "pg_ctl start: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        server
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = as_user("postgres", &postgres_bin("pg_ctl"))
            .args(["-D", path_str(&self.data), "-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// A RabbitMQ node of its own (not clustered with anything) whose only listener is TLS.
pub struct PrivateRabbit {
    pub tls_port: u16,
    node: String,
    _dir: TempDir,
}

impl PrivateRabbit {
    pub fn start(certs: &Certificates) -> Self {
        let dir = TempDir::new("rabbit");
        let id = uuid::Uuid::new_v4().simple().to_string();
        let node = format!("hexactor-tls-{}@localhost", &id[..8]);
        let (tls_port, node_port, dist_port) = (free_port(), free_port(), free_port());
        let (cert, key) = certs.install(dir.path(), "rabbitmq");
        let ca = certs.file("ca.pem");
        let config = dir.path().join("rabbitmq.conf");
        std::fs::write(
            &config,
            format!(
                "listeners.tcp = none\nlisteners.ssl.default = 127.0.0.1:{tls_port}\n\
                 ssl_options.cacertfile = {ca}\nssl_options.certfile = {cert}\n\
                 ssl_options.keyfile = {key}\nssl_options.verify = verify_none\n\
                 ssl_options.fail_if_no_peer_cert = false\n"
            ),
        )
        .unwrap();
        let plugins = dir.path().join("enabled_plugins");
        std::fs::write(&plugins, "[].\n").unwrap();
        dir.give_to("rabbitmq");
        let node_env = |cmd: &mut Command| {
            cmd.env("RABBITMQ_NODENAME", &node)
                .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
                .env("RABBITMQ_NODE_PORT", node_port.to_string())
                .env("RABBITMQ_DIST_PORT", dist_port.to_string())
                .env("RABBITMQ_MNESIA_BASE", dir.path().join("mnesia"))
                .env("RABBITMQ_LOG_BASE", dir.path().join("log"))
                .env("RABBITMQ_ENABLED_PLUGINS_FILE", &plugins)
                .env("RABBITMQ_CONFIG_FILE", &config);
        };
        let mut start = Command::new("runuser");
        // `runuser` resets nothing of the environment we set here, so the node sees it.
        start.args(["-u", "rabbitmq", "--", "rabbitmq-server", "-detached"]);
        node_env(&mut start);
        let rabbit = Self {
            tls_port,
            node,
            _dir: dir,
        };
        let out = start.output().expect("rabbitmq-server");
        assert!(
            out.status.success(),
            "rabbitmq-server: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        rabbit.await_startup(Duration::from_secs(120));
        rabbit
    }

    fn ctl(&self) -> Command {
        let mut cmd = as_user("rabbitmq", "rabbitmqctl");
        cmd.args(["-n", &self.node]);
        cmd
    }

    /// Polls until the node runs and its TLS port accepts connections, or panics at the deadline.
    /// `await_startup` fails at once while the Erlang node is not even reachable yet (a loaded
    /// machine takes a while to boot it), so it is retried until the deadline.
    fn await_startup(&self, deadline: Duration) {
        let started = Instant::now();
        loop {
            let out = self
                .ctl()
                .args(["await_startup", "--timeout", "10"])
                .output()
                .expect("rabbitmqctl");
            if out.status.success() {
                break;
            }
            assert!(
                started.elapsed() < deadline,
                "node {} did not start within {deadline:?}: {}\n{}",
                self.node,
                String::from_utf8_lossy(&out.stderr),
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        while std::net::TcpStream::connect(("127.0.0.1", self.tls_port)).is_err() {
            assert!(started.elapsed() < deadline, "TLS listener never opened");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn log_tail(&self) -> String {
        let dir = self._dir.path().join("log");
        std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .map(|text| text.lines().rev().take(20).collect::<Vec<_>>().join("\n"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for PrivateRabbit {
    fn drop(&mut self) {
        // `stop` halts the node; if it cannot reach it (still booting, or wedged), every process
        // started with this node name in its environment is killed instead.
        let stopped = self
            .ctl()
            .arg("stop")
            .output()
            .is_ok_and(|o| o.status.success());
        if !stopped {
            let marker = format!("RABBITMQ_NODENAME={}", self.node);
            for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
                let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
                let ours = environ
                    .split(|b| *b == 0)
                    .any(|var| var == marker.as_bytes());
                if ours && let Some(pid) = entry.file_name().to_str() {
                    let _ = Command::new("kill").args(["-9", pid]).output();
                }
            }
        }
    }
}
