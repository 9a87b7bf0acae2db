#!/usr/bin/env bash
# Sanitizer test runs, reached through `tests/run.sh --asan` / `tests/run.sh --ubsan`:
#   --asan   build-asan/   gcc -fsanitize=address (LeakSanitizer on), RelWithDebInfo
#   --ubsan  build-ubsan/  gcc -fsanitize=undefined -fno-sanitize-recover=undefined, RelWithDebInfo
# then runs the unit tests (the GoogleTest executables) with CTest. Excluded (multi-process
# shell/MPI tests, slow under a sanitizer and mostly testing other processes): every CTest name
# matching E2E_REGEX below, i.e. *_e2e*, *_smoke, *_np2, slurm_plumbing (fleet_e2e_*, security_e2e,
# eval_e2e, slurm_e2e, cli_smoke, train_smoke, quickstart_smoke, webshop_smoke,
# learner_data_parallel_np2, learner_rank_failure_np2, slurm_plumbing).
#
# Usage: tests/run.sh --asan|--ubsan [CTEST ARGS...]     e.g. tests/run.sh --asan -R Wire
# Environment:
#   MEM1_SANITIZE_TARGETS  space-separated targets to build (default: every unit-test executable);
#                          tests of executables not built are skipped (their *_NOT_BUILT entries).
#   MEM1_BUILD_JOBS        build parallelism (default 2, as tests/run.sh)
#   ASAN_OPTIONS / LSAN_OPTIONS / UBSAN_OPTIONS  replace the defaults below.
set -euo pipefail
cd "$(dirname "$0")/../.."

case "${1:-}" in
  --asan) SAN=asan; FLAGS="-fsanitize=address -fno-omit-frame-pointer" ;;
  --ubsan) SAN=ubsan; FLAGS="-fsanitize=undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" ;;
  *) echo "usage: tests/run.sh [--asan|--ubsan [CTEST ARGS...]]" >&2; exit 2 ;;
esac
shift
BUILD=build-$SAN
JOBS=${MEM1_BUILD_JOBS:-2}
TARGETS=${MEM1_SANITIZE_TARGETS:-mem1_core_tests mem1_spm_reference_tests mem1_model_tests mem1_actor_tests \
mem1_learner_tests mem1_webshop_tests mem1_fleet_tests}
E2E_REGEX='_e2e|_smoke$|_np2$|^slurm_plumbing$|_NOT_BUILT$'
SUPP=$(pwd)/tests/sanitizers/lsan.supp

# Set before the build too: gtest_discover_tests runs each test binary (--gtest_list_tests)
# at build time, under the same sanitizer.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$SUPP:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
echo "run.sh --$SAN: ASAN_OPTIONS=$ASAN_OPTIONS LSAN_OPTIONS=$LSAN_OPTIONS UBSAN_OPTIONS=$UBSAN_OPTIONS"

bash scripts/install-deps.sh
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEM1_BUILD_TESTS=ON \
  -DCMAKE_C_FLAGS="$FLAGS" -DCMAKE_CXX_FLAGS="$FLAGS" \
  -DCMAKE_EXE_LINKER_FLAGS="$FLAGS" -DCMAKE_SHARED_LINKER_FLAGS="$FLAGS"
# shellcheck disable=SC2086  # TARGETS is a word list
cmake --build "$BUILD" -j"$JOBS" --target $TARGETS
cd "$BUILD"
ctest --output-on-failure --timeout 1800 -E "$E2E_REGEX" "$@"
