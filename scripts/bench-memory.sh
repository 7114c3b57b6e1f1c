#!/usr/bin/env bash
# Benchmark 6 (issue 16; issue 6's memory analysis): `redis-runbook memory` against
# `redis-cli --memkeys`, side by side, both through the real `kubectl exec` (the baseline runs
# `kubectl exec -i redis-0 -c redis -- redis-cli --memkeys`) on the same 1,000,000 keys.
#
# Goals (exit status 1 when one is missed):
#   - median wall time of `redis-runbook memory` <= RATIO_GOAL (default 0.5) x `redis-cli --memkeys`'s
#   - peak RSS of the analysing process < 50 MB
#   - no command of the analysis in SLOWLOG over 10 ms; the slowest one is reported (SLOWLOG
#     records every command over 1 ms during the runs)
#
# Both go through the sandbox's API server, built in release like the tool (the one next to BIN,
# else built in SCRATCH): its relay of every exec frame is the cluster's cost, not what is measured.
#
# Environment: RUNS (default 5), KEYS (default 1000000), RATIO_GOAL, SCRATCH (swift scratch path,
# default .build-bench), BIN or BENCH_BIN (a prebuilt release redis-runbook: skips the build),
# BENCH_SANDBOX_DIR (default: a fresh temp dir, removed afterwards), KEEP_SANDBOX=1,
# MEMORY_ARGS (extra arguments to `redis-runbook memory`, e.g. `--sample 0.25`),
# SAVE_JSON (a path: the last run's `--json` report is copied there, e.g. to compare a sampled
# run's estimates with an exact run's counts), BENCH_SETTLE (default 1: a BGSAVE done and no
# fork child running before each side; 0: as Redis's own save rules fall).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
KEYS=${KEYS:-1000000}
SCRATCH=${SCRATCH:-.build-bench}
BENCH_STATIC=${BENCH_STATIC---static-swift-stdlib}   # linked as `make install` links it
RSS_LIMIT_KB=$((50 * 1024))
RATIO_GOAL=${RATIO_GOAL:-0.5}
BIN=${BIN:-${BENCH_BIN:-}}

if [ ! -x /usr/bin/time ]; then
    echo "bench-memory: /usr/bin/time is missing (apt-get install time)" >&2
    exit 2
fi

if [ -n "${BIN:-}" ]; then
    echo "== using prebuilt $BIN"
else
echo "== building (release)"
if ! { swift build -c release --scratch-path "$SCRATCH" $BENCH_STATIC --product redis-runbook &&
        swift build -c release --scratch-path "$SCRATCH" $BENCH_STATIC --product redis-runbook-watchdog &&
        swift build -c release --scratch-path "$SCRATCH" $BENCH_STATIC --product redis-runbook-exec-relay &&
        swift build -c release --scratch-path "$SCRATCH" $BENCH_STATIC --product redis-runbook-sandbox; } >/tmp/rrb-bench-mem-build.log 2>&1; then
    grep -E "error" /tmp/rrb-bench-mem-build.log | head -20 >&2
    echo "bench-memory: release build failed (full log: /tmp/rrb-bench-mem-build.log)" >&2
    exit 2
fi
BIN="$(swift build -c release --scratch-path "$SCRATCH" $BENCH_STATIC --show-bin-path)/redis-runbook"
fi
. scripts/bench-lib.sh
BIN_DIR="$(dirname "$BIN")"; SB=$(bench_sandbox_binary) || exit 2
echo "== sandbox binary: $SB"

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

rcli CONFIG SET slowlog-log-slower-than 1000 >/dev/null
rcli CONFIG SET slowlog-max-len 100000 >/dev/null
rcli SLOWLOG RESET >/dev/null

# Redis's own busy time (INFO all, read before and after each side): used_cpu_user+sys, the usec
# of the scripts (EVAL*, which include the commands they call) and of every other command (for
# the analysis these are mostly the calls inside its scripts, counted twice; for --memkeys its
# SCAN, TYPE and MEMORY USAGE). The sandbox's BullMQ trickle runs meanwhile on both sides.
redis_busy() {
    rcli INFO all | tr -d '\r' | awk -F'[:,=]' '/^used_cpu_(user|sys):/ {cpu += $2}
        /^cmdstat_/ {for (i = 2; i < NF; i++) if ($i == "usec") { if ($1 ~ /^cmdstat_eval/) ev += $(i + 1); else us += $(i + 1) } }
        END {printf "%.2f %.2f %.2f\n", cpu, ev / 1e6, us / 1e6}'
}
busy_delta() {
    awk -v a="$1" -v b="$2" -v x="$3" -v y="$4" -v p="$5" -v q="$6" \
        'BEGIN { printf "Redis CPU %.2f s, scripts %.2f s, other commands %.2f s", a - b, x - y, p - q }'
}

