#!/usr/bin/env bash
# The headless browser the HTML view's e2e test drives (e2e/suites/graph-html.e2e.ts): Debian's
# chromium at /usr/bin/chromium. Idempotent: installs it only when missing (as root, or through sudo).
# NHI_CHROMIUM points the test at another binary instead.
set -euo pipefail
bin="${NHI_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$bin" ]; then exit 0; fi
if [ -n "${NHI_CHROMIUM:-}" ]; then echo "ensure-chromium: NHI_CHROMIUM=$bin is not an executable" >&2; exit 1; fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else echo "ensure-chromium: /usr/bin/chromium is missing and installing it needs root (apt-get install -y chromium)" >&2; exit 1; fi
fi
echo "ensure-chromium: installing Debian's chromium (apt-get install -y chromium)"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
test -x "$bin"
