#!/usr/bin/env bash
# Benchmark 1 (issues 7 and 16): the cost of watching.
#
# Side by side in each repetition, for WATCH_SECONDS (default 60) each, on the sandbox:
#   baseline  a loop running `kubectl get pod redis-0 -o json` and
#             `kubectl exec redis-0 -c redis -- redis-cli INFO` every second;
#   ours      the dashboard at `--refresh 1` in a real terminal (tmux, 200x60).
# Both call kubectl through the same counting wrapper. Spawns are counted at steady state
# (after the first STARTUP_SECONDS, default 10; scaled to a minute) and during start-up.
# CPU = user+system seconds of the process tree (self, live children, reaped children) read
# from /proc at the end of the window, over the whole window (start-up included) and over the
# steady state only.
#
# Goals (exit 1 when missed): steady-state kubectl spawns <= 6 per minute; CPU <= 1/10 of the loop's.
# Environment: RUNS (default 5), WATCH_SECONDS, STARTUP_SECONDS, plus bench-lib.sh's.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh

RUNS=${RUNS:-5}
WATCH_SECONDS=${WATCH_SECONDS:-60}
STARTUP_SECONDS=${STARTUP_SECONDS:-10}

bench_build redis-runbook
bench_tmux_init
WORK=$(mktemp -d /tmp/rrb-bench-watch.XXXXXX)
LOOP_PID=""
cleanup() {
    [ -n "$LOOP_PID" ] && kill -- -"$LOOP_PID" 2>/dev/null || true
    bench_tmux_cleanup
    bench_sandbox_cleanup
    rm -rf "$WORK"
}
trap cleanup EXIT
bench_sandbox
echo "== sandbox $D; $RUNS runs of ${WATCH_SECONDS}s per side"

# Spawns in [from, to) seconds after start, from a counter file.
count_between() { awk -v s="$1" -v a="$2" -v b="$3" '{ t = $1 - s; if (t >= a && t < b) n++ } END { print n + 0 }' "$4"; }

bench_naive_loop_script "$WORK/loop.sh"

: >"$WORK/loop_spawns" ; : >"$WORK/app_spawns"; : >"$WORK/loop_cpu"; : >"$WORK/app_cpu"
: >"$WORK/loop_cpu_ss"; : >"$WORK/app_cpu_ss"; : >"$WORK/app_startup_spawns"; : >"$WORK/loop_startup_spawns"
SS=$((WATCH_SECONDS - STARTUP_SECONDS))
for run in $(seq 1 "$RUNS"); do
    # Baseline: the loop.
    c="$WORK/loop.count.$run"; : >"$c"
    bench_counting_wrapper "$K" "$c" "$WORK/kubectl-loop"
    start=$(bench_now)
    setsid "$WORK/loop.sh" "$WORK/kubectl-loop" &
    LOOP_PID=$!
    sleep "$STARTUP_SECONDS"
    cpu_a=$(bench_tree_cpu "$LOOP_PID")
    sleep "$SS"
    cpu_b=$(bench_tree_cpu "$LOOP_PID")
    kill -- -"$LOOP_PID" 2>/dev/null || true
    wait "$LOOP_PID" 2>/dev/null || true
    LOOP_PID=""
    l_ss=$(count_between "$start" "$STARTUP_SECONDS" "$WATCH_SECONDS" "$c")
    l_st=$(count_between "$start" 0 "$STARTUP_SECONDS" "$c")
    l_pm=$(bench_calc "$l_ss * 60 / $SS" 1)

    # Ours: the dashboard.
    c="$WORK/app.count.$run"; : >"$c"
    bench_counting_wrapper "$K" "$c" "$WORK/kubectl-app"
    bench_launch_app "watch$run" --kubectl "$WORK/kubectl-app" --refresh 1
    start=$APP_START
    sleep "$(bench_calc "$STARTUP_SECONDS - ($(bench_now) - $start)")"
    acpu_a=$(bench_tree_cpu "$APP_PID")
    sleep "$(bench_calc "$WATCH_SECONDS - ($(bench_now) - $start)")"
    acpu_b=$(bench_tree_cpu "$APP_PID")
    screen=$(btmux capture-pane -p -t "watch$run" 2>/dev/null || true)
    bench_quit_app "watch$run" "$APP_PID"
    if ! grep -q "used/max" <<<"$screen" || ! grep -q "Running" <<<"$screen"; then
        echo "run $run: the dashboard did not show pod and Redis data; screen:"; echo "$screen" | head -30
        exit 1
    fi
    a_ss=$(count_between "$start" "$STARTUP_SECONDS" "$WATCH_SECONDS" "$c")
    a_st=$(count_between "$start" 0 "$STARTUP_SECONDS" "$c")
    a_pm=$(bench_calc "$a_ss * 60 / $SS" 1)

    echo "$l_pm" >>"$WORK/loop_spawns"; echo "$a_pm" >>"$WORK/app_spawns"
    echo "$l_st" >>"$WORK/loop_startup_spawns"; echo "$a_st" >>"$WORK/app_startup_spawns"
    echo "$cpu_b" >>"$WORK/loop_cpu"; echo "$acpu_b" >>"$WORK/app_cpu"
    bench_calc "$cpu_b - $cpu_a" 2 >>"$WORK/loop_cpu_ss"; echo >>"$WORK/loop_cpu_ss"
    bench_calc "$acpu_b - $acpu_a" 2 >>"$WORK/app_cpu_ss"; echo >>"$WORK/app_cpu_ss"
    printf 'run %d: loop %s spawns/min (steady), %s in first %ss, CPU %ss (steady %ss) | dashboard %s spawns/min (steady), %s in first %ss, CPU %ss (steady %ss)\n' \
        "$run" "$l_pm" "$l_st" "$STARTUP_SECONDS" "$cpu_b" "$(tail -1 "$WORK/loop_cpu_ss")" \
        "$a_pm" "$a_st" "$STARTUP_SECONDS" "$acpu_b" "$(tail -1 "$WORK/app_cpu_ss")"
    if [ "$run" = 1 ]; then
        echo "   dashboard spawns by command (run 1):"
        awk '{ $1 = ""; sub(/^ /, ""); sub(/^(-n|--namespace|--context) [^ ]+ /, ""); split($0, w, " "); k = w[1] " " w[2]; if (w[1] == "get" && w[2] == "--raw") k = "get --raw"; n[k]++ } END { for (k in n) printf "     %3d  %s\n", n[k], k }' "$c" | sort -rn
    fi
