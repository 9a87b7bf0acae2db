#!/usr/bin/env bash
# mem1 quickstart: the embedded default on CPU, no downloads.
#   deps + build -> synthetic QA world + BM25 index -> SentencePiece tokenizer with the MEM1 tags
#   -> embedded Qwen2-family policy -> SFT warm start on scripted-expert trajectories from the
#   actor fleet -> PPO on the fleet (launch/local.sh: learner + 2 actors over ZeroMQ, weight
#   broadcast, HDF5 trajectory store) -> evaluation table
#   (mem1 vs full context, 1-4 objectives: EM, F1, peak tokens, dependency, time).
# ENV=webshop runs the same pipeline on a synthetic WebShop catalog instead (expert SFT, PPO,
# `mem1 webshop eval`: reward, success, peak tokens for mem1 vs full context).
# Sizes are small so it finishes in minutes on 2 cores; scale with the variables below.
set -euo pipefail
cd "$(dirname "$0")/.."
ENV=${ENV:-qa}
case "$ENV" in qa|webshop) ;; *) echo "error: ENV must be qa or webshop, got \"$ENV\"" >&2; exit 2;; esac
if [ "$ENV" = webshop ]; then RUN=${RUN:-runs/quickstart-webshop}; else RUN=${RUN:-runs/quickstart}; fi
ENTITIES=${ENTITIES:-400}
PRODUCTS=${PRODUCTS:-1000}
SFT_STEPS=${SFT_STEPS:-40}
PPO_STEPS=${PPO_STEPS:-4}
EVAL_TASKS=${EVAL_TASKS:-8}
ACTORS=${ACTORS:-2}

echo "== 1/7 dependencies"
bash scripts/install-deps.sh

echo "== 2/7 build (Release, -j2)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMEM1_BUILD_TESTS=OFF >/dev/null
cmake --build build -j2 --target mem1 mem1_actor mem1_learner mem1_spm_train
B=build/bin
mkdir -p "$RUN"

if [ "$ENV" = webshop ]; then
  echo "== 3/7 synthetic WebShop catalog (WebShop's JSON files) + BM25 product index"
  $B/mem1 datagen webshop --products "$PRODUCTS" --seed 1 --out "$RUN/webshop"
  $B/mem1 webshop play --data "$RUN/webshop" --player expert --episodes 100
  $B/mem1 webshop play --data "$RUN/webshop" --player random --episodes 100

  echo "== 4/7 tokenizer (SentencePiece BPE, MEM1 tags as single tokens)"
  $B/mem1 webshop play --data "$RUN/webshop" --split train --episodes 400 --trace > "$RUN/tokenizer_corpus.txt"
  bash scripts/make-demo-corpus.sh "$RUN/tags.txt" 3000 && cat "$RUN/tags.txt" >> "$RUN/tokenizer_corpus.txt"
  $B/mem1 tokenizer train --corpus "$RUN/tokenizer_corpus.txt" --out "$RUN/tokenizer" --vocab-size 2048

  echo "== 5/7 policy: embedded Qwen2-family shape (HF layout)"
  $B/mem1 init-model --config configs/webshop.yaml --tokenizer "$RUN/tokenizer.model" --out "$RUN/init"
  $B/mem1 model-info --checkpoint "$RUN/init" --no-tensors

  COMMON=(--set env.webshop.data_dir="$RUN/webshop" --set tokenizer.path="$RUN/tokenizer.model"
          --set actor.num_envs=4 --set actor.max_turns=8 --set env.webshop.max_steps=8 --set learner.global_batch=8)
  echo "== 6/7 training on the actor fleet (learner + $ACTORS actors): SFT warm start on expert trajectories, then PPO"
  launch/local.sh configs/webshop.yaml --actors "$ACTORS" --run-dir "$RUN/sft" "${COMMON[@]}" --set model.checkpoint="$RUN/init" \
    --set actor.teacher=expert --set learner.ppo.algorithm=sft --set learner.optim.actor_lr=2e-3 \
    --set learner.total_steps="$SFT_STEPS" --set learner.checkpoint_every=20
  launch/local.sh configs/webshop.yaml --actors "$ACTORS" --run-dir "$RUN/ppo" "${COMMON[@]}" --set model.checkpoint="$RUN/sft/policy" \
    --set learner.ppo.algorithm=ppo --set learner.mode=async --set learner.optim.actor_lr=1e-5 --set learner.optim.critic_lr=1e-4 \
    --set learner.total_steps="$PPO_STEPS" --set learner.checkpoint_every=2
  echo "training curves: $RUN/sft/metrics.jsonl, $RUN/ppo/metrics.jsonl; TensorBoard: tensorboard --logdir $RUN/ppo/tb"
