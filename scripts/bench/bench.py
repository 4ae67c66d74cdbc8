#!/usr/bin/env python3
"""`make bench`: the cost of one command, measured on this machine.

Runs the release binaries as real processes (`hexactor serve`, one or two `hexactor worker`,
and the bare actix-web + sqlx baseline, examples/bare_read.rs) against the real PostgreSQL and
RabbitMQ, in a database and AMQP prefix of their own that are removed at the end, pass or fail.
The load generator (wrk, scripts/bench/wrk.lua) runs on the same machine: its CPU is reported.

Scenarios (each prints throughput, p50/p99/max and errors):
  reads      authenticated GET /api/v1/users/{id}, random ids over N users, admin token, 64
             connections, then the bare baseline on the same ids, then the actors at half the
             peak rate (p99 there)
  growth     p50 of the same read at 10k users and at the large count (1M in the full run)
  login      at bcrypt cost 10, against its bound: cores ÷ one measured verification
  writes     registrations with `Prefer: respond-async` at BCRYPT_COST=4, 1 and 2 workers,
             completed/s end to end against the bcrypt bound measured in the same run
  updates    profile updates (PATCH, respond-async), completed/s end to end
For the write scenarios the CPU of every process (API, workers, PostgreSQL, RabbitMQ, wrk) is
read from /proc/<pid>/stat (utime + stime) before and after and divided by the commands
completed. Peak RSS is VmHWM of each process.

Writes docs/benchmarks.md and docs/benchmarks.json (BENCH_QUICK=1: a ~2-minute version written
to target/bench/ instead, so a quick run never replaces the committed figures; BENCH_OUT=dir
overrides). Nothing is asserted: speed is a measurement, not a test.
"""

import json
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# BENCH_BUILD=debug only to try the script itself: figures of a debug build mean nothing.
BUILD = os.path.join(ROOT, "target", os.environ.get("BENCH_BUILD", "release"))
BIN = os.path.join(BUILD, "hexactor")
BARE = os.path.join(BUILD, "examples/bare_read")
BCRYPT = os.path.join(BUILD, "examples/bcrypt_capacity")
LUA = os.path.join(ROOT, "scripts/bench/wrk.lua")

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
PG_BASE = os.environ.get("BENCH_DATABASE_BASE_URL", "postgres://postgres@127.0.0.1:5432")
RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")
DB = f"hexactor_bench_{os.getpid()}"
PREFIX = f"bench_{os.getpid()}"
PASSWORD = "correct horse battery staple"
ADMIN_EMAIL = "admin@bench.local"
CLK_TCK = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1

# (seconds per load run, users for the reads, users for the growth comparison)
if QUICK:
    RUN_S, READ_USERS, SMALL_USERS, LARGE_USERS = 5, 20_000, 10_000, 100_000
else:
    RUN_S, READ_USERS, SMALL_USERS, LARGE_USERS = 15, 100_000, 10_000, 1_000_000
RUN_S = int(os.environ.get("BENCH_SECONDS", RUN_S))
READ_CONNECTIONS = 64
WRITE_CONNECTIONS = 32
LOGIN_CONNECTIONS = 16
DRAIN_TIMEOUT_S = 180

# The API serves /metrics on its ops port (OPS_PORT), not on PORT; a worker has only its ops port.
PORTS = {"api": 18180, "bare": 18181, "worker1": 18182, "worker2": 18183, "api-ops": 18184}


def log(msg):
    print(f"==> {msg}", flush=True)


# ------------------------------------------------------------------ PostgreSQL, RabbitMQ


def psql(sql, db=DB):
    """One statement through psql; the single text result (or '')."""
    out = subprocess.run(
        ["psql", f"{PG_BASE}/{db}", "-v", "ON_ERROR_STOP=1", "-qtAX", "-c", sql],
        check=True, capture_output=True, text=True,
    )
    return out.stdout.strip()


class PrivateBroker:
    """A RabbitMQ node of the benchmark's own (BENCH_RABBITMQ=private, the default where the
    rabbitmq-server package is installed and we are root): its CPU is exactly the broker's cost
    of these commands, and the shared broker's state (other people's queues, a broken plugin
    supervisor) cannot change the figures. Started as the rabbitmq user on its own ports and
    directory; stopped and removed at the end."""

    def __init__(self, work):
        self.dir = os.path.join(work, "rabbitmq")
        self.node = f"hexbench{os.getpid()}@localhost"
        self.port = 25672 + (os.getpid() % 1000) + 1000
        self.dist_port = self.port + 10000
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/%2f"
        self.started = False

    def _as_rabbitmq(self, command, check=True):
        return subprocess.run(["su", "-s", "/bin/sh", "rabbitmq", "-c", command], check=check,
                              capture_output=True, text=True)

    def start(self):
        os.makedirs(self.dir)
        with open(os.path.join(self.dir, "plugins"), "w") as f:
            f.write("[].\n")
        subprocess.run(["chown", "-R", "rabbitmq", self.dir], check=True)
        os.chmod(os.path.dirname(self.dir), 0o755)
        d = self.dir
        env = (f"RABBITMQ_NODENAME={self.node} RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 "
               f"RABBITMQ_NODE_PORT={self.port} RABBITMQ_DIST_PORT={self.dist_port} "
               f"RABBITMQ_MNESIA_BASE={d}/mnesia RABBITMQ_LOG_BASE={d}/log "
               f"RABBITMQ_ENABLED_PLUGINS_FILE={d}/plugins RABBITMQ_CONFIG_FILE={d}/absent")
        self._as_rabbitmq(f"cd {d} && env {env} rabbitmq-server -detached")
        self.started = True
        deadline = time.time() + 120
        while True:
            r = self._as_rabbitmq(f"rabbitmqctl -q -n {self.node} eval 'os:getpid().'", check=False)
            if r.returncode == 0 and r.stdout.strip().strip('"').isdigit():
                self.pid = int(r.stdout.strip().strip('"'))
                break
            if time.time() > deadline:
                raise RuntimeError(f"private RabbitMQ {self.node} did not start: {r.stderr}")
            time.sleep(0.5)
        self._as_rabbitmq(f"rabbitmqctl -q -n {self.node} await_startup")

    def pids(self):
        """The node's OS process and its children (erl_child_setup, inet_gethost)."""
        r = subprocess.run(["pgrep", "-P", str(self.pid)], capture_output=True, text=True)
        return [self.pid, *(int(x) for x in r.stdout.split())]

    def stop(self):
        if self.started:
            self._as_rabbitmq(f"rabbitmqctl -q -n {self.node} stop", check=False)
            self.started = False


