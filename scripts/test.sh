#!/usr/bin/env bash
# Builds rill (release preset: library, tests, benchmarks, tools, examples, warnings as errors)
# and runs every test. Installs the Debian packages it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release
cmake --build --preset release
ctest --preset release "$@"
