#!/usr/bin/env bash
# Private services for the chaos suite: a 3-node RabbitMQ cluster and a PostgreSQL instance of
# their own, on free ports bound to 127.0.0.1, in a temporary directory. The chaos tests stop,
# kill and restart these, never the services on 5672/5432 that a developer works with.
#
#   scripts/chaos-services.sh run CMD...    start them, run CMD with CHAOS_* set (see below),
#                                           then stop and remove them whatever CMD did
#   scripts/chaos-services.sh clean-stale   remove the services of runs whose owner died
#                                           (a SIGKILLed make; `run` calls this first)
#   scripts/chaos-services.sh node DIR I start|stop|kill|stop_app|start_app|ctl ARGS...
#   scripts/chaos-services.sh pg DIR restart|ctl ARGS...
#                                           fault injection, used by tests/chaos/services.rs
#
# CMD sees CHAOS_SERVICES_DIR, CHAOS_SERVICES_SCRIPT, CHAOS_RABBITMQ_URLS (the three nodes'
# AMQP URLs, comma-separated), CHAOS_RABBIT_NODES (their Erlang node names) and
# CHAOS_DATABASE_BASE_URL.
#
# RabbitMQ nodes run as the `rabbitmq` user (so that they and rabbitmqctl share its Erlang
# cookie) with every path and port set per node; the system config (which pins 5672) is
# bypassed by pointing RABBITMQ_CONFIG_FILE at a file of our own. PostgreSQL runs as `postgres`
# (initdb + pg_ctl from the installed server), trust authentication, fsync off (test data).
set -euo pipefail

SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
STATE_PREFIX="${TMPDIR:-/tmp}/hexactor-chaos-services."
NODES=3
RABBIT_BIN=/usr/lib/rabbitmq/bin
PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"

log() { printf '==> chaos-services: %s\n' "$*" >&2; }
die() { printf '==> chaos-services: ERROR: %s\n' "$*" >&2; exit 1; }

listening() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

PICKED=" "
# Sets FREE_PORT (not echoed: a $(...) subshell would lose PICKED, and two nodes could be given
# the same port). Below 32768, where Linux hands out ephemeral ports for outgoing connections.
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 12000))
        [[ "$PICKED" == *" $p "* ]] && continue
        listening "$p" && continue
        PICKED+="$p "
        FREE_PORT=$p
        return
    done
}

# Both run from `/`: a process inherits the caller's working directory, and when the checkout
# sits under a directory only root can read (as `mktemp -d` makes), Erlang's code server, which
# looks in `.` first, logs `File operation error: eacces` for each module it loads, on the
# node's log and on the CLI's stdout. That once made os.pid (below) hold those lines instead of
# a pid, so that `node_kill` killed nothing and quorum-leader-killed waited for a new leader
# that could not come.
as_rabbitmq() { (cd / && runuser -u rabbitmq -- env HOME=/var/lib/rabbitmq PATH="$PATH" "$@"); }
as_postgres() { (cd / && runuser -u postgres -- "$@"); }

# ------------------------------------------------------------------------------- RabbitMQ

node_dir() { echo "$1/rabbit$2"; }
node_name() { cat "$(node_dir "$1" "$2")/name"; }

ctl() { # DIR I ARGS...
    local dir=$1 i=$2
    shift 2
    as_rabbitmq timeout 120 "$RABBIT_BIN/rabbitmqctl" -n "$(node_name "$dir" "$i")" "$@"
}

node_pid() { cat "$(node_dir "$1" "$2")/os.pid" 2>/dev/null || true; }

is_pid() { [[ "$1" =~ ^[0-9]+$ ]]; }

