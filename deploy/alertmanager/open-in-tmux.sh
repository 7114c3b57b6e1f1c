#!/usr/bin/env bash
# Opens a tmux window running `redis-runbook alert -` on an Alertmanager webhook payload: the
# dashboard on the runbook of the payload's most severe firing alert, on the Redis it names.
#
#   open-in-tmux.sh [PAYLOAD_FILE] [-- REDIS_RUNBOOK_ARGS...]
#
# The payload comes from PAYLOAD_FILE, else $ALERT_PAYLOAD_FILE, else standard input. It is
# copied to a private file the window reads (the caller may delete its own copy at once).
# Environment: REDIS_RUNBOOK (the binary, default redis-runbook on PATH), TMUX_SESSION (the
# session to add the window to, default "oncall"; created detached when missing).
# Everything is passed as argv arrays: no eval, no string built into a shell command.
set -euo pipefail

payload_src="${ALERT_PAYLOAD_FILE:-}"
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; extra=("$@"); break ;;
    *) payload_src="$1"; shift ;;
  esac
done

bin="${REDIS_RUNBOOK:-redis-runbook}"
session="${TMUX_SESSION:-oncall}"
state="${XDG_STATE_HOME:-$HOME/.local/state}/redis-runbook/alerts"
mkdir -p -m 0700 "$state"
payload="$(mktemp "$state/payload-XXXXXX.json")"
if [ -n "$payload_src" ]; then
  cat -- "$payload_src" > "$payload"
else
  cat > "$payload"
fi
[ -s "$payload" ] || { echo "open-in-tmux.sh: empty payload" >&2; rm -f "$payload"; exit 2; }

if ! tmux has-session -t "$session" 2>/dev/null; then
  tmux new-session -d -s "$session"
fi
# The window's command: sh reads the payload file as stdin and execs the tool with the
# arguments given here, each one an argv item ("$@"), then removes the file when it exits.
tmux new-window -t "$session:" -n "redis-alert" -- \
  sh -c 'p="$1"; shift; "$@" < "$p"; s=$?; rm -f "$p"; exit $s' sh "$payload" "$bin" alert - "${extra[@]}"
echo "opened tmux window redis-alert in session $session"
