#!/usr/bin/env bash
# Make sure the backing services and tools hexactor's Makefile needs are there.
#
#   scripts/services.sh [up]        PostgreSQL on 127.0.0.1:5432 and RabbitMQ on 127.0.0.1:5672,
#                                   the database named in DATABASE_URL, cargo-nextest and Prometheus
#                                   (promtool) for the monitoring tests, Chromium and chromedriver
#                                   for the page tests (default)
#   scripts/services.sh bench-tools wrk and valgrind, for `make bench` (alias: --bench-tools)
#
# Idempotent: a service already listening is used as it is. Otherwise, in order of preference:
# a Docker engine (docker compose up), the OS packages already installed, or (as root) an
# apt-get install. Nothing is ever stopped.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PG_HOST=127.0.0.1
PG_PORT=5432
AMQP_HOST=127.0.0.1
AMQP_PORT=5672
WAIT_SECONDS="${SERVICES_WAIT_SECONDS:-60}"

# DATABASE_URL: environment, else .env, else the built-in default.
if [[ -z "${DATABASE_URL:-}" && -f .env ]]; then
    DATABASE_URL="$(sed -n 's/^[[:space:]]*\(export[[:space:]]\+\)\{0,1\}DATABASE_URL=//p' .env | tail -n 1 | tr -d "\"'")"
fi
DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/hexactor}"

log()  { printf '==> %s\n' "$*"; }
warn() { printf '==> WARNING: %s\n' "$*" >&2; }
die()  { printf '==> ERROR: %s\n' "$*" >&2; exit 1; }

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# True if something accepts TCP connections on host:port.
listening() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

docker_engine() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

compose() {
    if docker compose version >/dev/null 2>&1; then docker compose "$@"
    elif command -v docker-compose >/dev/null 2>&1; then docker-compose "$@"
    else die "a Docker engine answers but neither 'docker compose' nor 'docker-compose' is installed"
    fi
}

APT_UPDATED=0
apt_install() {
    is_root || die "need root to apt-get install $*"
    if [[ "$APT_UPDATED" -eq 0 ]]; then
        log "apt-get update"
        apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install -y $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Where the services came from; decides how psql and rabbitmqctl are reached.
PG_VIA=local
RABBIT_VIA=local

# ---------------------------------------------------------------- PostgreSQL

# Newest installed major version (directory name under /etc/postgresql), empty if none.
pg_version() {
    { find /etc/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null || true; } \
        | sort -V | tail -n 1
}

pg_start_local() {
    local ver
    ver="$(pg_version)"
    [[ -n "$ver" ]] || return 1
    if [[ ! -d "/etc/postgresql/$ver/main" ]]; then
        log "creating PostgreSQL $ver cluster 'main'"
        pg_createcluster "$ver" main >/dev/null
    fi
    log "starting PostgreSQL $ver (pg_ctlcluster)"
    # Fails harmlessly ("already running") if it is still starting up; the wait below decides.
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
}

pg_trust_loopback() {
    # A fresh Debian install asks TCP clients for a password; the project's default URL has none.
    # Only done for a server this script itself installed: a development-only machine.
    local ver hba
    ver="$(pg_version)"
    hba="/etc/postgresql/$ver/main/pg_hba.conf"
    if [[ -f "$hba" ]] && ! grep -q '^host[[:space:]]\+all[[:space:]]\+all[[:space:]]\+127.0.0.1/32[[:space:]]\+trust' "$hba"; then
        log "allowing trust auth on 127.0.0.1 in $hba (freshly installed dev server)"
        sed -i '1i host all all 127.0.0.1/32 trust\nlocal all all trust' "$hba"
        pg_ctlcluster --skip-systemctl-redirect "$ver" main reload || true
    fi
}

ensure_postgres() {
    if listening "$PG_HOST" "$PG_PORT"; then
        log "PostgreSQL: already listening on $PG_HOST:$PG_PORT"
        return
    fi
    if docker_engine; then
        log "PostgreSQL: starting the compose service"
        compose up -d postgres
        PG_VIA=docker
    elif [[ -n "$(pg_version)" ]] && command -v pg_ctlcluster >/dev/null 2>&1; then
        pg_start_local
    elif is_root; then
        log "PostgreSQL: not installed, installing from Debian packages"
        apt_install postgresql
        pg_start_local
        pg_trust_loopback
    else
        die "PostgreSQL is not listening on $PG_HOST:$PG_PORT and cannot be installed without root"
    fi
}

pg_ready() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT"
    else
        listening "$PG_HOST" "$PG_PORT"
    fi
}