BROKER = None  # the PrivateBroker, when there is one


def rabbit_delete_prefix():
    """Queues and exchanges named PREFIX* (rabbitmqctl cannot delete exchanges one by one)."""
    prefix = f'<<"{PREFIX}", _/binary>>'
    expr = (
        f"Qs = [Q || Q <- rabbit_amqqueue:list(<<\"/\">>), case amqqueue:get_name(Q) of "
        f"{{resource, _, queue, {prefix}}} -> true; _ -> false end], "
        f"[rabbit_amqqueue:delete(Q, false, false, <<\"bench\">>) || Q <- Qs], "
        f"Xs = [element(2, X) || X <- rabbit_exchange:list(<<\"/\">>), case element(2, X) of "
        f"{{resource, _, exchange, {prefix}}} -> true; _ -> false end], "
        f"[rabbit_exchange:delete(N, false, <<\"bench\">>) || N <- Xs], "
        f"{{length(Qs), length(Xs)}}."
    )
    r = subprocess.run(["rabbitmqctl", "-q", "eval", expr], capture_output=True, text=True)
    return r.stdout.strip() or r.stderr.strip()


# ------------------------------------------------------------------ processes


class Procs:
    """The processes this run started; all of them are stopped at the end, pass or fail."""

    def __init__(self, work):
        self.work = work
        self.running = {}  # name -> Popen

    def start(self, name, argv, env, ready_url, wrapper=(), ready_timeout_s=60):
        logf = open(os.path.join(self.work, f"{name}.log"), "ab")
        p = subprocess.Popen([*wrapper, *argv], env=env, stdout=logf, stderr=subprocess.STDOUT)
        self.running[name] = p
        deadline = time.time() + ready_timeout_s
        while True:
            if p.poll() is not None:
                raise RuntimeError(f"{name} exited with {p.returncode}: see {logf.name}")
            try:
                with urllib.request.urlopen(ready_url, timeout=2) as r:
                    if r.status < 500:
                        return p
            except Exception:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"{name} did not become ready at {ready_url}")
            time.sleep(0.2)

    def stop(self, name):
        p = self.running.pop(name, None)
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def stop_all(self):
        for name in list(self.running):
            self.stop(name)


def app_env(bcrypt_cost, **extra):
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"{PG_BASE}/{DB}",
        RABBITMQ_URL=BROKER.url if BROKER else RABBITMQ_URL,
        AMQP_PREFIX=PREFIX,
        LOG_LEVEL="warn",
        LOG_FORMAT="json",
        ENVIRONMENT="development",
        # The bounds below are measured with bcrypt (examples/bcrypt_capacity): the service must
        # hash with it too, now that Argon2id is its default.
        PASSWORD_HASH="bcrypt",
        BCRYPT_COST=str(bcrypt_cost),
        HOST="127.0.0.1",
        PORT=str(PORTS["api"]),
        OPS_HOST="127.0.0.1",
        # wrk is one client (127.0.0.1): the per-client rate limit would measure itself.
        RATE_LIMIT_PER_MINUTE="0",
        OPS_PORT=str(PORTS["api-ops"]),
    )
    env.pop("SMTP_URL", None)  # messages are logged, not sent: no mail server in the loop
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_pipeline(procs, bcrypt_cost, workers, wrapper=None):
    """`hexactor serve` plus `workers` × `hexactor worker`; {name: pid}. `wrapper(name)` gives
    the command each one is started under (valgrind for the profile)."""
    pids = {}
    names = ["api"] + [f"worker{i}" for i in range(1, workers + 1)]
    for name in names:
        if name == "api":
            argv, env = [BIN, "serve"], app_env(bcrypt_cost)
        else:
            argv, env = [BIN, "worker"], app_env(bcrypt_cost, WORKER_PORT=PORTS[name])
        p = procs.start(name, argv, env, f"http://127.0.0.1:{PORTS[name]}/ready",
                        wrapper=wrapper(name) if wrapper else (),
                        ready_timeout_s=300 if wrapper else 60)
        pids[name] = p.pid
    return pids


def stop_pipeline(procs, pids):
    for name in pids:
        procs.stop(name)


def peak_rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


# ------------------------------------------------------------------ CPU accounting


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # fields[0] is the state (field 3); utime and stime are fields 14 and 15.
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError):
        return None


def pids_of_user(user):
    r = subprocess.run(["pgrep", "-u", user], capture_output=True, text=True)
    return [int(x) for x in r.stdout.split()]


def pg_pids():
    """The PostgreSQL processes that work for this database: its backends, and the WAL writer,
    checkpointer and background writer (shared with other databases, but busy with ours during
    a write scenario). Other databases' backends on the shared server are left out."""
    out = psql(f"""SELECT pid FROM pg_stat_activity
                   WHERE datname = '{DB}' OR backend_type IN ('walwriter', 'checkpointer', 'background writer')""")
    return [int(x) for x in out.split()]


def machine_busy():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


