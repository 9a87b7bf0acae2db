#!/usr/bin/env bash
# mem1 quickstart: the MEM1 experiment on the embedded default, CPU only, no downloads.
#   deps + build -> synthetic QA world + BM25 index -> SentencePiece tokenizer with the MEM1 tags
#   -> embedded Qwen2-family policy -> scripted-expert trajectories generated once into an HDF5
#   trajectory store (`mem1 datagen expert`) -> SFT from the store (held-out NLL) -> PPO on the
#   actor fleet (launch/local.sh: learner + 2 actors over ZeroMQ, weight broadcast, trajectory
#   store) -> `mem1 eval` on held-out tasks at N = 1, 2, 4, 8, 16 objectives for mem1, full
#   context and a sliding window: eval.json, eval.md, PNG plots, one episode turn by turn.
# ENV=webshop runs the same pipeline on a synthetic WebShop catalog (reward, success, peak tokens).
# launch/paper.sh runs the same recipe longer (<= 3 h on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
ENV=${ENV:-qa}
case "$ENV" in qa|webshop) ;; *) echo "error: ENV must be qa or webshop, got \"$ENV\"" >&2; exit 2;; esac
if [ "$ENV" = webshop ]; then RUN=${RUN:-runs/quickstart-webshop}; else RUN=${RUN:-runs/quickstart}; fi
# Every size is a variable (the CI smoke runs this script with tiny ones); the defaults are the
# recipe in README ("The MEM1 experiment").
ENTITIES=${ENTITIES:-2000}        # QA world: countries + cities + people
TWO_HOP=${TWO_HOP:-0}             # chance of a bridge question per entity
DISTRACTORS=${DISTRACTORS:-1}     # distractor passages per entity
TOP_K=${TOP_K:-3}                 # passages per search
# QA: a vocabulary large enough that the world's names are single tokens (README, "Why the
# defaults are what they are"). COPY_CIRCUIT=true writes the analytic copy circuit into the
# fresh policy (model.init.copy_circuit; it needs 4 * head_dim <= HIDDEN and KV_HEADS >= 2, e.g.
# HEADS=4 ROPE_THETA=1000000), keeps what it reads and writes frozen through SFT and PPO (FREEZE,
# a parameter-name regex for learner.optim.freeze: layer 0, layer 1's attention and input norm,
# the final norm) and mixes COPY_SAMPLES induction samples (random runs of the world's name
# tokens, up to COPY_TOKENS long, then the same run again) into the SFT store so the layers
# above keep using it: an experiment (run e4 in README: the lowest held-out NLL so far, EM not
# yet above 0).
if [ "$ENV" = webshop ]; then VOCAB=${VOCAB:-2048}; else VOCAB=${VOCAB:-16384}; fi
HIDDEN=${HIDDEN:-256}; LAYERS=${LAYERS:-4}; HEADS=${HEADS:-8}; KV_HEADS=${KV_HEADS:-2}
ROPE_THETA=${ROPE_THETA:-10000}; COPY_CIRCUIT=${COPY_CIRCUIT:-false}
if [ "$COPY_CIRCUIT" = true ]; then
  FREEZE=${FREEZE-'model\.layers\.0\..*|model\.layers\.1\.(self_attn|input_layernorm)\..*|model\.norm\.weight'}
  COPY_SAMPLES=${COPY_SAMPLES:-4000}
else
  FREEZE=${FREEZE:-}; COPY_SAMPLES=${COPY_SAMPLES:-0}
fi
COPY_TOKENS=${COPY_TOKENS:-128}
EXPERT_TASKS=${EXPERT_TASKS:-3000}
# Language-model pretraining on the world's passages (as the agent reads them) before SFT:
# LM_STEPS steps of LM_BATCH samples of 256 tokens (`mem1 datagen lm`; 0 = none).
LM_STEPS=${LM_STEPS:-0}
LM_BATCH=${LM_BATCH:-16}
LM_LR=${LM_LR:-3e-3}
SFT_OBJECTIVES=${SFT_OBJECTIVES:-1,2}
SFT_STEPS=${SFT_STEPS:-400}
SFT_BATCH=${SFT_BATCH:-16}
SFT_LR=${SFT_LR:-3e-3}
PPO_OBJECTIVES=${PPO_OBJECTIVES:-2}
PPO_STEPS=${PPO_STEPS:-10}
PPO_BATCH=${PPO_BATCH:-16}
PPO_LR=${PPO_LR:-2e-5}
EVAL_OBJECTIVES=${EVAL_OBJECTIVES:-1,2,4,8,16}
EVAL_POLICIES=${EVAL_POLICIES:-mem1,full,window:256}
EVAL_TASKS=${EVAL_TASKS:-100}
EVAL_TASKS_LARGE=${EVAL_TASKS_LARGE:-20}
PRODUCTS=${PRODUCTS:-1000}       # WebShop catalog
WEBSHOP_EXPERT_TASKS=${WEBSHOP_EXPERT_TASKS:-240}  # ~2 episodes/s alone on 2 cores (0.1/s with a build beside it)
WEBSHOP_SFT_STEPS=${WEBSHOP_SFT_STEPS:-200}
WEBSHOP_EVAL_TASKS=${WEBSHOP_EVAL_TASKS:-100}
ACTORS=${ACTORS:-2}
SKIP_BUILD=${SKIP_BUILD:-0}

