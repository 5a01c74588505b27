#!/usr/bin/env bash
# Installs every Debian 12 package rill builds, tests and benchmarks with. Idempotent: when all
# packages are present it does nothing (no apt-get update, no root needed).
set -euo pipefail

packages=(
    cmake ninja-build g++ clang clang-format
    # the runtimes of Clang's sanitizers (the asan preset), only recommended by clang
    libclang-rt-14-dev
    libconcurrentqueue-dev libmimalloc-dev catch2 libbenchmark-dev
    libtbb-dev libboost-dev libreaderwriterqueue-dev
    # rill-perf-report's chart: checked as XML by xmllint and rendered by headless Chromium in
    # its tests (about 35 s and 400 MB more on a fresh machine; the tests skip without them).
    libxml2-utils chromium python3
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "rill: installing ${missing[*]}" >&2
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
