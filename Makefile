# redis-runbook. The two commands a new user needs: `make demo` and `make test`.
SWIFT ?= swift
BIN := .build/debug/redis-runbook

.PHONY: all deps build demo test bench fuzz clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

# Build, start the local sandbox (seeded with demo data) and open the app on it.
demo: build
	$(BIN) sandbox up
	$(BIN) sandbox seed --preset demo
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