B=${MEM1_BIN:-build/bin}
if [ "$SKIP_BUILD" != 1 ]; then
  echo "== 1/9 dependencies"
  bash scripts/install-deps.sh
  echo "== 2/9 build (Release, -j2)"
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j2 --target mem1 mem1_actor mem1_learner mem1_spm_train
fi
mkdir -p "$RUN"

if [ "$ENV" = webshop ]; then
  echo "== 3/9 synthetic WebShop catalog (WebShop's JSON files) + BM25 product index"
  $B/mem1 datagen webshop --products "$PRODUCTS" --seed 1 --out "$RUN/webshop"
  $B/mem1 webshop play --data "$RUN/webshop" --player expert --episodes 100
  $B/mem1 webshop play --data "$RUN/webshop" --player random --episodes 100

  echo "== 4/9 tokenizer (SentencePiece BPE, MEM1 tags as single tokens)"
  $B/mem1 webshop play --data "$RUN/webshop" --split train --episodes 400 --trace > "$RUN/tokenizer_corpus.txt"
  bash scripts/make-demo-corpus.sh "$RUN/tags.txt" 3000 && cat "$RUN/tags.txt" >> "$RUN/tokenizer_corpus.txt"
  $B/mem1 tokenizer train --corpus "$RUN/tokenizer_corpus.txt" --out "$RUN/tokenizer" --vocab-size "$VOCAB"

  echo "== 5/9 policy: embedded Qwen2-family shape (HF layout)"
  $B/mem1 init-model --config configs/webshop.yaml --tokenizer "$RUN/tokenizer.model" --out "$RUN/init"
  $B/mem1 model-info --checkpoint "$RUN/init" --no-tensors

  COMMON=(--set env.webshop.data_dir="$RUN/webshop" --set tokenizer.path="$RUN/tokenizer.model"
          --set actor.num_envs=4 --set actor.max_turns=8 --set env.webshop.max_steps=8)
  echo "== 6/9 expert data once: $WEBSHOP_EXPERT_TASKS scripted-expert episodes into a trajectory store"
  rm -rf "$RUN/expert" "$RUN/expert-dev"
  $B/mem1 datagen expert --config configs/webshop.yaml "${COMMON[@]}" --set model.checkpoint="$RUN/init" --set actor.num_envs=32 \
    --episodes "$WEBSHOP_EXPERT_TASKS" --out "$RUN/expert"
  $B/mem1 datagen expert --config configs/webshop.yaml "${COMMON[@]}" --set model.checkpoint="$RUN/init" --set actor.num_envs=32 \
    --set env.webshop.split=dev --episodes 32 --seed 99 --out "$RUN/expert-dev"
  echo "== 7/9 SFT from the store ($WEBSHOP_SFT_STEPS steps)"
  launch/local.sh configs/webshop.yaml --actors 0 --run-dir "$RUN/sft" "${COMMON[@]}" --set model.checkpoint="$RUN/init" \
    --set learner.ppo.algorithm=sft --set learner.offline_store="$RUN/expert" --set learner.offline_epochs=1000 \
    --set learner.heldout_store="$RUN/expert-dev" --set learner.heldout_every=25 --set learner.global_batch=8 \
    --set learner.optim.actor_lr=2e-3 --set learner.optim.warmup_steps=10 \
    --set learner.total_steps="$WEBSHOP_SFT_STEPS" --set learner.checkpoint_every=100
  echo "== 8/9 PPO on the actor fleet (learner + $ACTORS actors)"
  launch/local.sh configs/webshop.yaml --actors "$ACTORS" --run-dir "$RUN/ppo" "${COMMON[@]}" --set model.checkpoint="$RUN/sft/policy" \
    --set learner.ppo.algorithm=ppo --set learner.mode=async --set learner.optim.actor_lr="$PPO_LR" --set learner.optim.critic_lr=1e-4 \
    --set learner.global_batch=8 --set learner.total_steps="$PPO_STEPS" --set learner.checkpoint_every=5
  echo "training curves: $RUN/sft/metrics.jsonl, $RUN/ppo/metrics.jsonl; TensorBoard: tensorboard --logdir $RUN"
  $B/mem1 inspect "$RUN/ppo"

  echo "== 9/9 evaluation on held-out goals (greedy): the scripted expert, then the trained policy, through the same engine"
  $B/mem1 eval --config configs/webshop.yaml "${COMMON[@]}" --checkpoint "$RUN/ppo/policy" --policies mem1,full \
    --tasks "$WEBSHOP_EVAL_TASKS" --expert --out "$RUN/eval-expert" --quiet
  $B/mem1 eval --config configs/webshop.yaml "${COMMON[@]}" --checkpoint "$RUN/ppo/policy" --policies mem1,full \
    --tasks "$WEBSHOP_EVAL_TASKS" --out "$RUN/eval" --metrics "$RUN/sft" "$RUN/ppo"
  echo "quickstart (webshop) done: table $RUN/eval/eval.md (expert: $RUN/eval-expert/eval.md), curves $RUN/eval/training.png"
  exit 0
