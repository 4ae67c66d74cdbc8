#!/usr/bin/env bash
# `make bench` entry point: checks the release binaries are there, then runs scripts/bench/bench.py
# (what is measured and how: see its docstring and docs/benchmarks.md). BENCH_QUICK=1 for the
# ~2-minute version; scripts/bench/profile.sh is the callgrind profile (make bench-profile).
set -euo pipefail
cd "$(dirname "$0")/.."

for bin in target/release/hexactor target/release/examples/bare_read target/release/examples/bcrypt_capacity; do
    [[ -x "$bin" ]] || { cargo build --release --bins --examples; break; }
done
exec python3 scripts/bench/bench.py "$@"
