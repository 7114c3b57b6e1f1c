# Shared helpers for the benchmark scripts (sourced, not run). Issues 7 and 16.
#
# Environment understood by every bench-*.sh that sources this file:
#   SCRATCH            swift scratch path of the release build (default .build-bench)
#   BENCH_SANDBOX_DIR  sandbox directory to use (default: a fresh temp dir, removed afterwards)
#   KEEP_SANDBOX=1     leave the sandbox running
#   BENCH_SKIP_BUILD=1 reuse the release binary already built (bench.sh builds once)
#   BENCH_RESULTS      file that collects the RESULT lines (bench.sh reads it for its summary)
#   BENCH_BIN          a prebuilt redis-runbook to measure instead of building one (benchmark 7
#                      wants RenderBench in the same directory, as a release build has it)

SCRATCH=${SCRATCH:-.build-bench}
BENCH_STATIC=${BENCH_STATIC---static-swift-stdlib}

bench_build() {
    local product=$1
    if [ -n "${BENCH_BIN:-}" ]; then  # a prebuilt redis-runbook (e.g. another checkout's release build)
        BIN=$BENCH_BIN; BIN_DIR=$(dirname "$BIN"); SB=$(bench_sandbox_binary) || exit 2; return 0
    fi
    if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
        echo "== building $product (release, scratch $SCRATCH)" >&2
        # The tool's kubectl proxy runs under its watchdog and the dashboard's Redis session through
        # the exec relay, as installed: built with them.
        # Linked as `make install` links it: the Swift runtime and Foundation static (BENCH_STATIC).
        if ! { swift build -c release --scratch-path "$SCRATCH" $BENCH_STATIC --product "$product" &&
               swift build -c release --scratch-path "$SCRATCH" $BENCH_STATIC --product redis-runbook-watchdog &&
               swift build -c release --scratch-path "$SCRATCH" $BENCH_STATIC --product redis-runbook-exec-relay; } >/tmp/rrb-bench-build-$$.log 2>&1; then
            grep -E "error" /tmp/rrb-bench-build-$$.log | head -20 >&2
            echo "bench: release build of $product failed (log: /tmp/rrb-bench-build-$$.log)" >&2
            exit 2
        fi
    fi
    BIN_DIR="$(swift build -c release --scratch-path "$SCRATCH" $BENCH_STATIC --show-bin-path)"
    BIN="$BIN_DIR/redis-runbook"
    SB=$(bench_sandbox_binary) || exit 2
}

# The sandbox (the API server and the pods' kubelet) is not what is measured: it stands for the
# cluster, the same for the baseline and for ours. Its release build, so that its API server's
# relay of every exec frame costs what a real one does, not a debug build's price: the one next
# to $BIN, else built here in release in $SCRATCH (bench.sh builds it with redis-runbook).
bench_sandbox_binary() {
    if [ -x "$BIN_DIR/redis-runbook-sandbox" ]; then echo "$BIN_DIR/redis-runbook-sandbox"; return; fi
    if ! swift build -c release --scratch-path "$SCRATCH" $BENCH_STATIC --product redis-runbook-sandbox >/tmp/rrb-bench-build-sbx-$$.log 2>&1; then
        echo "bench: release build of redis-runbook-sandbox failed (log: /tmp/rrb-bench-build-sbx-$$.log)" >&2; exit 2
    fi
    echo "$(swift build -c release --scratch-path "$SCRATCH" $BENCH_STATIC --show-bin-path)/redis-runbook-sandbox"
}

# Starts (or reuses) the sandbox; sets D (dir) and K (its kubectl). Seeds the demo data once.
bench_sandbox() {
    BENCH_OWN_DIR=0
    if [ -z "${BENCH_SANDBOX_DIR:-}" ]; then
        BENCH_SANDBOX_DIR=$(mktemp -d /tmp/rrb-bench-sbx.XXXXXX)
        BENCH_OWN_DIR=1
    fi
    D=$BENCH_SANDBOX_DIR
    K=/usr/bin/kubectl; export KUBECONFIG="$D/kubeconfig" KUBECACHEDIR="$D/kcache"
    "$SB" up --dir "$D" >/dev/null
    if [ ! -e "$D/.bench-seeded" ]; then
        "$SB" seed --dir "$D" --preset demo >/dev/null
        touch "$D/.bench-seeded"
    fi
}

bench_sandbox_cleanup() {
    if [ "${KEEP_SANDBOX:-0}" != 1 ] && [ "${BENCH_OWN_DIR:-0}" = 1 ]; then
        "$SB" down --dir "$D" >/dev/null 2>&1 || true
        rm -rf "$D"
    fi
}

# A `--kubectl` wrapper that appends "<epoch seconds> <args>" to $2 and execs the real kubectl $1.
# bash's $EPOCHREALTIME keeps the wrapper itself to one exec (no `date` process).
bench_counting_wrapper() {
    local real=$1 counter=$2 wrapper=$3
    cat >"$wrapper" <<EOF
#!/bin/bash
echo "\$EPOCHREALTIME \$*" >>'$counter'
exec '$real' "\$@"
EOF
    chmod +x "$wrapper"
}