class CpuWindow:
    """utime+stime deltas per group of processes between start() and stop().

    PostgreSQL is a shared service: only this database's backends and the WAL writer,
    checkpointer and background writer are counted (a backend that exits inside the window takes
    its CPU with it; the pools keep theirs open). RabbitMQ: the private node, or every process of
    the rabbitmq user on the shared broker, where other people's work would be charged too."""

    def __init__(self, own):
        self.own = own  # {name: pid}

    def _groups(self):
        g = {name: [pid] for name, pid in self.own.items()}
        g["postgresql"] = pg_pids()
        g["rabbitmq"] = BROKER.pids() if BROKER else pids_of_user("rabbitmq")
        return g

    def _sample(self):
        return {name: {pid: cpu_seconds(pid) for pid in pids}
                for name, pids in self._groups().items()}

    def start(self):
        self.t0 = time.time()
        self.m0 = machine_busy()
        self.c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.s0 = self._sample()

    def stop(self):
        s1 = self._sample()
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        m1 = machine_busy()
        out = {}
        for name, now in s1.items():
            before = self.s0.get(name, {})
            total = 0.0
            for pid, t in now.items():
                if t is None:
                    continue
                # A process born during the window is charged all of its CPU.
                total += t - (before.get(pid) or 0.0)
            out[name] = total
        # wrk is the only child that runs (and is reaped) during the window.
        out["load generator (wrk)"] = (c1.ru_utime + c1.ru_stime) - (self.c0.ru_utime + self.c0.ru_stime)
        busy = (m1[0] - self.m0[0]) / max(1, m1[1] - self.m0[1])
        return out, time.time() - self.t0, busy


# ------------------------------------------------------------------ load


def http_statuses(base_url):
    """{status: count} of the API's http_requests_total (its /metrics), summed over routes."""
    try:
        with urllib.request.urlopen(f"{base_url}/metrics", timeout=10) as r:
            text = r.read().decode()
    except Exception:
        return {}
    out = {}
    for m in re.finditer(r'^http_requests_total\{.*status_code="(\d+)".*\} (\S+)$', text, re.M):
        out[m.group(1)] = out.get(m.group(1), 0) + float(m.group(2))
    return out


def wrk(url, mode, connections, seconds, users, token="-", delay_ms=0, timeout_s=30):
    """One wrk run. Against the API, the non-2xx answers are also counted by status from its
    /metrics (wrk only says how many there were)."""
    api = f"http://127.0.0.1:{PORTS['api']}"
    ops = f"http://127.0.0.1:{PORTS['api-ops']}"
    before = http_statuses(ops) if url.startswith(api) else None
    env = dict(os.environ)
    if delay_ms:
        env["BENCH_DELAY_MS"] = str(int(delay_ms))
    else:
        env.pop("BENCH_DELAY_MS", None)
    threads = min(2, connections)
    r = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", f"--timeout={timeout_s}s",
         "-s", LUA, url, "--", mode, str(users), token],
        capture_output=True, text=True, env=env,
    )
    m = re.search(r"^BENCH_JSON (\{.*\})$", r.stdout, re.M)
    if r.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed ({r.returncode}): {r.stdout}\n{r.stderr}")
    d = json.loads(m.group(1))
    non_2xx = {}
    if before is not None:
        after = http_statuses(ops)
        non_2xx = {k: int(v - before.get(k, 0)) for k, v in after.items()
                   if not k.startswith("2") and v - before.get(k, 0) > 0}
    secs = d["duration_us"] / 1e6
    errors = sum(d[k] for k in d if k.startswith("errors_"))
    return {
        "connections": connections,
        "seconds": round(secs, 2),
        "requests": d["requests"],
        "rps": round(d["requests"] / secs, 1),
        "p50_ms": d["p50_us"] / 1000,
        "p99_ms": d["p99_us"] / 1000,
        "max_ms": d["max_us"] / 1000,
        "errors": errors,
        "errors_by_kind": {k[7:]: d[k] for k in d if k.startswith("errors_") and d[k]},
        "api_non_2xx_by_status": non_2xx,
    }


def show(label, r):
    extra = f" offered at {r['delay_ms']} ms pause/connection" if r.get("delay_ms") else ""
    print(f"    {label:<44} {r['rps']:9.1f} req/s  p50 {r['p50_ms']:7.2f} ms  "
          f"p99 {r['p99_ms']:8.2f} ms  max {r['max_ms']:8.1f} ms  errors {r['errors']} "
          f"{r['errors_by_kind'] or ''} {r.get('api_non_2xx_by_status') or ''}{extra}",
          flush=True)


