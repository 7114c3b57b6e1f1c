#!/usr/bin/env bash
# Benchmark of `redis-runbook memory` (issue 6) against `redis-cli --memkeys`, side by side,
# both through the sandbox's `kubectl exec` on the same 1,000,000 keys (release build).
#
# Goals (exit status 1 when one is missed):
#   - median wall time of `redis-runbook memory` <= median wall time of `redis-cli --memkeys`
#   - peak RSS of the analysing process < 50 MB
#   - no command of the analysis in SLOWLOG with slowlog-log-slower-than 10000 (10 ms)
#
# Environment: RUNS (default 5), KEYS (default 1000000), SCRATCH (swift scratch path, default
# .build), BIN (a prebuilt release redis-runbook: skips the build), BENCH_SANDBOX_DIR (default: a fresh temp dir, removed afterwards), KEEP_SANDBOX=1.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
KEYS=${KEYS:-1000000}
SCRATCH=${SCRATCH:-.build}
RSS_LIMIT_KB=$((50 * 1024))

if [ ! -x /usr/bin/time ]; then
    echo "bench-memory: /usr/bin/time is missing (apt-get install time)" >&2
    exit 2
fi

if [ -n "${BIN:-}" ]; then
    echo "== using prebuilt $BIN"
else
echo "== building (release)"
if ! swift build -c release --scratch-path "$SCRATCH" --product redis-runbook >/tmp/rrb-bench-mem-build.log 2>&1; then
    grep -E "error" /tmp/rrb-bench-mem-build.log | head -20 >&2
    echo "bench-memory: release build failed (full log: /tmp/rrb-bench-mem-build.log)" >&2
    exit 2
fi
BIN="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/redis-runbook"
fi
. scripts/bench-lib.sh
BIN_DIR="$(dirname "$BIN")"; SB=$(bench_sandbox_binary)

OWN_DIR=0
if [ -z "${BENCH_SANDBOX_DIR:-}" ]; then
    BENCH_SANDBOX_DIR=$(mktemp -d /tmp/rrb-bench-mem.XXXXXX)
    OWN_DIR=1
fi
D=$BENCH_SANDBOX_DIR
K=/usr/bin/kubectl; export KUBECONFIG="$D/kubeconfig" KUBECACHEDIR="$D/kcache"
WORK=$(mktemp -d /tmp/rrb-bench-mem-out.XXXXXX)
cleanup() {
    if [ "${KEEP_SANDBOX:-0}" != 1 ]; then
        "$SB" down --dir "$D" >/dev/null 2>&1 || true
        [ "$OWN_DIR" = 1 ] && rm -rf "$D"
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "== sandbox in $D"
"$SB" up --dir "$D" >/dev/null
rcli() { "$K" exec -i redis-0 -c redis -- redis-cli "$@"; }
have=$(rcli DBSIZE | tr -d '\r')
if [ "${have:-0}" -lt "$KEYS" ]; then
    echo "== seeding $KEYS keys (preset large)"
    "$SB" seed --dir "$D" --preset large --keys "$KEYS"
fi
have=$(rcli DBSIZE | tr -d '\r')
echo "dbsize: $have"

rcli CONFIG SET slowlog-log-slower-than 10000 >/dev/null
rcli CONFIG SET slowlog-max-len 1024 >/dev/null
rcli SLOWLOG RESET >/dev/null

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

: >"$WORK/ours.txt"; : >"$WORK/memkeys.txt"; : >"$WORK/rss.txt"
for i in $(seq 1 "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$WORK/t" "$K" exec -i redis-0 -c redis -- redis-cli --memkeys >"$WORK/memkeys.out" 2>&1
    read -r mk_wall mk_rss <"$WORK/t"
    /usr/bin/time -f "%e %M" -o "$WORK/t" "$BIN" memory --kubectl "$K" --json >"$WORK/ours.json" 2>"$WORK/ours.err" || {
        echo "run $i: redis-runbook memory failed:"; cat "$WORK/ours.err"; exit 1; }
    read -r our_wall our_rss <"$WORK/t"
    echo "$mk_wall" >>"$WORK/memkeys.txt"
    echo "$our_wall" >>"$WORK/ours.txt"
    echo "$our_rss" >>"$WORK/rss.txt"
    keys=$(grep -m1 '"keysScanned"' "$WORK/ours.json" | tr -dc '0-9')
    lat=$(grep -m1 '"maxBatchLatencyMs"' "$WORK/ours.json" | sed 's/.*: *//; s/,//')
    scr=$(grep -m1 '"maxScriptMs"' "$WORK/ours.json" | sed 's/.*: *//; s/,//')
    printf 'run %d: memkeys %6.2f s | memory %6.2f s, %s keys, peak RSS %d KB, max batch %s ms, max script %s ms\n' \
        "$i" "$mk_wall" "$our_wall" "$keys" "$our_rss" "$lat" "$scr"
done

mk_med=$(median <"$WORK/memkeys.txt")
our_med=$(median <"$WORK/ours.txt")
rss_max=$(sort -n "$WORK/rss.txt" | tail -1)
ratio=$(awk -v a="$our_med" -v b="$mk_med" 'BEGIN { printf "%.2f", a / b }')
# The analysis's commands: EVALSHA_RO/EVALSHA/EVAL_RO, SCRIPT LOAD, and EVAL only with its own script
# body (the sandbox's BullMQ trickle is a plain EVAL of another script and is not counted).
rcli SLOWLOG GET 1024 >"$WORK/slowlog.txt"
slow=$(awk '{ l = tolower($0) }
    prev == "eval" && l ~ /redis-runbook memory batch/ { n++ }
    l ~ /^(evalsha_ro|evalsha|eval_ro|script)$/ { n++ }
    { prev = l } END { print n + 0 }' "$WORK/slowlog.txt")

echo
echo "keys:                          $have"
echo "redis-cli --memkeys median:    ${mk_med} s"
echo "redis-runbook memory median:   ${our_med} s   (ratio ${ratio})"
echo "redis-runbook memory peak RSS: $((rss_max / 1024)) MB (max of $RUNS runs; goal < 50 MB)"
echo "SLOWLOG entries of the analysis (> 10 ms): ${slow}"

fail=0
awk -v a="$our_med" -v b="$mk_med" 'BEGIN { exit !(a <= b) }' || { echo "GOAL MISSED: slower than --memkeys"; fail=1; }
[ "$rss_max" -lt "$RSS_LIMIT_KB" ] || { echo "GOAL MISSED: peak RSS ${rss_max} KB >= 50 MB"; fail=1; }
[ "$slow" -eq 0 ] || { echo "GOAL MISSED: ${slow} analysis commands in SLOWLOG"; rcli SLOWLOG GET 10; fail=1; }
[ "$fail" = 0 ] && echo "all goals met"
exit "$fail"
