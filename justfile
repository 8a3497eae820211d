# thanos-rs tasks. `just --list` shows them.

# Run every test exactly as CI does (installs promtool/prometheus and s3s-fs if missing).
test:
    bash .ci/run

# fmt check and clippy, as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Benchmarks (criterion; printed, not asserted): XOR chunk encode/decode, index lookups.
bench:
    cargo bench -p tsdb-format

# Release build of every binary.
build:
    cargo build --release --workspace
