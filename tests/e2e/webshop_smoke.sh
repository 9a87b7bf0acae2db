#!/usr/bin/env bash
# WebShop end to end: synthetic catalog -> index -> expert/random play -> WebShop-format
# fixture load + index -> tokenizer -> init-model -> SFT on expert trajectories with the
# colocated learner (env.name=webshop) -> mem1 webshop eval (expert through the engine, and the
# trained model) -> bad input errors.
# Usage: webshop_smoke.sh BIN_DIR SOURCE_DIR
set -uo pipefail
BIN="$1"; SRC="$2"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fails=0; passes=0
ok()  { passes=$((passes+1)); echo "PASS: $1"; }
bad() { fails=$((fails+1)); echo "FAIL: $1"; }
run() { local n="$1"; shift; if "$@" >"$T/out" 2>"$T/err"; then ok "$n"; else bad "$n (exit $?)"; tail -20 "$T/err"; fi; }

run "datagen webshop" "$BIN/mem1" datagen webshop --products 400 --seed 3 --out "$T/ws"
[ -f "$T/ws/items_shuffle.json" ] && [ -f "$T/ws/items_ins_v2.json" ] && [ -f "$T/ws/items_human_ins.json" ] \
  && [ -f "$T/ws/index/mem1_webshop_stamp" ] && ok "WebShop files + index written" || bad "datagen outputs"
run "play expert" "$BIN/mem1" webshop play --data "$T/ws" --player expert --episodes 40
E=$(grep -o 'mean reward [0-9.]*' "$T/out" | awk '{print $3}')
awk -v e="$E" 'BEGIN{exit !(e >= 0.8)}' && ok "expert mean reward $E >= 0.8" || bad "expert reward $E"
run "play random" "$BIN/mem1" webshop play --data "$T/ws" --player random --episodes 40
R=$(grep -o 'mean reward [0-9.]*' "$T/out" | awk '{print $3}')
awk -v e="$E" -v r="$R" 'BEGIN{exit !(r < e - 0.4)}' && ok "random $R far below expert $E" || bad "random $R vs expert $E"
# Play reads the same typed config as training (issue #15 item 6): --set reaches the environment,
# and a flag overrides the config.
run "play --set" "$BIN/mem1" webshop play --set env.webshop.data_dir="$T/ws" --set env.webshop.max_steps=2 \
  --set env.webshop.split=dev --player expert --episodes 5
grep -q "split dev, preset paper, 2 actions per episode" "$T/out" && grep -q "steps 2.0 " "$T/out" \
  && ok "webshop play: env.webshop.* from --set (split dev, 2 steps)" || bad "play --set: $(cat "$T/out")"
run "play --config + flag" "$BIN/mem1" webshop play --config "$SRC/configs/webshop-mem1-code.yaml" --data "$T/ws" --episodes 3
grep -q "preset mem1-code, 10 actions per episode" "$T/out" && ok "webshop play --config webshop-mem1-code.yaml: preset and turn budget from the file" \
  || bad "play --config: $(cat "$T/out")"
# Human play (issue #15): a typed transcript — search the goal, click the first product, buy.
"$BIN/mem1" webshop play --data "$T/ws" --player human </dev/null >"$T/h0" 2>"$T/err"
goal="$(sed -n 's/^== goal: //p' "$T/h0")"
printf 'search[%s]\n' "$goal" | "$BIN/mem1" webshop play --data "$T/ws" --player human >"$T/h1" 2>"$T/err"
item="$(grep -o 'click\[b[0-9a-z]*\]' "$T/h1" | head -1)"
printf 'search[%s]\n%s\nclick[buy now]\n' "$goal" "$item" | "$BIN/mem1" webshop play --data "$T/ws" --player human >"$T/h2" 2>"$T/err"
[ -n "$goal" ] && [ -n "$item" ] && grep -q "Available actions:.*click\[buy now\]" "$T/h2" \
  && grep -q "== episode over: reward [0-9.]*, bought 1.000" "$T/h2" && grep -q '^-- turn 3/15' "$T/h2" \
  && ok "webshop play --player human: search, $item, buy now -> $(grep -o 'reward [0-9.]*' "$T/h2" | head -1)" \
  || bad "human play: goal '$goal' item '$item': $(tail -5 "$T/h2" "$T/err")"
# WebShop's own file names and schema (fixture with malformed records).
mkdir -p "$T/real" && cp "$SRC"/tests/fixtures/webshop/items_*.json "$T/real/"
run "index real-format fixture" "$BIN/mem1" webshop index --data "$T/real" --quiet
grep -q "14 products, 3 goals (human).*skipped 6 products" "$T/out" && ok "fixture: 6 malformed products reported and skipped" \
  || bad "fixture load line: $(head -1 "$T/out")"
run "play on fixture" "$BIN/mem1" webshop play --data "$T/real" --split all --episodes 3
# Tokenizer + tiny policy + SFT on expert trajectories.
python3 -c "
import json,sys
for p in json.load(open('$T/ws/items_shuffle.json')): print(p['name']); print(p['full_description'])
for v in json.load(open('$T/ws/items_human_ins.json')).values():
  for h in v: print(h['instruction'])
