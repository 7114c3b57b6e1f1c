#!/usr/bin/env bash
# Installs what redis-runbook needs to build, run its sandbox and run its tests.
# As root it uses apt-get; otherwise it prints the exact command to run and fails.
set -euo pipefail

packages=(libncurses-dev redis-server redis-tools prometheus-redis-exporter tmux iproute2 util-linux procps)
# The command each package provides, to notice what is missing without asking dpkg twice.
declare -A provides=(
  [libncurses-dev]=/usr/include/ncursesw/curses.h
  [redis-server]=/usr/bin/redis-server
  [redis-tools]=/usr/bin/redis-cli
  [prometheus-redis-exporter]=/usr/bin/prometheus-redis-exporter
  [tmux]=/usr/bin/tmux
  [iproute2]=/usr/sbin/ip
  [util-linux]=/usr/bin/nsenter
  [procps]=/usr/bin/pgrep
)
missing=()
for p in "${packages[@]}"; do
  [ -e "${provides[$p]}" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "redis-runbook needs these Debian packages: ${missing[*]}" >&2
    echo "run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# Debian's redis-server package starts a system redis on 6379 where an init system runs;
# the sandbox never uses it, and it does not conflict (each pod has its own network namespace).
command -v swift >/dev/null || { echo "swift is not on PATH (expected Swift 6.x, e.g. /opt/swift/usr/bin)" >&2; exit 1; }
