#!/usr/bin/env bash
# `mem1 eval` and `mem1 datagen expert` end to end on a tiny model and a handful of tasks:
# every eval.json field, a valid Markdown table, valid PNG plots (signature, size, dimensions),
# the episode printout, the expert store (EM of the scripted expert), bad input.
# Usage: eval_test.sh BIN_DIR SOURCE_DIR
set -uo pipefail
BIN="$1"; SRC="$2"
T=${KEEP_T:-$(mktemp -d)}; [ -n "${KEEP_T:-}" ] || trap 'rm -rf "$T"' EXIT
fails=0; passes=0
ok()  { passes=$((passes+1)); echo "PASS: $1"; }
bad() { fails=$((fails+1)); echo "FAIL: $1"; }
run() { local n="$1"; shift; if "$@" >"$T/out" 2>"$T/err"; then ok "$n"; else bad "$n (exit $?)"; tail -n 20 "$T/err" "$T/out"; fi; }
command -v gnuplot >/dev/null || { echo "skipped: gnuplot not installed (scripts/install-deps.sh installs gnuplot-nox)"; exit 77; }

run "datagen qa" "$BIN/mem1" datagen qa --entities 60 --seed 3 --two-hop 0.5 --out "$T/qa"
run "index build" "$BIN/mem1" index build --corpus "$T/qa/corpus.jsonl" --out "$T/qa/index" --quiet
cut -d'"' -f8 "$T/qa/corpus.jsonl" > "$T/text.txt"; cat "$T/qa/train.jsonl" >> "$T/text.txt"
run "tokenizer train" "$BIN/mem1" tokenizer train --corpus "$T/text.txt" --out "$T/tok" --vocab-size 600
CFG="$SRC/configs/default.yaml"
C=(--config "$CFG" --set model.init.num_hidden_layers=1 --set model.init.hidden_size=32 --set model.init.intermediate_size=64
   --set model.init.num_attention_heads=2 --set model.init.num_key_value_heads=1 --set tokenizer.path="$T/tok.model"
   --set env.qa.data_dir="$T/qa")
run "init-model" "$BIN/mem1" init-model "${C[@]}" --tokenizer "$T/tok.model" --out "$T/init"

# Expert store: the scripted expert through the engine, objectives 1 and 3 mixed.
run "datagen expert" "$BIN/mem1" datagen expert "${C[@]}" --set model.checkpoint="$T/init" --episodes 12 --objectives 1,3 --out "$T/expert"
grep -q "wrote 12 expert trajectories" "$T/out" && ok "12 expert trajectories written" || bad "expert count: $(cat "$T/out")"
python3 - "$T/out" <<'EOF' && ok "expert EM(sum) >= 1.5 (tasks of 1 and 3 questions)" || bad "expert EM: $(cat "$T/out")"
import re, sys
m = re.search(r"EM\(sum\) ([0-9.]+)", open(sys.argv[1]).read())
sys.exit(0 if m and float(m.group(1)) >= 1.5 else 1)
EOF
"$BIN/mem1" datagen expert "${C[@]}" --set model.checkpoint="$T/init" --episodes 2 --out "$T/expert" >"$T/out" 2>&1
[ $? -ne 0 ] && grep -q "already holds 12" "$T/out" && ok "refuses to append to a non-empty store" || bad "non-empty store: $(cat "$T/out")"
run "inspect the expert store" "$BIN/mem1" inspect "$T/expert" --episode 0 --tokenizer "$T/tok.model"
grep -q "Q1 = " "$T/out" && ok "expert turns carry the Q1 = ... state" || bad "expert text: $(head -c 600 "$T/out")"