$B/mem1 inspect "$RUN/ppo"

  echo "== 7/7 evaluation on held-out goals (greedy): the model, then the scripted expert through the same engine"
  $B/mem1 webshop eval --checkpoint "$RUN/ppo/policy" --data "$RUN/webshop" --policies mem1,full \
    --episodes "$EVAL_TASKS" --max-turns 8
  $B/mem1 webshop eval --checkpoint "$RUN/ppo/policy" --data "$RUN/webshop" --policies mem1,full \
    --episodes "$EVAL_TASKS" --max-turns 8 --expert
  echo "quickstart (webshop) done: outputs in $RUN"
  exit 0
fi

echo "== 3/7 synthetic QA world + BM25 index"
$B/mem1 datagen qa --entities "$ENTITIES" --seed 1 --out "$RUN/qa"
$B/mem1 index build --corpus "$RUN/qa/corpus.jsonl" --out "$RUN/qa/index"

echo "== 4/7 tokenizer (SentencePiece BPE, MEM1 tags as single tokens)"
cut -d'"' -f8 "$RUN/qa/corpus.jsonl" > "$RUN/tokenizer_corpus.txt"
cut -d'"' -f12 "$RUN/qa/train.jsonl" >> "$RUN/tokenizer_corpus.txt"
bash scripts/make-demo-corpus.sh "$RUN/tags.txt" 3000 && cat "$RUN/tags.txt" >> "$RUN/tokenizer_corpus.txt"
$B/mem1 tokenizer train --corpus "$RUN/tokenizer_corpus.txt" --out "$RUN/tokenizer" --vocab-size 2048

echo "== 5/7 policy: embedded Qwen2-family shape (HF layout)"
$B/mem1 init-model --config configs/default.yaml --tokenizer "$RUN/tokenizer.model" --out "$RUN/init"
$B/mem1 model-info --checkpoint "$RUN/init" --no-tensors

COMMON=(--set env.qa.data_dir="$RUN/qa" --set tokenizer.path="$RUN/tokenizer.model"
        --set actor.num_envs=4 --set actor.max_turns=6 --set learner.global_batch=16)
echo "== 6/7 training on the actor fleet (learner + $ACTORS actors): SFT warm start on expert trajectories, then PPO"
launch/local.sh configs/default.yaml --actors "$ACTORS" --run-dir "$RUN/sft" "${COMMON[@]}" --set model.checkpoint="$RUN/init" \
  --set actor.teacher=expert --set learner.ppo.algorithm=sft --set learner.optim.actor_lr=2e-3 \
  --set learner.total_steps="$SFT_STEPS" --set learner.checkpoint_every=20
launch/local.sh configs/default.yaml --actors "$ACTORS" --run-dir "$RUN/ppo" "${COMMON[@]}" --set model.checkpoint="$RUN/sft/policy" \
  --set learner.ppo.algorithm=ppo --set learner.mode=async --set learner.optim.actor_lr=1e-5 --set learner.optim.critic_lr=1e-4 \
  --set learner.total_steps="$PPO_STEPS" --set learner.checkpoint_every=2
echo "training curves: $RUN/sft/metrics.jsonl, $RUN/ppo/metrics.jsonl; TensorBoard: tensorboard --logdir $RUN/ppo/tb"
$B/mem1 inspect "$RUN/ppo"

echo "== 7/7 evaluation on held-out tasks (greedy)"
$B/mem1 eval --checkpoint "$RUN/ppo/policy" --data "$RUN/qa" --objectives 1,2,4 --policies mem1,full \
  --episodes "$EVAL_TASKS" --max-new-tokens 96
echo "quickstart done: outputs in $RUN"
