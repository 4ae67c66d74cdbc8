#!/usr/bin/env bash
# The API contract check: schemathesis (PyPI, pinned, in a venv under target/) runs every check,
# stateful phase included, against the built binary (`hexactor dev`) serving a fresh database and
# AMQP prefix on the shared PostgreSQL/RabbitMQ, with an admin's bearer token (logout,
# logout-all, DELETE /api/v1/users/{id} and PUT /api/v1/users/{id}/role are left out: the run
# would end that token's session, deactivate the admin itself, or promote a user it created and
# then demote the admin (with the id GET /users/me gives), after which every operation on someone
# else's account is a correct 404 that schemathesis reports as a created resource gone missing;
# the integration tests cover them). Everything it creates (process, database, queues, exchanges,
# report dir) is removed at the end, pass or fail.
#
#   scripts/schemathesis.sh            (make contract)
#   CONTRACT_MAX_EXAMPLES=50 CONTRACT_SEED=7 scripts/schemathesis.sh
set -euo pipefail

cd "$(dirname "$0")/.."
SCHEMATHESIS_VERSION="4.32.5"
VENV="target/contract-venv"
MAX_EXAMPLES="${CONTRACT_MAX_EXAMPLES:-20}"
SEED="${CONTRACT_SEED:-20261130}"
PG="${TEST_DATABASE_BASE_URL:-postgres://postgres@127.0.0.1:5432}"
RABBITMQ_URL="${RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"

log() { printf '==> %s\n' "$*"; }

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    log "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
        [[ $(id -u) -eq 0 ]] || { log "python3 with venv is needed (apt-get install python3-venv)"; exit 1; }
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    fi
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

log "building hexactor"
cargo build --quiet --bin hexactor
BIN="target/debug/hexactor"

ID="$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
DATABASE="hexactor_test_contract_$ID"
PREFIX="test_contract_$ID"
WORK="$(mktemp -d -t hexactor-contract.XXXXXX)"
PID=""

cleanup() {
    local status=$?
    if [[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null; then
        kill "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    psql "$PG/postgres" -qtAX -c "DROP DATABASE IF EXISTS \"$DATABASE\" WITH (FORCE)" >/dev/null 2>&1 || true
    if command -v rabbitmqctl >/dev/null 2>&1; then
        rabbitmqctl -q eval "
          P = <<\"$PREFIX\">>, N = byte_size(P),
          [rabbit_amqqueue:delete(Q, false, false, <<\"contract\">>) || Q <- rabbit_amqqueue:list(<<\"/\">>),
              case amqqueue:get_name(Q) of {resource, _, queue, <<P:N/binary, _/binary>>} -> true; _ -> false end],
          [rabbit_exchange:delete(element(2, X), false, <<\"contract\">>) || X <- rabbit_exchange:list(<<\"/\">>),
              case element(2, X) of {resource, _, exchange, <<P:N/binary, _/binary>>} -> true; _ -> false end],
          ok." >/dev/null 2>&1 || true
    fi
    if [[ $status -ne 0 && -f "$WORK/hexactor.log" ]]; then
        log "last lines of the service log:"
        tail -n 20 "$WORK/hexactor.log" || true
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT INT TERM

psql "$PG/postgres" -qtAX -c "CREATE DATABASE \"$DATABASE\"" >/dev/null
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export DATABASE_URL="$PG/$DATABASE" RABBITMQ_URL AMQP_PREFIX="$PREFIX" PORT OPS_PORT=0 \
    BCRYPT_COST=4 ARGON2_MEMORY_KIB=1024 ARGON2_ITERATIONS=1 QUEUE_TYPE=classic LOG_LEVEL=warn LOG_FORMAT=json RETRY_DELAYS_MS=100,200 \
    COMMAND_WAIT_SECONDS=5 RATE_LIMIT_PER_MINUTE=0 LOGIN_MAX_FAILURES=1000 \
    LOGIN_MAX_FAILURES_PER_IP=100000
# Run from the work directory so that a developer's ./.env cannot change the set-up.
(cd "$WORK" && exec "$OLDPWD/$BIN" dev >"$WORK/hexactor.log" 2>&1) &
PID=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$BASE/ready" 2>/dev/null && break
    kill -0 "$PID" 2>/dev/null || { log "hexactor exited"; exit 1; }
    sleep 0.2
done
curl -fsS -o /dev/null "$BASE/ready"

ADMIN_PASSWORD="contract admin passphrase $ID"
(cd "$WORK" && ADMIN_PASSWORD="$ADMIN_PASSWORD" "$OLDPWD/$BIN" admin create \
    --email "root-$ID@example.com" --username "root_$ID" >/dev/null)
TOKEN="$(curl -fsS "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"root-$ID@example.com\",\"password\":\"$ADMIN_PASSWORD\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')"

log "schemathesis: every check, every phase, $MAX_EXAMPLES examples per operation, seed $SEED"
started=$SECONDS
# schemathesis.toml (next to this repository's root) holds the expectations that are ours to state.
"$VENV/bin/schemathesis" --config-file schemathesis.toml run "$BASE/api-docs/openapi.json" \
    --checks all \
    --phases examples,coverage,fuzzing,stateful \
    --header "Authorization: Bearer $TOKEN" \
    --exclude-path-regex '^/api/v1/(auth/logout|users/\{id\}/role$)' \
    --exclude-method DELETE \
    --max-examples "$MAX_EXAMPLES" \
    --seed "$SEED" \
    --generation-database none \
    --no-color \
    --report-dir "$WORK/report"
log "schemathesis passed in $((SECONDS - started)) s"
