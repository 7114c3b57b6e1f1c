#!/usr/bin/env bash
# libFuzzer over the parsers that read untrusted input (INFO, kubectl JSON, runbook YAML).
# FUZZ_SECONDS per target (default 60). Seeds: the test fixtures and the bundled runbooks.
# Crashes are written to Fuzz/artifacts/<target>/ and make this script exit non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
seconds="${FUZZ_SECONDS:-60}"
targets=("${@:-FuzzInfo FuzzKubeJSON FuzzRunbook}")
read -r -a targets <<<"${targets[*]}"

swift build --package-path Fuzz --scratch-path .build-fuzz -c debug \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library 2>&1 | grep -vE 'ld.gold: warning|^$' | tail -5

work=.build-fuzz/corpus
status=0
for t in "${targets[@]}"; do
  corpus="$work/$t"; artifacts="Fuzz/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  case "$t" in
    FuzzInfo)     cp -n ../shared/reference/redis-info/*.txt Tests/DiagnosisTests/Fixtures/*.txt "$corpus"/ 2>/dev/null || true ;;
    FuzzKubeJSON) cp -n ../shared/reference/kubectl/*.json Tests/DiagnosisTests/Fixtures/*.json "$corpus"/ 2>/dev/null || true ;;
    FuzzRunbook)  cp -n runbooks/*.yaml "$corpus"/ 2>/dev/null || true ;;
  esac
  echo "== $t for ${seconds}s"
  log="$work/$t.log"
  if ! ".build-fuzz/debug/$t" "$corpus" -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=262144 \
        -timeout=10 -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1; then
    echo "$t: FAILED (see $log and $artifacts)"; status=1
  fi
  grep -E 'stat::number_of_executed_units|stat::peak_rss_mb|DONE|ERROR|SUMMARY' "$log" | tail -5 || true
done
exit $status
