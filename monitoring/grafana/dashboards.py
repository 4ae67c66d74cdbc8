#!/usr/bin/env python3
"""Generates the five provisioned Grafana dashboards in monitoring/grafana/dashboards/.

The JSON files are committed (Grafana provisions them as they are); this script is how they are
written, so that every panel gets the same datasource reference, a unit, a description and a
valid grid position. Edit here, run `python3 monitoring/grafana/dashboards.py`, commit both.
tests/monitoring.rs lints the JSON and evaluates every expression against a live Prometheus.
"""

import json
import pathlib

DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
RI = "$__rate_interval"
OUT = pathlib.Path(__file__).parent / "dashboards"


def panel(title, description, unit, exprs, kind="timeseries", width=12, legends=None):
    exprs = [exprs] if isinstance(exprs, str) else exprs
    legends = legends or [""] * len(exprs)
    p = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": e, "legendFormat": l}
            for i, (e, l) in enumerate(zip(exprs, legends))
        ],
        "_w": width,
    }
    if kind == "stat":
        p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "value"}
    else:
        p["options"] = {"legend": {"displayMode": "table", "placement": "bottom"}}
    return p


def stat(title, description, unit, expr):
    return panel(title, description, unit, expr, kind="stat", width=4)


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "_w": 24}


def layout(items):
    """Left to right, top to bottom; a row starts a new line."""
    x = y = line_h = 0
    panel_id = 1
    for p in items:
        w = p.pop("_w")
        h = 1 if p["type"] == "row" else (4 if p["type"] == "stat" else 8)
        if x + w > 24 or p["type"] == "row":
            x, y = 0, y + line_h
            line_h = 0
        p["gridPos"] = {"x": x, "y": y, "w": w, "h": h}
        p["id"] = panel_id
        panel_id += 1
        x += w
        line_h = max(line_h, h)
        if p["type"] == "row":
            x, y, line_h = 0, y + h, 0
    return items


def variable(name, label, query):
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": {"query": query, "refId": name},
        "definition": query,
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {"text": "All", "value": "$__all"},
        "sort": 1,
    }


def dashboard(uid, title, description, panels, variables=()):
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["hexactor"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": list(variables)},
        "links": [{"type": "dashboards", "tags": ["hexactor"], "asDropdown": True, "title": "hexactor"}],
        "panels": layout(panels),
    }


def rate(metric, by="", matchers=""):
    grouping = f"sum by ({by}) " if by else "sum "
    return f"{grouping}(rate({metric}{{{matchers}}}[{RI}]))"


def quantile(q, metric, by, matchers=""):
    return f"histogram_quantile({q}, sum by ({by}, le) (rate({metric}_bucket{{{matchers}}}[{RI}])))"


HTTP5XX = 'status_code=~"5.."'

overview = dashboard(
    "hexactor-overview",
    "hexactor / Service overview",
    "RED per endpoint: request rate, errors, duration. endpoint is the route template.",
    [
        stat("Requests/s", "HTTP requests per second, every endpoint.", "reqps", rate("http_requests_total")),
        stat("5xx ratio", "Share of requests answered with a 5xx status.", "percentunit",
             f"(sum(rate(http_requests_total{{{HTTP5XX}}}[{RI}])) or vector(0)) / sum(rate(http_requests_total[{RI}]))"),
        stat("p95 latency", "95th percentile of request duration, every endpoint.", "s",
             f"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[{RI}])))"),
        stat("In progress", "Requests being served right now.", "short", "sum(http_requests_in_progress)"),
        stat("Application errors/s", "Errors that were not the client's fault (5xx, transient worker failures, poison).",
             "ops", rate("application_errors_total")),
        stat("Targets up", "hexactor processes Prometheus can scrape.", "short", 'sum(up{job=~"hexactor-.*"})'),
        row("Rate, errors, duration per endpoint"),
        panel("Requests/s by endpoint and status", "Rate by route template and status code.", "reqps",
              rate("http_requests_total", "endpoint, status_code"), legends=["{{endpoint}} {{status_code}}"]),
        panel("5xx ratio by endpoint", "Share of each endpoint's requests answered 5xx (0 when none).", "percentunit",
              f"(sum by (endpoint) (rate(http_requests_total{{{HTTP5XX}}}[{RI}])) or 0 * sum by (endpoint) (rate(http_requests_total[{RI}]))) / sum by (endpoint) (rate(http_requests_total[{RI}]))",
              legends=["{{endpoint}}"]),
        panel("Latency p50 / p95 / p99 by endpoint", "Request duration quantiles per route template.", "s",
              [quantile(q, "http_request_duration_seconds", "endpoint") for q in (0.5, 0.95, 0.99)],
              legends=["p50 {{endpoint}}", "p95 {{endpoint}}", "p99 {{endpoint}}"]),
        panel("Requests in progress by instance", "Concurrent requests per process.", "short",
              "sum by (instance) (http_requests_in_progress)", legends=["{{instance}}"]),
        panel("Application errors/s by type and component", "What failed on our side, and where.", "ops",
              rate("application_errors_total", "error_type, component"), legends=["{{component}} {{error_type}}"]),
        panel("Resident memory", "RSS of each hexactor process.", "bytes",
              'process_resident_memory_bytes{job=~"hexactor-.*"}', legends=["{{job}} {{instance}}"]),
    ],
)

