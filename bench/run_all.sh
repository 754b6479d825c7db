#!/usr/bin/env bash
# Runs the benchmark suite (bench/bench.py; options: bench/bench.py --help) against the
# release build in build-bench, and writes the markdown table to build-bench/bench-results.md.
# ./dev bench installs nginx, wrk and prometheus-blackbox-exporter and builds first.
# Everything on 127.0.0.1; every server and prober this starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# 5,000 runs in flight and wrk -c 5000 need file descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
pid=
# (An if, not `[ -n "$pid" ] && ...`: under set -e a trap's false test made the exit status 1
# even when every target passed.)
stop() {
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}
trap stop EXIT
trap 'stop; exit 130' INT TERM
python3 bench/bench.py "$@" &
pid=$!
rc=0
wait "$pid" || rc=$?
pid=
exit $rc