# CPU seconds (user+system, including reaped children) of a process and all its live descendants.
bench_tree_cpu() { bench_tree "$1" cpu; }

# Sums over a process and its live descendants: "cpu" (seconds, utime+stime+cutime+cstime) or
# "rss" (resident KB).
bench_tree() {
    python3 - "$1" "$2" <<'EOF'
import os, sys
root, what = int(sys.argv[1]), sys.argv[2]
hz, page_kb = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE") // 1024
kids, value = {}, {}
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    try:
        s = open(f"/proc/{d}/stat").read()
    except OSError:
        continue
    f = s[s.rindex(")") + 2:].split()
    pid, ppid = int(d), int(f[1])
    kids.setdefault(ppid, []).append(pid)
    value[pid] = sum(int(x) for x in f[11:15]) if what == "cpu" else int(f[21]) * page_kb  # utime..cstime | rss pages
total, todo = 0, [root]
while todo:
    p = todo.pop()
    total += value.get(p, 0)
    todo += kids.get(p, [])
print(f"{total / hz:.2f}" if what == "cpu" else total)
EOF
}

bench_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

# Statistics over numbers on stdin, one per line.
bench_median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print "nan"; exit} if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
bench_min() { sort -g | head -1; }
bench_max() { sort -g | tail -1; }
# "median (min-max, n=N)"
bench_stats() { local f=$1; printf '%s (%s-%s, n=%s)' "$(bench_median <"$f")" "$(bench_min <"$f")" "$(bench_max <"$f")" "$(wc -l <"$f" | tr -d ' ')"; }

bench_now() { echo "$EPOCHREALTIME"; }
bench_calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }

# Records and prints a result line.
bench_result() {
    echo "RESULT $*"
    if [ -n "${BENCH_RESULTS:-}" ]; then echo "$*" >>"$BENCH_RESULTS"; fi
    return 0
}

# tmux on a private socket; every session is killed by name on exit.
bench_tmux_init() {
    TMUX_DIR=$(mktemp -d /tmp/rrb-bench-tmux.XXXXXX)
    TMUX_SOCK="$TMUX_DIR/sock"
}
btmux() { tmux -S "$TMUX_SOCK" "$@"; }
bench_tmux_cleanup() {
    if [ -n "${TMUX_SOCK:-}" ]; then tmux -S "$TMUX_SOCK" kill-server >/dev/null 2>&1 || true; fi
    if [ -n "${TMUX_DIR:-}" ]; then rm -rf "$TMUX_DIR"; fi
    return 0
}

# Prepares the dashboard in a new 200x60 tmux session $1: the session's shell waits on the fifo
# $TMUX_DIR/$1.go, then writes the launch time (epoch seconds) to $TMUX_DIR/$1.start and becomes
# the dashboard; its pid is in $TMUX_DIR/$1.pid (APP_PID). Extra args follow.
# bench_release_app starts it; bench_time_app starts and times it.
bench_prepare_app() {
    local name=$1; shift
    rm -f "$TMUX_DIR/$name.pid" "$TMUX_DIR/$name.start" "$TMUX_DIR/$name.go"
    mkfifo "$TMUX_DIR/$name.go"
    local q="" qe
    # The sandbox's kubeconfig and kubectl's cache spelled out (a tmux server started before
    # bench_sandbox carries neither KUBECONFIG nor KUBECACHEDIR). Exported by the shell that
    # takes the start time and then becomes the tool (no `env` process in between: the probes it
    # is compared with are started by bash directly).
    qe=$(printf '%q' "${KUBECACHEDIR:-$HOME/.kube/cache}")
    for a in "$BIN" --kubeconfig "$KUBECONFIG" "$@"; do q+=" $(printf '%q' "$a")"; done
    btmux new-session -d -s "$name" -x 200 -y 60 \
        "bash -c 'echo \$\$ >$TMUX_DIR/$name.pid; export TERM=xterm-256color KUBECACHEDIR=$qe; read -r _ <$TMUX_DIR/$name.go; echo \$EPOCHREALTIME >$TMUX_DIR/$name.start; exec$q'"
    btmux set-option -t "$name" remain-on-exit off >/dev/null 2>&1 || true
    local i=0
    while [ ! -s "$TMUX_DIR/$name.pid" ] && [ $i -lt 5000 ]; do bench_pause 0.001; i=$((i + 1)); done
    APP_PID=$(cat "$TMUX_DIR/$name.pid")
}

# Starts the dashboard prepared in session $1; APP_START is its launch time.
bench_release_app() {
    local name=$1 i=0
    echo go >"$TMUX_DIR/$name.go"
    while [ ! -s "$TMUX_DIR/$name.start" ] && [ $i -lt 5000 ]; do bench_pause 0.001; i=$((i + 1)); done
    APP_START=$(cat "$TMUX_DIR/$name.start")
}

