#!/usr/bin/env bash
# Remove what crashed or interrupted test runs left behind:
#   - PostgreSQL databases named hexactor_test_*
#   - RabbitMQ queues and exchanges named test_* (tests namespace everything as test_<hex>)
#
# Resources still in use are left alone, so a test run going on in parallel is not broken:
# databases with open connections and queues with consumers are skipped (--force drops them too).
# --dry-run only lists what would be removed.
# --check removes nothing: it lists every leftover and exits 1 if there is one (the last step
# of `make test`; on a machine where other test runs are going on it sees theirs too).
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
CHECK=0
DONE=""
for arg in "$@"; do
    case "$arg" in
        --dry-run) DRY_RUN=1; DONE="(dry run) would have " ;;
        --force) FORCE=1 ;;
        --check) CHECK=1 ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $arg (expected --dry-run, --force, --check)" >&2; exit 2 ;;
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

# One `rabbitmqctl eval` deletes every leftover queue and exchange in a single call: deleting them
# one CLI call at a time takes seconds each (minutes for a few hundred quorum queues, each of
# which is a Raft cluster the broker must recover on every restart — hence the cleaning).
# Queues with consumers belong to a test that is running right now and are kept unless --force.
erlang_prefix() { printf '<<"%s", _/binary>>' "$AMQP_PREFIX"; }

clean_queues() {
    local keep_busy="true"
    [[ "$FORCE" -eq 1 ]] && keep_busy="false"
    local expr n
    expr="Busy = fun(Q) -> $keep_busy andalso rabbit_amqqueue:consumers(Q) =/= [] end,
          Qs = [Q || Q <- rabbit_amqqueue:list(<<\"$VHOST\">>),
                     case amqqueue:get_name(Q) of {resource, _, queue, $(erlang_prefix)} -> true; _ -> false end,
                     not Busy(Q)],
          [rabbit_amqqueue:delete(Q, false, false, <<\"cleanup\">>) || Q <- Qs],
          length(Qs)."
    if [[ "$DRY_RUN" -eq 1 ]]; then
        log "(dry run) would delete ${AMQP_PREFIX}* queues without consumers"
        return
    fi
    if ! n="$(rabbitmqctl -q eval "$expr" 2>/dev/null)"; then
        log "rabbitmqctl eval failed: skipping test queues"
        return
    fi
    log "${DONE}deleted ${n} ${AMQP_PREFIX}* queue(s)"
}

clean_exchanges() {
    local expr n
    expr="Xs = [element(2, X) || X <- rabbit_exchange:list(<<\"$VHOST\">>),
                 case element(2, X) of {resource, _, exchange, $(erlang_prefix)} -> true; _ -> false end],
          [rabbit_exchange:delete(N, false, <<\"cleanup\">>) || N <- Xs],
          length(Xs)."
    if [[ "$DRY_RUN" -eq 1 ]]; then
        log "(dry run) would delete ${AMQP_PREFIX}* exchanges"
        return
    fi
    if ! n="$(rabbitmqctl -q eval "$expr" 2>/dev/null)"; then
        log "rabbitmqctl eval failed: skipping test exchanges"
        return
    fi
    log "${DONE}deleted ${n} ${AMQP_PREFIX}* exchange(s)"
}

# Lists what a test run left behind; fails if anything (or if a service cannot be asked).
check_leftovers() {
    local dbs queues exchanges
    dbs="$(psql_ -c "SELECT datname FROM pg_database WHERE datname LIKE '${DB_PREFIX//_/\\_}%'")" ||
        { log "PostgreSQL not reachable on $PG_HOST:$PG_PORT"; return 1; }
    queues="$(rabbitmqctl -q list_queues -p "$VHOST" name 2>/dev/null | grep "^${AMQP_PREFIX}" || true)"
    exchanges="$(rabbitmqctl -q list_exchanges -p "$VHOST" name 2>/dev/null | grep "^${AMQP_PREFIX}" || true)"
    local n_db n_q n_x
    n_db=$(grep -c . <<<"$dbs" || true)
    n_q=$(grep -c . <<<"$queues" || true)
    n_x=$(grep -c . <<<"$exchanges" || true)
    if [[ $((n_db + n_q + n_x)) -eq 0 ]]; then
        log "nothing left behind: no ${DB_PREFIX}* database, no ${AMQP_PREFIX}* queue or exchange"
        return 0
    fi
    log "LEFT BEHIND: $n_db ${DB_PREFIX}* database(s), $n_q ${AMQP_PREFIX}* queue(s), $n_x ${AMQP_PREFIX}* exchange(s)"
    printf '    %s\n' $dbs $queues $exchanges | head -n 30
    return 1
}

if [[ "$CHECK" -eq 1 ]]; then
    check_leftovers
    exit
fi

clean_databases
if command -v rabbitmqctl >/dev/null 2>&1; then
    clean_queues
    clean_exchanges
else
    log "rabbitmqctl not found: skipping test queues and exchanges"
fi
