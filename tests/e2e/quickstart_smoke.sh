#!/usr/bin/env bash
# The quickstart itself with a tiny budget (same script, smaller variables; the build is the
# one under test): world -> tokenizer -> expert store -> SFT from it -> PPO on the fleet
# (learner + 2 actors) -> mem1 eval at N = 1, 2 for mem1/full/window -> eval.json + plots.
# Usage: quickstart_smoke.sh BIN_DIR SOURCE_DIR
set -uo pipefail
BIN="$1"; SRC="$2"
T=$(mktemp -d); trap 'pkill -KILL -f "$T/" 2>/dev/null; rm -rf "$T"' EXIT
command -v gnuplot >/dev/null || { echo "skipped: gnuplot not installed (scripts/install-deps.sh installs gnuplot-nox)"; exit 77; }
export MEM1_BIN="$BIN" SKIP_BUILD=1 RUN="$T/run" ENTITIES=80 VOCAB=600 HIDDEN=64 LAYERS=2 HEADS=4 KV_HEADS=2 COPY_CIRCUIT=true
export COPY_SAMPLES=24 LM_STEPS=2 LM_BATCH=2 EXPERT_TASKS=24 SFT_STEPS=4 SFT_BATCH=4 PPO_STEPS=2 PPO_BATCH=4 EVAL_TASKS=3 EVAL_TASKS_LARGE=2
export EVAL_OBJECTIVES=1,2 EVAL_POLICIES=mem1,full,window:64
if ! bash "$SRC/launch/quickstart.sh" >"$T/log" 2>&1; then
  echo "FAIL: quickstart exited non-zero"; tail -40 "$T/log"; exit 1
fi
fails=0
check() { if eval "$2"; then echo "PASS: $1"; else echo "FAIL: $1"; fails=$((fails+1)); fi; }
check "the copy circuit was frozen through SFT" "grep -q 'parameters frozen for the whole run' '$RUN/sft/logs/learner.log'"
check "copy samples were mixed into the SFT store" \
  "grep -q ', 24 of them copy samples' '$T/log' && grep -q 'offline store [^ ]*/expert,[^ ]*/copy,' '$RUN/sft/logs/learner.log'"
check "LM pretraining wrote its samples and SFT started from it" "grep -q 'wrote [0-9]* language-model samples' '$T/log' && [ -s '$RUN/lm/policy/config.json' ]"
check "SFT trained from the expert store with a held-out NLL" "grep -q '\"heldout/nll\"' '$RUN/sft/metrics.jsonl'"
check "PPO ran on the fleet (2 actors stored trajectories)" "grep -q 'actors: local-1=[0-9]* local-2=[0-9]*' '$T/log'"
check "eval.json has 6 cells (N = 1, 2 x 3 policies)" \
  "python3 -c \"import json,sys; d=json.load(open('$RUN/eval/eval.json')); sys.exit(0 if len(d['cells'])==6 else 1)\""
check "SFT-start eval for the PPO comparison" "[ -s '$RUN/eval-sft/eval.json' ]"
for p in peak_tokens em dependency training; do
  check "$p.png written" "head -c 8 '$RUN/eval/$p.png' | od -An -c | grep -q 'P   N   G'"
done
check "the run printed where its table is" "grep -q 'quickstart done: table' '$T/log'"
[ "$fails" -eq 0 ] || { tail -30 "$T/log"; exit 1; }
echo "quickstart_smoke: all passed"