# Prepares and starts the dashboard in session $1 (extra args follow), for benchmarks that do not
# time its start.
bench_launch_app() {
    bench_prepare_app "$@"
    bench_release_app "$1"
}

# Starts the dashboard prepared in session $1 and times it (bench-screen.py watch: no process
# forked while it starts): sets T_FRAME and T_FULL (seconds from its launch to its first frame and
# to its first full screen) and FRAME_FIRST (yes when the first frame had no data yet), and
# APP_START. Returns 1 when no full screen came within $2 s (default 30); the last screen is then
# in BENCH_LAST_SCREEN.
bench_time_app() {
    local name=$1 limit=${2:-30} out
    if ! out=$(python3 "$BENCH_SCREEN" watch "$TMUX_SOCK" "$name" "$TMUX_DIR/$name.go" "$TMUX_DIR/$name.start" "$limit"); then
        BENCH_LAST_SCREEN=$out; APP_START=$(cat "$TMUX_DIR/$name.start" 2>/dev/null || echo 0); return 1
    fi
    APP_START=$(cat "$TMUX_DIR/$name.start")
    read -r _ T_FRAME _ T_FULL _ FRAME_FIRST <<<"$out"
}

# Asks the dashboard in session $1 to quit (q) and waits (up to 10 s) for process $2 to end.
bench_quit_app() {
    local name=$1 pid=$2 i=0
    btmux send-keys -t "$name" q >/dev/null 2>&1 || true
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    if kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
    btmux kill-session -t "$name" >/dev/null 2>&1 || true
}

# The naive loop of issue 16's baselines, written to $1: `kubectl get pod redis-0 -o json` and
# `kubectl exec redis-0 -c redis -- redis-cli INFO` every second with kubectl $2 (an argument).
# Pacing with bash arithmetic and `read -t` on an idle fd: no process besides the two kubectl calls.
bench_naive_loop_script() {
    cat >"$1" <<'LOOP'
#!/bin/bash
# The way people watch today: two kubectl calls every second.
K=$1
exec 9<> <(:)
t=${EPOCHREALTIME/./}; next=$((10#$t))
while :; do
    "$K" get pod redis-0 -o json >/dev/null 2>&1
    "$K" exec redis-0 -c redis -- redis-cli INFO >/dev/null 2>&1
    next=$((next + 1000000))
    t=${EPOCHREALTIME/./}; now=$((10#$t))
    d=$((next - now))
    if [ $d -gt 0 ]; then printf -v frac '%06d' $((d % 1000000)); read -r -t "$((d / 1000000)).$frac" -u 9 _ || true; fi
done
LOOP
    chmod +x "$1"
}

# The sandbox API server's own counters (`kubectl get --raw /metrics`, admin) into file $1.
bench_scrape() { "$K" get --raw /metrics >"$1" 2>/dev/null || { echo "bench: cannot read the API server's /metrics" >&2; return 1; }; }

# Differences of counter $1 between scrapes $2 and $3, summed by "VERB resource[/subresource]"
# ("VERB -" for non-resource paths: discovery, /version, /metrics), one "key count" a line.
bench_metric_diff() {
    awk -v m="$1" -v second="$3" '
        function label(s, n,   r) { if (match(s, n "=\"[^\"]*\"")) { r = substr(s, RSTART + length(n) + 2, RLENGTH - length(n) - 3); return r } return "" }
        index($0, m "{") == 1 {
            res = label($0, "resource"); sub_ = label($0, "subresource"); verb = label($0, "verb")
            key = verb " " (res == "" ? "-" : res) (sub_ == "" ? "" : "/" sub_)
            v = $NF + 0
            if (FILENAME == second) b[key] += v; else a[key] += v
            keys[key] = 1
        }
        END { for (k in keys) if (b[k] - a[k] != 0) print k, b[k] - a[k] }' "$2" "$3" | sort
}

# Sums "key count" lines on stdin by the key's first word (the verb): "VERB count" lines.
bench_by_verb() { awk '{ n[$1] += $NF } END { for (v in n) print v, n[v] }' | sort; }
bench_sum() { awk '{ s += $NF } END { print s + 0 }'; }

# Resident memory (KB) of a process and all its live descendants.
bench_tree_rss_kb() { bench_tree "$1" rss; }

# Issue 16's "full screen" (every panel holds real data), defined once, in bench-screen.py.
BENCH_SCREEN="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/bench-screen.py"
bench_full_screen() { python3 "$BENCH_SCREEN" check <<<"$1"; }

# Waits $1 seconds (a fraction) without a process: `read -t` on an idle descriptor.
exec {BENCH_IDLE_FD}<> <(:)
bench_pause() {
    read -r -t "$1" -u "$BENCH_IDLE_FD" _ || true
}
