#!/usr/bin/env bash
# mem1 test suite: installs dependencies (idempotent), configures a Release build in build/,
# builds with -j2 and runs every test with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMEM1_BUILD_TESTS=ON
cmake --build build -j2
cd build
ctest --output-on-failure --timeout 900
