#!/usr/bin/env bash
# Expert-data generation speed under the rollout engine's step modes: actor.mixed_steps (one
# packed forward per step vs the two-phase reference) x actor.prefill_scripted_turns, at 8 and 32
# slots, on a synthetic QA world with the quickstart's vocabulary (16384) and the embedded policy
# shape. Prints seconds per run and each mode's speedup over two-phase without prefilled turns,
# measured in the same invocation. Run it alone on the machine (a build beside it slows it 10x).
# Usage: bench/expert_datagen_modes.sh [BIN_DIR] [WORK_DIR] [PASSES]
set -euo pipefail
B=${1:-build/bin}; R=${2:-$(mktemp -d)}; PASSES=${3:-2}
cd "$(dirname "$0")/.."
mkdir -p "$R"
echo "# world, index, tokenizer, policy in $R"
"$B/mem1" datagen qa --entities 2000 --two-hop 1 --distractors 1 --seed 1 --out "$R/qa" > "$R/setup.log" 2>&1
"$B/mem1" index build --quiet --corpus "$R/qa/corpus.jsonl" --out "$R/qa/index" >> "$R/setup.log" 2>&1
python3 -c 'import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    title, _, text = json.loads(line)["contents"].partition("\n")
    print("Doc 1(Title: " + title.strip("\"") + ") " + text)' "$R/qa/corpus.jsonl" > "$R/corpus.txt"
bash scripts/make-demo-corpus.sh "$R/tags.txt" 3000 && cat "$R/tags.txt" >> "$R/corpus.txt"
"$B/mem1" tokenizer train --corpus "$R/corpus.txt" --out "$R/tokenizer" --vocab-size 16384 >> "$R/setup.log" 2>&1
"$B/mem1" init-model --config configs/default.yaml --set model.init.vocab_size=16384 --tokenizer "$R/tokenizer.model" \
  --out "$R/init" >> "$R/setup.log" 2>&1
run() {  # slots episodes mixed_steps prefill_scripted_turns -> seconds on stdout
  rm -rf "$R/out"
  local t0 t1
  t0=$(date +%s.%N)
  "$B/mem1" datagen expert --config configs/default.yaml --set env.qa.data_dir="$R/qa" \
    --set tokenizer.path="$R/tokenizer.model" --set env.qa.top_k=3 --set actor.max_turns=6 \
    --set model.checkpoint="$R/init" --set actor.num_envs="$1" --set actor.mixed_steps="$3" \
    --set actor.prefill_scripted_turns="$4" --episodes "$2" --objectives 1,2 --out "$R/out" > "$R/run.log" 2>&1 \
    || { echo "datagen failed:" >&2; tail -3 "$R/run.log" >&2; exit 1; }
  t1=$(date +%s.%N)
  python3 -c "print(f'{$t1 - $t0:.1f}')"
}
for pass in $(seq 1 "$PASSES"); do
  for slots_eps in "8 150" "32 300"; do
    set -- $slots_eps
    base=$(run "$1" "$2" false false)
    echo "pass $pass slots=$1 trajectories=$2: two-phase $base s (baseline)"
    for mode in "true false" "false true" "true true"; do
      set -- $slots_eps $mode
      s=$(run "$1" "$2" "$3" "$4")
      echo "pass $pass slots=$1 trajectories=$2: mixed_steps=$3 prefill_scripted_turns=$4: $s s ($(python3 -c "print(f'{$base / $s:.2f}')")x baseline)"
    done
  done
done