def api_json(method, path, body=None, token=None):
    req = urllib.request.Request(f"http://127.0.0.1:{PORTS['api']}{path}", method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(req, data=data, timeout=30) as r:
        return json.loads(r.read() or b"{}")


def admin_token():
    return api_json("POST", "/api/v1/auth/login",
                    {"email": ADMIN_EMAIL, "password": PASSWORD})["access_token"]


# ------------------------------------------------------------------ data


def seed_users(upto):
    """Users 1..upto (the ones missing), with one INSERT … SELECT generate_series. Every one gets
    the admin's password hash (cost 10), so logins cost what a real cost-10 login costs. Every
    value must be one the domain accepts (usernames of at least 3 characters: 'user<k>'), or
    reading the row fails."""
    have = int(psql("SELECT count(*) FROM users WHERE email LIKE 'u%@bench.local'"))
    if have >= upto:
        return 0.0
    t = time.time()
    psql(f"""INSERT INTO users (id, email, username, first_name, last_name, password_hash, email_verified)
             SELECT (lpad(to_hex(k), 8, '0') || '-0000-4000-8000-000000000000')::uuid,
                    'u' || k || '@bench.local', 'user' || k, 'Bench', 'User' || k,
                    (SELECT password_hash FROM users WHERE email = '{ADMIN_EMAIL}'), true
             FROM generate_series({have + 1}, {upto}) AS k""")
    psql("VACUUM ANALYZE users")
    return time.time() - t


def command_stats(since, kind):
    """Commands of `kind` created since the DB timestamp `since`: counts and end-to-end latency
    (created_at → completed_at, i.e. accepted by the API → applied by a worker)."""
    row = psql(f"""SELECT count(*) FILTER (WHERE status = 'succeeded'),
                          count(*) FILTER (WHERE status = 'failed'),
                          count(*) FILTER (WHERE status = 'pending'),
                          coalesce(extract(epoch FROM max(completed_at) - min(created_at)), 0),
                          coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at)), 0),
                          coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at)), 0),
                          coalesce(extract(epoch FROM max(completed_at - created_at)), 0)
                   FROM commands WHERE type = '{kind}' AND created_at >= '{since}'""")
    ok, failed, pending, span, p50, p99, mx = row.split("|")
    return {"succeeded": int(ok), "failed": int(failed), "pending": int(pending),
            "span_s": float(span), "e2e_p50_ms": float(p50) * 1000,
            "e2e_p99_ms": float(p99) * 1000, "e2e_max_ms": float(mx) * 1000}


def drained(since):
    return psql(f"""SELECT (SELECT count(*) FROM commands WHERE status = 'pending' AND created_at >= '{since}')
                         + (SELECT count(*) FROM outbox WHERE published_at IS NULL)""") == "0"


def db_counters():
    """This database's counters (pg_stat_database is per database: other users of the shared
    server do not show up here)."""
    row = psql(f"""SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted
                   FROM pg_stat_database WHERE datname = '{DB}'""")
    return dict(zip(("commits", "rollbacks", "rows_inserted", "rows_updated", "rows_deleted"),
                    (int(x) for x in row.split("|"))))


# A backend reports its counters at most once a second while busy and up to 10 s after it goes
# idle (PostgreSQL 15+), so the after-snapshot waits that long once the load has drained.
PGSTAT_IDLE_FLUSH_S = 11


def command_scenario(label, mode, kind, pids, users, token):
    """wrk for RUN_S seconds with respond-async, then wait until every accepted command is
    applied and the outbox is empty; CPU is accounted over that whole window."""
    since = psql("SELECT now()")
    counters0 = db_counters()
    cpu = CpuWindow(pids)
    cpu.start()
    load = wrk(f"http://127.0.0.1:{PORTS['api']}{'/api/v1/users' if mode == 'register' else ''}",
               mode, WRITE_CONNECTIONS, RUN_S, users, token)
    deadline = time.time() + DRAIN_TIMEOUT_S
    while not drained(since) and time.time() < deadline:
        time.sleep(0.2)
    per_process, wall, busy = cpu.stop()
    stats = command_stats(since, kind)
    completed = stats["succeeded"] + stats["failed"]
    time.sleep(PGSTAT_IDLE_FLUSH_S)
    counters1 = db_counters()
    per_command_db = {k: round((counters1[k] - counters0[k]) / completed, 2) if completed else None
                      for k in counters0}
    result = {
        "accepted": load,
        **stats,
        "completed_per_s": round(completed / stats["span_s"], 1) if stats["span_s"] else 0.0,
        "window_s": round(wall, 2),
        "machine_busy": round(busy, 3),
        "cpu_s": {k: round(v, 3) for k, v in per_process.items()},
        "cpu_ms_per_command": {k: round(1000 * v / completed, 3) if completed else None
                               for k, v in per_process.items()},
        # Includes the idle relay polls (a rolled-back SELECT … SKIP LOCKED every 250 ms per
        # process) and health checks of the window: small next to the commands' own.
        "postgresql_per_command": per_command_db,
    }
    service = [k for k in per_process if k != "load generator (wrk)"]
    result["cpu_ms_per_command_total"] = (
        round(1000 * sum(per_process[k] for k in service) / completed, 3) if completed else None)
    show(f"{label}: 202s", load)
    print(f"    {label}: completed {completed} ({stats['failed']} failed, {stats['pending']} still "
          f"pending) at {result['completed_per_s']}/s end to end; e2e p50 {stats['e2e_p50_ms']:.0f} ms "
          f"p99 {stats['e2e_p99_ms']:.0f} ms max {stats['e2e_max_ms']:.0f} ms", flush=True)
    print(f"    {label}: CPU ms per command {result['cpu_ms_per_command']} "
          f"(services total {result['cpu_ms_per_command_total']}); machine busy {busy:.0%}",
          flush=True)
    print(f"    {label}: PostgreSQL per command {per_command_db}", flush=True)
    return result


# ------------------------------------------------------------------ report


def log_warnings(work):
    """WARN and ERROR lines of our processes (LOG_FORMAT=json), counted by process and message:
    the why behind an errors column (a 503 says only "a backing service is unavailable")."""
    out = {}
    for name in sorted(os.listdir(work)):
        if not name.endswith(".log"):
            continue
        counts = {}
        with open(os.path.join(work, name), errors="replace") as f:
            for line in f:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if e.get("level") in ("WARN", "ERROR"):
                    key = f"{e['level']} {e.get('message', '')} {e.get('error', '')}".strip()[:200]
                    counts[key] = counts.get(key, 0) + 1
        if counts:
            out[name[:-4]] = dict(sorted(counts.items(), key=lambda kv: -kv[1])[:10])
    return out


def machine():
    with open("/proc/meminfo") as f:
        mem_kib = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass

    def cmd(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=30).stdout.strip()
        except Exception:
            return ""

    rev = cmd(["git", "rev-parse", "--short", "HEAD"]) or "unknown"
    if cmd(["git", "status", "--porcelain", "--untracked-files=no"]):
        rev += " (with uncommitted changes)"
    return {
        "cores": CORES,
        "cpu": model,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "postgresql": psql("SHOW server_version", db="postgres"),
        "rabbitmq": cmd(["rabbitmqctl", "-q", "version"]) + (" (private node)" if BROKER else " (shared)"),
        "load_average_at_start": os.getloadavg()[0],
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "git_revision": rev,
        "quick": QUICK,
    }


def ms(x):
    return f"{x:.2f}" if x < 10 else f"{x:.0f}"


def markdown(r):
    m = r["machine"]
    reads, login, writes, upd = r["reads"], r["login"], r["writes"], r["updates"]
    lines = [
        "# hexactor benchmarks",
        "",
        "Generated by `make bench` (scripts/bench/bench.py); the raw figures are in "
        f"[benchmarks.json](benchmarks.json).{' **Quick run (BENCH_QUICK=1).**' if m['quick'] else ''}",
        "",
        "| machine | |",
        "|---|---|",
        f"| date | {m['date']} |",
        f"| git revision | {m['git_revision']} |",
        f"| cores | {m['cores']} ({m['cpu']}) |",
        f"| memory | {m['memory_gib']} GiB |",
        f"| kernel / PostgreSQL / RabbitMQ | {m['kernel']} / {m['postgresql']} / {m['rabbitmq']} |",
        f"| load average when the run started | {m['load_average_at_start']:.2f} |",
        "",
        "Release build; `hexactor serve`, `hexactor worker` and the bare baseline run as separate "
        "processes against the local PostgreSQL and RabbitMQ (quorum queues), in a database (and "
        "a RabbitMQ node, or an AMQP prefix on the shared one) of their own. **The load generator (wrk) runs on the same machine** and "
        "takes CPU from the services; its share is in the CPU table. Latencies are wrk's, "
        "measured per connection (closed loop); end-to-end command latencies are "
        "`completed_at − created_at` from the `commands` table.",
        "",
        "## Ratios against the issue's targets (all measured within this run)",
        "",
        "| figure | measured | target |",
        "|---|---|---|",
        f"| reads: actors ÷ bare actix-web + sqlx ({reads['users']:,} users, random ids, 64 conns) "
        f"| {reads['ratio']:.2f} | ≥ 0.85 |",
        f"| reads: p99 at half the peak rate | {ms(reads['half_rate']['p99_ms'])} ms at "
        f"{reads['half_rate']['rps']:.0f} req/s | ≤ 10 ms |",
        f"| growth: p50 at {r['growth']['large_users']:,} ÷ p50 at {r['growth']['small_users']:,} users "
        f"| {r['growth']['p50_ratio']:.2f} | ≤ 1.3 |",
        f"| writes at cost 4 (1 worker): completed/s ÷ bcrypt bound | {writes['1']['bound_ratio']:.2f} | ≥ 0.5 |",
        f"| writes at cost 4 (2 workers): completed/s ÷ bcrypt bound | {writes['2']['bound_ratio']:.2f} | ≥ 0.5 |",
        f"| CPU per registration, all service processes | {writes['1']['cpu_ms_per_command_total']} ms | ≤ 2.5 ms |",
        f"| CPU per profile update, all service processes | {upd['cpu_ms_per_command_total']} ms | ≤ 1.0 ms |",
        f"| login at cost 10 ÷ its bound (cores ÷ one verification) | {login['bound_ratio']:.2f} | ≥ 0.9 |",
        f"| peak RSS, largest of our processes | {max(v for v in r['peak_rss_mib'].values()):.1f} MiB | ≤ 64 MiB |",
        "",
        "## Scenarios",
        "",
        "| scenario | conns | throughput | p50 ms | p99 ms | max ms | errors |",
        "|---|---|---|---|---|---|---|",
    ]

    def row(name, x, unit="req/s"):
        statuses = ", ".join(f"{n}× {code}" for code, n in sorted(x.get("api_non_2xx_by_status", {}).items()))
        lines.append(f"| {name} | {x['connections']} | {x['rps']:.0f} {unit} | {ms(x['p50_ms'])} | "
                     f"{ms(x['p99_ms'])} | {ms(x['max_ms'])} | {x['errors']}"
                     f"{f' ({statuses})' if statuses else ''} |")

    g = r["growth"]
    row(f"read through the actors, {reads['users']:,} users", reads["actors"])
    row(f"read, bare actix-web + sqlx, {reads['users']:,} users", reads["bare"])
    row("read through the actors at half the peak rate", reads["half_rate"])
    row(f"read through the actors, {g['small_users']:,} users", g["small"])
    row(f"read through the actors, {g['large_users']:,} users", g["large"])
    row("login, bcrypt cost 10", login["load"], "logins/s")
    for n in ("1", "2"):
        row(f"registrations, cost 4, {n} worker(s): 202 Accepted", writes[n]["accepted"])
    row("profile updates, 1 worker: 202 Accepted", upd["accepted"])
    lines += [
        "",
        "Commands end to end (accepted → applied by a worker; throughput over first accepted → "
        "last applied, so the backlog's drain is included):",
        "",
        "| commands | completed | failed | completed/s | e2e p50 ms | e2e p99 ms | e2e max ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, x in ((f"registrations, 1 worker", writes["1"]), ("registrations, 2 workers", writes["2"]),
                    ("profile updates, 1 worker", upd)):
        lines.append(f"| {name} | {x['succeeded'] + x['failed']} | {x['failed']} | {x['completed_per_s']} | "
                     f"{ms(x['e2e_p50_ms'])} | {ms(x['e2e_p99_ms'])} | {ms(x['e2e_max_ms'])} |")
    lines += [
        "",
        f"Bounds measured in this run: bcrypt at cost 4 on all {m['cores']} cores "
        f"{r['bcrypt']['cost4_hashes_per_s']:.0f} hashes/s; one verification at cost 10 "
        f"{r['bcrypt']['cost10_verify_ms']:.1f} ms, so the login bound is {login['bound_per_s']:.1f}/s. "
        f"Seeding: {r['seeding']}.",
        "",
        "## CPU per command by process (ms, from /proc utime+stime)",
        "",
        "PostgreSQL is shared: this database's backends plus the WAL writer, checkpointer and "
        "background writer are counted, not other databases' backends. RabbitMQ: "
        + ("a node of the benchmark's own, so only these commands' work is counted. "
           if "private" in m["rabbitmq"] else "the shared broker, all processes of its OS user. ")
        + "`machine busy` is the whole machine's busy share over the window (all cores).",
        "",
    ]
    cols = ["api", "worker1", "worker2", "postgresql", "rabbitmq"]
    lines.append("| commands | " + " | ".join(cols) + " | services total | wrk | machine busy |")
    lines.append("|---" * (len(cols) + 4) + "|")
    for name, x in (("registration, 1 worker", writes["1"]), ("registration, 2 workers", writes["2"]),
                    ("profile update, 1 worker", upd)):
        c = x["cpu_ms_per_command"]
        cells = [f"{c[k]:.3f}" if c.get(k) is not None else "–" for k in cols]
        lines.append(f"| {name} | " + " | ".join(cells) +
                     f" | **{x['cpu_ms_per_command_total']}** | {c['load generator (wrk)']:.3f} | "
                     f"{x['machine_busy']:.0%} |")
    lines += ["", "PostgreSQL work per command (this database's `pg_stat_database` counters over the "
              "window; every commit is a WAL flush with `synchronous_commit=on`):", "",
              "| commands | commits | rollbacks | rows inserted | rows updated | rows deleted |",
              "|---|---|---|---|---|---|"]
    for name, x in (("registration, 1 worker", writes["1"]), ("registration, 2 workers", writes["2"]),
                    ("profile update, 1 worker", upd)):
        d = x["postgresql_per_command"]
        lines.append(f"| {name} | {d['commits']} | {d['rollbacks']} | {d['rows_inserted']} | "
                     f"{d['rows_updated']} | {d['rows_deleted']} |")
    lines += ["", "## Peak RSS (VmHWM)", "", "| process | MiB |", "|---|---|"]
    for k, v in r["peak_rss_mib"].items():
        lines.append(f"| {k} | {v:.1f} |")
    lines += ["", "## Warnings and errors the processes logged during the run", ""]
    for proc, counts in r["log_warnings"].items():
        for msg, n in counts.items():
            lines.append(f"- {proc}: {n}× `{msg}`")
    if not r["log_warnings"]:
        lines.append("None.")
    prof = os.path.join(ROOT, "docs", "benchmarks-profile.md")
    if os.path.exists(prof) and not m["quick"]:
        lines += ["", "## Profile", "", "See [benchmarks-profile.md](benchmarks-profile.md) "
                  "(`make bench-profile`: callgrind on the API and a worker under a registration "
                  "and update load)."]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ profile


# Frames that are on every thread's stack when callgrind dumps mid-run: callgrind charges them
# the cost of the calls still in flight, which buries the real self costs under them.
ALWAYS_ON_STACK = re.compile(r"clone\.S:clone|start_thread|thread_start|FnOnce::call_once\{\{vtable"
                             r"|__rust_begin_short_backtrace|::block_on \[")


def callgrind_top(path, inclusive, lines=40):
    r = subprocess.run(["callgrind_annotate", "--threshold=100",
                        f"--inclusive={'yes' if inclusive else 'no'}", path],
                       capture_output=True, text=True, check=True)
    out = r.stdout.splitlines()
    start = next(i for i, line in enumerate(out) if "file:function" in line) + 2
    rows = [line for line in out[start:] if line.strip() and not line.startswith("---")
            and (inclusive or not ALWAYS_ON_STACK.search(line))]
    kind = "inclusive" if inclusive else "self (the runtime's always-on-stack frames left out)"
    return "\n".join([f"# {os.path.basename(path)}: top {lines} functions by {kind} instructions",
                      *out[start - 8:start - 2], *rows[:lines]]) + "\n"


def wait_for_dump(path, timeout_s=300):
    """callgrind_control only asks for a dump: the process writes it when valgrind next looks at
    its command file. Complete once the closing `totals:` line is there."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            with open(path, "rb") as f:
                f.seek(max(0, os.path.getsize(path) - 200))
                if b"\ntotals:" in f.read():
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"callgrind did not write {path}")


def callgrind_total(path):
    wait_for_dump(path)
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    return 0


def profile(procs, work):
    """`bench.py --profile` (make bench-profile): callgrind on the API and one worker, under a
    registration load and then a profile-update load, BCRYPT_COST=4. Instruction counts do not
    depend on how busy the machine is, so this profile is repeatable on a loaded machine. The
    counters are zeroed when the load starts and dumped once each load has drained, so start-up
    and shutdown are not in it. Writes the top functions of each (inclusive and self) and the
    instructions per command to docs/profile/ (BENCH_OUT=dir overrides)."""
    out_dir = os.environ.get("BENCH_OUT") or os.path.join(ROOT, "docs", "profile")
    os.makedirs(out_dir, exist_ok=True)
    seconds = int(os.environ.get("BENCH_SECONDS", 30))
    env = app_env(4, ADMIN_PASSWORD=PASSWORD)
    subprocess.run([BIN, "admin", "create", "--email", ADMIN_EMAIL, "--username", "benchadmin"],
                   env=env, check=True, capture_output=True)
    seed_users(1000)
    files = {}

    def wrapper(name):
        files[name] = os.path.join(work, f"callgrind.{name}")
        return ["valgrind", "--tool=callgrind", f"--callgrind-out-file={files[name]}"]

    log("starting the API and a worker under callgrind (slow)")
    pids = start_pipeline(procs, 4, 1, wrapper)
    token = admin_token()
    api = f"http://127.0.0.1:{PORTS['api']}"

    def control(flag):
        # vgdb finds a process by a FIFO named after USER and HOST: the service's HOST (its bind
        # address) is in valgrind's environment, so it must be in callgrind_control's too.
        env = dict(os.environ, HOST=app_env(4)["HOST"])
        for pid in pids.values():
            r = subprocess.run(["callgrind_control", flag, str(pid)], env=env,
                               capture_output=True, text=True)
            if r.returncode != 0 or "error" in (r.stdout + r.stderr).lower():
                raise RuntimeError(f"callgrind_control {flag} {pid}: {r.stdout} {r.stderr}")

    control("-z")
    summary = {"bcrypt_cost": 4, "seconds_per_load": seconds, "connections": 4}
    for part, (label, mode, kind, users) in enumerate(
            (("registrations", "register", "RegisterUser", 0), ("updates", "update", "UpdateUser", 1000)), 1):
        log(f"{label} under callgrind, {seconds} s, 4 connections")
        since = psql("SELECT now()")
        load = wrk(api, mode, 4, seconds, users, token, timeout_s=60)
        deadline = time.time() + DRAIN_TIMEOUT_S
        while not drained(since) and time.time() < deadline:
            time.sleep(0.5)
        stats = command_stats(since, kind)
        control("-d")  # writes <file>.<part> and zeroes the counters
        completed = stats["succeeded"] + stats["failed"]
        summary[label] = {"accepted": load["requests"], "completed": completed, "processes": {}}
        for name, base in files.items():
            dump = f"{base}.{part}"
            total = callgrind_total(dump)
            # The raw dump, for callgrind_annotate / kcachegrind (large: kept out of git).
            raw = os.path.join(ROOT, "target", "bench", "callgrind")
            os.makedirs(raw, exist_ok=True)
            shutil.copy(dump, os.path.join(raw, f"{label}-{name}.callgrind"))
            summary[label]["processes"][name] = {
                "instructions": total,
                "instructions_per_command": total // completed if completed else None,
            }
            for inclusive in (True, False):
                kindname = "inclusive" if inclusive else "self"
                with open(os.path.join(out_dir, f"{label}-{name}-{kindname}.txt"), "w") as f:
                    f.write(callgrind_top(dump, inclusive))
            print(f"    {label}: {name} {total:,} instructions for {completed} commands = "
                  f"{summary[label]['processes'][name]['instructions_per_command']:,} per command", flush=True)
    stop_pipeline(procs, pids)
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    log(f"wrote {out_dir}/")


# ------------------------------------------------------------------ main


def main():
    work = tempfile.mkdtemp(prefix="hexactor-bench-")
    out_dir = os.environ.get("BENCH_OUT") or os.path.join(ROOT, "target/bench" if QUICK else "docs")
    os.makedirs(out_dir, exist_ok=True)
    procs = Procs(work)
    global BROKER
    mode = os.environ.get("BENCH_RABBITMQ") or (
        "private" if os.geteuid() == 0 and subprocess.run(
            ["which", "rabbitmq-server"], capture_output=True).returncode == 0 else "shared")
    psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", db="postgres")
    psql(f"CREATE DATABASE {DB}", db="postgres")
    try:
        if mode == "private":
            BROKER = PrivateBroker(work)
            log(f"starting a private RabbitMQ node {BROKER.node} on port {BROKER.port}")
            BROKER.start()
        if "--profile" in sys.argv[1:]:
            profile(procs, work)
        else:
            results = run(procs, work)
            with open(os.path.join(out_dir, "benchmarks.json"), "w") as f:
                json.dump(results, f, indent=2)
            with open(os.path.join(out_dir, "benchmarks.md"), "w") as f:
                f.write(markdown(results))
            log(f"wrote {out_dir}/benchmarks.md and benchmarks.json")
    except BaseException:
        log(f"bench failed; process logs: {work} (kept)")
        raise
    finally:
        procs.stop_all()
        try:
            psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", db="postgres")
        except subprocess.CalledProcessError as e:
            log(f"could not drop {DB}: {e.stderr}")
        if BROKER:
            BROKER.stop()
            log(f"removed database {DB}; stopped the private RabbitMQ node {BROKER.node}")
        else:
            log(f"removed database {DB}; RabbitMQ {PREFIX}* (queues, exchanges) deleted: "
                f"{rabbit_delete_prefix()}")
    subprocess.run(["rm", "-rf", work])


def run(procs, work):
    started = time.time()
    m = machine()
    log(f"{'QUICK ' if QUICK else ''}bench on {m['cores']} cores, {m['memory_gib']} GiB, "
        f"load average {m['load_average_at_start']:.2f}, revision {m['git_revision']}")
    results = {"machine": m, "peak_rss_mib": {}}

    log("bounds: bcrypt at cost 4 on all cores, one verification at cost 10")
    cost4 = float(subprocess.run([BCRYPT, "4", "3" if QUICK else "5"], check=True,
                                 capture_output=True, text=True).stdout)
    verify10 = float(subprocess.run([BCRYPT, "verify", "10", "9"], check=True,
                                    capture_output=True, text=True).stdout)
    results["bcrypt"] = {"cost4_hashes_per_s": cost4, "cost10_verify_ms": verify10 * 1000}
    print(f"    bcrypt cost 4: {cost4:.0f} hashes/s; one cost-10 verification {verify10 * 1000:.1f} ms")

    # Phase 1: reads, growth, login. BCRYPT_COST=10 so that the stored hashes and the
    # configured cost agree (a login never has a reason to re-hash).
    env = app_env(10, ADMIN_PASSWORD=PASSWORD)
    subprocess.run([BIN, "admin", "create", "--email", ADMIN_EMAIL, "--username", "benchadmin"],
                   env=env, check=True, capture_output=True)
    seeding = []
    t = seed_users(SMALL_USERS)
    seeding.append(f"{SMALL_USERS:,} users in {t:.1f} s")
    pids = start_pipeline(procs, 10, workers=1)
    token = admin_token()
    api = f"http://127.0.0.1:{PORTS['api']}"

    log(f"growth baseline: reads over {SMALL_USERS:,} users")
    small = wrk(api, "read", READ_CONNECTIONS, RUN_S, SMALL_USERS, token)
    show(f"actors, {SMALL_USERS:,} users", small)

    log(f"reads over {READ_USERS:,} users, random ids, {READ_CONNECTIONS} connections")
    t = seed_users(READ_USERS)
    seeding.append(f"up to {READ_USERS:,} in {t:.1f} s")
    actors = wrk(api, "read", READ_CONNECTIONS, RUN_S, READ_USERS, token)
    show("actors (authenticated)", actors)
    bare = procs.start("bare", [BARE], app_env(10, PORT=PORTS["bare"]),
                       f"http://127.0.0.1:{PORTS['bare']}/api/v1/users/00000001-0000-4000-8000-000000000000")
    bare_r = wrk(f"http://127.0.0.1:{PORTS['bare']}", "read", READ_CONNECTIONS, RUN_S, READ_USERS, token)
    show("bare actix-web + sqlx (no auth)", bare_r)
    results["peak_rss_mib"]["bare_read (baseline)"] = peak_rss_mib(bare.pid)
    procs.stop("bare")
    # Half the peak: each connection pauses so that 64 of them offer about half the rate.
    delay = READ_CONNECTIONS * 1000 / (actors["rps"] / 2)
    half = wrk(api, "read", READ_CONNECTIONS, RUN_S, READ_USERS, token, delay_ms=max(1, delay))
    half["delay_ms"] = round(delay, 1)
    show("actors at half the peak rate", half)
    results["reads"] = {"users": READ_USERS, "actors": actors, "bare": bare_r,
                        "ratio": actors["rps"] / bare_r["rps"], "half_rate": half}
    print(f"    read ratio actors ÷ bare: {results['reads']['ratio']:.2f} (target ≥ 0.85)")

    log(f"login at cost 10, {LOGIN_CONNECTIONS} connections")
    bound = CORES / verify10
    cpu = CpuWindow(pids)
    cpu.start()
    login = wrk(api, "login", LOGIN_CONNECTIONS, RUN_S, READ_USERS)
    per_process, _, busy = cpu.stop()
    show("login", login)
    results["login"] = {"load": login, "bound_per_s": bound, "bound_ratio": login["rps"] / bound,
                        "cpu_s": per_process, "machine_busy": busy}
    print(f"    login ratio: {login['rps']:.1f} ÷ {bound:.1f} = {login['rps'] / bound:.2f} (target ≥ 0.9)")

    log(f"growth: reads over {LARGE_USERS:,} users")
    t = seed_users(LARGE_USERS)
    seeding.append(f"up to {LARGE_USERS:,} in {t:.1f} s (one INSERT … SELECT generate_series, then VACUUM ANALYZE)")
    large = wrk(api, "read", READ_CONNECTIONS, RUN_S, LARGE_USERS, token)
    show(f"actors, {LARGE_USERS:,} users", large)
    results["growth"] = {"small_users": SMALL_USERS, "large_users": LARGE_USERS, "small": small,
                         "large": large, "p50_ratio": large["p50_ms"] / small["p50_ms"]}
    print(f"    growth p50 ratio: {results['growth']['p50_ratio']:.2f} (target ≤ 1.3)")
    results["seeding"] = "; ".join(seeding)
    for name, pid in pids.items():
        results["peak_rss_mib"][f"{name} (reads, login)"] = peak_rss_mib(pid)
    stop_pipeline(procs, pids)

    # Phase 2: the write pipeline at cost 4.
    results["writes"] = {}
    for workers in (1, 2):
        log(f"registrations, respond-async, cost 4, {WRITE_CONNECTIONS} connections, {workers} worker(s)")
        pids = start_pipeline(procs, 4, workers=workers)
        w = command_scenario(f"{workers} worker(s)", "register", "RegisterUser", pids, 0, "-")
        w["bound_ratio"] = w["completed_per_s"] / cost4
        print(f"    write ratio: {w['completed_per_s']} ÷ {cost4:.0f} = {w['bound_ratio']:.2f} (target ≥ 0.5)")
        results["writes"][str(workers)] = w
        if workers == 1:
            log(f"profile updates, respond-async, {WRITE_CONNECTIONS} connections, 1 worker")
            token = admin_token()
            results["updates"] = command_scenario("updates", "update", "UpdateUser", pids,
                                                  READ_USERS, token)
        for name, pid in pids.items():
            results["peak_rss_mib"][f"{name} (writes, {workers} worker(s))"] = peak_rss_mib(pid)
        stop_pipeline(procs, pids)
    results["log_warnings"] = log_warnings(work)
    results["elapsed_s"] = round(time.time() - started, 1)
    log(f"done in {results['elapsed_s']:.0f} s")
    return results


if __name__ == "__main__":
    # Interrupted or terminated (even when started in the background, where SIGINT is ignored):
    # unwind through main's `finally`, which stops the processes and removes the database and
    # the AMQP resources.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    for tool in ("wrk", "psql", "rabbitmqctl"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            sys.exit(f"bench: {tool} not found (make bench installs wrk via scripts/services.sh bench-tools)")
    for path in (BIN, BARE, BCRYPT):
        if not os.access(path, os.X_OK):
            sys.exit(f"bench: {path} missing: cargo build --release --bins --examples")
    main()
