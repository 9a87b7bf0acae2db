#!/usr/bin/env bash
# `mem1 bench model --peer` and `bench learner --peer` (issue #14's baseline): the plain-PyTorch peer (bench/peer_qwen2.py)
# reads the checkpoint the bench wrote and decodes the same prompts greedily; the two must agree
# on every greedy id, and the bench prints mem1's ratio to the peer. Sizes are the --quick ones.
# Usage: bench_peer_smoke.sh BIN_DIR
set -uo pipefail
BIN="$1"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
"$BIN/mem1" bench model --quick --peer --threads 1 >"$T/out" 2>&1; rc=$?
if grep -q "^peer: skipped" "$T/out"; then
  echo "skipped: $(grep '^peer: skipped' "$T/out")"; exit 77
fi
fails=0
check() { if eval "$2"; then echo "PASS: $1"; else echo "FAIL: $1"; fails=$((fails+1)); fi; }
check "bench exited 0" "[ $rc -eq 0 ]"
check "a peer line per batch (b = 1, 8)" "[ \$(grep -c 'embedded peer ' '$T/out') -eq 2 ]"
check "mem1's decode ratio to the peer is printed" "grep -q 'decode [0-9.]* tokens/s (mem1 [0-9.]*x)' '$T/out'"
check "greedy ids identical (b = 1: 9/9, b = 8: 72/72)" "grep -q 'greedy ids equal 9/9$' '$T/out' && grep -q 'greedy ids equal 72/72$' '$T/out'"
# The learner peer: same weights, sequences, objective and AdamW; the objectives must agree.
"$BIN/mem1" bench learner --quick --peer --threads 1 --steps 1 >"$T/learner" 2>&1; rc=$?
check "bench learner exited 0" "[ $rc -eq 0 ]"
check "learner ratio to the peer printed" "grep -q 'learner step vs plain PyTorch.*(mem1 [0-9.]*x)' '$T/learner'"
check "first-step objectives agree (relative difference < 1e-4)" \
  "python3 -c \"import re,sys; m=re.search(r'relative difference ([0-9.e+-]+)', open('$T/learner').read()); sys.exit(0 if m and float(m.group(1)) < 1e-4 else 1)\""
[ "$fails" -eq 0 ] || { cat "$T/out" "$T/learner"; exit 1; }
echo "bench_peer_smoke: all passed"
