#!/usr/bin/env bash
# `make bench`: measures, on this machine, against the real PostgreSQL and RabbitMQ
#   1. authenticated reads through the actors (GET /api/v1/users/{id}) vs a bare actix-web + sqlx
#      handler doing the same query (examples/bare_read.rs): the ratio;
#   2. the write pipeline (registrations through RabbitMQ, bcrypt cost 12) vs what the cores can
#      bcrypt (examples/bcrypt_capacity.rs): the ratio;
#   3. the resident memory of the hexactor process after the load.
# Every number is printed, none is asserted: speed is a measurement, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=target/release/hexactor
BARE=target/release/examples/bare_read
BCRYPT=target/release/examples/bcrypt_capacity
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
PG_BASE="${BENCH_DATABASE_BASE_URL:-postgres://postgres@127.0.0.1:5432}"
DB=hexactor_bench
PREFIX="bench_$$"
PORT=18180
BARE_PORT=18181
WORK="$(mktemp -d)"

[[ -x "$BIN" && -x "$BARE" && -x "$BCRYPT" ]] || cargo build --release --bins --examples

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    psql "$PG_BASE/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    rabbitmqctl -q eval "Qs = [Q || Q <- rabbit_amqqueue:list(), case amqqueue:get_name(Q) of {resource, _, queue, <<\"$PREFIX\", _/binary>>} -> true; _ -> false end], [rabbit_amqqueue:delete(Q, false, false, <<\"bench\">>) || Q <- Qs], ok." >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

wait_for() { # url
    local deadline=$((SECONDS + 30))
    until curl -sf "$1" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || { echo "bench: $1 did not come up" >&2; exit 1; }
        sleep 0.2
    done
}

rps() { sed -n 's/^Requests\/sec:[[:space:]]*//p' "$1"; }

psql "$PG_BASE/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
export DATABASE_URL="$PG_BASE/$DB"
AMQP_PREFIX="$PREFIX" PORT="$PORT" OPS_PORT=0 LOG_LEVEL=warn "$BIN" dev >"$WORK/hexactor.log" 2>&1 &
HEXACTOR_PID=$!
pids+=("$HEXACTOR_PID")
wait_for "http://127.0.0.1:$PORT/ready"

echo "==> one user to read"
curl -sf "http://127.0.0.1:$PORT/api/v1/users" -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","username":"bench","first_name":"Bench","last_name":"Mark","password":"correct horse battery staple"}' >/dev/null
TOKENS="$(curl -sf "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"correct horse battery staple"}')"
ACCESS="$(sed -E 's/.*"access_token":"([^"]+)".*/\1/' <<<"$TOKENS")"
USER_ID="$(sed -E 's/.*"user_id":"([^"]+)".*/\1/' <<<"$TOKENS")"

echo "==> reads through the actors (${SECONDS_PER_RUN}s, $CONNECTIONS connections)"
wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" -H "authorization: Bearer $ACCESS" \
    "http://127.0.0.1:$PORT/api/v1/users/$USER_ID" >"$WORK/actors.txt"
cat "$WORK/actors.txt"

echo "==> the same read, bare actix-web + sqlx"
PORT="$BARE_PORT" "$BARE" &
pids+=($!)
wait_for "http://127.0.0.1:$BARE_PORT/api/v1/users/$USER_ID"
wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" "http://127.0.0.1:$BARE_PORT/api/v1/users/$USER_ID" >"$WORK/bare.txt"
cat "$WORK/bare.txt"
kill "${pids[-1]}" 2>/dev/null || true

echo "==> bcrypt capacity of this machine at cost 12"
CAPACITY="$("$BCRYPT" 12 5)"

echo "==> registrations through RabbitMQ (${SECONDS_PER_RUN}s, 16 connections, bcrypt cost 12)"
cat >"$WORK/register.lua" <<'LUA'
-- Unique emails per request: each wrk thread gets its own id in setup() (math.random is not
-- seeded per thread, so two threads would send the same "random" addresses and get 409s).
local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end
local counter = 0
request = function()
    counter = counter + 1
    local n = tostring(tid) .. "_" .. tostring(os.time()) .. "_" .. counter
    local body = '{"email":"u' .. n .. '@example.com","username":"u_' .. n ..
        '","first_name":"Load","last_name":"Test","password":"correct horse battery staple"}'
    return wrk.format("POST", "/api/v1/users", { ["content-type"] = "application/json" }, body)
end
LUA
BEFORE="$(psql "$DATABASE_URL" -tAc 'SELECT count(*) FROM users')"
START=$(date +%s.%N)
wrk -t2 -c16 -d"${SECONDS_PER_RUN}s" --timeout 30s -s "$WORK/register.lua" "http://127.0.0.1:$PORT/api/v1/users" >"$WORK/writes.txt"
# Commands accepted near the end are still being applied: wait for the pipeline to drain.
deadline=$((SECONDS + 60))
until [[ "$(psql "$DATABASE_URL" -tAc "SELECT count(*) FROM commands WHERE status = 'pending'")" == 0 ]] || ((SECONDS > deadline)); do sleep 0.2; done
END=$(date +%s.%N)
AFTER="$(psql "$DATABASE_URL" -tAc 'SELECT count(*) FROM users')"
cat "$WORK/writes.txt"
RSS_KIB="$(ps -o rss= -p "$HEXACTOR_PID" | tr -d ' ')"

ACTORS_RPS="$(rps "$WORK/actors.txt")"
BARE_RPS="$(rps "$WORK/bare.txt")"
python3 - "$ACTORS_RPS" "$BARE_RPS" "$BEFORE" "$AFTER" "$START" "$END" "$CAPACITY" "$RSS_KIB" <<'PY'
import sys
actors, bare, before, after, start, end, capacity, rss = sys.argv[1:]
actors, bare, capacity = float(actors), float(bare), float(capacity)
created = int(after) - int(before)
writes = created / (float(end) - float(start))
print()
print("bench summary")
print(f"  reads through actors (authenticated): {actors:10.0f} req/s")
print(f"  bare actix-web + sqlx (no auth):      {bare:10.0f} req/s")
print(f"  read ratio:                           {actors / bare:10.2f}   (target >= 0.85)")
print(f"  registrations applied:                {writes:10.2f} users/s ({created} users)")
print(f"  bcrypt capacity at cost 12:           {capacity:10.2f} hashes/s")
print(f"  write ratio:                          {writes / capacity:10.2f}   (target >= 0.50)")
print(f"  hexactor dev RSS after load:          {int(rss) / 1024:10.1f} MiB (target < 64)")
PY
