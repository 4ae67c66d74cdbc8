# hexactor: developer and CI entry points. `make` alone lists the targets.
#
# Every target that talks to PostgreSQL or RabbitMQ first runs `scripts/services.sh up`, which
# is idempotent and quick when both are already listening, so targets can be run in any order
# on a fresh machine.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
COMPOSE_FILE ?= docker-compose.yml
CHAOS_COMMANDS ?= 10000
CHAOS_ROUNDS ?= 3

# Export the variables of .env (if there is one) into the recipe's shell. Without .env the
# binary's built-in defaults apply (see .env.example).
LOAD_ENV := set -a; if [ -f .env ]; then . ./.env; fi; set +a

.PHONY: help services screenshots bench-tools clean-test-resources build run migrate test bench bench-profile chaos \
        fmt lint deny ci compose-check monitoring-check contract clean

help: ## List the targets
	@echo "hexactor make targets:"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN { FS = ":.*## " } { printf "  %-22s %s\n", $$1, $$2 }'

services: ## Ensure PostgreSQL + RabbitMQ are up, the database exists, cargo-nextest is installed
	@$(LOAD_ENV); scripts/services.sh up

bench-tools: ## Ensure the benchmark tools (wrk, valgrind) are installed
	@scripts/services.sh bench-tools

clean-test-resources: ## Drop leftover hexactor_test_* databases and test_* queues/exchanges
	@scripts/clean-test-resources.sh
	@scripts/chaos-services.sh clean-stale

build: ## Debug build of the whole workspace
	$(CARGO) build --workspace

run: services ## Run API + worker in one process (hexactor dev) with .env or defaults
	@$(LOAD_ENV); exec $(CARGO) run --bin hexactor -- dev

migrate: services ## Apply the sqlx migrations in migrations/
	@$(LOAD_ENV); $(CARGO) run --bin hexactor -- migrate

# Leftovers of an interrupted run are removed first so they cannot collide with or slow down
# this one (in the recipe, not as a prerequisite, so that `make -j` cannot run it before the
# services are up). nextest runs each test in its own process (see .config/nextest.toml for the
# timeouts and the serial group); plain cargo test is only the fallback.
#
# The chaos tests (tests/chaos.rs, names chaos_*) kill and restart RabbitMQ nodes and PostgreSQL:
# private ones, a 3-node cluster and an instance that scripts/chaos-services.sh starts for the run
# and removes after it (the services on 5672/5432 are never touched). They run in a second
# invocation, one at a time. Both invocations always run; then the leftover check fails the
# target if any test_* queue/exchange or hexactor_test_* database remains on the shared services.
#
# Tests named `timing_*` compare response times of cases that must be indistinguishable (login
# for unknown vs known accounts, password-reset requests): they run in an invocation of their
# own, one at a time, so that the rest of the suite cannot load one case more than another.
CHAOS_TEST_COMMANDS ?= 1000
test: services ## Run the whole test suite, then the chaos tests serially (nextest; cargo test if missing)
	@scripts/clean-test-resources.sh
	@$(LOAD_ENV); \
	if $(CARGO) nextest --version >/dev/null 2>&1; then \
		status=0; \
		$(CARGO) nextest run --workspace --no-fail-fast -E 'not test(/^chaos_|^[a-z_]+::timing_/)' || status=$$?; \
		$(CARGO) nextest run --workspace --no-fail-fast --test-threads 1 -E 'test(/::timing_/)' || status=$$?; \
		CHAOS_COMMANDS=$${CHAOS_COMMANDS:-$(CHAOS_TEST_COMMANDS)} CHAOS_ROUNDS=$${CHAOS_ROUNDS:-1} \
			scripts/chaos-services.sh run \
			$(CARGO) nextest run --workspace --no-fail-fast --test-threads 1 -E 'test(/^chaos_/)' || status=$$?; \
		scripts/clean-test-resources.sh --check || status=$$?; \
		exit $$status; \
	else \
		echo "==> cargo-nextest unavailable, falling back to cargo test"; \
		$(CARGO) test --workspace -- --skip chaos_ --skip ::timing_; \
		$(CARGO) test --workspace -- ::timing_ --test-threads 1; \
		CHAOS_COMMANDS=$${CHAOS_COMMANDS:-$(CHAOS_TEST_COMMANDS)} scripts/chaos-services.sh run \
			$(CARGO) test --test chaos -- --test-threads 1; \
		scripts/clean-test-resources.sh --check; \
	fi

