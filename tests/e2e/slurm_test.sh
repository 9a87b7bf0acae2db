#!/usr/bin/env bash
# End-to-end Slurm launch on a private single-host cluster: starts munged + slurmctld + two slurmd
# (nodes n1, n2 on 127.0.0.1; tests/e2e/slurm/cluster.sh), submits a learner+actor heterogeneous
# job with `launch/submit.sh --cpu` (1 learner node x 1 rank under srun --mpi=pmix, 1 actor node
# x 2 actors), waits for it (sbatch --wait, with a timeout) and checks the run directory:
# rendezvous.json "finished", checkpoints, one metrics.jsonl line per step, both actors' logs.
# Every daemon and job process it started is stopped on exit.
#
# Usage: slurm_test.sh BIN_DIR SOURCE_DIR
#   MEM1_SLURM_TEST_FAKE=1  run the stand-in learner/actor (tests/e2e/slurm/fake/) instead of
#                           BIN_DIR's binaries: tests the Slurm plumbing alone, needs no build
#   MEM1_SLURM_TEST_KEEP=1  keep the temp dir (cluster logs, run dir) and print its path
# Exit: 0 pass, 1 fail, 77 skipped (prints "skipped: <why>": no Slurm/munge, not root, binaries
# not built, daemons refused to start).
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: slurm_test.sh BIN_DIR SOURCE_DIR" >&2; exit 2; }
FAKE="${MEM1_SLURM_TEST_FAKE:-0}"
BIN="$(cd "$1" 2>/dev/null && pwd)" || BIN="$1"   # (not used in fake mode)
SRC="$(cd "$2" && pwd)" || { echo "slurm_test: SOURCE_DIR '$2' does not exist" >&2; exit 2; }
CLUSTER="$SRC/tests/e2e/slurm/cluster.sh"

if [ "$FAKE" = 1 ]; then
  JOB_BIN="$SRC/tests/e2e/slurm/fake"
  JOB_TIMEOUT=120
else
  JOB_BIN="$BIN"
  JOB_TIMEOUT=900
  for p in mem1 mem1_learner mem1_actor; do
    [ -x "$BIN/$p" ] || { echo "skipped: $BIN/$p is not built (MEM1_SLURM_TEST_FAKE=1 tests the Slurm plumbing without it)"; exit 77; }
  done
fi

