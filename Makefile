# redis-runbook. The two commands a new user needs: `make demo` and `make test`.
SWIFT ?= swift
BIN := .build/debug/redis-runbook
SANDBOX := .build/debug/redis-runbook-sandbox

.PHONY: all deps build demo test bench fuzz clean install uninstall runbook-pages alerts

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

# Build, start the local sandbox (a Kubernetes API server and real redis-server pods, seeded with
# demo data) and open the app on it through the real kubectl.
demo: build
	$(SANDBOX) up
	$(SANDBOX) seed --preset demo
	$(BIN) --sandbox

# Build and run every test (unit, sandbox end-to-end, tmux end-to-end).
test: deps
	$(SWIFT) build --build-tests
	SWIFT=$(SWIFT) scripts/test.sh

# Benchmarks (release build); not part of `make test`. Figures go to BENCHMARKS.md.
bench: deps
	scripts/bench.sh

fuzz: deps
	scripts/fuzz.sh

clean:
	rm -rf .build

# --- Installing like a CLI ------------------------------------------------------------------
# make install PREFIX=/usr/local [DESTDIR=...] [CONFIG=release|debug] [BUILD=0]; make uninstall removes
# exactly what install wrote (and the folders it created, when they are left empty).
PREFIX ?= /usr/local
CONFIG ?= release
DESTDIR ?=
ROOT := $(DESTDIR)$(PREFIX)
BUILT = .build/$(CONFIG)/redis-runbook
WATCHDOG = .build/$(CONFIG)/redis-runbook-watchdog
EXEC_RELAY = .build/$(CONFIG)/redis-runbook-exec-relay
RUNBOOK_FILES := $(notdir $(wildcard runbooks/*.yaml))
INSTALLED_FILES = bin/redis-runbook bin/kubectl-redis_runbook libexec/redis-runbook/redis-runbook-watchdog libexec/redis-runbook/redis-runbook-exec-relay \
	$(addprefix share/redis-runbook/runbooks/,$(RUNBOOK_FILES)) \
	share/redis-runbook/alerts/redis.rules.yaml share/redis-runbook/alerts/redis-prometheusrule.yaml share/redis-runbook/open-in-tmux.sh \
	share/redis-runbook/deploy/redis-sentinel-statefulset.yaml \
	share/bash-completion/completions/redis-runbook share/zsh/site-functions/_redis-runbook \
	share/fish/vendor_completions.d/redis-runbook.fish share/man/man1/redis-runbook.1
# Deepest first: removed by uninstall only when empty.
INSTALLED_DIRS = libexec/redis-runbook libexec share/redis-runbook/runbooks share/redis-runbook/alerts share/redis-runbook/deploy share/redis-runbook \
	share/bash-completion/completions share/bash-completion share/zsh/site-functions share/zsh \
	share/fish/vendor_completions.d share/fish share/man/man1 share/man share bin

# BUILD=0: install the binary already built for CONFIG (the install test runs inside `swift test`).
BUILD ?= 1
# The installed tool links the Swift runtime and Foundation statically: it reaches `main` in ~4 ms
# instead of ~9 (no symbol binding across a dozen shared libraries) and starts its kubectl that
# much sooner, and it holds ~4 MB less resident (BENCHMARKS.md, issue 16 figures 3 and 4).
# STATIC= (empty) links them dynamically.
STATIC ?= --static-swift-stdlib
install:
	@if [ "$(BUILD)" != 0 ]; then scripts/install-deps.sh && $(SWIFT) build -c $(CONFIG) $(STATIC) --product redis-runbook && $(SWIFT) build -c $(CONFIG) $(STATIC) --product redis-runbook-watchdog && $(SWIFT) build -c $(CONFIG) $(STATIC) --product redis-runbook-exec-relay; fi
	@for b in "$(BUILT)" "$(WATCHDOG)" "$(EXEC_RELAY)"; do [ -x "$$b" ] || { echo "$$b is not built (make install CONFIG=$(CONFIG) without BUILD=0 builds it)" >&2; exit 1; }; done
	install -d "$(ROOT)/bin" "$(ROOT)/libexec/redis-runbook" "$(ROOT)/share/redis-runbook/runbooks" "$(ROOT)/share/redis-runbook/alerts" "$(ROOT)/share/redis-runbook/deploy" \
		"$(ROOT)/share/bash-completion/completions" "$(ROOT)/share/zsh/site-functions" \
		"$(ROOT)/share/fish/vendor_completions.d" "$(ROOT)/share/man/man1"
	install -m 0755 "$(BUILT)" "$(ROOT)/bin/redis-runbook"
	ln -sf redis-runbook "$(ROOT)/bin/kubectl-redis_runbook"
	install -m 0755 "$(WATCHDOG)" "$(ROOT)/libexec/redis-runbook/redis-runbook-watchdog"
	install -m 0755 "$(EXEC_RELAY)" "$(ROOT)/libexec/redis-runbook/redis-runbook-exec-relay"
	install -m 0644 runbooks/*.yaml "$(ROOT)/share/redis-runbook/runbooks/"
	install -m 0644 deploy/alerts/redis.rules.yaml deploy/alerts/redis-prometheusrule.yaml "$(ROOT)/share/redis-runbook/alerts/"
	install -m 0755 deploy/alertmanager/open-in-tmux.sh "$(ROOT)/share/redis-runbook/open-in-tmux.sh"
	install -m 0644 deploy/redis-sentinel-statefulset.yaml "$(ROOT)/share/redis-runbook/deploy/"
	"$(BUILT)" --generate-completion-script bash > "$(ROOT)/share/bash-completion/completions/redis-runbook"
	"$(BUILT)" --generate-completion-script zsh > "$(ROOT)/share/zsh/site-functions/_redis-runbook"
	"$(BUILT)" --generate-completion-script fish > "$(ROOT)/share/fish/vendor_completions.d/redis-runbook.fish"
	scripts/manpage.sh "$(BUILT)" > "$(ROOT)/share/man/man1/redis-runbook.1"
	@echo "installed into $(ROOT): redis-runbook, kubectl-redis_runbook (kubectl plugin), its kubectl proxy watchdog and exec relay, runbooks, alert rules, completions, man page"

uninstall:
	@for f in $(INSTALLED_FILES); do \
		if [ -e "$(ROOT)/$$f" ] || [ -L "$(ROOT)/$$f" ]; then rm -f "$(ROOT)/$$f" && echo "removed $(ROOT)/$$f"; fi; \
	done
	@for d in $(INSTALLED_DIRS); do \
		[ -d "$(ROOT)/$$d" ] && rmdir --ignore-fail-on-non-empty "$(ROOT)/$$d"; true; \
	done

# --- Generated files ------------------------------------------------------------------------
# docs/runbooks/ID.md from runbooks/ID.yaml (a test fails when they differ).
runbook-pages:
	$(SWIFT) build --product redis-runbook
	REDIS_RUNBOOK_RUNBOOKS=runbooks REDIS_RUNBOOK_ALERT_RULES=deploy/alerts/redis.rules.yaml $(BIN) runbook pages docs/runbooks

# deploy/alerts/redis-prometheusrule.yaml from deploy/alerts/redis.rules.yaml; with
# RUNBOOK_URL_BASE=https://git.example.com/ops/redis-runbook/blob/main every runbook_url first
# points there (the one place the base is set).
RUNBOOK_URL_BASE ?=
alerts:
	deploy/alerts/generate.sh $(if $(RUNBOOK_URL_BASE),--runbook-url-base "$(RUNBOOK_URL_BASE)")
