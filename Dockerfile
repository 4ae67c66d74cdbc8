# hexactor container image: `hexactor serve` by default; `worker` and `migrate` via the command.
#
#   docker build -t hexactor:local .
#   docker run --rm -p 8000:8000 -e DATABASE_URL=... -e RABBITMQ_URL=... hexactor:local
#   docker run --rm hexactor:local migrate

# ---------------------------------------------------------------- build
FROM rust:1.95-bookworm AS builder
WORKDIR /app
# sqlx's query macros must not reach for a database at build time: with SQLX_OFFLINE they use the
# prepared data in .sqlx/ (cargo sqlx prepare) if the code has any.
ENV CARGO_TERM_COLOR=never \
    SQLX_OFFLINE=true

# 1) Dependencies only. Stub targets with the real manifests and lock file compile every
#    dependency into a layer that is reused until Cargo.toml / Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
COPY actors/Cargo.toml actors/Cargo.toml
RUN mkdir -p src actors/src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs actors/src/lib.rs \
    && cargo build --release --locked --bin hexactor \
    && rm -rf src actors/src

# 2) The real sources (.dockerignore keeps target/, .git and the like out). The touch makes
#    cargo rebuild the workspace crates even if the copied files are older than the stubs.
COPY . .
RUN touch src/main.rs src/lib.rs actors/src/lib.rs \
    && cargo build --release --locked --bin hexactor \
    && strip target/release/hexactor

# ---------------------------------------------------------------- runtime
FROM debian:bookworm-slim
# ca-certificates for TLS to managed PostgreSQL/RabbitMQ; curl for the compose healthchecks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 hexactor \
    && useradd --system --uid 10001 --gid hexactor --home-dir /app --shell /usr/sbin/nologin hexactor
WORKDIR /app
COPY --from=builder /app/target/release/hexactor /usr/local/bin/hexactor
# No migrations/ directory is copied: `sqlx::migrate!` embeds the SQL files in the binary at
# compile time, so `hexactor migrate` needs nothing beside the executable.
USER hexactor:hexactor
ENV HOST=0.0.0.0 \
    PORT=8000 \
    WORKER_PORT=8001 \
    LOG_FORMAT=json
# 8000: HTTP API (serve); 8001: worker ops endpoints /health /ready /metrics (worker).
EXPOSE 8000 8001
# One probe for every role the image runs: the API answers /health on PORT, a worker on
# WORKER_PORT. (A one-shot `migrate` container exits before the first probe.) Liveness only:
# /ready is for load balancers, and a worker whose broker is away must not be restarted for it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:${PORT}/health" \
     || curl -fsS -o /dev/null "http://127.0.0.1:${WORKER_PORT}/health" \
     || exit 1
ENTRYPOINT ["hexactor"]
CMD ["serve"]
