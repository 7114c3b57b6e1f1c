#!/usr/bin/env bash
# Where the dashboard's own start-up CPU goes (issue 16, figure 3): instructions counted by
# `valgrind --tool=callgrind` from the tool's exec to its first full screen (bench-screen.py
# check), on the benchmark's sandbox, in tmux at 200x60. kubectl and the other children are not
# traced. Not part of `make bench`: a start takes ~2-3 s under valgrind, so the count includes the
# refreshes of those seconds and moves by a few percent from run to run.
#
# valgrind 3.19 rejects the Swift 6.2 binary's DWARF ("Possibly corrupted debuginfo file"), so it
# runs a copy with the debug info stripped (`objcopy --strip-debug`; the symbols stay).
# Prints the total and the heaviest of the tool's own functions (inclusive); the callgrind file
# is kept ($OUT, default /tmp/rrb-callgrind.out; the dump at the full screen is $OUT.1).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
command -v valgrind >/dev/null || { echo "bench-callgrind: valgrind is not installed (apt-get install valgrind)"; exit 2; }
OUT=${OUT:-/tmp/rrb-callgrind.out}

bench_build redis-runbook
bench_tmux_init
WORK=$(mktemp -d /tmp/rrb-bench-cg.XXXXXX)
cleanup() { bench_tmux_cleanup; bench_sandbox_cleanup; rm -rf "$WORK"; }
trap cleanup EXIT
bench_sandbox
# The tool finds its watchdog and exec relay next to itself.
objcopy --strip-debug "$BIN" "$WORK/redis-runbook"
for h in redis-runbook-watchdog redis-runbook-exec-relay; do cp "$BIN_DIR/$h" "$WORK/"; done
rm -f "$OUT" "$OUT".*
q=""; for a in valgrind --tool=callgrind "--callgrind-out-file=$OUT" "$WORK/redis-runbook" --kubeconfig "$KUBECONFIG" --kubectl "$K" --refresh 1; do q+=" $(printf '%q' "$a")"; done
btmux new-session -d -s cg -x 200 -y 60 "bash -c 'export TERM=xterm-256color KUBECACHEDIR=$(printf '%q' "$KUBECACHEDIR"); exec$q 2>$WORK/valgrind.err'"
full=no
for _ in $(seq 1 600); do
    if bench_full_screen "$(btmux capture-pane -p -t cg 2>/dev/null || true)"; then full=yes; break; fi
    sleep 0.05
done
callgrind_control -d >/dev/null 2>&1 || true
sleep 1
btmux send-keys -t cg q; sleep 3
if [ "$full" != yes ] || [ ! -s "$OUT.1" ]; then echo "bench-callgrind: no full screen under valgrind"; tail -5 "$WORK/valgrind.err"; exit 1; fi
echo "instructions from exec to the first full screen: $(awk '/^totals:/ {print $2}' "$OUT.1")"
echo "the tool's heaviest functions (inclusive):"
callgrind_annotate --inclusive=yes --threshold=100 "$OUT.1" 2>/dev/null | sed -n '/file:function/,$p' |
    { if command -v swift >/dev/null; then swift demangle --simplified; else cat; fi; } |
    grep -E "Prober\.|SnapshotBuilder|LogScan|KubeJSON|Terminal\.present|App\.render|asyncParseAsRoot|JSONDecoder\.decode" |
    grep -v "'2" | awk '!seen[$0]++' | head -20 | cut -c1-160
