#!/usr/bin/env bash
# Soak: many journeys against a flapping loopback target for a bounded time.
#
#   tests/soak/soak.sh [--journeys 5000] [--minutes 30 | --seconds S] [--interval 10s]
#                      [--slow-ms 1500] [--prober PATH] [--badserver PATH]
#
# Generates N one-step journeys into a temporary folder, all GETting badserver's /flap, which
# answers by request count: good (200 at once), slow (200 after --slow-ms; the journeys expect
# latency_ms = slow-ms / 2, so it is bad) and failing (503), in turn. Runs the daemon
# (`prober run --duration`), samples its RSS (/proc/PID/status VmRSS) and open fds
# (/proc/PID/fd) every second, and checks:
#   - RSS is flat after warm-up: max(last third) <= max(middle third) * 1.10 + 8 MiB;
#   - fds do not grow: max(last third) <= max(middle third) * 1.10 + 16;
#   - the counts of the final `stopped` log line equal the target's own request log:
#     runs = requests, good = good answers, bad = slow + failing answers (when a run was
#     recorded invalid, e.g. after a loop stall, good + bad + invalid = requests instead).
# Prints every sample and the measurements; exits 0 on success, 1 on a failed check, 2 on
# usage or setup errors. PROBER and BADSERVER may also come from the environment (meson test).
# SOAK_RSS_CHECK=0 skips the RSS check, saying so (./dev sanitize: ASan's allocator keeps freed
# memory in quarantine, so RSS grows by design there).
set -euo pipefail

journeys=5000
seconds=$((30 * 60))
interval=10s
slow_ms=1500
prober=${PROBER:-}
badserver=${BADSERVER:-}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --journeys) journeys=$2; shift 2 ;;
    --minutes) seconds=$(($2 * 60)); shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --slow-ms) slow_ms=$2; shift 2 ;;
    --prober) prober=$2; shift 2 ;;
    --badserver) badserver=$2; shift 2 ;;
    -h|--help) usage ;;
    *) echo "soak: unknown argument '$1'" >&2; usage ;;
  esac
done
[ -n "$prober" ] || prober=$root/build/prober/prober
[ -n "$badserver" ] || badserver=$root/build/tests/support/badserver
for exe in "$prober" "$badserver"; do
  [ -x "$exe" ] || { echo "soak: '$exe' is not an executable (build it, or pass --prober/--badserver)" >&2; exit 2; }
