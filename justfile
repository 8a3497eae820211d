# thanos-rs tasks. `just --list` shows them.

# Two Prometheus 2.42 replicas with sidecars, a bucket, thanos-store and thanos-query over demo history.
# Local demo stack at http://localhost:8080/thanos (Ctrl-C stops it); `just demo s3` uses an S3 bucket.
demo bucket="fs":
    exec python3 scripts/demo/demo.py {{bucket}}

# Run every test exactly as CI does (installs promtool/prometheus and s3s-fs if missing).
test:
    bash .ci/run

# fmt check and clippy, as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Benchmarks, printed not asserted: chunks, index, promtool, PromQL, querier and sidecar vs Prometheus 2.42.
bench:
    cargo bench -p tsdb-format
    cargo bench -p thanos-tools --bench vs_promtool
    cargo bench -p promql --bench range_query
    cargo build --release -p thanos-store --bin thanos-store
    cargo test -p thanos-query --release --test bench_vs_prometheus -- --ignored --nocapture
    cargo test -p thanos-sidecar --release --test bench_vs_prometheus -- --ignored --nocapture

# Release build of every binary.
build:
    cargo build --release --workspace