ACTOR = 'instance=~"$instance", actor=~"$actor"'
actors = dashboard(
    "hexactor-actors",
    "hexactor / Actors",
    "Per-actor throughput, handling time, mailboxes, restarts and stalls. Filter with $instance and $actor.",
    [
        panel("Messages/s by actor and outcome", "Messages handled (ok, error, panic).", "ops",
              rate("actor_messages_total", "actor, outcome", ACTOR), legends=["{{actor}} {{outcome}}"]),
        panel("Handling time p50 / p99 by actor", "From handler start to reply (async part included).", "s",
              [quantile(q, "actor_message_duration_seconds", "actor", ACTOR) for q in (0.5, 0.99)],
              legends=["p50 {{actor}}", "p99 {{actor}}"]),
        panel("Mailbox depth by actor", "Messages sent but not yet handled.", "short",
              f"sum by (actor) (actor_mailbox_depth{{{ACTOR}}})", legends=["{{actor}}"]),
        panel("Time in mailbox p99 by actor", "How long messages wait before their handler runs.", "s",
              quantile(0.99, "actor_mailbox_wait_seconds", "actor", ACTOR), legends=["{{actor}}"]),
        panel("Restarts by actor and reason", "Supervisor restarts in each interval (panic, error, stall).", "short",
              f"sum by (actor, reason) (increase(actor_restarts_total{{{ACTOR}}}[{RI}]))",
              legends=["{{actor}} {{reason}}"]),
        panel("Stalls by actor", "Messages that stayed in their handler past ACTOR_STALL_MS.", "short",
              f"sum by (actor) (increase(actor_stalls_total{{{ACTOR}}}[{RI}]))", legends=["{{actor}}"]),
        panel("Running instances by actor", "Live actor instances per type.", "short",
              f"sum by (actor) (actor_instances{{{ACTOR}}})", legends=["{{actor}}"]),
        panel("Supervisor escalations", "Restart intensity exceeded, per supervisor.", "short",
              f'sum by (supervisor) (increase(supervisor_escalations_total{{instance=~"$instance"}}[{RI}]))',
              legends=["{{supervisor}}"]),
    ],
    variables=[
        variable("instance", "instance", 'label_values(actor_instances{job=~"hexactor-.*"}, instance)'),
        variable("actor", "actor", 'label_values(actor_instances{instance=~"$instance"}, actor)'),
    ],
)