# Language-model data: text lines packed into samples of <= --tokens tokens, one model segment
# each, readable as a store; an empty text is a clear error.
printf 'Doc 1(Title: Aldor) Aldor was born in Brisk.\n\nDoc 1(Title: Brisk) Brisk is a city in Kel.\n' > "$T/lm.txt"
for i in $(seq 1 40); do echo "line $i of the corpus with a few words in it" >> "$T/lm.txt"; done
run "datagen lm" "$BIN/mem1" datagen lm --text "$T/lm.txt" --tokenizer "$T/tok.model" --tokens 64 --out "$T/lm"
grep -q "language-model samples" "$T/out" && grep -q "(1 empty lines skipped)" "$T/out" && ok "datagen lm: samples written, empty line counted"   || bad "datagen lm: $(cat "$T/out")"
run "inspect the lm store" "$BIN/mem1" inspect "$T/lm" --episode 0 --tokenizer "$T/tok.model"
grep -q "corpus" "$T/out" && ok "an lm sample reads back as text" || bad "lm sample: $(head -c 600 "$T/out")"
: > "$T/empty.txt"
"$BIN/mem1" datagen lm --text "$T/empty.txt" --tokenizer "$T/tok.model" --out "$T/lm2" >"$T/out" 2>&1
[ $? -ne 0 ] && grep -q "no non-empty line" "$T/out" && ok "datagen lm: empty text is a clear error" || bad "empty lm text: $(cat "$T/out")"

# Play (issue #15): the environment as the agent sees it, actions on stdin. End of input at once
# shows the golden answers; then a transcript: a search, a blank line, a typing slip, the answer.
"$BIN/mem1" qa play "${C[@]}" --objectives 2 --split test --task 1 </dev/null >"$T/play0" 2>"$T/err"
gold="$(sed -n 's/^== golden answers: //p' "$T/play0")"
grep -q "== end of input" "$T/play0" && [ -n "$gold" ] && ok "qa play: end of input ends the episode, golden answers shown" \
  || bad "qa play EOF: $(cat "$T/play0" "$T/err" | tail -5)"
q1="$(grep -o 'Q1: [^?]*' "$T/play0" | head -1 | cut -c5-)"
printf 'search[%s]\n\nnonsense\n<answer>%s</answer>\n' "$q1" "$gold" \
  | "$BIN/mem1" qa play "${C[@]}" --objectives 2 --split test --task 1 >"$T/play1" 2>"$T/err"
grep -q "<info>" "$T/play1" && grep -q "Doc 1(Title:" "$T/play1" && grep -q "(not an action" "$T/play1" \
  && grep -q "== episode over: reward 2.000" "$T/play1" && grep -q "^-- turn 2/6" "$T/play1" && ! grep -q "^-- turn 3/6" "$T/play1" \
  && ok "qa play transcript: search result in <info>, a slip costs no turn, the golden answers score 2 of 2" \
  || bad "qa play transcript: $(cat "$T/play1" "$T/err" | tail -12)"

# Eval: 2 objective counts x 2 policies, 3 tasks each, with a metrics file for the curves.
cat > "$T/metrics.jsonl" <<'EOF'
{"step": 1, "rollout/reward_mean": 0.5, "rollout/exact_match_mean": 0.5, "train/loss": 2.0, "train/kl": 0.0}
{"step": 2, "rollout/reward_mean": 0.7, "rollout/exact_match_mean": 0.7, "train/loss": 1.5, "train/kl": 0.01, "heldout/nll": 1.7}
not json
EOF
run "eval" "$BIN/mem1" eval "${C[@]}" --checkpoint "$T/init" --objectives 1,2 --policies mem1,window:64 --tasks 3 \
    --max-new-tokens 16 --out "$T/ev" --metrics "$T/metrics.jsonl" --quiet
python3 - "$T/ev/eval.json" <<'EOF' && ok "eval.json: 4 cells with every field" || bad "eval.json: $(head -c 800 "$T/ev/eval.json")"
import json, sys
d = json.load(open(sys.argv[1]))
fields = ["policy", "objectives", "tasks", "reward", "peak_tokens", "peak_tokens_max", "dependency", "turns", "format_errors",
          "wellformed_turns", "seconds_per_task", "generated_tokens_per_s", "em_sum", "em_per_objective",
          "em_per_objective_ci95", "f1_sum", "f1_per_objective"]
