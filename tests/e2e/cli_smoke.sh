#!/usr/bin/env bash
# End-to-end checks of the binaries as a user runs them: --help everywhere, one-line config
# errors naming key and value, tokenizer training + tokenize/decode, init-model, model-info,
# generate (text and ids, log-probs), clear errors (not crashes) on corrupt checkpoints, and
# the resolved config written to the run directory.
# Usage: cli_smoke.sh BIN_DIR SOURCE_DIR
set -uo pipefail
BIN="$1"; SRC="$2"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fails=0; passes=0
ok()   { passes=$((passes+1)); echo "PASS: $1"; }
bad()  { fails=$((fails+1)); echo "FAIL: $1"; }
# expect_ok NAME CMD... ; expect_err NAME PATTERN CMD... (exit 1..127 and stderr matches)
expect_ok() { local n="$1"; shift; if "$@" >"$T/out" 2>"$T/err"; then ok "$n"; else bad "$n (exit $?)"; cat "$T/err"; fi; }
expect_err() {
  local n="$1" pat="$2"; shift 2
  "$@" >"$T/out" 2>"$T/err"; local rc=$?
  if [ $rc -ge 1 ] && [ $rc -lt 128 ] && grep -qF -- "$pat" "$T/err"; then ok "$n"; else bad "$n (exit $rc)"; cat "$T/err"; fi
}

for b in mem1 mem1_actor mem1_learner; do expect_ok "$b --help" "$BIN/$b" --help; done
for sub in model-info generate init-model tokenize bench; do expect_ok "mem1 $sub --help" "$BIN/mem1" $sub --help; done
grep -q -- "--prompt-ids" <("$BIN/mem1" generate --help) && ok "generate help lists --prompt-ids" || bad "generate help"

# Config errors: one line naming source, key path and value.
printf 'model:\n  init:\n    hidden_size: big\n' > "$T/bad.yaml"
expect_err "bad config value" "$T/bad.yaml: model.init.hidden_size: expected an integer" "$BIN/mem1_actor" --config "$T/bad.yaml" --dry-run
expect_err "unknown --set key" "--set: runtime.thread: unknown key (value \"3\")" "$BIN/mem1_learner" --set runtime.thread=3 --dry-run
[ "$(wc -l < "$T/err")" -eq 1 ] && ok "config error is one line" || bad "config error is one line"

# Resolved config lands in the run directory and parses back.
expect_ok "actor dry run" "$BIN/mem1_actor" --config "$SRC/configs/default.yaml" --set run.dir="$T/run" --set model.init.num_hidden_layers=2 --dry-run
grep -q "num_hidden_layers: 2" "$T/run/config.yaml" && ok "resolved config written" || bad "resolved config written"
expect_ok "resolved config re-loads" "$BIN/mem1_learner" --config "$T/run/config.yaml" --set run.dir="$T/run2" --dry-run

# Tokenizer: train, tags atomic, round trip.
bash "$SRC/scripts/make-demo-corpus.sh" "$T/corpus.txt" 4000
expect_ok "tokenizer train" "$BIN/mem1" tokenizer train --corpus "$T/corpus.txt" --out "$T/tok" --vocab-size 600
ids=$("$BIN/mem1" tokenize --tokenizer "$T/tok.model" --text "<IS>")
[ "$(echo $ids | wc -w)" -eq 1 ] && ok "<IS> is one token ($ids)" || bad "<IS> is one token ($ids)"
text='<IS>Café 東京 😀  two  spaces</IS>'
ids=$("$BIN/mem1" tokenize --tokenizer "$T/tok.model" --text "$text")
back=$("$BIN/mem1" tokenize --tokenizer "$T/tok.model" --decode "$ids")
[ "$back" == "$text" ] && ok "tokenize/decode round trip" || bad "round trip: '$back'"
expect_err "decode bad id text" "is not an integer token id" "$BIN/mem1" tokenize --tokenizer "$T/tok.model" --decode "1 x 2"

# Policy: init, inspect, generate.
expect_ok "init-model" "$BIN/mem1" init-model --set model.init.num_hidden_layers=2 --tokenizer "$T/tok.model" --out "$T/policy"
expect_ok "model-info" "$BIN/mem1" model-info --checkpoint "$T/policy"
grep -q "model.layers.1.self_attn.q_proj.weight" "$T/out" && grep -q "parameters:" "$T/out" && ok "model-info lists shapes" || bad "model-info output"
expect_ok "generate greedy" "$BIN/mem1" generate --checkpoint "$T/policy" --prompt "<IS>capital" --max-new-tokens 5 --greedy --print-logprobs
n_ids=$(grep '^generated_ids:' "$T/out" | wc -w); n_lp=$(grep '^logprobs:' "$T/out" | wc -w)
[ "$n_ids" -eq 6 ] && [ "$n_lp" -eq 6 ] && ok "5 ids and 5 log-probs" || { bad "generate output"; cat "$T/out"; }
"$BIN/mem1" generate --checkpoint "$T/policy" --prompt-ids 5,6,7 --max-new-tokens 4 --temperature 0.9 --seed 3 > "$T/a"
"$BIN/mem1" generate --checkpoint "$T/policy" --prompt-ids 5,6,7 --max-new-tokens 4 --temperature 0.9 --seed 3 > "$T/b"
cmp -s "$T/a" "$T/b" && ok "seeded sampling reproducible" || bad "seeded sampling reproducible"
expect_err "prompt id out of range" "is not a token id" "$BIN/mem1" generate --checkpoint "$T/policy" --prompt-ids 5,999999 --max-new-tokens 2

# Corrupt checkpoints: named errors, no crash.
cp -r "$T/policy" "$T/trunc"; truncate -s -100 "$T/trunc/model.safetensors"
expect_err "truncated safetensors" "out of range" "$BIN/mem1" model-info --checkpoint "$T/trunc"
cp -r "$T/policy" "$T/hdr"; printf '\xff\xff\xff\x00\x00\x00\x00\x00' | dd of="$T/hdr/model.safetensors" conv=notrunc 2>/dev/null
expect_err "header beyond file" "header extends beyond end of file" "$BIN/mem1" model-info --checkpoint "$T/hdr"
expect_err "missing checkpoint" "config.json: cannot open" "$BIN/mem1" model-info --checkpoint "$T/nothing"

echo "cli_smoke: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
