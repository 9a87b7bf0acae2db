#!/usr/bin/env bash
# The distributed runtime end to end on localhost: learner with 2 MPI ranks + 2 actors, tiny
# model, synthetic QA (ENV=webshop: a synthetic WebShop catalog), ALGO=ppo|grpo|sft.
# Mid-run one actor is SIGKILLed and restarted; after a checkpoint the learner is SIGKILLed and
# resumed while the actors keep running. Asserts: every acked trajectory is in the store
# exactly once; nothing is trained twice across the resume (store ranges per step are
# contiguous); policy versions increase; actors end on the final weights; the TensorBoard
# files parse with an independent reader; (grpo) every group is whole on one rank.
# Usage: fleet_e2e.sh BIN_DIR SOURCE_DIR
set -uo pipefail
BIN="$1"; SRC="$2"
ENVN="${ENV:-qa}"; ALGO="${ALGO:-ppo}"
T=$(mktemp -d); RUN="$T/run"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done; pkill -KILL -f "$RUN" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fails=0; passes=0
ok()  { passes=$((passes+1)); echo "PASS: $1"; }
bad() { fails=$((fails+1)); echo "FAIL: $1"; }
quiet() { "$@" >"$T/out" 2>"$T/err" || { echo "command failed: $*"; tail -20 "$T/err"; exit 1; }; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
command -v mpirun >/dev/null || { echo "skipped: mpirun not found"; exit 77; }

# Data, tokenizer, tiny policy.
if [ "$ENVN" = webshop ]; then
  quiet "$BIN/mem1" datagen webshop --products 150 --seed 3 --out "$T/data"
  "$BIN/mem1" webshop play --data "$T/data" --split train --episodes 60 --trace > "$T/text.txt" 2>/dev/null
  DATA=(--set env.name=webshop --set env.webshop.data_dir="$T/data" --set env.webshop.max_steps=4)
else
  quiet "$BIN/mem1" datagen qa --entities 60 --seed 4 --out "$T/data"
  quiet "$BIN/mem1" index build --corpus "$T/data/corpus.jsonl" --out "$T/data/index" --quiet
  cut -d'"' -f8 "$T/data/corpus.jsonl" > "$T/text.txt"; cat "$T/data/train.jsonl" >> "$T/text.txt"
  DATA=(--set env.qa.data_dir="$T/data" --set env.qa.objectives=1)
fi
quiet "$BIN/mem1" tokenizer train --corpus "$T/text.txt" --out "$T/tok" --vocab-size 700
COMMON=(--config "$SRC/configs/default.yaml" --set run.dir="$RUN" --set model.init.num_hidden_layers=1
        --set model.init.hidden_size=64 --set model.init.intermediate_size=128 --set model.init.num_attention_heads=4
        --set model.init.num_key_value_heads=2 --set tokenizer.path="$T/tok.model" "${DATA[@]}"
        --set actor.num_envs=2 --set actor.max_turns=3 --set actor.max_new_tokens_per_turn=24
        --set learner.global_batch=4 --set learner.checkpoint_every=2 --set learner.total_steps=8
        --set learner.ppo.algorithm="$ALGO" --set learner.ppo.group_size=2 --set learner.mode=async
        --set learner.ppo.max_policy_lag=2 --set learner.store_shard_records=8 --set learner.advertise_host=127.0.0.1
        --set learner.bind_endpoint=tcp://127.0.0.1:0 --set learner.publish_endpoint=tcp://127.0.0.1:0
        --set actor.heartbeat_s=0.5 --set actor.resend_after_s=3 --set learner.data_timeout_s=120)
quiet "$BIN/mem1" init-model "${COMMON[@]}" --tokenizer "$T/tok.model" --out "$T/init"
COMMON+=(--set model.checkpoint="$T/init")
[ "$ALGO" = sft ] && COMMON+=(--set actor.teacher=expert)

start_learner() {  # $@: extra args
  mpirun -np 2 --oversubscribe "$BIN/mem1_learner" "${COMMON[@]}" --set runtime.threads=1 "$@" >>"$T/learner.log" 2>&1 &
  LEARNER=$!; PIDS+=($LEARNER)
}
start_actor() {  # $1: index
  "$BIN/mem1_actor" "${COMMON[@]}" --set runtime.threads=1 --set actor.ack_log="$T/acked-$1.txt" \
    --actor-id "e2e-$1" >>"$T/actor-$1.log" 2>&1 &
  eval "ACTOR$1=$!"; PIDS+=($!)
}
wait_for() {  # $1: description, $2: seconds, $3...: test command
  local what="$1" secs="$2"; shift 2
  for _ in $(seq 1 $((secs * 5))); do "$@" && return 0; sleep 0.2; done
  bad "timed out waiting for $what"; tail -20 "$T/learner.log"; return 1
}
ckpt() { [ -f "$RUN/checkpoints/step_0000000$1.h5" ]; }

start_learner
start_actor 1; start_actor 2
wait_for "checkpoint step 2" 90 ckpt 2 && ok "learner reached a checkpoint at step 2 with 2 ranks + 2 actors"
kill -KILL "$ACTOR1"; ok "actor 1 SIGKILLed mid-run"
start_actor 1
wait_for "checkpoint step 4" 90 ckpt 4 && ok "training went on (checkpoint at step 4) with the restarted actor"
pkill -KILL -f "mem1_learner.*$RUN"; kill -KILL "$LEARNER" 2>/dev/null; wait "$LEARNER" 2>/dev/null
ok "learner SIGKILLed after a checkpoint"
sleep 1
rm -f "$RUN/rendezvous.json"
start_learner --resume "$RUN"
wait_for "the resumed learner to finish" 150 bash -c "grep -q 'learner finished at step 8' '$T/learner.log'" \
  && ok "resumed learner ran to step 8"
wait "$LEARNER"; lrc=$?
[ $lrc -eq 0 ] && ok "learner exited 0" || bad "learner exit status $lrc"
grep -Eq "resumed from .*step_0000000[46].h5 at step [46]" "$T/learner.log" && ok "resume restored the checkpointed step" || bad "resume log"
for i in 1 2; do
  pid_var="ACTOR$i"; wait_for "actor $i to exit" 30 bash -c "! kill -0 ${!pid_var} 2>/dev/null"
  wait "${!pid_var}"; arc=$?
  [ $arc -eq 0 ] && ok "actor $i exited 0 after the learner finished" || bad "actor $i exit status $arc"
  grep -q "ended on weights v8 (learner v8)" "$T/actor-$i.log" && ok "actor $i ended on the final weights (v8)" \
    || bad "actor $i final weights: $(grep 'ended on weights' "$T/actor-$i.log" | tail -1)"
done
grep -q "learner restarted" "$T/actor-2.log" && ok "actor 2 reattached to the restarted learner" || bad "actor 2 reattach"

# The store: every acked trajectory exactly once.
"$BIN/mem1" inspect "$RUN" --list > "$T/list.txt" 2>"$T/err" || { bad "inspect --list"; tail "$T/err"; }
awk '{print $3" "$4}' "$T/list.txt" | sort > "$T/stored.txt"
dups=$(uniq -d "$T/stored.txt" | wc -l)
[ "$dups" -eq 0 ] && ok "no (actor, episode) stored twice ($(wc -l < "$T/stored.txt") records)" || bad "$dups duplicates in the store"
cat "$T"/acked-*.txt 2>/dev/null | awk '{print $1}' | sort -u > "$T/acked_ids.txt"
awk '{print $4}' "$T/list.txt" | sort -u > "$T/stored_ids.txt"
missing=$(comm -23 "$T/acked_ids.txt" "$T/stored_ids.txt" | wc -l)
nacked=$(wc -l < "$T/acked_ids.txt")
[ "$nacked" -gt 0 ] && [ "$missing" -eq 0 ] && ok "all $nacked acked trajectories are in the store" || bad "$missing of $nacked acked trajectories missing"
"$BIN/mem1" inspect "$RUN" > "$T/summary.txt" 2>&1 && ok "inspect summary" || bad "inspect summary"
"$BIN/mem1" inspect "$RUN" --episode 0 --json > "$T/ep.json" 2>&1 && python3 -c "import json,sys; d=json.load(open('$T/ep.json')); assert d['segments'] and 'token_ids' in d['segments'][0]" \
  && ok "inspect --episode 0 --json" || bad "inspect --episode --json"

# Nothing trained twice across the resume: per rank, the final step ranges are contiguous from 0.
python3 - "$RUN" <<'PY' && ok "store ranges trained per step are contiguous and disjoint on both ranks" || bad "trained ranges"
import json, sys, glob
for f in sorted(glob.glob(sys.argv[1] + "/trained/rank-*.jsonl")):
    last = {}
    for line in open(f):
        r = json.loads(line); last[r["step"]] = r
    steps = sorted(last)
    assert steps == list(range(1, 9)), (f, steps)
    pos = 0
    for s in steps:
        assert last[s]["first"] == pos, (f, s, last[s], pos)
        pos = last[s]["end"]
PY
python3 - "$RUN" <<'PY' && ok "policy versions increase step by step" || bad "policy versions"
import json, sys
last = {}
for line in open(sys.argv[1] + "/metrics.jsonl"):
    r = json.loads(line); last[r["step"]] = r["train/policy_version"]
assert [last[s] for s in sorted(last)] == list(range(1, 9)), last
PY
python3 "$SRC/tests/e2e/read_tensorboard.py" "$RUN/tb" > "$T/tb.json" 2>"$T/err" && python3 - "$T/tb.json" <<'PY' \
  && ok "TensorBoard event files parse (independent reader)" || { bad "TensorBoard files"; cat "$T/err"; }
import json, sys
d = json.load(open(sys.argv[1]))
s = d["scalars"]
for tag in ["train/loss", "rollout/reward_mean", "train/logprob_gap_max", "fleet/episodes_per_s"]:
    assert tag in s, tag
assert len({st for st, _ in s["train/loss"]}) == 8, s["train/loss"]
PY
if [ "$ALGO" != sft ]; then
  python3 - "$RUN" <<'PY' && ok "rollout/learner log-prob gap ~ 0 on on-policy tokens" || bad "log-prob gap"
import json, sys
gaps = [json.loads(l)["train/logprob_gap_max"] for l in open(sys.argv[1] + "/metrics.jsonl")]
assert max(gaps) < 1e-3, gaps
PY
fi
if [ "$ALGO" = grpo ]; then
  python3 - "$T/list.txt" <<'PY' && ok "GRPO groups are whole on one rank (size 2)" || bad "GRPO groups"
import sys, collections
ranks = collections.defaultdict(set); sizes = collections.Counter()
for line in open(sys.argv[1]):
    idx, store, actor, ep, group = line.split()[:5]
    assert group != "0", line
    ranks[(actor, group)].add(store); sizes[(actor, group)] += 1
assert all(len(v) == 1 for v in ranks.values()), ranks
assert sum(1 for v in sizes.values() if v == 2) >= 4, sizes
assert max(sizes.values()) == 2, sizes
PY
  python3 - "$RUN" <<'PY' && ok "GRPO: every step trained whole groups only (trained = 2 x groups)" || bad "GRPO step groups"
import json, sys, glob
n = 0
for f in glob.glob(sys.argv[1] + "/trained/rank-*.jsonl"):
    for line in open(f):
        r = json.loads(line)
        assert r["trained"] == 2 * r["groups"] and r["groups"] >= 1, r
        n += 1
assert n >= 16, n
PY
fi
echo "fleet_e2e ($ENVN, $ALGO): $passes passed, $fails failed"
[ "$fails" -eq 0 ]
