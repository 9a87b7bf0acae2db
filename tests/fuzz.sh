#!/usr/bin/env bash
# mem1 fuzzing: builds the libFuzzer targets of tests/fuzz/ (clang-14, ASan + UBSan, in
# build-fuzz/; configured once, rebuilt incrementally) and runs each for SECONDS on a copy of its
# seed corpus tests/fuzz/corpus/<target>/.
#
#   tests/fuzz.sh SECONDS [TARGET...]      TARGET = safetensors, trajectory, ... (default: all)
#
# Prints one line per target:
#   <target>: <U> inputs, <N> exec/s, cov: <C> ft: <F>, crashes: <K> [crash file(s)]
# or "<target>: skipped: <why>". Exits 1 if any target crashed (the reproducer lies under
# build-fuzz/fuzz-out/<target>/; re-run it with build-fuzz/bin/fuzz_<target> FILE), 2 on usage.
# Environment: MEM1_FUZZ_JOBS (build parallelism, default 1), MEM1_FUZZ_NICE (default 15),
# CC / CXX (default clang-14 / clang++-14), MEM1_FUZZ_KEEP_GOING=1 (libFuzzer -fork=1 with
# -ignore_crashes/-ignore_ooms/-ignore_timeouts: keep fuzzing past a known crash and collect every
# reproducer; exec/s then comes from the fork-mode status line), MEM1_FUZZ_RUNS=N (a fixed number
# of inputs per target with -seed=MEM1_FUZZ_SEED, default 1, instead of a time budget: the same
# inputs on every machine, which is how tests/run.sh runs it in CI; SECONDS is then the cap),
# MEM1_FUZZ_REQUIRE=1 (a target that cannot be built or run fails the script instead of being
# skipped; tests/run.sh sets it, as install-deps.sh installs clang).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

ALL_TARGETS=(safetensors hf_config tokenizer_json spm_model tag_grammar config_yaml trajectory weight_chunks
             curve_key authorized_keys qa_jsonl corpus_jsonl webshop_catalog)

# -max_len per target: room for the largest seed plus growth.
max_len_of() {
  case "$1" in
    tag_grammar|curve_key|authorized_keys|hf_config) echo 4096 ;;
    safetensors|trajectory|weight_chunks|qa_jsonl|corpus_jsonl) echo 16384 ;;
    tokenizer_json|spm_model|config_yaml|webshop_catalog) echo 32768 ;;
    *) echo 8192 ;;
  esac
}

