#!/usr/bin/env bash
# The one-rank-error rule (AgreeOnStatus) end to end: a real failure injected on ONE rank of a
# 2-rank `mpirun mem1_learner` must end EVERY rank within seconds, non-zero, each printing the
# failing rank and the cause ("error: rank R: ..."), instead of the healthy rank blocking in
# the next collective. A deadlock is caught by `timeout` and fails the test.
#   1. rank 1 only: its trajectory store directory <run>/store/rank-00001 is a regular file
#      (startup, online mode, no actors needed);
#   2. rank 0 only: <run>/config.yaml cannot be written (a directory is in the way);
#   3. rank 0 only: its first checkpoint cannot be written (<run>/checkpoints is a regular
#      file), after one training step from an offline store; a control run without the fault
#      must succeed, so the failure is the injected one.
# Usage: rank_failure_test.sh BIN_DIR SOURCE_DIR
set -uo pipefail
BIN="$1"; SRC="$2"
T=$(mktemp -d)
trap 'pkill -KILL -f "$T/" 2>/dev/null; rm -rf "$T"' EXIT
fails=0; passes=0
ok()  { passes=$((passes+1)); echo "PASS: $1"; }
bad() { fails=$((fails+1)); echo "FAIL: $1"; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
command -v mpirun >/dev/null || { echo "skipped: mpirun not found"; exit 77; }
LIMIT=60   # seconds before a run counts as hung
FAST=30    # "within seconds": start-up (libtorch load) included

COMMON=(--config "$SRC/configs/default.yaml" --set runtime.threads=1 --set model.init.vocab_size=97
        --set model.init.num_hidden_layers=1 --set model.init.hidden_size=32 --set model.init.intermediate_size=64
        --set model.init.num_attention_heads=4 --set model.init.num_key_value_heads=2
        --set learner.advertise_host=127.0.0.1 --set learner.bind_endpoint=tcp://127.0.0.1:0
        --set learner.publish_endpoint=tcp://127.0.0.1:0 --set learner.data_timeout_s=20
        --set learner.global_batch=4 --set learner.total_steps=2 --set learner.checkpoint_every=1)

# run_learner NAME ARGS...: 2 ranks under a timeout; sets RC, ELAPSED (ms); all output in
# $T/NAME.log, each rank's stderr also in $T/NAME.out/1/rank.R/stderr.
run_learner() {
  local name="$1"; shift
  local t0; t0=$(date +%s%N)
  timeout -k 5 "$LIMIT" mpirun -np 2 --output-filename "$T/$name.out" "$BIN/mem1_learner" "${COMMON[@]}" "$@" \
    >"$T/$name.log" 2>&1
  RC=$?
  ELAPSED=$(( ($(date +%s%N) - t0) / 1000000 ))  # ms
}

# expect_all_ranks_fail NAME FAILING_RANK CAUSE_REGEX
expect_all_ranks_fail() {
  local name="$1" rank="$2" cause="$3"
  if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
    bad "$name: still running after ${LIMIT}s (deadlock: a rank waits in a collective)"; tail -20 "$T/$name.log"; return
  fi
  [ "$RC" -ne 0 ] && ok "$name: mpirun exits non-zero ($RC)" || bad "$name: mpirun exited 0"
  if [ "$ELAPSED" -lt $((FAST * 1000)) ]; then ok "$name: ended in ${ELAPSED} ms"; else bad "$name: took ${ELAPSED} ms (> ${FAST} s)"; fi
  for r in 0 1; do
    local line
    line=$(grep -a "^error: " "$T/$name.out/1/rank.$r/stderr" 2>/dev/null | head -1)
    if [ -z "$line" ]; then
      bad "$name: rank $r printed no error line"; tail -20 "$T/$name.log"; continue
    fi
    if echo "$line" | grep -Eq "error: rank $rank: .*$cause"; then
      ok "$name: rank $r reports rank $rank's cause: ${line#*error: }"
    else
      bad "$name: rank $r's error does not name rank $rank and /$cause/: $line"
    fi
  done
}

# 1. Rank 1 cannot open its trajectory store (a file where its directory should be).
RUN1="$T/run1"
mkdir -p "$RUN1/store"
echo "not a directory" > "$RUN1/store/rank-00001"
run_learner store_rank1 --set run.dir="$RUN1"
expect_all_ranks_fail store_rank1 1 "store/rank-00001"

# 2. Rank 0 cannot write the resolved config (<run>/config.yaml is a directory); rank 1 does
#    not write it.
RUN3="$T/run3"
mkdir -p "$RUN3/config.yaml"
run_learner config_rank0 --set run.dir="$RUN3"
expect_all_ranks_fail config_rank0 0 "config.yaml"

# 3. Rank 0 cannot write its checkpoint after step 1 (offline SFT from a synthetic store).
"$BIN/mem1_write_synthetic_store" "$T/data" 16 >"$T/write.log" 2>&1 || { echo "synthetic store failed"; cat "$T/write.log"; exit 1; }
OFFLINE=(--set learner.offline_store="$T/data" --set learner.ppo.algorithm=sft --set learner.optim.actor_lr=1e-3)
run_learner control "${OFFLINE[@]}" --set run.dir="$T/control"
if [ "$RC" -eq 0 ] && [ -f "$T/control/checkpoints/step_00000002.h5" ]; then
  ok "control: the same run without the fault trains 2 steps and checkpoints (${ELAPSED} ms)"
else
  bad "control run failed (exit $RC)"; tail -30 "$T/control.log"
fi
RUN2="$T/run2"
mkdir -p "$RUN2"
echo "not a directory" > "$RUN2/checkpoints"
run_learner checkpoint_rank0 "${OFFLINE[@]}" --set run.dir="$RUN2"
expect_all_ranks_fail checkpoint_rank0 0 "checkpoints.*(Not a directory|File exists)"
grep -aq "step 1/2" "$T/checkpoint_rank0.log" && ok "checkpoint_rank0: the step before the save trained" \
  || bad "checkpoint_rank0: no 'step 1/2' progress line"

echo "rank_failure: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