fi

echo "== 3/9 synthetic QA world + BM25 index"
$B/mem1 datagen qa --entities "$ENTITIES" --two-hop "$TWO_HOP" --distractors "$DISTRACTORS" --seed 1 --out "$RUN/qa"
$B/mem1 index build --quiet --corpus "$RUN/qa/corpus.jsonl" --out "$RUN/qa/index"

echo "== 4/9 tokenizer (SentencePiece BPE, MEM1 tags as single tokens)"
# Every passage as the agent reads it in an observation (`Doc k(Title: T) text`), so the
# vocabulary holds the world's names: at VOCAB=16384 ~98% of the names in test questions are one
# token each (2048: 2.5%), which is what lets a small policy copy them (README, "Why the defaults").
python3 -c 'import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    title, _, text = json.loads(line)["contents"].partition("\n")
    print("Doc 1(Title: " + title.strip("\"") + ") " + text)' "$RUN/qa/corpus.jsonl" > "$RUN/tokenizer_corpus.txt"
grep -o '"question":"[^"]*"' "$RUN/qa/train.jsonl" | cut -d'"' -f4 | sed 's/^/ Q1: /' >> "$RUN/tokenizer_corpus.txt"
grep -o '"golden_answers":\["[^"]*"' "$RUN/qa/train.jsonl" | cut -d'"' -f4 | awk '{printf(" Q1 = %s; Q2 = ?\n", $0)}' >> "$RUN/tokenizer_corpus.txt"
bash scripts/make-demo-corpus.sh "$RUN/tags.txt" 3000 && cat "$RUN/tags.txt" >> "$RUN/tokenizer_corpus.txt"
$B/mem1 tokenizer train --corpus "$RUN/tokenizer_corpus.txt" --out "$RUN/tokenizer" --vocab-size "$VOCAB"

echo "== 5/9 policy: embedded Qwen2-family shape (HF layout)"
MODEL=(--set model.init.vocab_size="$VOCAB" --set model.init.hidden_size="$HIDDEN" --set model.init.num_hidden_layers="$LAYERS"
       --set model.init.intermediate_size="$((HIDDEN * 11 / 4))" --set model.init.num_attention_heads="$HEADS"
       --set model.init.num_key_value_heads="$KV_HEADS" --set model.init.rope_theta="$ROPE_THETA"
       --set model.init.copy_circuit="$COPY_CIRCUIT")
$B/mem1 init-model --config configs/default.yaml "${MODEL[@]}" --tokenizer "$RUN/tokenizer.model" --out "$RUN/init"
$B/mem1 model-info --checkpoint "$RUN/init" --no-tensors

COMMON=(--set env.qa.data_dir="$RUN/qa" --set tokenizer.path="$RUN/tokenizer.model" --set env.qa.top_k="$TOP_K"
        --set actor.num_envs=4 --set actor.max_turns=6 --set learner.optim.freeze="$FREEZE")
echo "== 6/9 expert data once: $EXPERT_TASKS scripted-expert trajectories ($SFT_OBJECTIVES objectives) into a trajectory store"
rm -rf "$RUN/expert" "$RUN/expert-dev"
$B/mem1 datagen expert --config configs/default.yaml "${COMMON[@]}" --set model.checkpoint="$RUN/init" --set actor.num_envs=32 \
  --episodes "$EXPERT_TASKS" --objectives "$SFT_OBJECTIVES" --out "$RUN/expert"
$B/mem1 datagen expert --config configs/default.yaml "${COMMON[@]}" --set model.checkpoint="$RUN/init" --set actor.num_envs=32 --set env.qa.split=dev \
  --episodes 64 --objectives "$SFT_OBJECTIVES" --seed 99 --out "$RUN/expert-dev"

