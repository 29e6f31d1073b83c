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
test: unit check-package e2e ## everything CI runs: lint, typecheck, unit tests, the packed package, e2e against a real control plane

.PHONY: check-package
check-package: node_modules ## npm pack, then install the tarball (global prefix; production-only as the image does) and run it
	bash scripts/package-check.sh

.PHONY: demo
demo: node_modules ## five minutes, no cluster needed: a local control plane, the chart's operator, the examples; prints inventory, a rotation, a denied escalation; Ctrl-C stops it
	@npm run build >/dev/null
	@exec node dist/e2e/scripts/demo.js $(DEMO_ARGS)

.PHONY: bench
bench: node_modules ## benchmarks; prints figures
	npm run bench

.PHONY: run
run: node_modules ## run the operator (webhook + leader-elected reconcilers) against your kubeconfig (or a local control plane when none answers); registers the webhook at itself
	@npm run build >/dev/null || echo "make run: the typecheck reported errors (above); running what tsc emitted"
	@kc="$${KUBECONFIG:-$$HOME/.kube/config}"; \
	if [ -f "$$kc" ] && node dist/operator/main.js --probe "$$kc"; then echo "make run: using $$kc"; \
	else echo "make run: no reachable cluster in $$kc; starting the local control plane (make cluster-up)"; \
	  $(MAKE) --no-print-directory cluster-up >/dev/null && kc="$(CURDIR)/.e2e/kubeconfig"; fi; \
	exec node dist/operator/main.js --kubeconfig "$$kc" --host 127.0.0.1 --port $${WEBHOOK_PORT:-8443} \
	  --metrics-host 127.0.0.1 --metrics-port $${METRICS_PORT:-8080} --dev-cert-dir "$(CURDIR)/.run/certs" \
	  --install-crds --register-webhook auto --failure-policy $${FAILURE_POLICY:-Fail} --namespace $${NHI_NAMESPACE:-nhi-system} \
	  --lease-namespace $${NHI_LEASE_NAMESPACE:-default}

# --- e2e: a real control plane (e2e/) ---
.PHONY: e2e
e2e: node_modules ## build/reuse control-plane binaries, start them, run e2e suites, stop
	bash e2e/scripts/e2e.sh

.PHONY: cluster-up
cluster-up: node_modules ## start a local control plane in the background; prints its kubeconfig (.e2e/kubeconfig)
	@bash e2e/scripts/cluster.sh up

.PHONY: cluster-down
cluster-down: ## stop the control plane started by cluster-up
	@bash e2e/scripts/cluster.sh down