node_start() { # DIR I: boot the node, wait until it runs, remember its OS pid
    local dir=$1 i=$2 nd
    nd="$(node_dir "$dir" "$i")"
    # shellcheck disable=SC2046 # one VAR=value word per line of the env file
    as_rabbitmq env $(cat "$nd/env") "$RABBIT_BIN/rabbitmq-server" -detached
    local deadline=$((SECONDS + 120))
    until ctl "$dir" "$i" -q await_startup --timeout 60 >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            tail -n 20 "$nd"/log/*.log >&2 2>/dev/null || true
            die "node $i did not start (logs in $nd/log)"
        fi
        sleep 0.5
    done
    local pid
    pid="$(ctl "$dir" "$i" -q eval 'list_to_integer(os:getpid()).')"
    # Anything but a number here would make every later kill of this node a silent no-op.
    is_pid "$pid" || die "node $i: os:getpid() answered '$pid', not a pid"
    echo "$pid" >"$nd/os.pid"
}

node_kill() { # DIR I: SIGKILL the node's VM and wait until it is gone
    local pid
    pid="$(node_pid "$1" "$2")"
    [[ -n "$pid" ]] || return 0
    is_pid "$pid" || die "node $2: os.pid holds '$pid', not a pid"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}

node_stop() { # DIR I: graceful stop of the whole node, wait until the VM is gone
    local pid
    pid="$(node_pid "$1" "$2")"
    ctl "$1" "$2" -q stop >/dev/null 2>&1 || true
    local deadline=$((SECONDS + 60))
    while [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; do
        ((SECONDS < deadline)) || { node_kill "$1" "$2"; return; }
        sleep 0.2
    done
}

node_setup() { # DIR I: paths, ports and environment of one node
    local dir=$1 i=$2 nd port dist name
    nd="$(node_dir "$dir" "$i")"
    mkdir -p "$nd/mnesia" "$nd/log"
    echo "[]." >"$nd/enabled_plugins"
    free_port
    port=$FREE_PORT
    free_port
    dist=$FREE_PORT
    name="hxchaos${dir##*.}n$i@localhost"
    echo "$name" >"$nd/name"
    echo "$port" >"$nd/port"
    # An empty config of our own: the system rabbitmq.conf pins the listener to 5672.
    : >"$nd/rabbitmq.conf"
    cat >"$nd/env" <<EOF
RABBITMQ_NODENAME=$name
RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
RABBITMQ_NODE_PORT=$port
RABBITMQ_DIST_PORT=$dist
RABBITMQ_MNESIA_BASE=$nd/mnesia
RABBITMQ_LOG_BASE=$nd/log
RABBITMQ_ENABLED_PLUGINS_FILE=$nd/enabled_plugins
RABBITMQ_CONFIG_FILE=$nd/rabbitmq
RABBITMQ_PID_FILE=$nd/rabbit.pid
EOF
    chown -R rabbitmq:rabbitmq "$nd"
}

start_cluster() { # DIR: 0 when the cluster runs, else 1 (the caller cleans up and may retry)
    local dir=$1 i first
    for i in $(seq 1 $NODES); do node_setup "$dir" "$i"; done
    local pids=()
    for i in $(seq 1 $NODES); do
        node_start "$dir" "$i" &
        pids+=($!)
    done
    local started=0
    for i in "${pids[@]}"; do wait "$i" || started=1; done
    ((started == 0)) || { log "a node did not start"; return 1; }
    for i in $(seq 1 $NODES); do
        [[ -s "$(node_dir "$dir" "$i")/os.pid" ]] || { log "node $i did not start"; return 1; }
    done
    first="$(node_name "$dir" 1)"
    for i in $(seq 2 $NODES); do
        ctl "$dir" "$i" -q stop_app >/dev/null 2>&1
        ctl "$dir" "$i" -q join_cluster "$first" >/dev/null 2>&1 || { log "node $i could not join $first"; return 1; }
        ctl "$dir" "$i" -q start_app >/dev/null 2>&1
    done
    ctl "$dir" 1 -q await_startup >/dev/null
}

stop_nodes() { # DIR: kill every node of DIR (booted or half-booted) and remove its files
    local dir=$1 i pid
    for i in $(seq 1 $NODES); do
        [[ -f "$(node_dir "$dir" "$i")/name" ]] || continue
        node_kill "$dir" "$i"
        # A node interrupted while booting has no os.pid yet, but RabbitMQ's own pid file.
        pid="$(cat "$(node_dir "$dir" "$i")/mnesia/rabbit.pid" "$(node_dir "$dir" "$i")/rabbit.pid" 2>/dev/null | head -n 1 || true)"
        [[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null || true
        rm -rf "$(node_dir "$dir" "$i")"
    done
}

# ----------------------------------------------------------------------------- PostgreSQL

pg_ctl_() { as_postgres "$PG_BIN/pg_ctl" -D "$1/pg/data" -l "$1/pg/log" "${@:2}"; }

start_postgres() { # DIR
    local dir=$1 port
    free_port
    port=$FREE_PORT
    mkdir -p "$dir/pg"
    echo "$port" >"$dir/pg/port"
    chown -R postgres:postgres "$dir/pg"
    as_postgres "$PG_BIN/initdb" -D "$dir/pg/data" -U postgres --auth=trust -E UTF8 >/dev/null
    cat >>"$dir/pg/data/postgresql.conf" <<EOF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/pg'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    pg_ctl_ "$dir" -w -t 60 start >/dev/null
}

# ------------------------------------------------------------------------ whole lifecycle

# hexactor processes a chaos test started carry CHAOS_SERVICES_DIR=<dir> in their environment.
# A test process killed outright (a timeout) cannot reap them: they are found by that marker and
# killed by pid, before the services they talk to go away.
kill_marked_processes() { # DIR
    local environ pid
    for environ in /proc/[0-9]*/environ; do
        pid="${environ#/proc/}"
        pid="${pid%/environ}"
        [[ "$pid" == "$$" ]] && continue
        if { tr '\0' '\n' <"$environ"; } 2>/dev/null | grep -qxF "CHAOS_SERVICES_DIR=$1" &&
            [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == */hexactor ]]; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
}

