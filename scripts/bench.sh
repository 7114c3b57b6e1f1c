#!/usr/bin/env bash
# `make bench`: every benchmark of issue 16 (and issue 7's drawing), release build, each against
# its baseline in the same run. Not part of `make test`. Figures: BENCHMARKS.md. The numbers are
# issue 16's table:
#
#   1  CPU of watching (and kubectl spawns)  scripts/bench-watch.sh      (RUNS_WATCH, default 5 x 60 s per side)
#   2  API requests per minute, by verb      scripts/bench-requests.sh   (RUNS_REQUESTS, default 3 x 70 s per side)
#   3  time to first full screen             scripts/bench-startup.sh    (RUNS, default 5)
#   4  footprint (RSS, process tree)         scripts/bench-footprint.sh  (BENCH_FOOTPRINT_SECONDS, default 600)
#   5  busy namespace (5,000 pods, 20,000 events) vs empty  scripts/bench-bulk.sh  (RUNS, default 5 per side)
#   6  memory analysis, 1,000,000 keys       scripts/bench-memory.sh     (its own sandbox; RUNS)
#   7  drawing (issue 7)                     scripts/bench-render.sh     (RUNS, default 5)
#
# BENCH_ONLY="1 3" runs a subset; BENCH_BIN=PATH measures a prebuilt redis-runbook. Exit status:
# 0 when every goal is met, 1 when one is missed, 2 when a benchmark could not run.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh

ONLY=${BENCH_ONLY:-"1 2 3 4 5 6 7"}
export SCRATCH BENCH_STATIC
export BENCH_RESULTS=${BENCH_RESULTS:-$(mktemp /tmp/rrb-bench-results.XXXXXX)}
: >"$BENCH_RESULTS"

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
if [ -n "${BENCH_BIN:-}" ]; then echo "== measuring $BENCH_BIN (no build)"; else echo "== building (release, scratch $SCRATCH)"; fi
if [ -z "${BENCH_BIN:-}" ] && { ! swift build -c release --scratch-path "$SCRATCH" $BENCH_STATIC --product redis-runbook >/tmp/rrb-bench-build.log 2>&1 ||
   ! swift build -c release --scratch-path "$SCRATCH" $BENCH_STATIC --product redis-runbook-sandbox >>/tmp/rrb-bench-build.log 2>&1 ||
   ! swift build -c release --scratch-path "$SCRATCH" $BENCH_STATIC --product redis-runbook-watchdog >>/tmp/rrb-bench-build.log 2>&1 ||
   ! swift build -c release --scratch-path "$SCRATCH" $BENCH_STATIC --product redis-runbook-exec-relay >>/tmp/rrb-bench-build.log 2>&1 ||
   ! swift build -c release --scratch-path "$SCRATCH" $BENCH_STATIC --product RenderBench >>/tmp/rrb-bench-build.log 2>&1; }; then
    grep -E "error" /tmp/rrb-bench-build.log | head -20
    echo "bench: release build failed (log: /tmp/rrb-bench-build.log)"
    exit 2
fi
export BENCH_SKIP_BUILD=1
bench_build redis-runbook

# One sandbox (demo data) shared by benchmarks 1-5 (5 adds and removes its bulk objects).
OWN=0
if [ -z "${BENCH_SANDBOX_DIR:-}" ]; then
    BENCH_SANDBOX_DIR=$(mktemp -d /tmp/rrb-bench-sbx.XXXXXX); OWN=1
fi
export BENCH_SANDBOX_DIR
cleanup() {
    if [ "$OWN" = 1 ] && [ "${KEEP_SANDBOX:-0}" != 1 ]; then
        "$SB" down --dir "$BENCH_SANDBOX_DIR" >/dev/null 2>&1 || true
        rm -rf "$BENCH_SANDBOX_DIR"
    fi
}
trap cleanup EXIT

status=0
run() {
    local n=$1; shift
    case " $ONLY " in *" $n "*) ;; *) return 0 ;; esac
    echo; echo "################ benchmark $n: $*"
    "$@"
    local rc=$?
    if [ $rc -ne 0 ]; then
        echo "benchmark $n: exit $rc"
        grep -q "^$n" "$BENCH_RESULTS" || echo "$n: did not complete (exit $rc)" >>"$BENCH_RESULTS"
        [ $rc -gt $status ] && status=$rc
    fi
}
run 1 env RUNS="${RUNS_WATCH:-5}" scripts/bench-watch.sh
run 2 env RUNS="${RUNS_REQUESTS:-3}" scripts/bench-requests.sh
run 3 env RUNS="${RUNS:-5}" scripts/bench-startup.sh
run 4 scripts/bench-footprint.sh
run 5 env RUNS="${RUNS:-5}" scripts/bench-bulk.sh
run 6 env RUNS="${RUNS:-5}" BIN="${BENCH_BIN:-$BIN}" BENCH_SANDBOX_DIR="${BENCH_MEMORY_SANDBOX_DIR:-}" KEEP_SANDBOX=0 scripts/bench-memory.sh
run 7 env RUNS="${RUNS:-5}" scripts/bench-render.sh

echo; echo "################ summary"
cat "$BENCH_RESULTS"
exit $status
