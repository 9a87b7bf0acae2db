#!/usr/bin/env bash
# End-to-end colocated training on a small synthetic QA world: datagen -> index -> tokenizer ->
# init-model -> SFT (expert) steps -> resume -> PPO steps on 2 MPI ranks -> export.
# Usage: train_smoke.sh BIN_DIR SOURCE_DIR
set -uo pipefail
BIN="$1"; SRC="$2"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fails=0; passes=0
ok()  { passes=$((passes+1)); echo "PASS: $1"; }
bad() { fails=$((fails+1)); echo "FAIL: $1"; }
run() { local n="$1"; shift; if "$@" >"$T/out" 2>"$T/err"; then ok "$n"; else bad "$n (exit $?)"; tail -20 "$T/err"; fi; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

run "datagen qa" "$BIN/mem1" datagen qa --entities 80 --seed 4 --out "$T/qa"
run "index build" "$BIN/mem1" index build --corpus "$T/qa/corpus.jsonl" --out "$T/qa/index" --quiet
cut -d'"' -f8 "$T/qa/corpus.jsonl" > "$T/text.txt"; cat "$T/qa/train.jsonl" >> "$T/text.txt"
run "tokenizer train" "$BIN/mem1" tokenizer train --corpus "$T/text.txt" --out "$T/tok" --vocab-size 800
COMMON=(--config "$SRC/configs/default.yaml" --set run.dir="$T/run" --set model.init.num_hidden_layers=2
        --set model.init.hidden_size=64 --set model.init.intermediate_size=128 --set model.init.num_attention_heads=4
        --set model.init.num_key_value_heads=2 --set tokenizer.path="$T/tok.model" --set env.qa.data_dir="$T/qa"
        --set actor.num_envs=4 --set actor.max_new_tokens_per_turn=48 --set learner.global_batch=4
        --set learner.checkpoint_every=2 --set learner.total_steps=6 --set runtime.threads=1)
run "init-model" "$BIN/mem1" init-model "${COMMON[@]}" --tokenizer "$T/tok.model" --out "$T/init"
run "learner SFT 3 steps" "$BIN/mem1_learner" "${COMMON[@]}" --set model.checkpoint="$T/init" \
    --set learner.ppo.algorithm=sft --set learner.optim.actor_lr=1e-3 --steps 3
[ "$(wc -l < "$T/run/metrics.jsonl")" -eq 3 ] && ok "3 metric lines" || bad "metrics lines: $(wc -l < "$T/run/metrics.jsonl")"
grep -q '"exact_match_mean":1' "$T/run/metrics.jsonl" && ok "expert episodes score EM 1" || bad "expert EM"
ls "$T/run/checkpoints/" | grep -q step_00000002.h5 && ok "checkpoint at step 2" || bad "checkpoint at step 2"
run "learner resume +2 steps" "$BIN/mem1_learner" "${COMMON[@]}" --set model.checkpoint="$T/init" \
    --set learner.ppo.algorithm=sft --set learner.optim.actor_lr=1e-3 --resume "$T/run" --steps 2
tail -1 "$T/run/metrics.jsonl" | grep -q '"step":5' && ok "resumed run continued at step 5" || bad "resume step: $(tail -1 "$T/run/metrics.jsonl")"
grep -q "resumed from .*step_00000003.h5 at step 3, data cursor 12" "$T/err" && ok "resume restored step and data cursor" || bad "resume log"
[ -f "$T/run/policy/model.safetensors" ] && [ -f "$T/run/policy/tokenizer.model" ] && ok "policy exported with tokenizer" || bad "export"
run "model-info on exported policy" "$BIN/mem1" model-info --checkpoint "$T/run/policy" --no-tensors
if command -v mpirun >/dev/null; then
  run "PPO on 2 MPI ranks" mpirun --allow-run-as-root --oversubscribe -np 2 "$BIN/mem1_learner" "${COMMON[@]}" \
      --set model.checkpoint="$T/run/policy" --set run.dir="$T/run2" --set learner.ppo.algorithm=ppo --steps 1
  grep -q '"episodes":4' "$T/run2/metrics.jsonl" && ok "2 ranks gathered the global batch" || bad "2-rank metrics: $(cat "$T/run2/metrics.jsonl")"
fi
run "mem1 export" "$BIN/mem1" export --checkpoint "$T/run" --out "$T/exported" --dtype bfloat16 --tokenizer "$T/tok.model"
run "generate from export" "$BIN/mem1" generate --checkpoint "$T/exported" --prompt "<IS>" --max-new-tokens 4 --greedy
echo "train_smoke: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