T="$(mktemp -d /tmp/mem1-slurm.XXXXXX)"
cleanup() {
  "$CLUSTER" stop "$T/cluster" >/dev/null 2>&1
  if [ "${MEM1_SLURM_TEST_KEEP:-0}" = 1 ]; then echo "kept: $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fails=0; passes=0
ok()  { passes=$((passes+1)); echo "PASS: $1"; }
bad() { fails=$((fails+1)); echo "FAIL: $1"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# --- launch/submit.sh front end (no Slurm needed: --dry-run renders only) ------------------------
SUBMIT="$SRC/launch/submit.sh"
CFG="$SRC/configs/default.yaml"
mkdir -p "$T/resume-me" "$T/join-me"
dry() { MEM1_BIN="$SRC/tests/e2e/slurm/fake" "$SUBMIT" "$CFG" --dry-run "$@" 2>"$T/dry.err"; }
g="$(dry --learner-nodes 2 --gpus-per-node 4 --actor-nodes 3 --actors-per-node 8 --partition p --time 1:00:00 --run-dir "$T/g")"
grep -q '^#SBATCH hetjob$' <<<"$g" && grep -q '^#SBATCH --gpus-per-node=4$' <<<"$g" \
  && grep -q '^#SBATCH --ntasks-per-node=4$' <<<"$g" && grep -q '^#SBATCH --ntasks-per-node=8$' <<<"$g" && [ "$(grep -c '^#SBATCH --partition=p$' <<<"$g")" = 2 ] \
  && grep -q 'learner.backend=nccl --set runtime.device=cuda' <<<"$g" && grep -q 'srun --het-group=0 --mpi=pmix' <<<"$g" \
  && ok "GPU render: hetjob, 4 GPUs = 4 ranks per learner node, NCCL/CUDA, partition on both components" \
  || { bad "GPU render"; echo "$g" | grep -E '^#SBATCH|_CMD='; }
grep -q "security.keys_dir=$T/g/keys" <<<"$g" && grep -q 'learner.bind_endpoint=tcp://\\\*:0' <<<"$g" \
  && [ "$(grep -c "security.keys_dir=$T/g/keys" <<<"$g")" = 2 ] \
  && ok "default render: every interface, CURVE keys in RUN_DIR/keys for learner and actors" \
  || { bad "security render"; echo "$g" | grep -E '_CMD='; }
i="$(dry --insecure --learner-nodes 1 --gpus-per-node 1 --actor-nodes 1 --actors-per-node 1 --run-dir "$T/i")"
grep -q 'security.insecure=true' <<<"$i" && ! grep -q 'security.keys_dir' <<<"$i" \
  && ok "--insecure render: plain sockets, said so" || { bad "--insecure render"; echo "$i" | grep -E '_CMD='; }
c="$(dry --cpu --learner-nodes 1 --gpus-per-node 2 --actor-nodes 1 --actors-per-node 2 --resume "$T/resume-me" --set a.b=1)"
! grep -q '^#SBATCH --gpus' <<<"$c" && grep -q 'learner.backend=mpi --set runtime.device=cpu --set a.b=1 --resume' <<<"$c" \
  && grep -q "RUN_DIR=$T/resume-me" <<<"$c" && bash -n <(echo "$c") \
  && ok "--cpu --resume render: no GPUs, MPI/CPU, --resume RUN_DIR, same run dir, valid bash" || { bad "--cpu/--resume render"; echo "$c" | grep -E '^#SBATCH|_CMD=|RUN_DIR='; }
j="$(dry --join "$T/join-me" --actor-nodes 2 --actors-per-node 3)"
! grep -q hetjob <<<"$j" && grep -q '^MODE=join$' <<<"$j" && grep -q '^#SBATCH --nodes=2$' <<<"$j" \
  && ok "--join render: actors-only job on the same run dir" || { bad "--join render"; echo "$j" | grep -E '^#SBATCH|MODE'; }
errs=0
for args in "--learner-nodes 1 --gpus-per-node 1 --actors-per-node 2" "--learner-nodes x --gpus-per-node 1 --actor-nodes 1 --actors-per-node 2" \
            "--learner-nodes 1 --gpus-per-node 1 --actor-nodes 1 --actors-per-node 2 --bogus" "--join $T/nope --actor-nodes 1 --actors-per-node 1" \
            "--join $T/join-me --learner-nodes 1 --actor-nodes 1 --actors-per-node 1" "--learner-nodes 1 --gpus-per-node 1 --actor-nodes 1 --actors-per-node 2 --set run.dir=x"; do
  # shellcheck disable=SC2086
  MEM1_BIN="$SRC/tests/e2e/slurm/fake" "$SUBMIT" "$CFG" --dry-run $args >/dev/null 2>"$T/err"; rc=$?
  [ "$rc" = 2 ] && [ "$(wc -l < "$T/err")" = 1 ] && grep -q '^submit.sh: error: ' "$T/err" || { errs=$((errs+1)); echo "  $args -> rc $rc: $(cat "$T/err")"; }
done
[ "$errs" = 0 ] && ok "bad arguments give one-line errors (exit 2)" || bad "$errs bad-argument cases"

# --- the private cluster --------------------------------------------------------------------
t0=$(now)
out="$("$CLUSTER" start "$T/cluster" 2 2>&1)"; rc=$?
if [ "$rc" = 77 ]; then echo "$out" | grep '^skipped:' | tail -1; exit 77; fi
if [ "$rc" != 0 ]; then
  echo "$out"; echo "FAIL: private Slurm did not come up (logs follow)"
  tail -n 20 "$T"/cluster/log/*.log 2>/dev/null; exit 1
fi
ok "private Slurm up: munged, slurmctld, slurmd n1 + n2 idle in $(since "$t0") s"
# shellcheck disable=SC1091
source "$T/cluster/env"   # SLURM_CONF
export SLURM_CONF

# --- inputs --------------------------------------------------------------------------------
SETS=(--set learner.advertise_host=127.0.0.1 --set learner.total_steps=2 --set learner.checkpoint_every=1
      --set learner.global_batch=4 --set actor.num_envs=2 --set actor.connect_timeout_s=300
      --set runtime.threads=1)
if [ "$FAKE" != 1 ]; then
  # Same recipe as tests/e2e/train_smoke.sh, smaller.
  prep() { local n="$1"; shift; "$@" >"$T/prep.out" 2>&1 || { echo "FAIL: $n"; tail -20 "$T/prep.out"; exit 1; }; }
  prep "datagen qa" "$BIN/mem1" datagen qa --entities 40 --seed 1 --out "$T/qa"
  prep "index build" "$BIN/mem1" index build --corpus "$T/qa/corpus.jsonl" --out "$T/qa/index" --quiet
  cut -d'"' -f8 "$T/qa/corpus.jsonl" > "$T/text.txt"; cat "$T/qa/train.jsonl" >> "$T/text.txt"
  prep "tokenizer train" "$BIN/mem1" tokenizer train --corpus "$T/text.txt" --out "$T/tok" --vocab-size 512
  MODEL=(--set model.init.num_hidden_layers=1 --set model.init.hidden_size=64 --set model.init.intermediate_size=128
         --set model.init.num_attention_heads=4 --set model.init.num_key_value_heads=2
         --set tokenizer.path="$T/tok.model" --set env.qa.data_dir="$T/qa")
  prep "init-model" "$BIN/mem1" init-model --config "$SRC/configs/default.yaml" "${MODEL[@]}" --set run.dir="$T/init-run" \
       --tokenizer "$T/tok.model" --out "$T/init"
  SETS+=("${MODEL[@]}" --set model.checkpoint="$T/init" --set actor.max_turns=3
         --set actor.max_new_tokens_per_turn=24 --set env.qa.objectives=1)
  ok "QA data, index, tokenizer and initial model prepared"
fi

# --- the job ---------------------------------------------------------------------------------
RUN="$T/run"
t1=$(now)
SEC=()   # real binaries: CURVE keys made by submit.sh in RUN/keys; the stand-ins have no `mem1 keys gen`
if [ "$FAKE" = 1 ]; then export MEM1_FAKE_EXPECT_ACTORS=3; SEC=(--insecure); fi   # 2 hetjob actors + 1 joined
MEM1_BIN="$JOB_BIN" timeout "$JOB_TIMEOUT" "$SUBMIT" "$CFG" --cpu "${SEC[@]}" \
  --learner-nodes 1 --gpus-per-node 1 --actor-nodes 1 --actors-per-node 2 --time 20 \
  --run-dir "$RUN" --wait "${SETS[@]}" >"$T/submit.out" 2>&1 &
submit_pid=$!
if [ "$FAKE" = 1 ]; then
  # An actors-only job joining the same run (1 node x 1 actor; the stand-in learner waits for it).
  for _ in $(seq 1 100); do [ -s "$RUN/job_id" ] && break; sleep 0.1; done
  MEM1_BIN="$JOB_BIN" timeout "$JOB_TIMEOUT" "$SUBMIT" "$CFG" --join "$RUN" --actor-nodes 1 --actors-per-node 1 \
    --time 20 --wait "${SETS[@]}" >"$T/join.out" 2>&1 &
  wait $!; jrc=$?   # (background + wait: a signal to the test is handled at once, not after the job)
fi
wait "$submit_pid"; rc=$?
job_s=$(since "$t1")
cat "$T/submit.out"
jid="$(cat "$RUN/job_id" 2>/dev/null)"
if [ "$rc" = 124 ]; then
  bad "job ${jid:-?} did not finish within ${JOB_TIMEOUT}s"; squeue; scancel "${jid:-0}" 2>/dev/null
elif [ "$rc" = 0 ]; then ok "hetjob $jid finished with exit 0 in $job_s s (submit to end)"
else bad "job ${jid:-?} exit status $rc after $job_s s"; fi
if [ "$FAKE" = 1 ]; then
  cat "$T/join.out"
  jjid=$(grep -o 'submitted job [0-9]*' "$T/join.out" | grep -o '[0-9]*$')
  [ "$jrc" = 0 ] && [ -n "$jjid" ] && [ "$(cat "$RUN/fake/hello-$jjid-0" 2>/dev/null)" != "" ] \
    && ok "--join job $jjid: its actor found the running learner and exited 0" \
    || bad "--join job: exit ${jrc:-?}, hello: $(ls "$RUN/fake" 2>&1 | tr '\n' ' ')"
fi

show() { for f in "$@"; do [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }; done; }
# The batch script logs each het component's node list (SLURM_JOB_NODELIST_HET_GROUP_<n>); an
# ordinary job has none. (scontrol show job would do too, but MinJobAge=4 purges it quickly.)
het=$(grep -o 'learner: het-group 0, .*' "$RUN/logs/job-$jid.out" 2>/dev/null)
if [[ "$het" =~ het-group\ 0,\ 1\ node\(s\)\ \[(n[12])\]\;\ actors:\ het-group\ 1,\ 1\ node\(s\)\ \[(n[12])\] ]]; then
  ok "heterogeneous job: learner component on ${BASH_REMATCH[1]}, actor component on ${BASH_REMATCH[2]}"
else
  bad "job log does not show two het components: ${het:-no line}"
fi

# --- the run directory -----------------------------------------------------------------------
rdv="$RUN/rendezvous.json"
grep -Eq '"state": *"finished"' "$rdv" 2>/dev/null && ok "rendezvous.json says finished" \
  || bad "rendezvous.json: $(cat "$rdv" 2>/dev/null || echo missing)"
python3 -c "import json,re,sys; d=json.load(open('$rdv')); sys.exit(0 if d['trajectory_endpoints'] and all(re.fullmatch(r'tcp://127\.0\.0\.1:[0-9]+', e) for e in d['trajectory_endpoints']) else 1)" 2>/dev/null \
  && ok "rendezvous advertises 127.0.0.1 endpoints" || bad "rendezvous endpoints"
compgen -G "$RUN/checkpoints/step_00000002*" >/dev/null && ok "checkpoint at step 2" \
  || bad "checkpoints: $(ls "$RUN/checkpoints" 2>&1 | tr '\n' ' ')"
lines=$(wc -l < "$RUN/metrics.jsonl" 2>/dev/null || echo 0)
[ "$lines" -eq 2 ] && ok "metrics.jsonl has 2 steps" || bad "metrics.jsonl has $lines lines, want 2"
for t in 0 1; do
  f="$RUN/logs/actor-$jid-$t.log"
  [ -s "$f" ] && ok "actor $jid-$t log exists" || bad "missing $f"
done
[ -s "$RUN/logs/learner-$jid-0.log" ] && ok "learner rank 0 log exists" || bad "missing learner-$jid-0.log"
if [ "$FAKE" != 1 ]; then
  grep -q 'fleet sockets: CURVE' "$RUN/logs/learner-$jid-0.log" && grep -q 'fleet sockets CURVE' "$RUN/logs/actor-$jid-0.log" \
    && [ -s "$RUN/keys/authorized_keys" ] \
    && ok "learner and actors ran CURVE with the keys submit.sh made in RUN/keys" || bad "CURVE not in use (see logs)"
fi
if [ "$FAKE" = 1 ]; then
  grep -q 'pmix namespace' "$RUN/logs/learner-$jid-0.log" 2>/dev/null \
    && ok "learner started under srun --mpi=pmix (PMIX_RANK set)" || bad "learner had no PMIx environment"
  inc=$(grep -o '"incarnation": "[^"]*"' "$rdv" 2>/dev/null | cut -d'"' -f4)
  for t in 0 1; do
    [ "$(cat "$RUN/fake/hello-$jid-$t" 2>/dev/null)" = "$inc" ] \
      && ok "actor $jid-$t found the learner through the rendezvous" || bad "actor $jid-$t never read the rendezvous"
  done
  grep -q 'learner finished after' "$RUN/logs/actor-$jid-0.log" "$RUN/logs/actor-$jid-1.log" 2>/dev/null \
    && ok "actors exited on state finished" || bad "actors did not see finished"
fi
# Contract: actors exit 0 by themselves once the rendezvous says finished (no SIGTERM needed).
if grep -q 'actor step exited with 0' "$RUN/logs/job-$jid.out" 2>/dev/null \
   && ! grep -q 'actors still running after' "$RUN/logs/job-$jid.out"; then
  ok "actors exited 0 on their own after the learner finished"
else
  bad "actors did not exit by themselves: $(grep -E 'actor step|actors still' "$RUN/logs/job-$jid.out" 2>/dev/null | tr '\n' ' ')"
fi
[ "$fails" = 0 ] || show "$RUN/logs/job-$jid.out" "$RUN"/logs/learner-*.log "$RUN"/logs/actor-*.log "$T/cluster/log/slurmctld.log"

# --- teardown: nothing may outlive the test -------------------------------------------------
t2=$(now)
"$CLUSTER" stop "$T/cluster"
left=""
for f in $(grep -lzxF "SLURM_CONF=$T/cluster/slurm.conf" /proc/[0-9]*/environ 2>/dev/null); do
  p=${f#/proc/}; p=${p%/environ}
  [ "$p" != "$$" ] && [ -r "/proc/$p/stat" ] && ! grep -q ') Z' "/proc/$p/stat" 2>/dev/null && left+="$p "
done
[ -z "$left" ] && ok "daemons stopped in $(since "$t2") s, no process left" || bad "processes left: $left"

echo "slurm_test ($([ "$FAKE" = 1 ] && echo fake || echo real) binaries): $passes passed, $fails failed"
[ "$fails" -eq 0 ]
