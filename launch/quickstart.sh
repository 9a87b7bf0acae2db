#!/usr/bin/env bash
# mem1 quickstart (embedded default, no downloads, CPU): installs dependencies, builds, trains
# the embedded tokenizer, writes a freshly initialised policy as an HF checkpoint, inspects it,
# generates from it with a KV cache, and runs the model benchmark in quick mode.
# (The full actor-fleet + PPO training demo replaces the last steps as later issues land.)
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${RUN:-runs/quickstart}

echo "== 1/6 dependencies"
bash scripts/install-deps.sh

echo "== 2/6 build (Release, -j2)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMEM1_BUILD_TESTS=OFF >/dev/null
cmake --build build -j2 --target mem1 mem1_actor mem1_learner mem1_spm_train

mkdir -p "$RUN"
echo "== 3/6 tokenizer: SentencePiece BPE with the MEM1 tags as single tokens"
bash scripts/make-demo-corpus.sh "$RUN/corpus.txt" 20000
build/bin/mem1 tokenizer train --corpus "$RUN/corpus.txt" --out "$RUN/tokenizer" --vocab-size 1024
build/bin/mem1 tokenize --tokenizer "$RUN/tokenizer.model" --text "<IS>The capital of Zorvath is Quellin.</IS><query>Quellin founder</query>"

echo "== 4/6 policy: embedded Qwen2-family shape, HF layout"
build/bin/mem1 init-model --config configs/default.yaml --tokenizer "$RUN/tokenizer.model" --out "$RUN/policy"
build/bin/mem1 model-info --checkpoint "$RUN/policy" --no-tensors

echo "== 5/6 generation (random weights: the text is noise; ids and log-probs are real)"
build/bin/mem1 generate --checkpoint "$RUN/policy" --prompt "Question: what is the capital of Zorvath? <IS>" \
  --max-new-tokens 16 --temperature 0.8 --seed 7 --print-logprobs
build/bin/mem1_actor --config configs/default.yaml --set model.checkpoint="$RUN/policy" --set run.dir="$RUN/actor" --dry-run

echo "== 6/6 model benchmark (quick; full: build/bin/mem1 bench model)"
build/bin/mem1 bench model --quick
echo "quickstart done: outputs in $RUN"
