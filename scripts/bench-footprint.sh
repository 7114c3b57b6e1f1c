#!/usr/bin/env bash
# Benchmark 4 (issues 7 and 16): footprint.
#
# The dashboard open at `--refresh 1` on the sandbox in tmux (200x60) for BENCH_FOOTPRINT_SECONDS
# (default 600) and, side by side for the same time, the baseline: one long-lived
# `kubectl get pod redis-0 --watch` (the real kubectl). Every SAMPLE_SECONDS (default 30):
# the resident memory (VmRSS) of the tool alone, of its whole process tree (the tool plus its
# kubectl children) and of the baseline's tree.
#
# Goals (exit 1 when missed): the tree's RSS at the end <= 3.0 x the baseline's; the tool alone
# < 30 MB (MiB) at the end and not growing: the mean of the last third of the samples at most
# 5 % (and at most 1 MB) above the first third's. The least-squares slope of the tool's RSS is
# reported too (KB per 10 minutes).
# Environment: BENCH_FOOTPRINT_SECONDS, SAMPLE_SECONDS, plus bench-lib.sh's.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh

SECONDS_OPEN=${BENCH_FOOTPRINT_SECONDS:-600}
SAMPLE=${SAMPLE_SECONDS:-30}
LIMIT_KB=$((30 * 1024))
bench_build redis-runbook
bench_tmux_init
WORK=$(mktemp -d /tmp/rrb-bench-rss.XXXXXX)
WATCH_PID=""
cleanup() {
    [ -n "$WATCH_PID" ] && kill -- -"$WATCH_PID" 2>/dev/null || true
    bench_tmux_cleanup; bench_sandbox_cleanup; rm -rf "$WORK"
}
trap cleanup EXIT
bench_sandbox
echo "== dashboard open ${SECONDS_OPEN}s at --refresh 1 beside one 'kubectl get pod redis-0 --watch', RSS every ${SAMPLE}s (sandbox $D)"
setsid "$K" get pod redis-0 --watch >/dev/null 2>"$WORK/watch.err" &
WATCH_PID=$!
bench_launch_app rss --kubectl "$K" --refresh 1
: >"$WORK/rss"; : >"$WORK/tree"; : >"$WORK/base"; : >"$WORK/t"
elapsed=0
while [ "$elapsed" -lt "$SECONDS_OPEN" ]; do
    sleep "$SAMPLE"; elapsed=$((elapsed + SAMPLE))
    kb=$(bench_rss_kb "$APP_PID")
    [ -n "$kb" ] || { echo "the dashboard exited"; btmux capture-pane -p -t rss 2>/dev/null | head; exit 1; }
    kill -0 "$WATCH_PID" 2>/dev/null || { echo "the baseline watch exited: $(cat "$WORK/watch.err")"; exit 1; }
    tree=$(bench_tree_rss_kb "$APP_PID"); base=$(bench_tree_rss_kb "$WATCH_PID")
    echo "$kb" >>"$WORK/rss"; echo "$tree" >>"$WORK/tree"; echo "$base" >>"$WORK/base"; echo "$elapsed" >>"$WORK/t"
    echo "t=${elapsed}s tool RSS ${kb} KB, tool tree ${tree} KB ($(ps -o pid= --ppid "$APP_PID" | wc -l) children), baseline watch ${base} KB"
done
screen=$(btmux capture-pane -p -t rss)
# Where the tool's resident memory is: shared (clean) library pages of the Swift runtime,
# Foundation and ICU, which every Swift process maps, versus its own (private) pages.
roll() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null; }
priv_kb=$(( $(roll "$APP_PID" Private_Clean) + $(roll "$APP_PID" Private_Dirty) ))
pss_kb=$(roll "$APP_PID" Pss); shared_kb=$(roll "$APP_PID" Shared_Clean)
children=$(for c in $(ps -o pid= --ppid "$APP_PID"); do echo "$(bench_tree_rss_kb "$c") KB $(tr '\0' ' ' <"/proc/$c/cmdline" 2>/dev/null | cut -c1-90)"; done)
bench_quit_app rss "$APP_PID"
kill -- -"$WATCH_PID" 2>/dev/null || true; WATCH_PID=""
bench_full_screen "$screen" || { echo "no data on screen at the end:"; echo "$screen" | head -20; exit 1; }

n=$(wc -l <"$WORK/rss"); third=$(( n / 3 > 0 ? n / 3 : 1 ))
first=$(head -n "$third" "$WORK/rss" | awk '{s+=$1} END {printf "%.0f", s/NR}')
last=$(tail -n "$third" "$WORK/rss" | awk '{s+=$1} END {printf "%.0f", s/NR}')
end_kb=$(tail -1 "$WORK/rss"); tree_kb=$(tail -1 "$WORK/tree"); base_kb=$(tail -1 "$WORK/base")
growth=$(bench_calc "($last - $first) / $first * 100" 1)
slope=$(paste "$WORK/t" "$WORK/rss" | awk '{ n++; sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2 }
    END { d = n * sxx - sx * sx; printf "%.0f", (d > 0 ? (n * sxy - sx * sy) / d : 0) * 600 }')
ratio=$(bench_calc "$tree_kb / ($base_kb > 0 ? $base_kb : 1)" 2)
ok_alone=$(awk -v e="$end_kb" -v l="$LIMIT_KB" -v a="$first" -v b="$last" 'BEGIN { print (e < l && b - a <= a * 0.05 && b - a <= 1024) ? "PASS" : "FAIL" }')
ok_tree=$(awk -v r="$ratio" 'BEGIN { print (r <= 3.0) ? "PASS" : "FAIL" }')
mb() { bench_calc "$1 / 1024" 1; }
echo "tool RSS samples (KB): $(tr '\n' ' ' <"$WORK/rss")"
echo "tool tree RSS samples (KB): $(tr '\n' ' ' <"$WORK/tree")"
echo "baseline watch RSS samples (KB): $(tr '\n' ' ' <"$WORK/base")"
echo "at the end: tool RSS $end_kb KB = shared clean $shared_kb KB (Swift runtime, Foundation, ICU) + private $priv_kb KB; PSS $pss_kb KB"
echo "the tool's children at the end:"; echo "$children" | sed 's/^/   /'
bench_result "4a tree RSS after ${SECONDS_OPEN}s (tool + kubectl children): baseline (one kubectl get pod --watch) $(mb "$base_kb") MB, ours $(mb "$tree_kb") MB (min $(mb "$(bench_min <"$WORK/tree")"), max $(mb "$(bench_max <"$WORK/tree")"), n=$n), ratio $ratio, goal <= 3.0: $ok_tree"
bench_result "4b tool alone after ${SECONDS_OPEN}s: $(mb "$end_kb") MB (min $(mb "$(bench_min <"$WORK/rss")"), max $(mb "$(bench_max <"$WORK/rss")"), n=$n), private $(mb "$priv_kb") MB, PSS $(mb "${pss_kb:-0}") MB, last third vs first third ${growth}%, slope ${slope} KB/10 min, goal < 30 MB and not growing: $ok_alone"
[ "$ok_tree" = PASS ] && [ "$ok_alone" = PASS ]
