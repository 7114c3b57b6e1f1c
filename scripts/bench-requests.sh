#!/usr/bin/env bash
# Benchmark 2 (issue 16): requests to the API server per minute at steady state, by verb,
# counted by the sandbox's API server itself (`kubectl get --raw /metrics`:
# apiserver_request_total, the difference of two scrapes).
#
# Side by side in each repetition, one after the other on the same sandbox:
#   baseline  the naive loop: `kubectl get pod redis-0 -o json` and
#             `kubectl exec redis-0 -c redis -- redis-cli INFO` every second (bench-lib.sh);
#   ours      the dashboard at `--refresh 1` in a real terminal (tmux, 200x60).
# Window: from STARTUP_SECONDS (default 10) to STARTUP_SECONDS + WINDOW_SECONDS (default 60)
# after the start; start-up (0 to STARTUP_SECONDS) is reported apart. The scrapes' own requests
# (kubectl's /version, the /metrics GET) are measured by two back-to-back scrapes and taken off.
#
# Goals (exit 1 when missed): requests per minute <= 0.05 x the loop's, and no LIST in the window.
# Environment: RUNS (default 3), STARTUP_SECONDS, WINDOW_SECONDS, plus bench-lib.sh's.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh

RUNS=${RUNS:-3}
STARTUP_SECONDS=${STARTUP_SECONDS:-10}
WINDOW_SECONDS=${WINDOW_SECONDS:-60}

bench_build redis-runbook
bench_tmux_init
WORK=$(mktemp -d /tmp/rrb-bench-req.XXXXXX)
LOOP_PID=""
cleanup() {
    [ -n "$LOOP_PID" ] && kill -- -"$LOOP_PID" 2>/dev/null || true
    bench_tmux_cleanup
    bench_sandbox_cleanup
    rm -rf "$WORK"
}
trap cleanup EXIT
bench_sandbox
echo "== sandbox $D; $RUNS runs; window ${STARTUP_SECONDS}-$((STARTUP_SECONDS + WINDOW_SECONDS)) s after start"
bench_naive_loop_script "$WORK/loop.sh"

# What one scrape adds to the counters (its /version and /metrics requests), by key.
bench_scrape "$WORK/cal0"; bench_scrape "$WORK/cal1"
bench_metric_diff apiserver_request_total "$WORK/cal0" "$WORK/cal1" >"$WORK/scrape-cost"
echo "one scrape costs: $(tr '\n' ' ' <"$WORK/scrape-cost")"

# Counter differences of scrapes $1 -> $2 minus one scrape's cost, "key count" lines.
window() {
    bench_metric_diff apiserver_request_total "$1" "$2" |
        awk 'NR == FNR { c[$1 " " $2] = $3; next } { k = $1 " " $2; v = $3 - c[k]; if (v != 0) print k, v }' "$WORK/scrape-cost" -
}
per_minute() { bench_calc "$1 * 60 / $WINDOW_SECONDS" 1; }
sleep_until() { local d; d=$(bench_calc "$1 - ($(bench_now) - $2)"); awk -v d="$d" 'BEGIN { exit !(d > 0) }' && sleep "$d" || true; }

