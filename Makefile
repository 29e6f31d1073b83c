# One command runs every test: `make test`. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

.PHONY: help
help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: deps
deps: node_modules ## install npm dependencies

.PHONY: build
build: node_modules ## compile TypeScript to dist/
	npm run build

.PHONY: unit
unit: node_modules ## lint, typecheck and unit tests (npm test)
	npm test

.PHONY: test
test: unit e2e ## everything CI runs: lint, typecheck, unit tests, e2e against a real control plane

.PHONY: bench
bench: node_modules ## benchmarks; prints figures
	npm run bench

# --- e2e: a real control plane (e2e/) ---
.PHONY: e2e
e2e: node_modules ## build/reuse control-plane binaries, start them, run e2e suites, stop
	bash e2e/scripts/e2e.sh