messaging = dashboard(
    "hexactor-messaging",
    "hexactor / Messaging",
    "RabbitMQ as hexactor sees it: connection, queues and DLQs, retries by tier, confirms, consumers.",
    [
        stat("AMQP connection", "1 while every process holds its broker connection.", "short", "min(amqp_connection_up)"),
        stat("Dead letters waiting", "Messages in the dead-letter queues.", "short",
             'sum(max by (queue) (queue_depth{queue=~".*\\\\.dlq"}))'),
        stat("Consumers paused", "Consumers paused by their circuit breaker.", "short", "sum(amqp_consumer_paused)"),
        stat("Outbox backlog", "Outbox rows not yet published.", "short", "max(outbox_backlog)"),
        stat("Oldest outbox row", "Age of the oldest unpublished outbox row.", "s", "max(outbox_oldest_age_seconds)"),
        stat("Reconnects (range)", "Broker reconnections in the time range.", "short",
             "sum(increase(amqp_reconnects_total[$__range]))"),
        panel("Queue depth: work and event queues", "Messages ready in each work queue (passive declare).", "short",
              'max by (queue) (queue_depth{queue!~".*\\\\.(dlq|retry\\\\..*)"})', legends=["{{queue}}"]),
        panel("Dead-letter queue depth", "Messages waiting in each DLQ; the DLQ alert fires on this.", "short",
              'max by (queue) (queue_depth{queue=~".*\\\\.dlq"})', legends=["{{queue}}"]),
        panel("Retry tiers: depth", "Messages parked in each delayed-retry tier.", "short",
              'max by (queue) (queue_depth{queue=~".*\\\\.retry\\\\..*"})', legends=["{{queue}}"]),
        panel("Retries and dead letters/s by queue", "Deliveries sent to a retry tier or to the DLQ.", "ops",
              rate("amqp_deliveries_total", "queue, outcome", 'outcome=~"retry|dead_letter"'),
              legends=["{{queue}} {{outcome}}"]),
        panel("Deliveries/s by queue and outcome", "Consumed deliveries (ack, retry, dead_letter, requeue).", "ops",
              rate("amqp_deliveries_total", "queue, outcome"), legends=["{{queue}} {{outcome}}"]),
        panel("Publisher confirms/s by outcome", "Publishes confirmed, nacked or failed.", "ops",
              rate("amqp_published_total", "outcome"), legends=["{{outcome}}"]),
        panel("Publishes/s by destination", "Confirmed publishes per exchange or queue.", "ops",
              rate("messages_published_total", "queue", 'status="confirmed"'), legends=["{{queue}}"]),
        panel("Connection up and reconnects", "Connection state per process, and reconnections.", "short",
              ["amqp_connection_up", f"sum by (instance) (increase(amqp_reconnects_total[{RI}]))"],
              legends=["up {{instance}}", "reconnects {{instance}}"]),
        panel("Consumers running and paused",
              "Subscribed consumers per process; paused ones by queue; subscriptions started again (cancelled by "
              "the broker, or renewed after a quiet spell).", "short",
              ["sum by (job, instance) (amqp_consumers_running)", "max by (queue) (amqp_consumer_paused)",
               f"sum by (queue, reason) (increase(amqp_subscriptions_restarted_total[{RI}]))"],
              legends=["running {{job}} {{instance}}", "paused {{queue}}", "restarted {{queue}} {{reason}}"]),
        panel("Outbox backlog and publish rate", "Rows waiting, and rows published per second.", "short",
              ["max(outbox_backlog)", f"sum(rate(outbox_published_total[{RI}]))"], legends=["backlog", "published/s"]),
    ],
)

