#!/usr/bin/env bash
# mem1 test suite: installs dependencies (idempotent), configures a Release build in build/,
# builds with -j2, runs every test with CTest, then each fuzz target on a fixed set of inputs.
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
(cd build && ctest --output-on-failure --timeout 900)
# Then every libFuzzer target (tests/fuzz/, clang-14 with ASan + UBSan in build-fuzz/) on a fixed
# number of inputs from a fixed seed, after replaying its known crashers: the same inputs on every
# machine. MEM1_FUZZ_RUNS=0 skips it; a longer hunt is `tests/fuzz.sh SECONDS`.
FUZZ_RUNS=${MEM1_FUZZ_RUNS:-20000}
if [ "$FUZZ_RUNS" != 0 ]; then
  MEM1_FUZZ_RUNS=$FUZZ_RUNS MEM1_FUZZ_REQUIRE=1 MEM1_FUZZ_JOBS=${MEM1_FUZZ_JOBS:-2} MEM1_FUZZ_NICE=${MEM1_FUZZ_NICE:-0} bash tests/fuzz.sh 120
fi
