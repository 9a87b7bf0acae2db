#!/usr/bin/env bash
# mem1 test suite: installs dependencies (idempotent), configures a Release build in build/,
# builds with -j2 and runs every test with CTest.
# `tests/run.sh --asan` / `--ubsan [CTEST ARGS...]`: the unit tests under AddressSanitizer (+ leak
# checks) / UndefinedBehaviorSanitizer in build-asan/ / build-ubsan/ instead; see
# tests/sanitizers/run_sanitized.sh. Without these flags the behaviour is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  --asan | --ubsan) exec bash tests/sanitizers/run_sanitized.sh "$@" ;;
esac
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMEM1_BUILD_TESTS=ON
cmake --build build -j2
cd build
ctest --output-on-failure --timeout 900
