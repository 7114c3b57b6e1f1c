#!/usr/bin/env bash
# libFuzzer over the parsers that read untrusted input (INFO, kubectl JSON, runbook YAML, and the
# sandbox API server's request parsing: target, query, selectors, continue, bodies, patches).
#   FUZZ_SECONDS  per target (default 60)
#   FUZZ_JOBS     targets run at once, each its own process (default 1; 2 on a 2-core box)
#   scripts/fuzz.sh [TARGET...]   (default: FuzzInfo FuzzKubeJSON FuzzRunbook FuzzAPIRequest;
#                                 with targets named, only those are built)
# Seeds: the reference captures, the test fixtures, the hostile corpus and the bundled runbooks;
# the growing corpus stays in .build-fuzz/corpus/<target>. Crashes, leaks and timeouts are
# written to Fuzz/artifacts/<target>/ and make this script exit non-zero. A summary line per
# target (executions, coverage, corpus) is printed and kept in .build-fuzz/corpus/<target>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
seconds="${FUZZ_SECONDS:-60}"
jobs="${FUZZ_JOBS:-1}"
if [ "$#" -gt 0 ]; then targets=("$@"); else targets=(FuzzInfo FuzzKubeJSON FuzzRunbook FuzzAPIRequest); fi
products=()
if [ "$#" -gt 0 ]; then for t in "${targets[@]}"; do products+=(--product "$t"); done; fi

# Release (optimised) with ASan; no -parse-as-library: each main.swift calls LLVMFuzzerRunDriver
# (see Fuzz/Package.swift). lld: gold crashes (internal error in format_file_lineno) on these
# links. A failed build fails the script.
build_log=.build-fuzz/build.log
mkdir -p .build-fuzz
if ! swift build --package-path Fuzz --scratch-path .build-fuzz -c release \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld ${products[@]+"${products[@]}"} >"$build_log" 2>&1; then
  grep -vE 'ld.gold: warning|^$' "$build_log" | tail -20
  echo "fuzz build failed (full log: $build_log)"; exit 2
fi

work=.build-fuzz/corpus
seed() { # target -> copies its seeds (never overwriting what the fuzzer found)
  local t="$1" corpus="$work/$1"
  mkdir -p "$corpus"
  case "$t" in
    FuzzInfo)
      find ../shared/reference/redis-info Tests/DiagnosisTests/Fixtures/redis-info Tests/HostileInputTests/Corpus/info \
        -type f -size -256k 2>/dev/null | while read -r f; do cp -n "$f" "$corpus/" 2>/dev/null || true; done ;;
    FuzzKubeJSON)
      find ../shared/reference/kubectl Tests/DiagnosisTests/Fixtures/kubectl Tests/HostileInputTests/Corpus/kubectl \
        -type f -name '*.json' -size -256k 2>/dev/null | while read -r f; do cp -n "$f" "$corpus/" 2>/dev/null || true; done ;;
    FuzzRunbook)
      find runbooks Tests/HostileInputTests/Corpus/runbooks -type f -name '*.yaml' 2>/dev/null \
        | while read -r f; do cp -n "$f" "$corpus/" 2>/dev/null || true; done ;;
    FuzzAPIRequest)
      # Requests as the fuzz target reads them: target line, Content-Type line, body. The
      # targets kubectl and the tests send, and the reference objects as patch bodies.
      local i=0 ct
      while IFS= read -r line; do
        i=$((i + 1)); printf '%s\n\n' "$line" > "$corpus/seed-target-$i"
      done < Fuzz/Seeds/api-targets.txt
      i=0
      for ct in application/merge-patch+json application/strategic-merge-patch+json application/json-patch+json; do
        find ../shared/reference/kubectl Tests/DiagnosisTests/Fixtures/kubectl -type f -name '*.json' -size -64k 2>/dev/null \
          | head -20 | while read -r f; do
            i=$((i + 1)); { printf '/apis/apps/v1/namespaces/default/statefulsets/redis\n%s\n' "$ct"; cat "$f"; } > "$corpus/seed-${ct//\//_}-$(basename "$f")"
          done
      done
      cp -n Fuzz/Seeds/api-bodies/* "$corpus/" 2>/dev/null || true ;;
  esac
}

run_one() { # target -> 0 when no crash
  local t="$1" artifacts="Fuzz/artifacts/$1" log="$work/$1.log"
  mkdir -p "$artifacts"
  ".build-fuzz/release/$t" "$work/$t" -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=65536 \
    -timeout=20 -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1
}

summary() { # target status
  local t="$1" rc="$2" log="$work/$1.log"
  local execs cov ft corp
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  corp=$(grep -oE 'corp: [0-9]+/[0-9a-zA-Z]+' "$log" | tail -1 | awk '{print $2}')
  local crashes
  crashes=$(find "Fuzz/artifacts/$t" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  printf '%-13s %s s  executions %s  coverage %s edges / %s features  corpus %s  artifacts %s  %s\n' \
    "$t" "$seconds" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes" "$([ "$rc" = 0 ] && echo ok || echo FAILED)"
  if [ "$rc" != 0 ]; then grep -E 'ERROR|SUMMARY|==[0-9]+==' "$log" | head -5 || true; fi
}

for t in "${targets[@]}"; do seed "$t"; done
status=0
i=0
while [ "$i" -lt "${#targets[@]}" ]; do
  batch=("${targets[@]:$i:$jobs}")
  pids=()
  for t in "${batch[@]}"; do
    echo "== $t for ${seconds}s"
    run_one "$t" & pids+=($!)
  done
  for k in "${!batch[@]}"; do
    rc=0; wait "${pids[$k]}" || rc=$?
    summary "${batch[$k]}" "$rc"
    [ "$rc" = 0 ] || status=1
  done
  i=$((i + jobs))
done
exit $status
