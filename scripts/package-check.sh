#!/usr/bin/env bash
# make check-package: what users install is what works. `npm pack` (its prepack builds dist/), then
#  1. the tarball holds dist/ (without tests, e2e, bench; with the CRDs' JSON and validators the build
#     writes), crds/*.yaml, README.md, package.json, nothing else;
#  2. `npm install --global` of the tarball into an empty prefix gives an `nhictl` that passes a clean
#     fixture (exit 0) and fails an escalation (exit 1);
#  3. the image's production-only install (scripts/install-package.sh, the Dockerfile's own step:
#     `npm ci --omit=dev` of the unpacked tarball in an empty folder) has no devDependency, starts
#     `node dist/operator/main.js --help` and runs `nhictl check`.
# Every command runs from outside the repository, so nothing resolves from its node_modules.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nhi-package-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-package: FAIL: $*" >&2; exit 1; }

npm pack --pack-destination "$tmp" --json --loglevel=error >"$tmp/pack.json"
tarball="$tmp/$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[0].filename)' "$tmp/pack.json")"
echo "check-package: packed $(basename "$tarball") ($(du -k "$tarball" | cut -f1) kB)"

# 1. Contents.
node -e '
  const files = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[0].files.map((f) => f.path);
  const required = ["package.json", "README.md", "crds/nonhumanidentities.nhi.io.yaml", "crds/nhipolicies.nhi.io.yaml", "dist/cli/main.js", "dist/operator/main.js", "dist/crds/load.js", "dist/crds/crd-documents.json", "dist/crds/crd-validators.cjs"];
  const missing = required.filter((f) => !files.includes(f));
  const allowed = (f) => f === "package.json" || f === "README.md" || f === "LICENSE" || /^crds\/[^/]+\.yaml$/.test(f) || /^dist\/(?!test\/|e2e\/|bench\/).+\.js$/.test(f) || /^dist\/crds\/crd-(documents\.json|validators\.cjs)$/.test(f);
  const unexpected = files.filter((f) => !allowed(f));
  if (missing.length || unexpected.length) {
    console.error(`check-package: FAIL: the tarball is missing [${missing.join(", ")}] and holds unexpected [${unexpected.slice(0, 20).join(", ")}]`);
    process.exit(1);
  }
  console.log(`check-package: contents ok (${files.length} files: dist/ without tests, crds/*.yaml, README.md)`);
' "$tmp/pack.json"

expect_exit() { # expect_exit CODE WHAT COMMAND...
  local want=$1 what=$2; shift 2
  local rc=0
  (cd "$tmp" && "$@") >"$tmp/out" 2>&1 || rc=$?
  [ "$rc" -eq "$want" ] || { cat "$tmp/out" >&2; fail "$what: exit $rc, expected $want"; }
}
clean="$repo/test/fixtures/manifests/clean"
escalation=("$repo/test/fixtures/manifests/escalation/scope.yaml" "$repo/test/fixtures/manifests/escalation/identities.yaml")

# 2. npm install --global into an empty prefix.
(cd "$tmp" && npm install --global --prefix "$tmp/prefix" "$tarball" --no-audit --no-fund --loglevel=error >/dev/null)
nhictl="$tmp/prefix/bin/nhictl"
[ -x "$nhictl" ] || fail "npm install --global did not link bin/nhictl"
expect_exit 0 "nhictl check (global install) of a clean fixture" "$nhictl" check "$clean"
expect_exit 1 "nhictl check (global install) of an escalation" "$nhictl" check "${escalation[@]}"
grep -q "scope-exceeded" "$tmp/out" || fail "nhictl check (global install) did not report scope-exceeded"
echo "check-package: npm install --global: nhictl check passes a clean fixture (0) and fails an escalation (1)"

# 3. The image's production-only install.
sh scripts/install-package.sh "$tarball" "$tmp/app" "$repo/package-lock.json"
node -e '
  // Every package the lockfile marks dev-only (a devDependency and what only it needs) must be absent.
  const fs = require("fs"), lock = JSON.parse(fs.readFileSync(process.argv[1] + "/package-lock.json", "utf8"));
  const dev = Object.entries(lock.packages).filter(([path, p]) => path !== "" && p.dev === true).map(([path]) => path);
  const present = dev.filter((path) => fs.existsSync(`${process.argv[1]}/${path}`));
  if (present.length) { console.error(`check-package: FAIL: the production install holds dev-only packages ${present.join(", ")}`); process.exit(1); }
  if (dev.length === 0) { console.error("check-package: FAIL: the lockfile marks no package dev-only; cannot check"); process.exit(1); }
' "$tmp/app"
expect_exit 0 "node dist/operator/main.js --help (production install)" node "$tmp/app/dist/operator/main.js" --help
grep -q "^usage: node dist/operator/main.js" "$tmp/out" || fail "operator --help printed no usage"
expect_exit 0 "nhictl check (production install) of a clean fixture" "$tmp/app/dist/cli/main.js" check "$clean"
expect_exit 1 "nhictl check (production install) of an escalation" "$tmp/app/dist/cli/main.js" check "${escalation[@]}"
echo "check-package: production install (npm ci --omit=dev): no devDependencies, operator --help and nhictl check run"