# The benchmark must measure optimised code, hence the release build before scripts/bench.sh.
# bench-tools runs in the recipe, after services, so two apt-get runs can never overlap.
# The README's page screenshots, from the browser tests (which write every page at 1280 and 360 px).
screenshots: services ## Refresh docs/pages/*.png from the browser tests' screenshots
	@$(LOAD_ENV); $(CARGO) nextest run --test api -E 'test(/^pages::flows::/)'
	@mkdir -p docs/pages
	@for page in sign-in account admin-users; do cp target/page-screenshots/$$page-1280.png docs/pages/$$page.png; done
	@echo "==> docs/pages/ refreshed"

bench: services ## Release build, then the benchmark suite (docs/benchmarks.md; BENCH_QUICK=1: ~2 min)
	@scripts/services.sh bench-tools
	$(CARGO) build --release --bins --examples
	@$(LOAD_ENV); bash scripts/bench.sh

bench-profile: services ## Release build, then callgrind on the API and a worker under write load (docs/profile/)
	@scripts/services.sh bench-tools
	$(CARGO) build --release --bins --examples
	@$(LOAD_ENV); bash scripts/bench.sh --profile

# The same chaos scenarios as `make test`, heavier: CHAOS_COMMANDS registrations per fault round
# and CHAOS_ROUNDS faults per scenario (repeated node kills, restarts, lockouts). Release mode,
# because of the load; one test at a time, on the private cluster of scripts/chaos-services.sh.
chaos: services ## Run the chaos scenarios heavier, in release mode (CHAOS_COMMANDS=10000, CHAOS_ROUNDS=3)
	@scripts/clean-test-resources.sh
	@$(LOAD_ENV); \
	CHAOS_COMMANDS=$(CHAOS_COMMANDS) CHAOS_ROUNDS=$(CHAOS_ROUNDS) scripts/chaos-services.sh run \
		$(CARGO) nextest run --release --no-fail-fast --test-threads 1 -E 'test(/^chaos_/)'

fmt: ## Format all code
	$(CARGO) fmt --all

lint: ## rustfmt check + clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# cargo-deny's advisory database is a git repository on GitHub. A machine that cannot reach it
# (this project's build machines reach only the package registries) still checks bans, licences
# and sources, and says loudly that advisories were not checked; it never pretends they passed.
deny: ## cargo-deny: advisories (when the database is reachable), bans, licences, sources (deny.toml)
	@if ! $(CARGO) deny --version >/dev/null 2>&1; then \
		echo "==> installing cargo-deny (first time only, a few minutes)"; \
		$(CARGO) install cargo-deny --locked --quiet; \
	fi
	@if timeout 60 $(CARGO) deny --color never fetch db >/dev/null 2>&1; then \
		$(CARGO) deny --color never check --hide-inclusion-graph; \
	else \
		echo "==> cargo-deny: advisory database unreachable: ADVISORIES NOT CHECKED (bans, licences, sources are)"; \
		$(CARGO) deny --color never check --hide-inclusion-graph bans licenses sources; \
	fi

ci: ## What CI runs: format, clippy, cargo-deny, the whole test suite, then the API contract
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory deny
	@$(MAKE) --no-print-directory test
	@$(MAKE) --no-print-directory contract

# No Docker engine is needed to validate the file: Debian's docker-compose (v1.29) parses and
# interpolates it. It is installed on demand because it is only needed here.
compose-check: ## Validate docker-compose.yml and its cluster overlay (installs Debian's docker-compose if missing)
	@if ! command -v docker-compose >/dev/null 2>&1; then \
		echo "==> installing docker-compose (Debian package)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; \
	fi
	GRAFANA_ADMIN_PASSWORD=$${GRAFANA_ADMIN_PASSWORD:-compose-check} docker-compose -f $(COMPOSE_FILE) config -q
	GRAFANA_ADMIN_PASSWORD=$${GRAFANA_ADMIN_PASSWORD:-compose-check} \
		docker-compose -f $(COMPOSE_FILE) -f docker-compose.cluster.yml config -q
	@echo "==> $(COMPOSE_FILE) (alone and with docker-compose.cluster.yml) is valid"

monitoring-check: ## promtool-check the Prometheus config/rules, run every PromQL query, lint the dashboards
	@monitoring/check.sh

contract: services ## schemathesis (every check, stateful included) against the built binary: 0 failures
	@scripts/schemathesis.sh

clean: ## Remove build artefacts (target/)
	$(CARGO) clean