stop_all() { # DIR: remove everything; safe to call twice and on a half-started DIR
    local dir=$1 i
    [[ -d "$dir" ]] || return 0
    kill_marked_processes "$dir"
    stop_nodes "$dir"
    if [[ -f "$dir/pg/data/postmaster.pid" ]]; then
        pg_ctl_ "$dir" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

clean_stale() {
    local dir owner
    for dir in "$STATE_PREFIX"*; do
        [[ -d "$dir" ]] || continue
        owner="$(cat "$dir/owner.pid" 2>/dev/null || echo 0)"
        if [[ "$owner" -gt 0 ]] && kill -0 "$owner" 2>/dev/null; then continue; fi
        log "removing the private services of a run that died: $dir"
        stop_all "$dir"
    done
}

run() {
    [[ "$(id -u)" -eq 0 ]] || die "must run as root (it starts RabbitMQ as 'rabbitmq' and PostgreSQL as 'postgres')"
    [[ -x "$RABBIT_BIN/rabbitmq-server" ]] || die "rabbitmq-server is not installed"
    [[ -x "$PG_BIN/initdb" ]] || die "the PostgreSQL server (initdb) is not installed"
    clean_stale
    local dir
    dir="$(mktemp -d "${STATE_PREFIX}XXXXXX")"
    chmod 755 "$dir"
    echo $$ >"$dir/owner.pid"
    trap 'stop_all "'"$dir"'"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    local t=$SECONDS
    start_postgres "$dir" &
    local pg=$!
    # A node that does not boot (seen once, on a machine busy installing packages) costs one more
    # try with fresh ports and directories, not the whole chaos run.
    if ! start_cluster "$dir"; then
        log "the RabbitMQ cluster did not come up; trying once more"
        stop_nodes "$dir"
        start_cluster "$dir" || die "the RabbitMQ cluster did not come up twice"
    fi
    wait "$pg" || die "PostgreSQL did not start (log in $dir/pg/log)"
    local urls="" names="" i status
    for i in $(seq 1 $NODES); do
        urls+="${urls:+,}amqp://guest:guest@127.0.0.1:$(cat "$(node_dir "$dir" "$i")/port")/%2f"
        names+="${names:+,}$(node_name "$dir" "$i")"
    done
    log "3-node RabbitMQ cluster and PostgreSQL up in $((SECONDS - t)) s ($dir)"
    # guest may only log in from localhost, which is where the nodes listen.
    CHAOS_SERVICES_DIR="$dir" CHAOS_SERVICES_SCRIPT="$SCRIPT" CHAOS_RABBITMQ_URLS="$urls" \
        CHAOS_RABBIT_NODES="$names" \
        CHAOS_DATABASE_BASE_URL="postgres://postgres@127.0.0.1:$(cat "$dir/pg/port")" \
        "$@" || status=$?
    # A node that could not read its working directory says so in its log (see as_rabbitmq).
    if grep -l 'eacces' "$dir"/rabbit*/log/*.log >&2 2>/dev/null; then
        log "ERROR: a RabbitMQ node logged eacces (files above); it must run from a directory it can read"
        status=${status:-1}
    fi
    return "${status:-0}"
}

cmd="${1:-}"
shift || true
case "$cmd" in
    run) [[ $# -gt 0 ]] || die "run needs a command"; run "$@" ;;
    clean-stale) clean_stale ;;
    node)
        dir=$1 i=$2 op=$3
        shift 3
        case "$op" in
            start) node_start "$dir" "$i" ;;
            stop) node_stop "$dir" "$i" ;;
            kill) node_kill "$dir" "$i" ;;
            stop_app | start_app) ctl "$dir" "$i" -q "$op" ;;
            ctl) ctl "$dir" "$i" "$@" ;;
            *) die "unknown node operation: $op" ;;
        esac
        ;;
    pg)
        dir=$1 op=$2
        shift 2
        case "$op" in
            restart) pg_ctl_ "$dir" -m fast -w -t 60 restart >/dev/null ;;
            ctl) pg_ctl_ "$dir" "$@" ;;
            *) die "unknown pg operation: $op" ;;
        esac
        ;;
    *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