if [[ $# -lt 1 || ! "$1" =~ ^[0-9]+$ || "$1" -lt 1 ]]; then
  echo "usage: tests/fuzz.sh SECONDS [TARGET...]   (targets: ${ALL_TARGETS[*]})" >&2
  exit 2
fi
SECONDS_PER_TARGET=$1
shift
TARGETS=("$@")
[[ ${#TARGETS[@]} -eq 0 ]] && TARGETS=("${ALL_TARGETS[@]}")
for t in "${TARGETS[@]}"; do
  if [[ ! " ${ALL_TARGETS[*]} " =~ " $t " ]]; then
    echo "unknown target '$t' (targets: ${ALL_TARGETS[*]})" >&2
    exit 2
  fi
done

BUILD=build-fuzz
JOBS=${MEM1_FUZZ_JOBS:-1}
NICE=${MEM1_FUZZ_NICE:-15}
export CC=${CC:-clang-14} CXX=${CXX:-clang++-14}
OUT=$BUILD/fuzz-out
mkdir -p "$BUILD"
LOG=$BUILD/fuzz-build.log

build_ok=1
build_why=""
if ! command -v "$CXX" >/dev/null 2>&1; then
  build_ok=0
  build_why="$CXX not found (apt-get install clang-14 libclang-rt-14-dev)"
elif [[ ! -f $BUILD/CMakeCache.txt ]] || ! grep -q '^MEM1_FUZZ:BOOL=ON' $BUILD/CMakeCache.txt; then
  echo "fuzz.sh: configuring $BUILD (log: $LOG)"
  if ! nice -n "$NICE" cmake -S . -B $BUILD -DMEM1_FUZZ=ON -DMEM1_BUILD_TESTS=OFF \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$LOG" 2>&1; then
    build_ok=0
    build_why="cmake configure failed (see $LOG)"
  fi
fi

declare -A SKIP
if [[ $build_ok -eq 1 ]]; then
  echo "fuzz.sh: building ${#TARGETS[@]} target(s) in $BUILD with -j$JOBS (log: $LOG)"
  # One build call for all targets (fast when up to date); on failure, retry one by one so a
  # target that does not compile is skipped and the others still run.
  if ! nice -n "$NICE" cmake --build $BUILD -j"$JOBS" --target "${TARGETS[@]/#/fuzz_}" >>"$LOG" 2>&1; then
    for t in "${TARGETS[@]}"; do
      if ! nice -n "$NICE" cmake --build $BUILD -j"$JOBS" --target "fuzz_$t" >>"$LOG" 2>&1; then
        SKIP[$t]="build failed (see $LOG)"
      fi
    done
  fi
else
  for t in "${TARGETS[@]}"; do SKIP[$t]=$build_why; done
fi

# halt_on_error etc.: every sanitizer report is a crash with a reproducer.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Scratch files of path-only parsers (tests/fuzz/fuzz_util.h): tmpfs when there is one.
if [[ -w /dev/shm ]]; then export MEM1_FUZZ_TMPDIR=/dev/shm/mem1-fuzz-run-$$; else export MEM1_FUZZ_TMPDIR=/tmp/mem1-fuzz-run-$$; fi
mkdir -p "$MEM1_FUZZ_TMPDIR"
trap 'rm -rf "$MEM1_FUZZ_TMPDIR"' EXIT

crashed=0
for t in "${TARGETS[@]}"; do
  if [[ -n "${SKIP[$t]:-}" ]]; then
    echo "$t: skipped: ${SKIP[$t]}"
    [[ ${MEM1_FUZZ_REQUIRE:-0} == 1 ]] && crashed=1
    continue
  fi
  bin=$BUILD/bin/fuzz_$t
  if [[ ! -x $bin ]]; then
    echo "$t: skipped: $bin missing"
    [[ ${MEM1_FUZZ_REQUIRE:-0} == 1 ]] && crashed=1
    continue
  fi
  work=$OUT/$t
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  seeds=tests/fuzz/corpus/$t
  [[ -d $seeds ]] && cp -r "$seeds/." "$work/corpus/"
  # Known crashers stay reproducible: run them first (a fixed bug must stay fixed).
  regressions=tests/fuzz/regressions/$t
  log=$work/fuzz.log
  : >"$log"
  if [[ -d $regressions ]] && compgen -G "$regressions/*" >/dev/null; then
    for f in "$regressions"/*; do
      if ! timeout 60 "$bin" "$f" >>"$log" 2>&1; then
        echo "regression input $f still crashes" >>"$log"
        cp "$f" "$work/artifacts/regression-$(basename "$f")"
      fi
    done
  fi
  extra=()
  [[ ${MEM1_FUZZ_KEEP_GOING:-0} == 1 ]] && extra=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
  [[ -n ${MEM1_FUZZ_RUNS:-} ]] && extra+=(-runs="$MEM1_FUZZ_RUNS" -seed="${MEM1_FUZZ_SEED:-1}")
  t_start=$(date +%s.%N)
  timeout $((SECONDS_PER_TARGET + 120)) nice -n "$NICE" "$bin" "$work/corpus" "${extra[@]}" \
      -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -max_len="$(max_len_of "$t")" -timeout=25 \
      -print_final_stats=1 -artifact_prefix="$work/artifacts/" -close_fd_mask=1 >>"$log" 2>&1
  rc=$?
  t_end=$(date +%s.%N)
  execs=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
  [[ -z $execs ]] && execs=$(grep -oE '^#[0-9]+.* exec/s:? [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$')
  # The last status line ("#N DONE cov: C ft: F ..." or the last "#N ... cov:" before a crash).
  last=$(grep -E '^#[0-9]+.*cov: [0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")
  mapfile -t crashes < <(find "$work/artifacts" -type f | sort)
  units=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
  # libFuzzer's average is whole executions per whole second (0 for a run under a second):
  # with a unit count, divide it by the wall time instead.
  [[ -n $units ]] && execs=$(awk -v u="$units" -v a="$t_start" -v b="$t_end" 'BEGIN{printf "%.0f", u / ((b - a) > 0.001 ? b - a : 0.001)}')
  line="$t: ${units:-?} inputs, ${execs:-?} exec/s, cov: ${cov:-?} ft: ${ft:-?}, crashes: ${#crashes[@]}"
  if [[ ${#crashes[@]} -gt 0 ]]; then
    line+=" [${crashes[*]}] (log: $log)"
    crashed=1
  elif [[ $rc -ne 0 ]]; then
    line+=" (libFuzzer exited $rc without a reproducer; log: $log)"
    crashed=1
  fi
  echo "$line"
done
exit $crashed
