#!/usr/bin/env bash
# Writes a man page (roff, section 1) for redis-runbook to stdout from the binary's own --help
# texts: the root command and every subcommand, so the page never disagrees with the binary.
# (swift-argument-parser's generate-manual plugin needs its tool built from the package
# plugins, which the offline build does not have; this is the plain fallback.)
#   scripts/manpage.sh .build/release/redis-runbook > redis-runbook.1
set -euo pipefail
bin="${1:?usage: scripts/manpage.sh PATH-TO-redis-runbook}"
version="$("$bin" --version 2>/dev/null || echo unknown)"

# roff-safe: backslashes doubled, lines starting with . or ' escaped.
esc() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }

# Subcommand paths from the SUBCOMMANDS sections, recursively (e.g. "runbook run").
subcommands() {
  local path=("$@")
  "$bin" "${path[@]}" --help 2>/dev/null | awk '/^SUBCOMMANDS:/{s=1;next} /^[A-Z]/{s=0} s && /^  [a-z]/{print $1}' |
  while read -r sub; do
    echo "${path[*]} $sub" | sed 's/^ //'
    subcommands "${path[@]}" "$sub"
  done
}

cat <<ROFF
.TH REDIS-RUNBOOK 1 "" "redis-runbook $version" "User Commands"
.SH NAME
redis-runbook \\- incident dashboard and guided runbooks for Redis on Kubernetes
.SH SYNOPSIS
.B redis-runbook
[\\fIsubcommand\\fR] [\\fIoptions\\fR]
.br
.B kubectl redis-runbook
[\\fIsubcommand\\fR] [\\fIoptions\\fR]
.SH DESCRIPTION
.nf
ROFF
"$bin" --help | esc
echo ".fi"
subcommands | while read -r sub; do
  # shellcheck disable=SC2086
  echo ".SH \"$(echo "$sub" | tr '[:lower:]' '[:upper:]')\""
  echo ".nf"
  "$bin" $sub --help | esc
  echo ".fi"
done
cat <<'ROFF'
.SH FILES
.TP
.I PREFIX/share/redis-runbook/runbooks/
the bundled runbooks (YAML)
.TP
.I PREFIX/share/redis-runbook/alerts/redis.rules.yaml
the Prometheus alert rules, read by \fBredis-runbook alert\fR to map an alert name to its runbook
.SH SEE ALSO
.BR kubectl (1),
.BR redis-cli (1)
ROFF
