#!/usr/bin/env bash
# make cluster-up / cluster-down: a local control plane in the background (state in .e2e/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
case "${1:-}" in
  up)
    bash e2e/scripts/build-binaries.sh >/dev/null
    npx tsc -p e2e/tsconfig.harness.json # the harness alone: others' work in progress cannot block it
    node dist/e2e/harness/cli.js up
    ;;
  down)
    if [ -f dist/e2e/harness/cli.js ]; then
      node dist/e2e/harness/cli.js down
    else
      echo "cluster-down: not running (no dist/e2e/harness/cli.js)" >&2
    fi
    ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