done

lm=$(bench_median <"$WORK/loop_spawns"); am=$(bench_median <"$WORK/app_spawns")
lc=$(bench_median <"$WORK/loop_cpu"); ac=$(bench_median <"$WORK/app_cpu")
lcs=$(bench_median <"$WORK/loop_cpu_ss"); acs=$(bench_median <"$WORK/app_cpu_ss")
spawn_ratio=$(bench_calc "$am / ($lm > 0 ? $lm : 1)" 3)
cpu_ratio=$(bench_calc "$ac / ($lc > 0 ? $lc : 0.01)" 3)
cpu_ratio_ss=$(bench_calc "$acs / ($lcs > 0 ? $lcs : 0.01)" 3)
echo
echo "kubectl spawns per minute at steady state: loop $(bench_stats "$WORK/loop_spawns") | dashboard $(bench_stats "$WORK/app_spawns") | ratio $spawn_ratio"
echo "kubectl spawns in the first ${STARTUP_SECONDS}s:          loop $(bench_stats "$WORK/loop_startup_spawns") | dashboard $(bench_stats "$WORK/app_startup_spawns")"
echo "CPU seconds over ${WATCH_SECONDS}s (incl. children):   loop $(bench_stats "$WORK/loop_cpu") | dashboard $(bench_stats "$WORK/app_cpu") | ratio $cpu_ratio"
echo "CPU seconds at steady state (${SS}s):           loop $(bench_stats "$WORK/loop_cpu_ss") | dashboard $(bench_stats "$WORK/app_cpu_ss") | ratio $cpu_ratio_ss"

fail=0
ok1=$(awk -v a="$am" 'BEGIN { print (a <= 6) ? "PASS" : "FAIL" }')
ok2=$(awk -v r="$cpu_ratio" 'BEGIN { print (r <= 0.1) ? "PASS" : "FAIL" }')
bench_result "1a spawns/min (steady): baseline $lm, ours $am $(bench_stats "$WORK/app_spawns"), ratio $spawn_ratio, goal <= 6/min: $ok1"
bench_result "1b CPU s per ${WATCH_SECONDS}s: baseline $lc $(bench_stats "$WORK/loop_cpu"), ours $ac $(bench_stats "$WORK/app_cpu"), ratio $cpu_ratio (steady state $cpu_ratio_ss), goal <= 0.1: $ok2"
bench_result "1c start-up spawns (first ${STARTUP_SECONDS}s): loop $(bench_stats "$WORK/loop_startup_spawns"), dashboard $(bench_stats "$WORK/app_startup_spawns") (informational)"
[ "$ok1" = PASS ] && [ "$ok2" = PASS ] || fail=1
exit $fail
