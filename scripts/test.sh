#!/usr/bin/env bash
# Runs every test, one test process per group. Each process has its own small cooperative
# thread pool (2 cores here): end-to-end suites that wait on tmux or sandboxes then cannot
# starve the timing-sensitive unit tests of another group. Prints a closing line
# "tests: N passed, M failed" and exits non-zero if any group failed.
set -uo pipefail
cd "$(dirname "$0")/.."
SWIFT="${SWIFT:-swift}"
groups=(
  "RenderTests|AppTests|CLITests|DiagnosisTests|HostileInputTests"
  "ProcessRunnerTests"
  "MemoryAnalysisTests"
  "SandboxTests"
  "SandboxAPITests"
  "RunbooksTests"
  "^EndToEndTests\\."
  "ReliabilityTests"
  # alert rules (promtool), runbook pages, alert command, kubectl/k9s plugins, make install,
  # and the Prometheus end-to-end test (issue 17)
  "AlertsTests"
)
log_dir="$(mktemp -d)"
passed=0; failed=0; bad_groups=()
for g in "${groups[@]}"; do
  echo "== swift test --filter '$g'"
  log="$log_dir/$(echo "$g" | tr -c 'A-Za-z0-9' '_').log"
  "$SWIFT" test --skip-build --filter "$g" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  # Swift Testing's own closing line: "Test run with N tests in M suites passed|failed ..."
  n=$(grep -Eo 'Test run with [0-9]+ tests?' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
  f=$(grep -Ec '^✘ Test [^ ]+ failed after' "$log" || true)
  if [ "$status" -ne 0 ] || [ "${n:-0}" -eq 0 ]; then
    bad_groups+=("$g")
    [ "${f:-0}" -eq 0 ] && f=1
  fi
  passed=$((passed + ${n:-0} - ${f:-0})); failed=$((failed + ${f:-0}))
done
rm -rf "$log_dir"
[ ${#bad_groups[@]} -gt 0 ] && echo "failing groups: ${bad_groups[*]}"
echo "tests: $passed passed, $failed failed"
[ ${#bad_groups[@]} -eq 0 ]
