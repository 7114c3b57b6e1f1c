#!/usr/bin/env bash
# `make bench`: every benchmark of issue 7 (and issue 6's memory analysis), release build,
# each against its baseline in the same run. Not part of `make test`. Figures: BENCHMARKS.md.
#
#   1  cost of watching            scripts/bench-watch.sh      (RUNS_WATCH, default 5 x 60 s per side)
#   2  time to first full screen   scripts/bench-startup.sh    (RUNS, default 5)
#   3  drawing                     scripts/bench-render.sh     (RUNS, default 5)
#   4  footprint                   scripts/bench-footprint.sh  (BENCH_FOOTPRINT_SECONDS, default 600)
#   5  memory analysis             scripts/bench-memory.sh     (its own 1,000,000-key sandbox)
#
# BENCH_ONLY="1 3" runs a subset. Exit status: 0 when every goal is met, 1 when one is missed,
# 2 when a benchmark could not run.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh

ONLY=${BENCH_ONLY:-"1 2 3 4 5"}
export SCRATCH
export BENCH_RESULTS=${BENCH_RESULTS:-$(mktemp /tmp/rrb-bench-results.XXXXXX)}
: >"$BENCH_RESULTS"

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "== building (release, scratch $SCRATCH)"
if ! swift build -c release --scratch-path "$SCRATCH" --product redis-runbook >/tmp/rrb-bench-build.log 2>&1 ||
   ! swift build -c release --scratch-path "$SCRATCH" --product RenderBench >>/tmp/rrb-bench-build.log 2>&1; then
    grep -E "error" /tmp/rrb-bench-build.log | head -20
    echo "bench: release build failed (log: /tmp/rrb-bench-build.log)"
    exit 2
fi
export BENCH_SKIP_BUILD=1
bench_build redis-runbook

# One sandbox (demo data) shared by benchmarks 1-4.
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
run 2 env RUNS="${RUNS:-5}" scripts/bench-startup.sh
run 3 env RUNS="${RUNS:-5}" scripts/bench-render.sh
run 4 scripts/bench-footprint.sh
memory_bench() { # bench-memory.sh (another helper's) prints a summary; keep it in the results.
    local out; out=$(mktemp /tmp/rrb-bench-mem-out.XXXXXX)
    env RUNS="${RUNS:-5}" BENCH_SANDBOX_DIR="${BENCH_MEMORY_SANDBOX_DIR:-}" scripts/bench-memory.sh 2>&1 | tee "$out"
    local rc=${PIPESTATUS[0]}
    local mk ours rss slow
    mk=$(sed -n 's/^redis-cli --memkeys median: *//p' "$out"); ours=$(sed -n 's/^redis-runbook memory median: *//p' "$out")
    rss=$(sed -n 's/^redis-runbook memory peak RSS: *//p' "$out"); slow=$(sed -n 's/^SLOWLOG entries of the analysis (> 10 ms): *//p' "$out")
    if [ -n "$ours" ]; then
        bench_result "5 memory analysis: baseline (redis-cli --memkeys) $mk, ours $ours, peak RSS $rss, SLOWLOG entries $slow: $([ $rc = 0 ] && echo PASS || echo FAIL)"
    fi
    rm -f "$out"
    return "$rc"
}
if [ -x scripts/bench-memory.sh ]; then
    run 5 memory_bench
else
    case " $ONLY " in *" 5 "*) echo "5: scripts/bench-memory.sh is missing" >>"$BENCH_RESULTS"; status=2 ;; esac
fi

echo; echo "################ summary"
cat "$BENCH_RESULTS"
exit $status
