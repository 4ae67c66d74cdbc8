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

.PHONY: help services bench-tools clean-test-resources build run migrate test bench chaos \
        fmt lint compose-check monitoring-check clean

help: ## List the targets
	@echo "hexactor make targets:"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN { FS = ":.*## " } { printf "  %-22s %s\n", $$1, $$2 }'

services: ## Ensure PostgreSQL + RabbitMQ are up, the database exists, cargo-nextest is installed
	@$(LOAD_ENV); scripts/services.sh up

bench-tools: ## Ensure the benchmark tools (wrk) are installed
	@scripts/services.sh bench-tools

clean-test-resources: ## Drop leftover hexactor_test_* databases and test_* queues/exchanges
	@scripts/clean-test-resources.sh

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
test: services ## Run the whole test suite (nextest; cargo test if missing)
	@scripts/clean-test-resources.sh
	@$(LOAD_ENV); \
	if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --no-fail-fast; \
	else \
		echo "==> cargo-nextest unavailable, falling back to cargo test"; \
		$(CARGO) test --workspace; \
	fi

# The benchmark must measure optimised code, hence the release build before scripts/bench.sh.
# bench-tools runs in the recipe, after services, so two apt-get runs can never overlap.
bench: services ## Release build, then scripts/bench.sh (wrk against a local server)
	@scripts/services.sh bench-tools
	$(CARGO) build --release
	@$(LOAD_ENV); bash scripts/bench.sh

# The chaos suite is #[ignore]d so that `make test` stays fast; it runs in release mode because
# it pushes CHAOS_COMMANDS commands per round.
chaos: services ## Run the ignored chaos suite in release mode (CHAOS_COMMANDS, CHAOS_ROUNDS)
	@$(LOAD_ENV); \
	CHAOS_COMMANDS=$(CHAOS_COMMANDS) CHAOS_ROUNDS=$(CHAOS_ROUNDS) \
		$(CARGO) nextest run --release --run-ignored only -E 'binary(chaos)'

fmt: ## Format all code
	$(CARGO) fmt --all

lint: ## rustfmt check + clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# No Docker engine is needed to validate the file: Debian's docker-compose (v1.29) parses and
# interpolates it. It is installed on demand because it is only needed here.
compose-check: ## Validate docker-compose.yml (installs Debian's docker-compose if missing)
	@if ! command -v docker-compose >/dev/null 2>&1; then \
		echo "==> installing docker-compose (Debian package)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; \
	fi
	docker-compose -f $(COMPOSE_FILE) config -q
	@echo "==> $(COMPOSE_FILE) is valid"

monitoring-check: ## promtool-check the Prometheus config/rules, run every PromQL query, lint the dashboard
	@monitoring/check.sh

clean: ## Remove build artefacts (target/)
	$(CARGO) clean
