#!/usr/bin/env bash
# Installs headless Chromium from Debian's package `chromium`, the browser of the chart and explorer tests
# (test/chart-browser.test.ts, driven by playwright-core: its own browser download is not available here).
# Idempotent and quiet; never fails the build: without a browser those tests skip and say why.
set -uo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: apt-get not found (not a Debian-like system): the browser tests will skip" >&2
  exit 0
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); else
    echo "install-chromium: needs root (or sudo) to run apt-get: the browser tests will skip" >&2
    exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or stale on a fresh machine: update once if the first try fails.
if ! "${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; then
  "${SUDO[@]}" apt-get update -qq >/dev/null 2>&1
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 ||
    echo "install-chromium: apt-get install chromium failed: the browser tests will skip" >&2
fi
[ -x /usr/bin/chromium ] && echo "chromium installed ($(/usr/bin/chromium --version 2>/dev/null || echo '?'))"
exit 0