done
case "$journeys" in ''|*[!0-9]*) echo "soak: --journeys wants a number, not '$journeys'" >&2; exit 2 ;; esac
case "$seconds" in ''|*[!0-9]*) echo "soak: --seconds wants a number, not '$seconds'" >&2; exit 2 ;; esac
[ "$seconds" -ge 6 ] || { echo "soak: run at least 6 s" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/prober-soak.XXXXXX")
target_pid=''
prober_pid=''
cleanup() {
  [ -n "$prober_pid" ] && kill -KILL "$prober_pid" 2>/dev/null || true
  [ -n "$target_pid" ] && kill -TERM "$target_pid" 2>/dev/null || true
  [ -n "$target_pid" ] && wait "$target_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# The target, on a free loopback port; its banner gives the URL.
"$badserver" --port 0 --log "$tmp/target.log" >"$tmp/banner" &
target_pid=$!
url=''
for _ in $(seq 200); do  # up to 20 s
  url=$(sed -n 's/^listening on //p' "$tmp/banner")
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "soak: badserver did not start" >&2; exit 2; }
echo "soak: target $url (pid $target_pid)"

mkdir "$tmp/journeys"
half=$((slow_ms / 2))
for ((i = 1; i <= journeys; i++)); do
  printf 'name = "soak-%05d"\ninterval = "%s"\ntimeout = "%dms"\n\n[[steps]]\nname = "flap"\nrequest = { url = "%s/flap?ms=%d&j=%d" }\nexpect = { status = 200, latency_ms = %d }\n' \
    "$i" "$interval" $((slow_ms * 3)) "$url" "$slow_ms" "$i" "$half" >"$tmp/journeys/soak-$i.toml"
done
echo "soak: $journeys journeys every $interval for ${seconds}s; slow answers take ${slow_ms}ms"

"$prober" run "$tmp/journeys" --duration "${seconds}s" --no-live --log-format json \
  --data-dir "$tmp/data" >"$tmp/prober.out" 2>"$tmp/prober.err" &
prober_pid=$!

# One sample a second: elapsed seconds, RSS in KiB, open fds.
: >"$tmp/samples"
start=$(date +%s)
limit=$((seconds + 60))  # --duration plus the stop's grace, bounded
while kill -0 "$prober_pid" 2>/dev/null; do
  now=$(date +%s)
  [ $((now - start)) -le "$limit" ] || { echo "soak: prober still running after ${limit}s; killing it" >&2; kill -KILL "$prober_pid"; break; }
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$prober_pid/status" 2>/dev/null || true)
  fds=$(ls "/proc/$prober_pid/fd" 2>/dev/null | wc -l || true)
  # Only while it runs: the last samples during the stop would not be comparable.
  [ -n "$rss" ] && [ $((now - start)) -lt "$seconds" ] && echo "$((now - start)) $rss $fds" >>"$tmp/samples"
  sleep 1
done
set +e
wait "$prober_pid"
code=$?
set -e
prober_pid=''
kill -TERM "$target_pid" 2>/dev/null || true
wait "$target_pid" 2>/dev/null || true
target_pid=''

if [ "$code" -ne 0 ]; then
  echo "soak: prober exited $code" >&2
  tail -20 "$tmp/prober.err" >&2
  exit 1
fi

python3 - "$tmp/samples" "$tmp/prober.err" "$tmp/target.log" <<'PY'
import json, os, sys

samples_path, err_path, log_path = sys.argv[1:]
samples = [tuple(int(x) for x in line.split()) for line in open(samples_path) if line.strip()]
failed = []
print("soak: samples (elapsed s, RSS KiB, fds):")
for t, rss, fds in samples:
    print(f"  {t:5d} {rss:8d} {fds:6d}")
if len(samples) < 6:
    print(f"soak: FAIL only {len(samples)} samples", file=sys.stderr)
    sys.exit(1)
third = len(samples) // 3
first, middle, last = samples[:third], samples[third:2 * third], samples[2 * third:]
def mx(part, i): return max(s[i] for s in part)
rss_mid, rss_last = mx(middle, 1), mx(last, 1)
fds_mid, fds_last = mx(middle, 2), mx(last, 2)
rss_bound = rss_mid * 1.10 + 8 * 1024
fds_bound = fds_mid * 1.10 + 16
print(f"soak: RSS max KiB: first third {mx(first, 1)}, middle {rss_mid}, last {rss_last} (bound {rss_bound:.0f})")
print(f"soak: fds max: first third {mx(first, 2)}, middle {fds_mid}, last {fds_last} (bound {fds_bound:.0f})")
if os.environ.get("SOAK_RSS_CHECK", "1") == "0":
    print("soak: RSS check SKIPPED (SOAK_RSS_CHECK=0: a sanitized build keeps freed memory in quarantine)")
elif rss_last > rss_bound: failed.append(f"RSS grew: last third max {rss_last} KiB > {rss_bound:.0f} KiB")
if fds_last > fds_bound: failed.append(f"fds grew: last third max {fds_last} > {fds_bound:.0f}")

stopped = []
for line in open(err_path, errors="replace"):
    if line.startswith("{"):
        try:
            j = json.loads(line)
        except ValueError:
            continue
        if j.get("msg") == "stopped": stopped.append(j)
if len(stopped) != 1:
    print(f"soak: FAIL {len(stopped)} 'stopped' log lines, want 1", file=sys.stderr)
    sys.exit(1)
s = stopped[0]
runs, good, bad, invalid = s["runs"], s["good"], s["bad"], s["invalid"]

# Request n (1-based, the n-th log line) got: n % 3 == 1 good, 2 slow, 0 failing.
requests = good_answers = slow_answers = failing_answers = other = 0
for n, line in enumerate(open(log_path, errors="replace"), start=1):
    path = json.loads(line).get("path", "")
    requests += 1
    if not path.startswith("/flap"): other += 1
    phase = n % 3
    if phase == 1: good_answers += 1
    elif phase == 2: slow_answers += 1
    else: failing_answers += 1
print(f"soak: prober: runs {runs}, good {good}, bad {bad}, invalid {invalid}, "
      f"missed_slots {s.get('missed_slots')}, late_starts {s.get('late_starts')}, "
      f"schedule_lag_p99_ms {s.get('schedule_lag_p99_ms')}, loop_stall_max_ms {s.get('loop_stall_max_ms')}")
print(f"soak: target: requests {requests}, good {good_answers}, slow {slow_answers}, failing {failing_answers}")
if other: failed.append(f"{other} requests to a path other than /flap")
if runs == 0: failed.append("no runs")
if runs != requests: failed.append(f"runs {runs} != target requests {requests}")
if good + bad + invalid != runs: failed.append(f"good {good} + bad {bad} + invalid {invalid} != runs {runs}")
if invalid == 0:
    if good != good_answers: failed.append(f"good {good} != good answers {good_answers}")
    if bad != slow_answers + failing_answers:
        failed.append(f"bad {bad} != slow + failing answers {slow_answers + failing_answers}")
else:
    print(f"soak: NOTE {invalid} runs were recorded invalid (loop stall or cancelled): "
          "only the totals can be compared exactly")
    if good > good_answers: failed.append(f"good {good} > good answers {good_answers}")
    if bad > slow_answers + failing_answers: failed.append(f"bad {bad} > slow + failing answers")
for f in failed:
    print("soak: FAIL " + f, file=sys.stderr)
print("soak: " + ("FAILED" if failed else "passed"))
sys.exit(1 if failed else 0)
PY
