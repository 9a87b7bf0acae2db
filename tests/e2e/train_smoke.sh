#!/usr/bin/env bash
# Training end to end through the launcher on a small synthetic QA world: datagen -> index ->
# tokenizer -> init-model -> SFT on expert trajectories from 2 actors (launch/local.sh) ->
# resume -> offline SFT from the trajectory store -> PPO on 2 learner ranks + 2 actors -> export.
# Usage: train_smoke.sh BIN_DIR SOURCE_DIR
set -uo pipefail
BIN="$1"; SRC="$2"
T=$(mktemp -d); trap 'pkill -KILL -f "$T/" 2>/dev/null; rm -rf "$T"' EXIT
fails=0; passes=0
ok()  { passes=$((passes+1)); echo "PASS: $1"; }
bad() { fails=$((fails+1)); echo "FAIL: $1"; }
run() { local n="$1"; shift; if "$@" >"$T/out" 2>"$T/err"; then ok "$n"; else bad "$n (exit $?)"; tail -n 20 "$T/err" "$T/out"; fi; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 MEM1_BIN="$BIN"

run "datagen qa" "$BIN/mem1" datagen qa --entities 80 --seed 4 --out "$T/qa"
run "index build" "$BIN/mem1" index build --corpus "$T/qa/corpus.jsonl" --out "$T/qa/index" --quiet
cut -d'"' -f8 "$T/qa/corpus.jsonl" > "$T/text.txt"; cat "$T/qa/train.jsonl" >> "$T/text.txt"
run "tokenizer train" "$BIN/mem1" tokenizer train --corpus "$T/text.txt" --out "$T/tok" --vocab-size 800
COMMON=(--set model.init.num_hidden_layers=2
        --set model.init.hidden_size=64 --set model.init.intermediate_size=128 --set model.init.num_attention_heads=4
        --set model.init.num_key_value_heads=2 --set tokenizer.path="$T/tok.model" --set env.qa.data_dir="$T/qa"
        --set actor.num_envs=2 --set actor.max_new_tokens_per_turn=48 --set learner.global_batch=4
        --set learner.checkpoint_every=2 --set learner.total_steps=6 --set learner.advertise_host=127.0.0.1
        --set learner.bind_endpoint=tcp://127.0.0.1:0 --set learner.publish_endpoint=tcp://127.0.0.1:0)
CFG="$SRC/configs/default.yaml"
run "init-model" "$BIN/mem1" init-model --config "$CFG" "${COMMON[@]}" --tokenizer "$T/tok.model" --out "$T/init"
SFT=(--set model.checkpoint="$T/init" --set actor.max_new_tokens_per_turn=128 --set learner.ppo.algorithm=sft --set learner.optim.actor_lr=1e-3 --set actor.teacher=expert)
run "local.sh: SFT 3 steps on expert trajectories from 2 actors" "$SRC/launch/local.sh" "$CFG" --actors 2 --run-dir "$T/run" \
    "${COMMON[@]/#/}" "${SFT[@]}" --steps 3
[ "$(wc -l < "$T/run/metrics.jsonl")" -eq 3 ] && ok "3 metric lines" || bad "metrics lines: $(wc -l < "$T/run/metrics.jsonl" 2>/dev/null)"
python3 -c "import json,sys; v=[json.loads(l)['rollout/exact_match_mean'] for l in open('$T/run/metrics.jsonl')]; sys.exit(0 if sum(v)/len(v) >= 1.0 else 1)" \
  && ok "expert episodes score mean EM >= 1 (of 2 objectives)" || bad "expert EM: $(head -c 300 "$T/run/metrics.jsonl")"
ls "$T/run/checkpoints/" | grep -q step_00000002.h5 && ok "checkpoint at step 2" || bad "checkpoint at step 2"
grep -q "ended on weights v3" "$T/run/logs/actor-1.log" && ok "actor followed the weight broadcast to v3" || bad "actor weights: $(grep 'ended on' "$T/run/logs/actor-1.log")"
run "local.sh: resume +2 steps" "$SRC/launch/local.sh" "$CFG" --actors 2 --resume "$T/run" "${COMMON[@]}" "${SFT[@]}" --steps 2
tail -1 "$T/run/metrics.jsonl" | grep -q '"step": 5,' && ok "resumed run continued at step 5" || bad "resume step: $(tail -1 "$T/run/metrics.jsonl")"
grep -q "resumed from .*step_00000003.h5 at step 3" "$T/run/logs/learner.log" && ok "resume restored step 3" || bad "resume log"
[ -f "$T/run/policy/model.safetensors" ] && [ -f "$T/run/policy/tokenizer.model" ] && ok "policy exported with tokenizer" || bad "export"
run "model-info on exported policy" "$BIN/mem1" model-info --checkpoint "$T/run/policy" --no-tensors
# Offline: SFT from the trajectories the actors stored, no actors.
run "offline SFT from the store (1 epoch)" "$BIN/mem1_learner" --config "$CFG" "${COMMON[@]}" --set model.checkpoint="$T/init" \
    --set learner.ppo.algorithm=sft --set learner.optim.actor_lr=1e-3 --set run.dir="$T/offline" \
    --set learner.offline_store="$T/run" --set learner.offline_epochs=1 --set learner.total_steps=100000 \
    --set learner.global_batch=256
grep -q "offline store exhausted after 1 epoch" "$T/err" && ok "offline run stopped after its epochs" || bad "offline epochs: $(tail -3 "$T/err")"
[ -f "$T/offline/policy/model.safetensors" ] && ok "offline run exported its policy" || bad "offline export"
if command -v mpirun >/dev/null; then
  run "local.sh: PPO on 2 learner ranks + 2 actors" "$SRC/launch/local.sh" "$CFG" --actors 2 --learner-ranks 2 \
      --run-dir "$T/run2" "${COMMON[@]}" --set model.checkpoint="$T/run/policy" --set learner.ppo.algorithm=ppo --steps 1
  grep -q '"train/trajectories": 4.0' "$T/run2/metrics.jsonl" && ok "2 ranks trained the global batch of 4" || bad "2-rank metrics: $(cat "$T/run2/metrics.jsonl")"
fi
run "mem1 export" "$BIN/mem1" export --checkpoint "$T/run" --out "$T/exported" --dtype bfloat16 --tokenizer "$T/tok.model"
run "generate from export" "$BIN/mem1" generate --checkpoint "$T/exported" --prompt "<IS>" --max-new-tokens 4 --greedy
echo "train_smoke: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
