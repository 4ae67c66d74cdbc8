#!/usr/bin/env bash
# Remove what crashed or interrupted test runs left behind:
#   - PostgreSQL databases named hexactor_test_*
#   - RabbitMQ queues and exchanges named test_* (tests namespace everything as test_<hex>)
#
# Resources still in use are left alone, so a test run going on in parallel is not broken:
# databases with open connections and queues with consumers are skipped (--force drops them too).
# --dry-run only lists what would be removed.
#
# RabbitMQ exchanges cannot be deleted with rabbitmqctl. They are deleted with rabbitmqadmin when
# the management plugin is already enabled; otherwise they are only reported (this script never
# enables plugins). Leftover exchanges hold no messages, so that is a nuisance, not a leak.
set -euo pipefail

PG_HOST="${PG_HOST:-127.0.0.1}"
PG_PORT="${PG_PORT:-5432}"
DB_PREFIX="hexactor_test_"
AMQP_PREFIX="test_"
VHOST="${RABBITMQ_VHOST:-/}"

DRY_RUN=0
FORCE=0
DONE=""
for arg in "$@"; do
    case "$arg" in
        --dry-run) DRY_RUN=1; DONE="(dry run) would have " ;;
        --force) FORCE=1 ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $arg (expected --dry-run, --force)" >&2; exit 2 ;;
    esac
done

log() { printf '==> %s\n' "$*"; }
run() {
    if [[ "$DRY_RUN" -eq 1 ]]; then
        printf '    (dry run) %s\n' "$*" >&2
    else
        "$@"
    fi
}

# ---------------------------------------------------------------- PostgreSQL

psql_() { psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtAX "$@"; }

clean_databases() {
    if ! command -v psql >/dev/null 2>&1; then
        log "psql not found: skipping test databases"
        return
    fi
    local busy_filter="AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)"
    [[ "$FORCE" -eq 1 ]] && busy_filter=""
    local dbs
    # '_' is a LIKE wildcard, hence the escaped prefix.
    if ! dbs="$(psql_ -c "SELECT datname FROM pg_database d
                          WHERE datname LIKE '${DB_PREFIX//_/\\_}%' $busy_filter
                          ORDER BY datname")"; then
        log "PostgreSQL not reachable on $PG_HOST:$PG_PORT: skipping test databases"
        return
    fi
    if [[ -z "$dbs" ]]; then
        log "no leftover ${DB_PREFIX}* databases"
        return
    fi
    local n=0 db
    while IFS= read -r db; do
        [[ "$db" =~ ^[A-Za-z0-9_]+$ ]] || { log "skipping odd database name '$db'"; continue; }
        # WITH (FORCE) ends idle connections a killed test process may have left (PostgreSQL 13+).
        run psql_ -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" && n=$((n + 1))
    done <<<"$dbs"
    log "${DONE}dropped $n ${DB_PREFIX}* database(s)"
}

# ---------------------------------------------------------------- RabbitMQ

clean_queues() {
    local rows
    if ! rows="$(rabbitmqctl -q list_queues -p "$VHOST" --no-table-headers name consumers 2>/dev/null)"; then
        log "rabbitmqctl list_queues failed: skipping test queues"
        return
    fi
    local n=0 skipped=0 name consumers
    while IFS=$'\t' read -r name consumers; do
        [[ "$name" == "$AMQP_PREFIX"* ]] || continue
        if [[ "$FORCE" -eq 0 && "${consumers:-0}" != 0 ]]; then
            skipped=$((skipped + 1))
            continue
        fi
        run rabbitmqctl -q delete_queue -p "$VHOST" "$name" >/dev/null && n=$((n + 1))
    done <<<"$rows"
    if ((n == 0 && skipped == 0)); then
        log "no leftover ${AMQP_PREFIX}* queues"
    else
        log "${DONE}deleted $n ${AMQP_PREFIX}* queue(s); skipped $skipped with consumers"
    fi
}

management_enabled() {
    command -v rabbitmq-plugins >/dev/null 2>&1 \
        && rabbitmq-plugins -q list -e -m 2>/dev/null | grep -qx 'rabbitmq_management'
}

clean_exchanges() {
    local names
    if ! names="$(rabbitmqctl -q list_exchanges -p "$VHOST" --no-table-headers name 2>/dev/null)"; then
        log "rabbitmqctl list_exchanges failed: skipping test exchanges"
        return
    fi
    names="$(grep "^${AMQP_PREFIX}" <<<"$names" || true)"
    if [[ -z "$names" ]]; then
        log "no leftover ${AMQP_PREFIX}* exchanges"
        return
    fi
    local count
    count="$(wc -l <<<"$names")"
    if ! command -v rabbitmqadmin >/dev/null 2>&1 || ! management_enabled; then
        log "$count leftover ${AMQP_PREFIX}* exchange(s) kept: rabbitmqctl cannot delete exchanges and" \
            "rabbitmqadmin needs the management plugin, which is not enabled (not enabling it)"
        return
    fi
    local n=0 name
    while IFS= read -r name; do
        run rabbitmqadmin -V "$VHOST" delete exchange name="$name" >/dev/null && n=$((n + 1))
    done <<<"$names"
    log "${DONE}deleted $n ${AMQP_PREFIX}* exchange(s)"
}

clean_databases
if command -v rabbitmqctl >/dev/null 2>&1; then
    clean_queues
    clean_exchanges
else
    log "rabbitmqctl not found: skipping test queues and exchanges"
fi
