#!/usr/bin/env bash
# Benchmark 3 (issues 7 and 16): time to first full screen.
#
# Baseline: each probe the dashboard needs, run alone and timed (kubectl get pod -o json,
# kubectl exec -i ... redis-cli INFO, kubectl get --raw .../proxy/metrics); the slowest
# probe's median is the baseline.
# Ours: from the launch of the dashboard in tmux (200x60) to a screen with pod data ("Running")
# and Redis data (a "used/max" gauge with a value), polling `tmux capture-pane` every ~20 ms.
# Also records when the frame (the header) first appears, and that it appears before the data.
#
# Goal (exit 1 when missed): median time to full screen <= 1.3 x the slowest probe's median,
# and the frame appears before the data in every run.
# Environment: RUNS (default 5), plus bench-lib.sh's.
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

# The screen is "full" when the pod panel shows Running and the memory gauge has a value.
full_screen() { bench_full_screen "$1"; }
has_frame() { grep -q "redis-runbook" <<<"$1"; }

: >"$WORK/pod"; : >"$WORK/info"; : >"$WORK/metrics"; : >"$WORK/frame"; : >"$WORK/full"
frame_first=yes
for run in $(seq 1 "$RUNS"); do
    timed "$K" get pod redis-0 -o json >>"$WORK/pod"
    timed "$K" exec -i redis-0 -c redis -- redis-cli INFO >>"$WORK/info"
    timed "$K" get --raw "/api/v1/namespaces/$NS/pods/redis-0:9121/proxy/metrics" >>"$WORK/metrics"

    bench_launch_app "start$run" --kubectl "$K" --refresh 1
    t_frame=""; t_full=""; first_screen=""
    deadline=$(( ${APP_START%.*} + 30 ))
    while :; do
        now=$EPOCHREALTIME
        scr=$(btmux capture-pane -p -t "start$run" 2>/dev/null || true)
        if [ -z "$t_frame" ] && has_frame "$scr"; then t_frame=$now; first_screen=$scr; fi
        if full_screen "$scr"; then t_full=$now; break; fi
        if [ "${now%.*}" -gt "$deadline" ]; then break; fi
        sleep 0.02
    done
    bench_quit_app "start$run" "$APP_PID"
    if [ -z "$t_full" ]; then echo "run $run: no full screen within 30 s; last screen:"; echo "$scr" | head -30; exit 1; fi
    f=$(bench_calc "$t_frame - $APP_START"); u=$(bench_calc "$t_full - $APP_START")
    echo "$f" >>"$WORK/frame"; echo "$u" >>"$WORK/full"
    # The frame came first when the first screen with a header had no data yet.
    if full_screen "$first_screen"; then frame_first=no; fi
    printf 'run %d: probes alone: pod %ss, INFO %ss, metrics %ss | dashboard: frame at %ss, full screen at %ss\n' \
        "$run" "$(tail -1 "$WORK/pod")" "$(tail -1 "$WORK/info")" "$(tail -1 "$WORK/metrics")" "$f" "$u"
done

pm=$(bench_median <"$WORK/pod"); im=$(bench_median <"$WORK/info"); mm=$(bench_median <"$WORK/metrics")
slowest=$(printf '%s\n%s\n%s\n' "$pm" "$im" "$mm" | bench_max)
full=$(bench_median <"$WORK/full"); frame=$(bench_median <"$WORK/frame")
ratio=$(bench_calc "$full / $slowest" 2)
echo
echo "probe alone: get pod $(bench_stats "$WORK/pod") s | exec redis-cli INFO $(bench_stats "$WORK/info") s | get --raw metrics $(bench_stats "$WORK/metrics") s"
echo "dashboard:   frame $(bench_stats "$WORK/frame") s | full screen $(bench_stats "$WORK/full") s"
ok=$(awk -v r="$ratio" -v f="$frame_first" 'BEGIN { print (r <= 1.3 && f == "yes") ? "PASS" : "FAIL" }')
bench_result "3 time to full screen: baseline (slowest probe) ${slowest}s, ours ${full}s $(bench_stats "$WORK/full"), ratio $ratio, frame first at ${frame}s $(bench_stats "$WORK/frame") (before data: $frame_first), goal <= 1.3: $ok"
[ "$ok" = PASS ]