business = dashboard(
    "hexactor-business",
    "hexactor / Business",
    "What users do: registrations, logins by outcome, tokens, active users, account changes.",
    [
        stat("Active users", "Accounts not deactivated (sampled from PostgreSQL).", "short", "max(active_users_total)"),
        stat("Registrations (range)", "Successful registrations in the time range.", "short",
             'sum(increase(user_operations_total{operation="register", status="success"}[$__range]))'),
        stat("Logins (range)", "Successful logins in the time range.", "short",
             'sum(increase(auth_attempts_total{status="success"}[$__range]))'),
        stat("Failed logins (range)", "Invalid or locked login attempts in the time range.", "short",
             'sum(increase(auth_attempts_total{status!="success"}[$__range]))'),
        stat("Tokens issued (range)", "Access tokens issued (login and refresh).", "short",
             "sum(increase(jwt_tokens_issued_total[$__range]))"),
        stat("Command failure ratio", "Share of finished commands rejected (duplicates, stale versions).", "percentunit",
             f'sum(rate(commands_total{{status="failed"}}[{RI}])) / sum(rate(commands_total{{status=~"succeeded|failed"}}[{RI}]))'),
        panel("Registrations/s by status", "Registrations applied by workers.", "ops",
              rate("user_operations_total", "status", 'operation="register"'), legends=["{{status}}"]),
        panel("Logins/s by outcome", "Login attempts: success, invalid, locked.", "ops",
              rate("auth_attempts_total", "status"), legends=["{{status}}"]),
        panel("Tokens issued/s", "Access tokens signed.", "ops",
              f"sum(rate(jwt_tokens_issued_total[{RI}]))", legends=["tokens"]),
        panel("Active users over time", "Accounts not deactivated, sampled from PostgreSQL.", "short", "max(active_users_total)", legends=["active"]),
        panel("Account changes/s by operation and status", "Updates, deactivations, password changes.", "ops",
              rate("user_operations_total", "operation, status", 'operation!="register"'),
              legends=["{{operation}} {{status}}"]),
        panel("Domain events published/s", "UserCreated/Updated/Deactivated published to the event exchange.", "ops",
              rate("messages_published_total", "queue", 'queue=~".+\\\\.events", status="confirmed"'),
              legends=["{{queue}}"]),
        panel("Commands/s by type and status", "Accepted by the API, succeeded or failed in a worker.", "ops",
              rate("commands_total", "type, status"), legends=["{{type}} {{status}}"]),
        panel("Queries/s by type and status", "Reads answered by repository actors.", "ops",
              rate("query_processing_total", "query_type, status"), legends=["{{query_type}} {{status}}"]),
    ],
)

database = dashboard(
    "hexactor-database",
    "hexactor / Database",
    "PostgreSQL from the service's side: pool use, checkout wait, operations and their latency.",
    [
        stat("Connections in use", "Pool connections checked out, all processes.", "short", "sum(db_connections_active)"),
        stat("Connections idle", "Pool connections open and idle, all processes.", "short", "sum(db_pool_connections_idle)"),
        stat("Checkout wait p95", "95th percentile of a probe's wait for a pool connection.", "s",
             f"histogram_quantile(0.95, sum by (le) (rate(db_pool_acquire_seconds_bucket[{RI}])))"),
        stat("DB operations/s", "Repository operations per second.", "ops", rate("db_operations_total")),
        stat("DB failure ratio", "Share of database operations that failed.", "percentunit",
             f'sum(rate(db_operations_total{{status="failure"}}[{RI}])) / sum(rate(db_operations_total[{RI}]))'),
        stat("Open connections", "Pool connections open, all processes.", "short", "sum(db_pool_connections)"),
        panel("Pool connections by instance", "In use, idle and open per process.", "short",
              ["sum by (instance) (db_connections_active)", "sum by (instance) (db_pool_connections_idle)",
               "sum by (instance) (db_pool_connections)"],
              legends=["in use {{instance}}", "idle {{instance}}", "open {{instance}}"]),
        panel("Checkout wait p50 / p99", "How long a connection checkout waits (periodic probe).", "s",
              [f"histogram_quantile({q}, sum by (instance, le) (rate(db_pool_acquire_seconds_bucket[{RI}])))"
               for q in (0.5, 0.99)], legends=["p50 {{instance}}", "p99 {{instance}}"]),
        panel("Operations/s by operation and table", "Database operations per port message.", "ops",
              rate("db_operations_total", "operation, table"), legends=["{{operation}} {{table}}"]),
        panel("Latency p95 by operation and table", "Operation duration, pool checkout included.", "s",
              quantile(0.95, "db_operation_duration_seconds", "operation, table"),
              legends=["{{operation}} {{table}}"]),
        panel("Failures/s by table", "Database operations that returned an error.", "ops",
              rate("db_operations_total", "table", 'status="failure"'), legends=["{{table}}"]),
        panel("Outbox rows waiting", "Unpublished outbox rows and the oldest one's age.", "short",
              ["max(outbox_backlog)", "max(outbox_oldest_age_seconds)"], legends=["rows", "oldest (s)"]),
    ],
)

if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    for name, d in [("overview", overview), ("actors", actors), ("messaging", messaging),
                    ("business", business), ("database", database)]:
        (OUT / f"{name}.json").write_text(json.dumps(d, indent=2) + "\n")
        print(f"wrote {OUT / (name + '.json')}")
