#!/usr/bin/env bash
# Benchmark 3 (issues 7 and 16): time to first full screen, with kubectl's discovery and HTTP
# cache (KUBECACHEDIR: the dispatcher's `/version` and kubectl's discovery) warm and cold.
#
# Baseline: each probe the dashboard needs, run alone and timed (kubectl get pod -o json,
# kubectl exec -i ... redis-cli INFO, kubectl get --raw .../proxy/metrics); the slowest
# probe's median is the baseline, per cache state (cold: the cache removed before each probe).
# Ours: from the launch of the dashboard in tmux (200x60) to a screen where every panel holds
# real data, seen by bench-screen.py (a tmux control client that looks at the screen each time the
# pane prints, forking nothing while the dashboard starts); cold: the cache removed before the launch.
# Also records when the frame (the header) first appears, and that it appears before the data.
#
# Goal (exit 1 when missed): in each cache state, median time to full screen <= 1.3 x that
# state's slowest probe median, and the frame appears before the data in every run.
# Environment: RUNS (default 5, per state), BENCH_STATES (default "warm cold"), plus bench-lib.sh's.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh

RUNS=${RUNS:-5}
bench_build redis-runbook
bench_tmux_init
WORK=$(mktemp -d /tmp/rrb-bench-start.XXXXXX)
cleanup() { bench_tmux_cleanup; bench_sandbox_cleanup; rm -rf "$WORK"; }
trap cleanup EXIT
bench_sandbox
NS=default
echo "== sandbox $D; $RUNS runs"

timed() { # prints wall seconds of the command
    local a b
    a=$EPOCHREALTIME
    "$@" >/dev/null 2>&1 || { echo "probe failed: $*" >&2; return 1; }
    b=$EPOCHREALTIME
    bench_calc "$b - $a" 3; echo
}

: "${BENCH_STATES:=warm cold}"
all_ok=yes
for state in $BENCH_STATES; do
    fresh_cache() { if [ "$state" = cold ]; then rm -rf "$KUBECACHEDIR"; fi; }
    for f in pod info metrics frame full; do : >"$WORK/$state.$f"; done
    frame_first=yes
    # warm: one call first so that the cache holds discovery and the dispatcher's /version.
    [ "$state" = warm ] && "$K" get pod redis-0 -o name >/dev/null 2>&1
    for run in $(seq 1 "$RUNS"); do
        fresh_cache; timed "$K" get pod redis-0 -o json >>"$WORK/$state.pod"
        fresh_cache; timed "$K" exec -i redis-0 -c redis -- redis-cli INFO >>"$WORK/$state.info"
        fresh_cache; timed "$K" get --raw "/api/v1/namespaces/$NS/pods/redis-0:9121/proxy/metrics" >>"$WORK/$state.metrics"

        bench_prepare_app "start$state$run" --kubectl "$K" --refresh 1
        fresh_cache
        if ! bench_time_app "start$state$run" 30; then
            echo "$state run $run: $BENCH_LAST_SCREEN"; bench_quit_app "start$state$run" "$APP_PID"; exit 1
        fi
        bench_quit_app "start$state$run" "$APP_PID"
        f=$T_FRAME; u=$T_FULL
        echo "$f" >>"$WORK/$state.frame"; echo "$u" >>"$WORK/$state.full"
        # The frame came first when the first screen with a header had no data yet.
        [ "$FRAME_FIRST" = yes ] || frame_first=no
        printf '%s run %d: probes alone: pod %ss, INFO %ss, metrics %ss | dashboard: frame at %ss, full screen at %ss\n' \
            "$state" "$run" "$(tail -1 "$WORK/$state.pod")" "$(tail -1 "$WORK/$state.info")" "$(tail -1 "$WORK/$state.metrics")" "$f" "$u"
    done

    pm=$(bench_median <"$WORK/$state.pod"); im=$(bench_median <"$WORK/$state.info"); mm=$(bench_median <"$WORK/$state.metrics")
    slowest=$(printf '%s\n%s\n%s\n' "$pm" "$im" "$mm" | bench_max)
    full=$(bench_median <"$WORK/$state.full"); frame=$(bench_median <"$WORK/$state.frame")
    ratio=$(bench_calc "$full / $slowest" 2)
    echo
    echo "$state cache: probe alone: get pod $(bench_stats "$WORK/$state.pod") s | exec redis-cli INFO $(bench_stats "$WORK/$state.info") s | get --raw metrics $(bench_stats "$WORK/$state.metrics") s"
    echo "$state cache: dashboard:   frame $(bench_stats "$WORK/$state.frame") s | full screen $(bench_stats "$WORK/$state.full") s"
    ok=$(awk -v r="$ratio" -v f="$frame_first" 'BEGIN { print (r <= 1.3 && f == "yes") ? "PASS" : "FAIL" }')
    [ "$ok" = PASS ] || all_ok=no
    bench_result "3 time to full screen ($state kubectl cache): baseline (slowest probe) ${slowest}s, ours ${full}s $(bench_stats "$WORK/$state.full"), ratio $ratio, frame first at ${frame}s $(bench_stats "$WORK/$state.frame") (before data: $frame_first), goal <= 1.3: $ok"
done
[ "$all_ok" = yes ]