: >"$WORK/loop_pm"; : >"$WORK/app_pm"; : >"$WORK/app_list"; : >"$WORK/app_startup_list"
for run in $(seq 1 "$RUNS"); do
    # Baseline: the loop.
    bench_scrape "$WORK/l0"; start=$(bench_now)
    setsid "$WORK/loop.sh" "$K" &
    LOOP_PID=$!
    sleep_until "$STARTUP_SECONDS" "$start"; bench_scrape "$WORK/l1"
    sleep_until "$((STARTUP_SECONDS + WINDOW_SECONDS))" "$start"; bench_scrape "$WORK/l2"
    kill -- -"$LOOP_PID" 2>/dev/null || true; wait "$LOOP_PID" 2>/dev/null || true; LOOP_PID=""
    window "$WORK/l1" "$WORK/l2" >"$WORK/loop.win.$run"
    l_total=$(bench_sum <"$WORK/loop.win.$run")

    # Ours: the dashboard.
    sleep 2  # the loop's last requests settle
    bench_scrape "$WORK/a0"
    bench_launch_app "req$run" --kubectl "$K" --refresh 1
    start=$APP_START
    sleep_until "$STARTUP_SECONDS" "$start"; bench_scrape "$WORK/a1"
    sleep_until "$((STARTUP_SECONDS + WINDOW_SECONDS))" "$start"; bench_scrape "$WORK/a2"
    screen=$(btmux capture-pane -p -t "req$run" 2>/dev/null || true)
    bench_quit_app "req$run" "$APP_PID"
    if ! bench_full_screen "$screen"; then echo "run $run: the dashboard did not show pod and Redis data; screen:"; echo "$screen" | head -30; exit 1; fi
    window "$WORK/a0" "$WORK/a1" >"$WORK/app.startup.$run"
    window "$WORK/a1" "$WORK/a2" >"$WORK/app.win.$run"
    a_total=$(bench_sum <"$WORK/app.win.$run")
    a_list=$(awk '$1 == "LIST" { s += $NF } END { print s + 0 }' "$WORK/app.win.$run")
    a_slist=$(awk '$1 == "LIST" { s += $NF } END { print s + 0 }' "$WORK/app.startup.$run")

    per_minute "$l_total" >>"$WORK/loop_pm"; echo >>"$WORK/loop_pm"
    per_minute "$a_total" >>"$WORK/app_pm"; echo >>"$WORK/app_pm"
    echo "$a_list" >>"$WORK/app_list"; echo "$a_slist" >>"$WORK/app_startup_list"
    printf 'run %d: loop %s req/min (%s) | dashboard %s req/min (%s); dashboard start-up (first %ss): %s\n' "$run" \
        "$(tail -1 "$WORK/loop_pm")" "$(bench_by_verb <"$WORK/loop.win.$run" | tr '\n' ' ')" \
        "$(tail -1 "$WORK/app_pm")" "$(bench_by_verb <"$WORK/app.win.$run" | tr '\n' ' ')" \
        "$STARTUP_SECONDS" "$(bench_by_verb <"$WORK/app.startup.$run" | tr '\n' ' ')"
    if [ "$run" = 1 ]; then
        echo "   loop, by verb and resource (${WINDOW_SECONDS}s):";      sed 's/^/     /' "$WORK/loop.win.$run"
        echo "   dashboard, by verb and resource (${WINDOW_SECONDS}s):"; sed 's/^/     /' "$WORK/app.win.$run"
        echo "   dashboard start-up (first ${STARTUP_SECONDS}s):";       sed 's/^/     /' "$WORK/app.startup.$run"
    fi
done

lm=$(bench_median <"$WORK/loop_pm"); am=$(bench_median <"$WORK/app_pm")
ratio=$(bench_calc "$am / ($lm > 0 ? $lm : 1)" 3)
lists=$(bench_max <"$WORK/app_list")
verbs() { cat "$WORK/$1".win.* | bench_by_verb | awk -v r="$RUNS" -v w="$WINDOW_SECONDS" '{ printf "%s %.1f, ", $1, $2 / r * 60 / w }' | sed 's/, $//'; }
echo
echo "requests/min at steady state: loop $(bench_stats "$WORK/loop_pm") | dashboard $(bench_stats "$WORK/app_pm") | ratio $ratio"
echo "by verb (mean per minute): loop: $(verbs loop) | dashboard: $(verbs app)"
ok=$(awk -v r="$ratio" -v l="$lists" 'BEGIN { print (r <= 0.05 && l == 0) ? "PASS" : "FAIL" }')
bench_result "2 API requests/min at steady state (${STARTUP_SECONDS}-$((STARTUP_SECONDS + WINDOW_SECONDS))s): baseline (loop) $lm [$(verbs loop)], ours $am $(bench_stats "$WORK/app_pm") [$(verbs app)], ratio $ratio, LIST in window max $lists (start-up LIST $(bench_stats "$WORK/app_startup_list")), goal <= 0.05 and no LIST: $ok"
[ "$ok" = PASS ]