cells = d["cells"]
assert len(cells) == 4, len(cells)
assert sorted((c["objectives"], c["policy"]) for c in cells) == [(1, "mem1"), (1, "window:64"), (2, "mem1"), (2, "window:64")]
for c in cells:
    for f in fields:
        assert f in c, f
    assert c["tasks"] == 3
    lo, hi = c["em_per_objective_ci95"]
    assert 0 <= lo <= c["em_per_objective"] <= hi <= 1, c
    assert 0 <= c["wellformed_turns"] <= 1 and c["peak_tokens"] > 0 and c["turns"] >= 1
    assert c["turns"] <= 2 * c["objectives"] + 2  # the documented turn budget
assert d["turn_budget"] == "2N+2" and d["greedy"] is True
EOF
python3 - "$T/ev/eval.md" <<'EOF' && ok "eval.md: a Markdown table, header + separator + 4 rows of 13 columns" || bad "eval.md: $(cat "$T/ev/eval.md")"
import sys
rows = [l for l in open(sys.argv[1]) if l.startswith("|")]
assert len(rows) == 6, len(rows)
assert all(r.count("|") == 14 for r in rows), [r.count("|") for r in rows]
assert set(rows[1].replace("|", "").replace("-", "").replace(":", "").strip()) == set()
EOF
for p in peak_tokens em dependency training; do
  python3 - "$T/ev/$p.png" <<'EOF' && ok "$p.png is a PNG of plausible size" || bad "$p.png: $(ls -la "$T/ev/" | head -20)"
import struct, sys, os
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n" and b[12:16] == b"IHDR", "not a PNG"
w, h = struct.unpack(">II", b[16:24])
assert w >= 400 and h >= 300, (w, h)
assert os.path.getsize(sys.argv[1]) > 5000, os.path.getsize(sys.argv[1])
EOF
done
grep -q "1 unparsable metrics lines skipped" "$T/out" && ok "a bad metrics line is counted, not fatal" || bad "metrics note: $(tail -5 "$T/out")"
grep -q "^== turn 1: agent" "$T/ev/episode.txt" && grep -q "^== prompt" "$T/ev/episode.txt" && ok "episode.txt shows the episode turn by turn" \
  || bad "episode.txt: $(head -c 400 "$T/ev/episode.txt")"
grep -q "one episode as the agent saw it" "$T/out" && ok "the episode is printed" || bad "episode printout"

# The expert through the same eval: EM per objective near 1 (retrieval permitting).
run "eval --expert" "$BIN/mem1" eval "${C[@]}" --checkpoint "$T/init" --objectives 2 --policies mem1 --tasks 6 --expert --quiet
grep -Eq "N=2 +mem1 +EM/obj (0\.[5-9]|1\.0)" "$T/out" && ok "expert EM/obj >= 0.5 at N=2" || bad "expert eval: $(cat "$T/out")"

# Bad input: one line, non-zero exit.
"$BIN/mem1" eval "${C[@]}" --checkpoint "$T/init" --objectives 0,2 >"$T/out" 2>&1
[ $? -ne 0 ] && grep -q "^error: --objectives: bad count" "$T/out" && ok "bad --objectives: one-line error" || bad "bad objectives: $(cat "$T/out")"
"$BIN/mem1" eval "${C[@]}" --checkpoint "$T/init" --policies mem2 >"$T/out" 2>&1
[ $? -ne 0 ] && grep -q "^error:" "$T/out" && ok "bad --policies: one-line error" || bad "bad policy: $(cat "$T/out")"
"$BIN/mem1" eval "${C[@]}" --checkpoint "$T/missing" >"$T/out" 2>&1
[ $? -ne 0 ] && grep -q "^error:" "$T/out" && ok "missing checkpoint: one-line error" || bad "missing checkpoint: $(cat "$T/out")"

echo "eval_test: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