wait_postgres() {
    local deadline=$((SECONDS + WAIT_SECONDS))
    log "PostgreSQL: waiting for connections (up to ${WAIT_SECONDS}s)"
    until pg_ready; do
        ((SECONDS < deadline)) || die "PostgreSQL did not accept connections on $PG_HOST:$PG_PORT within ${WAIT_SECONDS}s"
        sleep 1
    done
    log "PostgreSQL: ready"
}

psql_admin() {
    if command -v psql >/dev/null 2>&1; then
        psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"
    elif [[ "$PG_VIA" == docker ]]; then
        compose exec -T postgres psql -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"
    else
        die "psql not found (apt-get install postgresql-client)"
    fi
}

ensure_database() {
    # postgres://user[:pass]@host[:port]/NAME[?params] -> NAME
    local db="${DATABASE_URL##*/}"
    db="${db%%\?*}"
    [[ -n "$db" && "$db" != "$DATABASE_URL" ]] || die "cannot find a database name in DATABASE_URL"
    [[ "$db" =~ ^[A-Za-z0-9_-]+$ ]] || die "refusing unusual database name '$db'"
    case "$DATABASE_URL" in
        *@127.0.0.1[:/]*|*@localhost[:/]*) ;;
        *) warn "DATABASE_URL does not point at 127.0.0.1; creating '$db' on $PG_HOST:$PG_PORT anyway" ;;
    esac
    if [[ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" == 1 ]]; then
        log "database '$db': exists"
    else
        log "database '$db': creating"
        # Another process may create it at the same moment: only fail if it is still missing.
        psql_admin -c "CREATE DATABASE \"$db\"" >/dev/null 2>&1 \
            || [[ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" == 1 ]] \
            || die "could not create database '$db'"
    fi
}

# ---------------------------------------------------------------- RabbitMQ

rabbitmqctl_() {
    if [[ "$RABBIT_VIA" == docker ]]; then
        compose exec -T rabbitmq rabbitmqctl "$@"
    else
        rabbitmqctl "$@"
    fi
}

rabbit_start_local() {
    if rabbitmqctl -q ping >/dev/null 2>&1; then
        log "RabbitMQ: node is up but not yet listening, waiting"
    else
        log "starting RabbitMQ (rabbitmq-server -detached)"
        rabbitmq-server -detached || true
    fi
    log "RabbitMQ: rabbitmqctl await_startup"
    timeout "$WAIT_SECONDS" rabbitmqctl -q await_startup \
        || warn "rabbitmqctl await_startup did not confirm startup; probing the port instead"
}

ensure_rabbitmq() {
    if listening "$AMQP_HOST" "$AMQP_PORT"; then
        log "RabbitMQ: already listening on $AMQP_HOST:$AMQP_PORT"
        command -v rabbitmqctl >/dev/null 2>&1 || RABBIT_VIA=none
        return
    fi
    if docker_engine; then
        log "RabbitMQ: starting the compose service"
        compose up -d rabbitmq
        RABBIT_VIA=docker
    elif command -v rabbitmq-server >/dev/null 2>&1; then
        rabbit_start_local
    elif is_root; then
        log "RabbitMQ: not installed, installing from Debian packages"
        apt_install rabbitmq-server
        rabbit_start_local
    else
        die "RabbitMQ is not listening on $AMQP_HOST:$AMQP_PORT and cannot be installed without root"
    fi
}

wait_rabbitmq() {
    local deadline=$((SECONDS + WAIT_SECONDS))
    log "RabbitMQ: waiting for AMQP connections (up to ${WAIT_SECONDS}s)"
    until listening "$AMQP_HOST" "$AMQP_PORT"; do
        ((SECONDS < deadline)) || die "RabbitMQ did not accept connections on $AMQP_HOST:$AMQP_PORT within ${WAIT_SECONDS}s"
        sleep 1
    done
    log "RabbitMQ: ready"
}

rabbit_feature_flags() {
    # Quorum queues need the corresponding feature flags; a fresh node has them, an upgraded one
    # may not. Failure is not fatal (e.g. no rabbitmqctl on this host).
    if [[ "$RABBIT_VIA" == none ]]; then
        log "RabbitMQ: no rabbitmqctl here, not touching feature flags"
        return
    fi
    if rabbitmqctl_ -q enable_feature_flag all >/dev/null 2>&1; then
        log "RabbitMQ: all feature flags enabled"
    else
        warn "RabbitMQ: 'rabbitmqctl enable_feature_flag all' failed (ignored)"
    fi
}

# ---------------------------------------------------------------- tools

ensure_nextest() {
    if cargo nextest --version >/dev/null 2>&1; then
        log "cargo-nextest: $(cargo nextest --version 2>/dev/null | head -n 1)"
        return
    fi
    command -v cargo >/dev/null 2>&1 || die "cargo not found"
    log "cargo-nextest: missing, cargo install cargo-nextest --locked (takes a few minutes)"
    # Not fatal: `make test` falls back to cargo test without nextest.
    cargo install cargo-nextest --locked || warn "cargo-nextest could not be installed; make test will use cargo test"
}

# Prometheus and promtool: `make test` unit-tests the alert rules and runs a real Prometheus
# against the service (tests/monitoring.rs). Debian's package, without its recommended exporters.
ensure_prometheus() {
    if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
        log "prometheus: $(command -v prometheus)"
        return
    fi
    log "prometheus: missing"
    if is_root; then
        apt_install --no-install-recommends prometheus
    else
        warn "prometheus/promtool missing and not root: the monitoring tests will fail (apt-get install prometheus)"
    fi
}

# Chromium and its WebDriver: `make test` drives the pages in headless Chromium
# (tests/api/pages/). Debian's chromium and chromium-driver (/usr/bin/chromium, chromedriver).
ensure_browser() {
    if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
        log "chromium: $(command -v chromium), $(command -v chromedriver)"
        return
    fi
    log "chromium/chromedriver: missing"
    if is_root; then
        apt_install chromium chromium-driver
    else
        warn "chromium/chromedriver missing and not root: the page tests will fail (apt-get install chromium chromium-driver)"
    fi
}

ensure_bench_tools() {
    # wrk drives the load; valgrind (callgrind, callgrind_control) is `make bench-profile`'s.
    local tool
    for tool in wrk valgrind; do
        if command -v "$tool" >/dev/null 2>&1; then
            log "$tool: $(command -v "$tool")"
        else
            log "$tool: missing"
            apt_install "$tool"
        fi
    done
}

# ---------------------------------------------------------------- main

cmd_up() {
    ensure_postgres
    ensure_rabbitmq
    wait_postgres
    wait_rabbitmq
    rabbit_feature_flags
    ensure_database
    ensure_nextest
    ensure_prometheus
    ensure_browser
    log "services up"
}

case "${1:-up}" in
    up) cmd_up ;;
    bench-tools|--bench-tools) ensure_bench_tools ;;
    -h|--help|help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown command '$1' (expected: up | bench-tools)" ;;
esac
