#!/bin/sh
# The production install of the packed package, as the image does it (Dockerfile) and as
# `make check-package` proves it: unpack the `npm pack` tarball into DIR and install its runtime
# dependencies only, exactly the versions of package-lock.json (`npm ci --omit=dev`), no install scripts.
# usage: install-package.sh TARBALL DIR [LOCKFILE]
set -eu
tarball=$1 dir=$2 lock=${3:-package-lock.json}
[ -f "$tarball" ] || { echo "install-package: no tarball $tarball (run npm pack)" >&2; exit 2; }
[ -f "$lock" ] || { echo "install-package: no lockfile $lock" >&2; exit 2; }
mkdir -p "$dir"
tar -xzf "$tarball" -C "$dir" --strip-components=1
cp "$lock" "$dir/package-lock.json"
cd "$dir"
npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
# npm links a package's bin only when it is installed as a dependency; here it is the root.
chmod +x dist/cli/main.js
