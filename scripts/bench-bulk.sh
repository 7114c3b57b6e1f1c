#!/usr/bin/env bash
# Benchmark 5 (issue 16): a busy namespace. Time to the first full screen and the API bytes the
# dashboard receives, in the namespace with BULK_PODS (default 5000) other pods and BULK_EVENTS
# (default 20000) events (`redis-runbook-sandbox bulk`: inert objects, load tests only) against
# the same namespace empty, on the same sandbox.
#
# Each run launches the dashboard at `--refresh 1` in tmux (200x60), polls the pane until it is
# full (bench_full_screen), and reads the API server's apiserver_response_sent_bytes_total for
# the resources (pods, events, nodes... without discovery and /metrics) from the launch to
# BYTES_SECONDS (default 10) after it: the start-up reads and the first seconds of watching.
# First RUNS runs with the namespace empty, then `bulk`, then RUNS runs with it, then the bulk
# objects are removed again.
#
# Goals (exit 1 when missed): median time and median bytes with the bulk objects <= 1.1 x empty.
# Environment: RUNS (default 3), BULK_PODS, BULK_EVENTS, BYTES_SECONDS, plus bench-lib.sh's.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh

RUNS=${RUNS:-3}
BULK_PODS=${BULK_PODS:-5000}
BULK_EVENTS=${BULK_EVENTS:-20000}
BYTES_SECONDS=${BYTES_SECONDS:-10}
bench_build redis-runbook
bench_tmux_init
WORK=$(mktemp -d /tmp/rrb-bench-bulk.XXXXXX)
cleanup() {
    "$SB" bulk --dir "$D" --pods 0 --events 0 >/dev/null 2>&1 || true
    bench_tmux_cleanup; bench_sandbox_cleanup; rm -rf "$WORK"
}
trap cleanup EXIT
bench_sandbox
echo "== sandbox $D; $RUNS runs per side; bytes over the first ${BYTES_SECONDS}s"

resource_bytes() { bench_metric_diff apiserver_response_sent_bytes_total "$1" "$2" | awk '$2 != "-"' ; }

measure() { # side run
    local side=$1 run=$2 t
    bench_scrape "$WORK/b0"
    bench_prepare_app "$side$run" --kubectl "$K" --refresh 1
    if ! bench_time_app "$side$run" 30; then
        echo "$side run $run: $BENCH_LAST_SCREEN"
        bench_quit_app "$side$run" "$APP_PID"; exit 1
    fi
    t=$T_FULL
    local d; d=$(bench_calc "$BYTES_SECONDS - ($(bench_now) - $APP_START)")
    awk -v d="$d" 'BEGIN { exit !(d > 0) }' && sleep "$d"
    bench_scrape "$WORK/b1"
    bench_quit_app "$side$run" "$APP_PID"
    resource_bytes "$WORK/b0" "$WORK/b1" >"$WORK/$side.bytes.$run"
    local bytes; bytes=$(bench_sum <"$WORK/$side.bytes.$run")
    echo "$t" >>"$WORK/$side.time"; echo "$bytes" >>"$WORK/$side.bytes"
    printf '%s run %d: full screen at %ss, %s bytes from the API server (%s)\n' "$side" "$run" "$t" "$bytes" \
        "$(awk '{ printf "%s %s: %s, ", $1, $2, $3 }' "$WORK/$side.bytes.$run" | sed 's/, $//')"
}

: >"$WORK/empty.time"; : >"$WORK/empty.bytes"; : >"$WORK/bulk.time"; : >"$WORK/bulk.bytes"
"$SB" bulk --dir "$D" --pods 0 --events 0 >/dev/null
for run in $(seq 1 "$RUNS"); do measure empty "$run"; done
echo "== bulk --pods $BULK_PODS --events $BULK_EVENTS"
a=$(bench_now); "$SB" bulk --dir "$D" --pods "$BULK_PODS" --events "$BULK_EVENTS"; b=$(bench_now)
echo "   (the API server built them in $(bench_calc "$b - $a" 1)s)"
# What a namespace-wide read costs now, for contrast (one real kubectl LIST of pods, chunked).
bench_scrape "$WORK/w0"; a=$(bench_now); "$K" get pods -o name | wc -l >"$WORK/npods"; b=$(bench_now); bench_scrape "$WORK/w1"
echo "   contrast: 'kubectl get pods' (namespace-wide) now lists $(cat "$WORK/npods") pods in $(bench_calc "$b - $a" 2)s, $(resource_bytes "$WORK/w0" "$WORK/w1" | bench_sum) bytes"
for run in $(seq 1 "$RUNS"); do measure bulk "$run"; done
"$SB" bulk --dir "$D" --pods 0 --events 0 >/dev/null

et=$(bench_median <"$WORK/empty.time"); bt=$(bench_median <"$WORK/bulk.time")
eb=$(bench_median <"$WORK/empty.bytes"); bb=$(bench_median <"$WORK/bulk.bytes")
rt=$(bench_calc "$bt / $et" 2); rb=$(bench_calc "$bb / ($eb > 0 ? $eb : 1)" 2)
echo
echo "time to full screen: empty $(bench_stats "$WORK/empty.time") s | with bulk $(bench_stats "$WORK/bulk.time") s | ratio $rt"
echo "API bytes, first ${BYTES_SECONDS}s: empty $(bench_stats "$WORK/empty.bytes") | with bulk $(bench_stats "$WORK/bulk.bytes") | ratio $rb"
ok=$(awk -v a="$rt" -v b="$rb" 'BEGIN { print (a <= 1.1 && b <= 1.1) ? "PASS" : "FAIL" }')
bench_result "5 busy namespace ($BULK_PODS pods, $BULK_EVENTS events) vs empty: full screen ${et}s -> ${bt}s (ratio $rt), API bytes in first ${BYTES_SECONDS}s $eb -> $bb (ratio $rb), goal <= 1.1 each: $ok"
[ "$ok" = PASS ]