SFT_STORE="$RUN/expert"
if [ "$COPY_SAMPLES" -gt 0 ]; then
  echo "== 6a/9 $COPY_SAMPLES copy samples over the world's names, mixed into the SFT store"
  python3 -c 'import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    print(json.loads(line)["contents"].partition("\n")[0].strip("\""))' "$RUN/qa/corpus.jsonl" | sort -u > "$RUN/names.txt"
  rm -rf "$RUN/copy"
  $B/mem1 datagen lm --text "$RUN/names.txt" --tokenizer "$RUN/tokenizer.model" --max-samples 1 \
    --copy-samples "$COPY_SAMPLES" --copy-tokens "$COPY_TOKENS" --seed 11 --out "$RUN/copy"
  SFT_STORE="$RUN/expert,$RUN/copy"
fi

SFT_START="$RUN/init"
if [ "$LM_STEPS" -gt 0 ]; then
  echo "== 6b/9 language-model pretraining on the world's passages ($LM_STEPS steps x $LM_BATCH samples of 256 tokens)"
  python3 -c 'import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    title, _, text = json.loads(line)["contents"].partition("\n")
    print("Doc 1(Title: " + title.strip("\"") + ") " + text)' "$RUN/qa/corpus.jsonl" > "$RUN/passages.txt"
  rm -rf "$RUN/lm-data"
  $B/mem1 datagen lm --text "$RUN/passages.txt" --tokenizer "$RUN/tokenizer.model" --tokens 256 --out "$RUN/lm-data"
  launch/local.sh configs/default.yaml --actors 0 --run-dir "$RUN/lm" "${COMMON[@]}" --set model.checkpoint="$RUN/init" \
    --set learner.ppo.algorithm=sft --set learner.offline_store="$RUN/lm-data" --set learner.offline_epochs=1000 \
    --set learner.optim.actor_lr="$LM_LR" --set learner.optim.warmup_steps=10 --set learner.global_batch="$LM_BATCH" \
    --set learner.total_steps="$LM_STEPS" --set learner.checkpoint_every=1000
  SFT_START="$RUN/lm/policy"
fi

echo "== 7/9 SFT from the store ($SFT_STEPS steps x $SFT_BATCH trajectories, held-out NLL on dev-question tasks)"
launch/local.sh configs/default.yaml --actors 0 --run-dir "$RUN/sft" "${COMMON[@]}" --set model.checkpoint="$SFT_START" \
  --set learner.ppo.algorithm=sft --set learner.offline_store="$SFT_STORE" --set learner.offline_epochs=1000 \
  --set learner.heldout_store="$RUN/expert-dev" --set learner.heldout_every=25 \
  --set learner.optim.actor_lr="$SFT_LR" --set learner.optim.warmup_steps=10 --set learner.global_batch="$SFT_BATCH" \
  --set learner.total_steps="$SFT_STEPS" --set learner.checkpoint_every=100

echo "== 8/9 PPO on the actor fleet (learner + $ACTORS actors, $PPO_OBJECTIVES objectives per task)"
launch/local.sh configs/default.yaml --actors "$ACTORS" --run-dir "$RUN/ppo" "${COMMON[@]}" --set model.checkpoint="$RUN/sft/policy" \
  --set env.qa.objectives="$PPO_OBJECTIVES" --set learner.ppo.algorithm=ppo --set learner.mode=async \
  --set learner.optim.actor_lr="$PPO_LR" --set learner.optim.critic_lr=1e-4 --set learner.global_batch="$PPO_BATCH" \
  --set learner.heldout_store="$RUN/expert-dev" --set learner.heldout_every=5 \
  --set actor.temperature=1.0 --set learner.total_steps="$PPO_STEPS" --set learner.checkpoint_every=5
echo "training curves: $RUN/sft/metrics.jsonl, $RUN/ppo/metrics.jsonl; TensorBoard: tensorboard --logdir $RUN"
$B/mem1 inspect "$RUN/ppo"

echo "== 9/9 evaluation on held-out (test) questions, greedy: the SFT start and the PPO policy"
$B/mem1 eval --config configs/default.yaml "${COMMON[@]}" --checkpoint "$RUN/sft/policy" --objectives "$PPO_OBJECTIVES" \
  --policies mem1 --tasks "$EVAL_TASKS" --batch 16 --out "$RUN/eval-sft" --quiet
$B/mem1 eval --config configs/default.yaml "${COMMON[@]}" --checkpoint "$RUN/ppo/policy" --objectives "$EVAL_OBJECTIVES" \
  --policies "$EVAL_POLICIES" --tasks "$EVAL_TASKS" --tasks-large "$EVAL_TASKS_LARGE" --batch 16 --out "$RUN/eval" \
  --metrics "$RUN/sft" "$RUN/ppo"
echo "quickstart done: table $RUN/eval/eval.md, plots $RUN/eval/*.png, one episode $RUN/eval/episode.txt"