" > "$T/text.txt"
printf 'search[ click[ buy now ] back to search next > < prev [SEP] Instruction: Available actions <IS> </IS> <action> </action> <info> </info>\n%.0s' $(seq 50) >> "$T/text.txt"
run "tokenizer train" "$BIN/mem1" tokenizer train --corpus "$T/text.txt" --out "$T/tok" --vocab-size 900
COMMON=(--set model.init.num_hidden_layers=2
        --set model.init.hidden_size=64 --set model.init.intermediate_size=128 --set model.init.num_attention_heads=4
        --set model.init.num_key_value_heads=2 --set tokenizer.path="$T/tok.model" --set env.webshop.data_dir="$T/ws"
        --set actor.num_envs=4 --set learner.global_batch=4 --set learner.total_steps=2
        --set learner.advertise_host=127.0.0.1 --set learner.bind_endpoint=tcp://127.0.0.1:0
        --set learner.publish_endpoint=tcp://127.0.0.1:0)
run "init-model" "$BIN/mem1" init-model --config "$SRC/configs/webshop.yaml" "${COMMON[@]}" --tokenizer "$T/tok.model" --out "$T/init"
run "local.sh: SFT on WebShop expert trajectories from an actor (2 steps)" env MEM1_BIN="$BIN" "$SRC/launch/local.sh" \
    "$SRC/configs/webshop.yaml" --actors 1 --run-dir "$T/run" "${COMMON[@]}" --set model.checkpoint="$T/init" \
    --set learner.ppo.algorithm=sft --set learner.optim.actor_lr=1e-3 --set actor.teacher=expert
[ "$(wc -l < "$T/run/metrics.jsonl")" -eq 2 ] && ok "2 metric lines" || bad "metrics: $(cat "$T/run/metrics.jsonl")"
grep -q '"rollout/success_mean": 1.0' "$T/run/metrics.jsonl" && ok "expert SFT episodes succeed (success 1)" || bad "success: $(head -1 "$T/run/metrics.jsonl")"
# `mem1 webshop eval` is `mem1 eval --env webshop` (same options, same files).
run "webshop eval --expert (engine, mem1 + full)" "$BIN/mem1" webshop eval --data "$T/ws" --checkpoint "$T/run/policy" \
    --expert --episodes 4 --batch 4 --threads 1 --max-new-tokens 256 --out "$T/wev" --quiet
python3 - "$T/wev/eval.json" <<'PY' && ok "webshop eval: expert mem1 reward >= 0.5 (4 goals), full-context peak tokens exceed mem1's" \
  || bad "webshop eval: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
c = {x["policy"]: x for x in d["cells"]}
assert d["env"] == "webshop" and c["mem1"]["reward"] >= 0.5 and c["full"]["peak_tokens"] > c["mem1"]["peak_tokens"], d
PY
run "webshop eval (trained model)" "$BIN/mem1" webshop eval --data "$T/ws" --checkpoint "$T/run/policy" --policies mem1 \
    --episodes 2 --batch 2 --max-turns 3 --max-new-tokens 24 --threads 1 --quiet
# The generic eval on WebShop: the expert through the engine (deterministic: greedy, seeded goals; its
# play-mode mean reward on this catalog is ~0.95), eval.json with reward CI + success.
run "mem1 eval --env webshop --expert" "$BIN/mem1" eval --config "$SRC/configs/webshop.yaml" "${COMMON[@]}" \
    --checkpoint "$T/run/policy" --env webshop --policies mem1,full --tasks 16 --batch 8 --max-new-tokens 256 --expert \
    --out "$T/ev" --quiet
python3 - "$T/ev/eval.json" <<'PY' && ok "eval.json (webshop): expert reward >= 0.8 with a CI, success, full peak > mem1 peak" \
  || bad "webshop eval.json: $(head -c 600 "$T/ev/eval.json")"
import json, sys
d = json.load(open(sys.argv[1]))
c = {x["policy"]: x for x in d["cells"]}
assert d["env"] == "webshop" and set(c) == {"mem1", "full"}
m = c["mem1"]
assert m["reward"] >= 0.8 and m["reward_ci95"][0] <= m["reward"] <= m["reward_ci95"][1] and 0 <= m["success"] <= 1
assert c["full"]["peak_tokens"] > m["peak_tokens"]
PY
# Bad input: clear one-line errors, no crash.
"$BIN/mem1" webshop play --data "$T/nope" >"$T/out" 2>&1; rc=$?
[ $rc -ne 0 ] && grep -q "no product file" "$T/out" && ok "missing data dir: clear error" || bad "missing data: rc $rc $(cat "$T/out")"
echo '{"oops": 1}' > "$T/real/items_shuffle_1000.json"
"$BIN/mem1" webshop index --data "$T/real" >"$T/out" 2>&1; rc=$?
[ $rc -ne 0 ] && grep -q "expected a JSON array at the top level" "$T/out" && ok "malformed product file: clear error" || bad "bad file: rc $rc $(cat "$T/out")"
"$BIN/mem1_learner" --config "$SRC/configs/webshop.yaml" "${COMMON[@]}" --set env.webshop.split=validation >"$T/out" 2>&1; rc=$?
[ $rc -ne 0 ] && grep -q "env.webshop.split" "$T/out" && ok "bad split in config: clear error" || bad "bad split: rc $rc $(tail -2 "$T/out")"
echo "webshop_smoke: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
