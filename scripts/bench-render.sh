#!/usr/bin/env bash
# Benchmark 7 (issue 7): drawing.
#
# 7a  Composing the full dashboard into the cell grid at 200x60 from a realistic snapshot
#     (eight queues, five findings, memory history full): RenderBench (release), RUNS runs of
#     ITERATIONS renders each; goal: median < 1 ms.
# 7b  Bytes written to the terminal per idle refresh (only numbers change) at steady state:
#     tmux `pipe-pane -o` over IDLE_SECONDS (default 20) at `--refresh 1`, divided by the number
#     of refreshes; baseline: the bytes of one full repaint (forced by a resize back to 200x60).
#     Goal: < 2048 bytes per refresh (median over RUNS windows).
# Environment: RUNS (default 5), ITERATIONS (default 2000), IDLE_SECONDS, plus bench-lib.sh's.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh

RUNS=${RUNS:-5}
ITERATIONS=${ITERATIONS:-2000}
IDLE_SECONDS=${IDLE_SECONDS:-20}
fail=0

# --- 7a: grid composition ---------------------------------------------------------------
bench_build RenderBench
echo "== 7a: App.render at 200x60, $RUNS runs x $ITERATIONS renders"
out=$("$BIN_DIR/RenderBench" --width 200 --height 60 --iterations "$ITERATIONS" --runs "$RUNS" --goal-ms 1) && rb=0 || rb=$?
echo "$out"
line=$(grep '^RESULT' <<<"$out" || true)
med=$(sed -n 's/.*median=\([0-9.]*\).*/\1/p' <<<"$line"); lo=$(sed -n 's/.*min=\([0-9.]*\).*/\1/p' <<<"$line")
hi=$(sed -n 's/.*max=\([0-9.]*\).*/\1/p' <<<"$line")
ok=$([ "$rb" = 0 ] && echo PASS || echo FAIL)
bench_result "7a compose 200x60 grid: baseline (goal) 1 ms, ours ${med} ms (${lo}-${hi}, n=$RUNS runs x $ITERATIONS), ratio $(bench_calc "${med:-0} / 1" 3), goal < 1 ms: $ok"
[ "$ok" = PASS ] || fail=1

# --- 7b: bytes per idle refresh ------------------------------------------------------------
bench_build redis-runbook
bench_tmux_init
WORK=$(mktemp -d /tmp/rrb-bench-bytes.XXXXXX)
cleanup() { bench_tmux_cleanup; bench_sandbox_cleanup; rm -rf "$WORK"; }
trap cleanup EXIT
bench_sandbox
btmux start-server \; set-option -g window-size manual 2>/dev/null || true
echo "== 7b: bytes to the terminal, $RUNS windows of ${IDLE_SECONDS}s at --refresh 1 (sandbox $D)"
bench_launch_app bytes --kubectl "$K" --refresh 1
# Steady state: data on screen, and past the first exporter read (every 15 s) and watch start.
i=0
until btmux capture-pane -p -t bytes | grep -Eq "used/max.*[0-9]"; do
    sleep 0.2; i=$((i + 1)); [ $i -lt 150 ] || { echo "no data on screen"; btmux capture-pane -p -t bytes | head; exit 1; }
done
sleep 5
: >"$WORK/idle"; : >"$WORK/full"
for run in $(seq 1 "$RUNS"); do
    f="$WORK/idle.$run"; : >"$f"
    a=$EPOCHREALTIME
    btmux pipe-pane -o -t bytes "cat >> $f"
    sleep "$IDLE_SECONDS"
    btmux pipe-pane -t bytes
    b=$EPOCHREALTIME
    sleep 0.2
    bytes=$(stat -c %s "$f")
    refreshes=$(bench_calc "($b - $a) / 1" 1)
    per=$(bench_calc "$bytes / $refreshes" 0)
    echo "$per" >>"$WORK/idle"

    # Baseline: one full repaint (the app clears and repaints every cell after a resize).
    btmux resize-window -t bytes -x 199 -y 60; sleep 1
    g="$WORK/full.$run"; : >"$g"
    btmux pipe-pane -o -t bytes "cat >> $g"
    btmux resize-window -t bytes -x 200 -y 60
    sleep 0.5
    btmux pipe-pane -t bytes
    sleep 0.2
    full=$(stat -c %s "$g")
    echo "$full" >>"$WORK/full"
    printf 'run %d: %d bytes over %ss (%s refreshes): %s bytes per idle refresh | full repaint %d bytes\n' "$run" "$bytes" "$refreshes" "$refreshes" "$per" "$full"
    sleep 2
done
if ! btmux capture-pane -p -t bytes | grep -q "Running"; then echo "dashboard lost its data during the measurement"; fail=1; fi
bench_quit_app bytes "$APP_PID"
im=$(bench_median <"$WORK/idle"); fm=$(bench_median <"$WORK/full")
ok=$(awk -v a="$im" 'BEGIN { print (a < 2048) ? "PASS" : "FAIL" }')
bench_result "7b bytes per idle refresh: baseline (full repaint) $fm B $(bench_stats "$WORK/full"), ours $im B $(bench_stats "$WORK/idle"), ratio $(bench_calc "$im / $fm" 3), goal < 2048 B: $ok"
[ "$ok" = PASS ] || fail=1
exit $fail
