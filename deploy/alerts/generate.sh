#!/usr/bin/env bash
# Writes deploy/alerts/redis-prometheusrule.yaml (a prometheus-operator PrometheusRule) from
# deploy/alerts/redis.rules.yaml, the one source of the Redis alert rules.
#
#   deploy/alerts/generate.sh                          # regenerate the PrometheusRule
#   deploy/alerts/generate.sh --runbook-url-base URL   # first point every runbook_url at
#        URL/docs/runbooks/<runbook_id>.md (URL: where this repository is browsed, e.g.
#        https://git.example.com/ops/redis-runbook/blob/main), in the rules file itself and in
#        its promtool tests
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
rules="$here/redis.rules.yaml"
out="$here/redis-prometheusrule.yaml"

base=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runbook-url-base) [ $# -ge 2 ] || { echo "generate.sh: --runbook-url-base needs a URL" >&2; exit 2; }; base="$2"; shift 2 ;;
    --runbook-url-base=*) base="${1#*=}"; shift ;;
    *) echo "generate.sh: unknown argument: $1 (expected --runbook-url-base URL)" >&2; exit 2 ;;
  esac
done

if [ -n "$base" ]; then
  case "$base" in
    *[[:space:]\|\&\\]*) echo "generate.sh: the URL base must not contain spaces, '|', '&' or '\\': $base" >&2; exit 2 ;;
  esac
  base="${base%/}"
  # The rules and their promtool tests (which expect the same URLs).
  for f in "$rules" "$here"/tests/*.test.yaml; do
    tmp="$(mktemp)"
    sed -E "s|^( *runbook_url: ).*(/docs/runbooks/[a-z0-9-]+\.md)$|\1${base}\2|" "$f" > "$tmp"
    cat "$tmp" > "$f"
    rm -f "$tmp"
  done
fi

{
  echo "# GENERATED from deploy/alerts/redis.rules.yaml by deploy/alerts/generate.sh: edit that file,"
  echo "# then run \`make alerts\`. A test fails when this file and the rules file differ."
  echo "apiVersion: monitoring.coreos.com/v1"
  echo "kind: PrometheusRule"
  echo "metadata:"
  echo "  name: redis"
  echo "  labels:"
  echo "    app: redis"
  echo "    # the label your Prometheus's ruleSelector matches (kube-prometheus-stack: release: <name>)"
  echo "    role: alert-rules"
  echo "spec:"
  # The rules file without its leading comment block, indented under spec.
  sed -n '/^groups:/,$p' "$rules" | sed 's/^/  /'
} > "$out"
echo "wrote $out"