# Before each side: no fork child (BGSAVE, AOF rewrite) running, and a fresh BGSAVE done, so
# that Redis's own `save 300 100` (the sandbox's BullMQ app writes all the time) does not start
# one during the timed run: a fork child of a 1,000,000-key Redis takes a core for a second or
# two, and Redis preempted mid-script is what put the analysis's scripts in SLOWLOG (session 10).
# Each run prints the forks that happened during each side (INFO total_forks), so a run that had
# one anyway is seen. BENCH_SETTLE=0 skips this (Redis's own saves may then land in a run).
persistence_quiet() {
    local i=0
    [ "${BENCH_SETTLE:-1}" = 1 ] || return 0
    rcli BGSAVE >/dev/null 2>&1 || true
    while [ $i -lt 600 ]; do
        if rcli INFO persistence | tr -d '\r' | awk -F: '/^(rdb_bgsave_in_progress|aof_rewrite_in_progress):/ { s += $2 } END { exit s != 0 }'; then return 0; fi
        sleep 0.1; i=$((i + 1))
    done
    echo "bench-memory: a BGSAVE or AOF rewrite still runs after 60 s" >&2
}
forks() { rcli INFO stats | tr -d '\r' | awk -F: '/^total_forks:/ {print $2}'; }

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

: >"$WORK/ours.txt"; : >"$WORK/memkeys.txt"; : >"$WORK/rss.txt"
for i in $(seq 1 "$RUNS"); do
    persistence_quiet; f0=$(forks)
    read -r b_cpu b_ev b_us < <(redis_busy)
    /usr/bin/time -f "%e %M %U %S" -o "$WORK/t" "$K" exec -i redis-0 -c redis -- redis-cli --memkeys >"$WORK/memkeys.out" 2>&1
    read -r mk_wall mk_rss mk_u mk_s <"$WORK/t"
    read -r a_cpu a_ev a_us < <(redis_busy)
    mk_forks=$(( $(forks) - f0 ))
    persistence_quiet; f0=$(forks)
    mk_busy=$(busy_delta "$a_cpu" "$b_cpu" "$a_ev" "$b_ev" "$a_us" "$b_us")
    # /usr/bin/time's %M is the largest RSS of the process and every child it reaped, i.e. of its
    # kubectl (about 46 MB) when that is larger: the tool's own peak (VmHWM) is polled instead.
    read -r b_cpu b_ev b_us < <(redis_busy)
    /usr/bin/time -f "%e %M %U %S" -o "$WORK/t" "$BIN" memory --kubectl "$K" --json ${MEMORY_ARGS:-} >"$WORK/ours.json" 2>"$WORK/ours.err" &
    tpid=$!; our_rss=0
    while kill -0 "$tpid" 2>/dev/null; do
        p=$(pgrep -P "$tpid" | head -1 || true)
        if [ -n "$p" ]; then h=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || true); [ -n "$h" ] && our_rss=$h; fi
        sleep 0.2
    done
    wait "$tpid" || { echo "run $i: redis-runbook memory failed:"; cat "$WORK/ours.err"; exit 1; }
    read -r our_wall tree_rss our_u our_s <"$WORK/t"
    read -r a_cpu a_ev a_us < <(redis_busy)
    our_forks=$(( $(forks) - f0 ))
    our_busy=$(busy_delta "$a_cpu" "$b_cpu" "$a_ev" "$b_ev" "$a_us" "$b_us")
    echo "$mk_wall" >>"$WORK/memkeys.txt"
    echo "$our_wall" >>"$WORK/ours.txt"
    echo "$our_rss" >>"$WORK/rss.txt"
    keys=$(grep -m1 '"keysScanned"' "$WORK/ours.json" | tr -dc '0-9')
    lat=$(grep -m1 '"maxBatchLatencyMs"' "$WORK/ours.json" | sed 's/.*: *//; s/,//')
    scr=$(grep -m1 '"maxScriptMs"' "$WORK/ours.json" | sed 's/.*: *//; s/,//')
    bat=$(grep -m1 '"batches"' "$WORK/ours.json" | tr -dc '0-9')
    mlat=$(grep -m1 '"medianBatchLatencyMs"' "$WORK/ours.json" | sed 's/.*: *//; s/,//')
    mscr=$(grep -m1 '"medianScriptMs"' "$WORK/ours.json" | sed 's/.*: *//; s/,//')
    pau=$(grep -m1 '"pausedSeconds"' "$WORK/ours.json" | sed 's/.*: *//; s/,//')
    split=$(python3 -c 'import json, sys
s = json.load(open(sys.argv[1]))["scan"]
f = lambda k: s.get(k) or 0
print("in its scripts %.2f s (their own TIME, summed), before the first batch %.2f s, after the last answer %.2f s, of %.2f s" % (f("scriptSeconds"), f("startSeconds"), f("endSeconds"), f("durationSeconds")))' "$WORK/ours.json" 2>/dev/null || true)
    printf 'run %d: memkeys %6.2f s | memory %6.2f s, %s keys, %s batches, peak RSS %d KB (with kubectl child: %d KB; memkeys side: %d KB), batch answer median %.2f max %.1f ms, script median %.2f max %.1f ms, paused %.1f s\n' \
        "$i" "$mk_wall" "$our_wall" "$keys" "$bat" "$our_rss" "$tree_rss" "$mk_rss" "$mlat" "$lat" "$mscr" "$scr" "$pau"
    echo "       memkeys: $mk_busy; its kubectl ${mk_u} s user + ${mk_s} s sys; Redis forks during it: $mk_forks"
    echo "       memory: $our_busy; the tool and its kubectl ${our_u} s user + ${our_s} s sys; $split; Redis forks during it: $our_forks; load $(cut -d' ' -f1-3 /proc/loadavg)"
done

[ -n "${SAVE_JSON:-}" ] && cp "$WORK/ours.json" "$SAVE_JSON"
mk_med=$(median <"$WORK/memkeys.txt")
our_med=$(median <"$WORK/ours.txt")
rss_max=$(sort -n "$WORK/rss.txt" | tail -1)
ratio=$(awk -v a="$our_med" -v b="$mk_med" 'BEGIN { printf "%.2f", a / b }')
# The analysis's commands (the sandbox's BullMQ trickle runs EVALSHA and EVAL of its own scripts,
# with keys, and is not counted).
"$K" exec -i redis-0 -c redis -- redis-cli --json SLOWLOG GET 100000 >"$WORK/slowlog.json"
read -r slow slow_max slow_n < <(python3 - "$WORK/slowlog.json" <<'PY'
import json, sys
# The BullMQ trickle's entries carry binary arguments (msgpack): read them leniently, and never
# take an unreadable log for an empty one.
entries = json.loads(open(sys.argv[1], "rb").read().decode("utf-8", "replace"), strict=False)
ours = []
for e in entries:
    args = [str(a) for a in e[3]] if len(e) > 3 and isinstance(e[3], list) else []
    name = args[0].lower() if args else ""
    # Ours: EVALSHA_RO, or EVALSHA with no keys and its 10 arguments (Redis < 7; the BullMQ
    # trickle's EVALSHA names its keys), SCRIPT LOAD, EVAL*/EVAL_RO with its own body.
    if name in ("evalsha_ro", "script") or (name == "evalsha" and len(args) == 13 and args[2] == "0") \
            or (name in ("eval", "eval_ro") and any("redis-runbook memory batch" in a for a in args[1:2])):
        ours.append(int(e[2]))
print(sum(1 for d in ours if d > 10000), max(ours) if ours else 0, len(ours))
PY
)
slow_max_ms=$(awk -v u="$slow_max" 'BEGIN { printf "%.1f", u / 1000 }')

echo
echo "keys:                          $have"
echo "redis-cli --memkeys median:    ${mk_med} s"
echo "redis-runbook memory median:   ${our_med} s   (ratio ${ratio})"
echo "redis-runbook memory peak RSS: $((rss_max / 1024)) MB (its own VmHWM, max of $RUNS runs; goal < 50 MB)"
echo "SLOWLOG entries of the analysis (> 10 ms): ${slow}"
echo "slowest analysis command in SLOWLOG: ${slow_max_ms} ms (${slow_n} of its commands took over 1 ms)"

fail=0
awk -v r="$ratio" -v g="$RATIO_GOAL" 'BEGIN { exit !(r <= g) }' || { echo "GOAL MISSED: ratio $ratio > $RATIO_GOAL of --memkeys"; fail=1; }
[ "$rss_max" -lt "$RSS_LIMIT_KB" ] || { echo "GOAL MISSED: peak RSS ${rss_max} KB >= 50 MB"; fail=1; }
[ "$slow" -eq 0 ] || { echo "GOAL MISSED: ${slow} analysis commands in SLOWLOG"; rcli SLOWLOG GET 10; fail=1; }
[ "$fail" = 0 ] && echo "all goals met"
bench_result "6 memory analysis of $have keys${MEMORY_ARGS:+ (memory $MEMORY_ARGS)}: baseline (redis-cli --memkeys via kubectl exec) ${mk_med}s $(bench_stats "$WORK/memkeys.txt"), ours ${our_med}s $(bench_stats "$WORK/ours.txt"), ratio $ratio, peak RSS $((rss_max / 1024)) MB, SLOWLOG: $slow analysis commands over 10 ms, slowest ${slow_max_ms} ms, goal <= $RATIO_GOAL, RSS < 50 MB, none over 10 ms: $([ "$fail" = 0 ] && echo PASS || echo FAIL)"
exit "$fail"
