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
# Groups that drive real processes (sandboxes, tmux, kubectl) on a shared 2-core machine: a test
# of theirs that failed is run once more on its own. It counts as passed only if that second run
# passes, and it is then reported by name as FLAKY in the summary (and in
# .build/test-flaky.txt), never hidden. Unit groups get no second run.
retry_groups='SandboxTests SandboxAPITests RunbooksTests ^EndToEndTests\. ReliabilityTests AlertsTests'
log_dir="$(mktemp -d)"
passed=0; failed=0; bad_groups=(); flaky=()
: > .build/test-flaky.txt 2>/dev/null || true
for g in "${groups[@]}"; do
  echo "== swift test --filter '$g'"
  log="$log_dir/$(echo "$g" | tr -c 'A-Za-z0-9' '_').log"
  "$SWIFT" test --skip-build --filter "$g" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  # Swift Testing's own closing line: "Test run with N tests in M suites passed|failed ..."
  n=$(grep -Eo 'Test run with [0-9]+ tests?' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
  f=$(grep -Ec '^✘ Test [^ ]+ failed after' "$log" || true)
  # Every failed test, display names with spaces included (not Swift Testing's closing "Test run" line).
  f_all=$(grep -E '^✘ Test .* failed after' "$log" | grep -vc '^✘ Test run with' || true)
  if [ "$status" -ne 0 ] && [ "${n:-0}" -gt 0 ] && [ "${f:-0}" -gt 0 ] && [ "$f_all" -eq "$f" ] && [[ " $retry_groups " == *" $g "* ]]; then
    # The failed tests by name ("✘ Test name() failed after ..."), each run again alone.
    still=0
    while read -r t; do
      name="${t%%(*}"
      echo "== again, on its own: $name (failed in group '$g')"
      again="$log_dir/again-$name.log"
      "$SWIFT" test --skip-build --filter "[./]$name\\(" 2>&1 | tee "$again"
      if [ "${PIPESTATUS[0]}" -eq 0 ] && grep -Eq 'Test run with [1-9][0-9]* tests? .*passed' "$again"; then
        flaky+=("$name")
        echo "FLAKY: $name failed in the group run and passed on its own" | tee -a .build/test-flaky.txt
      else
        still=$((still + 1))
      fi
    done < <(grep -Eo '^✘ Test [^ ]+ failed after' "$log" | sed -E 's/^✘ Test ([^ ]+) failed after/\1/' | sort -u)
    if [ "$still" -eq 0 ]; then status=0; f=0; fi
  fi
  if [ "$status" -ne 0 ] || [ "${n:-0}" -eq 0 ]; then
    bad_groups+=("$g")
    [ "${f:-0}" -eq 0 ] && f=1
  fi
  passed=$((passed + ${n:-0} - ${f:-0})); failed=$((failed + ${f:-0}))
done
rm -rf "$log_dir"
[ ${#bad_groups[@]} -gt 0 ] && echo "failing groups: ${bad_groups[*]}"
[ ${#flaky[@]} -gt 0 ] && echo "flaky (failed once, passed on their own): ${flaky[*]}"
echo "tests: $passed passed, $failed failed${flaky:+, ${#flaky[@]} flaky}"
[ ${#bad_groups[@]} -eq 0 ]
