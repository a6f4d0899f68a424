#!/usr/bin/env bash
# Installs Apache ZooKeeper 3.8 from Debian's package `zookeeper`, the yardstick of bench/zookeeper.ts.
# Idempotent: does nothing when the package is already installed. Needs root (or sudo) and apt-get.
# The package's init scripts are not used: bench/zookeeper.ts starts its own servers on loopback.
set -euo pipefail

if dpkg-query -W -f='${Status}' zookeeper 2>/dev/null | grep -q 'install ok installed' && [ -f /usr/share/java/zookeeper.jar ]; then
  echo "zookeeper is already installed ($(dpkg-query -W -f='${Version}' zookeeper))"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "zookeeper-install: apt-get not found (not a Debian-like system); install ZooKeeper 3.8 by hand" >&2
  exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else
    echo "zookeeper-install: needs root (or sudo) to run apt-get" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or stale on a fresh machine: update once if the first try fails.
if ! "${SUDO[@]}" apt-get install -y --no-install-recommends zookeeper; then
  "${SUDO[@]}" apt-get update
  "${SUDO[@]}" apt-get install -y --no-install-recommends zookeeper
fi
echo "zookeeper installed ($(dpkg-query -W -f='${Version}' zookeeper))"
