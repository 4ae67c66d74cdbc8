#!/usr/bin/env bash
# Validate everything in monitoring/ (run by `make monitoring-check`):
#   1. promtool: prometheus.yml and prometheus.local.yml, alerts.yml, the alert unit tests
#   2. the Grafana dashboards are valid JSON and every panel uses the provisioned datasource uid
#   3. every metric name in the dashboards and the rules is one the service exposes
#   4. a throwaway Prometheus (127.0.0.1:$CHECK_PROM_PORT, default 9099, data under /tmp) loads
#      alerts.yml, and every PromQL expression of the dashboard and of the rules is run through
#      its /api/v1/query: each must answer status "success"
# The throwaway Prometheus is stopped on exit, whatever happens. Skips (exit 0) with a message
# when promtool/prometheus are not installed (apt-get install prometheus).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

PORT="${CHECK_PROM_PORT:-9099}"
DASHBOARDS=(grafana/dashboards/*.json)
DATASOURCE_UID=prometheus
# Grafana's macros have no meaning to Prometheus: stand-ins with the same syntax.
RATE_INTERVAL=1m INTERVAL=15s RANGE=1h

log() { printf '==> %s\n' "$*"; }
fail() { printf '==> FAILED: %s\n' "$*" >&2; exit 1; }

for tool in promtool prometheus curl python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        log "SKIPPED: $tool is not installed (apt-get install -y prometheus curl python3)"
        exit 0
    fi
done

# ---------------------------------------------------------------- 1. promtool

log "promtool check config"
promtool check config prometheus.yml >/dev/null
promtool check config prometheus.local.yml >/dev/null
log "promtool check rules"
promtool check rules alerts.yml >/dev/null
log "promtool test rules (alerts_test.yml)"
promtool test rules alerts_test.yml >/dev/null

# ---------------------------------------------------------------- 2 + 3. dashboard, metric names

WORK="$(mktemp -d /tmp/hexactor-monitoring-check.XXXXXX)"
PROM_PID=""
cleanup() {
    if [[ -n "$PROM_PID" ]] && kill -0 "$PROM_PID" 2>/dev/null; then
        kill "$PROM_PID" 2>/dev/null || true
        wait "$PROM_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "dashboards: valid JSON, every panel on datasource uid '$DATASOURCE_UID'"
for dashboard in "${DASHBOARDS[@]}"; do
    python3 -m json.tool "$dashboard" >/dev/null || fail "$dashboard is not valid JSON"
done

# Writes the dashboard's expressions (macros substituted) to $WORK/dashboard.exprs, NUL-separated.
python3 - "$DATASOURCE_UID" "$WORK/dashboard.exprs" "$RATE_INTERVAL" "$INTERVAL" "$RANGE" "${DASHBOARDS[@]}" <<'PY'
import json, sys
uid, out, rate_interval, interval, rng, *paths = sys.argv[1:]
errors, exprs = [], []
def panels(ps):
    for p in ps:
        yield p
        yield from panels(p.get("panels", []))
for p in (p for path in paths for p in panels(json.load(open(path))["panels"])):
    if p.get("type") == "row":
        continue
    title = p.get("title", "?")
    if p.get("datasource", {}).get("uid") != uid:
        errors.append(f"panel '{title}': datasource uid is not '{uid}'")
    if not p.get("targets"):
        errors.append(f"panel '{title}': no targets")
    for t in p.get("targets", []):
        if t.get("datasource", {}).get("uid") != uid:
            errors.append(f"panel '{title}' target {t.get('refId')}: datasource uid is not '{uid}'")
        e = t.get("expr", "").strip()
        if not e:
            errors.append(f"panel '{title}' target {t.get('refId')}: empty expr")
            continue
        e = (e.replace("$__rate_interval", rate_interval)
              .replace("$__interval", interval)
              .replace("$__range", rng)
              .replace("$instance", ".*")
              .replace("$actor", ".*"))
        if "$" in e:
            errors.append(f"panel '{title}': unhandled variable in {e}")
        exprs.append(e)
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
with open(out, "w") as f:
    f.write("\0".join(exprs) + "\0")
print(f"    {len(exprs)} dashboard expressions")
PY

# ---------------------------------------------------------------- 4. a real Prometheus

cp alerts.yml "$WORK/alerts.yml"
cat >"$WORK/prometheus.yml" <<'EOF'
global:
  evaluation_interval: 1h
rule_files:
  - alerts.yml
EOF

log "starting a throwaway Prometheus on 127.0.0.1:$PORT"
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    fail "127.0.0.1:$PORT is already in use (set CHECK_PROM_PORT)"
fi
prometheus \
    --config.file="$WORK/prometheus.yml" \
    --storage.tsdb.path="$WORK/data" \
    --web.listen-address="127.0.0.1:$PORT" \
    --log.level=warn \
    >"$WORK/prometheus.log" 2>&1 &
PROM_PID=$!

BASE="http://127.0.0.1:$PORT"
deadline=$((SECONDS + 30))
until curl -fsS "$BASE/-/ready" >/dev/null 2>&1; do
    if ! kill -0 "$PROM_PID" 2>/dev/null; then
        cat "$WORK/prometheus.log" >&2
        PROM_PID=""
        fail "Prometheus exited during start-up (log above)"
    fi
    ((SECONDS < deadline)) || fail "Prometheus was not ready within 30s"
    sleep 0.5
done

# The rules as Prometheus itself parsed them, appended to the expression list.
curl -fsS "$BASE/api/v1/rules" >"$WORK/rules.json"
python3 - "$WORK/rules.json" "$WORK/rules.exprs" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
rules = [r for g in data["data"]["groups"] for r in g["rules"]]
if not rules:
    sys.exit("no rules loaded from alerts.yml")
with open(sys.argv[2], "w") as f:
    f.write("\0".join(r["query"] for r in rules) + "\0")
print(f"    {len(rules)} alert rules loaded")
PY

# Metric names: every name with one of the service's prefixes must be one it exposes.
python3 - "$WORK/dashboard.exprs" "$WORK/rules.exprs" <<'PY'
import re, sys
known = {
    "actor_messages_total", "actor_message_duration_seconds", "actor_mailbox_wait_seconds",
    "actor_mailbox_depth", "actor_restarts_total", "actor_instances", "supervisor_escalations_total",
    "amqp_connection_up", "amqp_reconnects_total", "amqp_consumers_running", "amqp_subscriptions_restarted_total",
    "amqp_published_total", "amqp_deliveries_total",
    "outbox_backlog", "outbox_oldest_age_seconds", "outbox_published_total",
    "commands_total", "http_requests_total", "http_request_duration_seconds",
    "process_resident_memory_bytes", "auth_attempts_total", "jwt_tokens_issued_total", "up",
    "actor_stalls_total", "amqp_consumer_paused", "http_requests_in_progress",
    "user_operations_total", "active_users_total", "db_operations_total",
    "db_operation_duration_seconds", "db_connections_active", "db_pool_connections",
    "db_pool_connections_idle", "db_pool_acquire_seconds", "messages_published_total",
    "messages_consumed_total", "queue_depth", "application_errors_total",
    "command_processing_total", "query_processing_total",
    "query_type", "command_type",  # label names that share a prefix with metric names
}
histograms = {"actor_message_duration_seconds", "actor_mailbox_wait_seconds", "http_request_duration_seconds",
              "db_operation_duration_seconds", "db_pool_acquire_seconds"}
exposed = set(known)
for h in histograms:
    exposed |= {h + "_bucket", h + "_sum", h + "_count"}
prefixes = ("actor_", "supervisor_", "amqp_", "outbox_", "commands_", "http_", "process_", "auth_", "jwt_",
            "db_", "user_", "active_", "messages_", "queue_", "application_", "command_", "query_")
bad = []
for path in sys.argv[1:]:
    for e in filter(None, open(path).read().split("\0")):
        # Drop label matchers' values ("..." strings) so only identifiers remain.
        for name in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", re.sub(r'"[^"]*"', '""', e)):
            if name.startswith(prefixes) and name not in exposed:
                bad.append(f"{name}   in   {e}")
if bad:
    print("unknown metric names:\n  " + "\n  ".join(bad), file=sys.stderr)
    sys.exit(1)
print("    every metric name is one the service exposes")
PY

log "running every expression through $BASE/api/v1/query"
total=0 failed=0
while IFS= read -r -d '' expr; do
    total=$((total + 1))
    resp="$(curl -sS "$BASE/api/v1/query" --data-urlencode "query=$expr")" || resp='{"status":"curl failed"}'
    if ! status="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("status",""))' "$resp" 2>/dev/null)" \
        || [[ "$status" != success ]]; then
        failed=$((failed + 1))
        printf '    FAIL  %s\n          %s\n' "$expr" "$resp" >&2
    fi
done < <(cat "$WORK/dashboard.exprs" "$WORK/rules.exprs")

((total > 0)) || fail "no expressions found"
((failed == 0)) || fail "$failed of $total PromQL expressions were rejected by Prometheus"
log "monitoring OK: $total PromQL expressions accepted, configs, rules and rule tests valid"
