#!/usr/bin/env bash
# Benchmark 4 (issue 7): footprint.
#
# The dashboard open at `--refresh 1` on the sandbox in tmux (200x60) for BENCH_FOOTPRINT_SECONDS
# (default 600); its resident memory (VmRSS) is sampled every SAMPLE_SECONDS (default 30).
# Baseline: the RSS at the first sample. Goals (exit 1 when missed): the final RSS < 30 MB, and
# not growing: the mean of the last third of the samples is at most 5 % (and at most 1 MB) above
# the mean of the first third.
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
cleanup() { bench_tmux_cleanup; bench_sandbox_cleanup; rm -rf "$WORK"; }
trap cleanup EXIT
bench_sandbox
echo "== dashboard open ${SECONDS_OPEN}s at --refresh 1, RSS every ${SAMPLE}s (sandbox $D)"
bench_launch_app rss --kubectl "$K" --refresh 1
: >"$WORK/rss"
elapsed=0
while [ "$elapsed" -lt "$SECONDS_OPEN" ]; do
    sleep "$SAMPLE"; elapsed=$((elapsed + SAMPLE))
    kb=$(bench_rss_kb "$APP_PID")
    [ -n "$kb" ] || { echo "the dashboard exited"; btmux capture-pane -p -t rss 2>/dev/null | head; exit 1; }
    echo "$kb" >>"$WORK/rss"
    echo "t=${elapsed}s RSS ${kb} KB"
done
screen=$(btmux capture-pane -p -t rss)
# Where the resident memory is: shared (clean) library pages of the Swift runtime, Foundation and
# ICU, which every Swift process maps, versus the app's own (private) pages.
roll() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null; }
priv_kb=$(( $(roll "$APP_PID" Private_Clean) + $(roll "$APP_PID" Private_Dirty) ))
pss_kb=$(roll "$APP_PID" Pss); shared_kb=$(roll "$APP_PID" Shared_Clean)
# Contrast: an idle process of the same Swift binary (the sandbox kubectl of the pod watch).
base_pid=""
for c in $(ps -o pid= --ppid "$APP_PID"); do
    if tr '\0' ' ' <"/proc/$c/cmdline" 2>/dev/null | grep -q -- "--watch"; then base_pid=$c; break; fi
done
base_kb=$([ -n "$base_pid" ] && bench_rss_kb "$base_pid" || echo 0)
bench_quit_app rss "$APP_PID"
grep -Eq "used/max.*[0-9]" <<<"$screen" || { echo "no data on screen at the end:"; echo "$screen" | head -20; exit 1; }

n=$(wc -l <"$WORK/rss"); third=$(( n / 3 > 0 ? n / 3 : 1 ))
first=$(head -n "$third" "$WORK/rss" | awk '{s+=$1} END {printf "%.0f", s/NR}')
last=$(tail -n "$third" "$WORK/rss" | awk '{s+=$1} END {printf "%.0f", s/NR}')
start_kb=$(head -1 "$WORK/rss"); end_kb=$(tail -1 "$WORK/rss")
growth=$(bench_calc "($last - $first) / $first * 100" 1)
ok=$(awk -v e="$end_kb" -v l="$LIMIT_KB" -v a="$first" -v b="$last" 'BEGIN { print (e < l && b - a <= a * 0.05 && b - a <= 1024) ? "PASS" : "FAIL" }')
echo "RSS samples (KB): $(tr '\n' ' ' <"$WORK/rss")"
echo "at the end: RSS $end_kb KB = shared clean $shared_kb KB (Swift runtime, Foundation, ICU) + private $priv_kb KB; PSS $pss_kb KB"
echo "an idle process of the same binary (kubectl watch child): RSS $base_kb KB"
bench_result "4 RSS after ${SECONDS_OPEN}s: baseline (first sample, ${SAMPLE}s) $((start_kb / 1024)) MB, ours $(bench_calc "$end_kb / 1024" 1) MB (min $(bench_calc "$(bench_min <"$WORK/rss") / 1024" 1), max $(bench_calc "$(bench_max <"$WORK/rss") / 1024" 1), n=$n samples), ratio $(bench_calc "$end_kb / $start_kb" 2), private $(bench_calc "$priv_kb / 1024" 1) MB, PSS $(bench_calc "${pss_kb:-0} / 1024" 1) MB, idle same-binary process $(bench_calc "$base_kb / 1024" 1) MB, last third vs first third ${growth}%, goal < 30 MB and not growing: $ok"
[ "$ok" = PASS ]
