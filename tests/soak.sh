#!/usr/bin/env bash
# Soak test (issue #16): a learner + 2 actors on a tiny synthetic QA world for MINUTES minutes
# (SFT on expert turns, checkpoints every 20 steps, CURVE keys), sampling every process's RSS and
# open file descriptors every 5 s. Passes when, after the warm-up (the first quarter, at least
# 60 s), RSS and descriptors stay flat: the median of the last third of the samples is within
# 10% of the median of the first third (peaks are printed too), and every
# trajectory an actor saw acked is in the store exactly once (no record stored twice).
# Usage: tests/soak.sh MINUTES [BIN_DIR]     (BIN_DIR default: build/bin; samples in $SOAK_DIR)
set -uo pipefail
MIN="${1:-}"; SRC="$(cd "$(dirname "$0")/.." && pwd)"; BIN="${2:-$SRC/build/bin}"
[[ "$MIN" =~ ^[0-9]+$ ]] && [ "$MIN" -ge 2 ] || { echo "usage: tests/soak.sh MINUTES (>= 2) [BIN_DIR]" >&2; exit 2; }
for b in mem1 mem1_learner mem1_actor; do [ -x "$BIN/$b" ] || { echo "soak: $BIN/$b not built" >&2; exit 2; }; done
T="${SOAK_DIR:-$(mktemp -d)}"; mkdir -p "$T"
trap 'pkill -TERM -f "$T/run" 2>/dev/null; sleep 1; pkill -KILL -f "$T/run" 2>/dev/null' EXIT
prep() { local n="$1"; shift; "$@" >"$T/prep.out" 2>&1 || { echo "soak: $n failed"; tail -20 "$T/prep.out"; exit 1; }; }

prep "datagen" "$BIN/mem1" datagen qa --entities 60 --seed 5 --out "$T/qa"
prep "index" "$BIN/mem1" index build --corpus "$T/qa/corpus.jsonl" --out "$T/qa/index" --quiet
cut -d'"' -f8 "$T/qa/corpus.jsonl" > "$T/text.txt"; cat "$T/qa/train.jsonl" >> "$T/text.txt"
prep "tokenizer" "$BIN/mem1" tokenizer train --corpus "$T/text.txt" --out "$T/tok" --vocab-size 512
rm -rf "$T/keys"; prep "keys" "$BIN/mem1" keys gen --out "$T/keys" --actors 2
CFG="$SRC/configs/default.yaml"
SETS=(--set model.init.num_hidden_layers=1 --set model.init.hidden_size=64 --set model.init.intermediate_size=128
      --set model.init.num_attention_heads=4 --set model.init.num_key_value_heads=2 --set tokenizer.path="$T/tok.model"
      --set env.qa.data_dir="$T/qa" --set actor.num_envs=2 --set actor.max_turns=4 --set learner.global_batch=4
      --set learner.total_steps=1000000 --set learner.checkpoint_every=20 --set learner.keep_checkpoints=2
      --set learner.ppo.algorithm=sft --set runtime.threads=1 --set run.dir="$T/run" --set security.keys_dir="$T/keys")
prep "init-model" "$BIN/mem1" init-model --config "$CFG" "${SETS[@]}" --tokenizer "$T/tok.model" --out "$T/init"
SETS+=(--set model.checkpoint="$T/init")
rm -rf "$T/run"; mkdir -p "$T/run"
"$BIN/mem1_learner" --config "$CFG" "${SETS[@]}" >"$T/learner.out" 2>"$T/learner.log" &
L=$!
A=()
for i in 0 1; do
  "$BIN/mem1_actor" --config "$CFG" "${SETS[@]}" --set actor.teacher=expert --set security.actor_key="actor-$i" \
    --set actor.ack_log="$T/acks-$i" --actor-id "soak-$i" >"$T/actor-$i.out" 2>"$T/actor-$i.log" &
  A+=($!)
done
PIDS=("$L" "${A[@]}"); NAMES=(learner actor-0 actor-1)
echo "t_s,process,rss_kib,fds" > "$T/samples.csv"
end=$(( $(date +%s) + MIN * 60 )); t0=$(date +%s)
warm=$(( MIN * 60 / 4 )); [ "$warm" -lt 60 ] && warm=60
while [ "$(date +%s)" -lt "$end" ]; do
  now=$(( $(date +%s) - t0 ))
  for k in 0 1 2; do
    p=${PIDS[$k]}
    if ! kill -0 "$p" 2>/dev/null; then echo "soak: FAIL: ${NAMES[$k]} (pid $p) exited early"; tail -5 "$T/${NAMES[$k]}.log"; exit 1; fi
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status"); fds=$(ls "/proc/$p/fd" | wc -l)
    echo "$now,${NAMES[$k]},$rss,$fds" >> "$T/samples.csv"
  done
  sleep 5
done
kill -TERM "$L"; wait "$L"; lrc=$?
sleep 2; for p in "${A[@]}"; do kill -TERM "$p" 2>/dev/null; done; wait
"$BIN/mem1" inspect "$T/run" --list > "$T/stored.txt" 2>"$T/inspect.err" || { echo "soak: FAIL: inspect: $(cat "$T/inspect.err")"; exit 1; }
steps=$(wc -l < "$T/run/metrics.jsonl" 2>/dev/null || echo 0)
python3 - "$T" "$warm" "$steps" "$lrc" <<'PY'
import collections, csv, glob, sys
T, warm, steps, lrc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rows = list(csv.DictReader(open(f"{T}/samples.csv")))
ok = True
def median(v):
    v = sorted(v); return v[len(v) // 2]
for name in ("learner", "actor-0", "actor-1"):
    after = [x for x in rows if x["process"] == name and int(x["t_s"]) > warm]
    third = max(1, len(after) // 3)
    for key in ("rss_kib", "fds"):
        # A leak is a trend: the median of the last third against the first third after the
        # warm-up (a single sample would read a transient batch allocation as growth).
        first = median([int(x[key]) for x in after[:third]]); last = median([int(x[key]) for x in after[-third:]])
        peak = max(int(x[key]) for x in after)
        growth = (last - first) / max(first, 1)
        flat = growth <= 0.10
        ok &= flat
        print(f"soak: {name:8s} {key:7s} median first third {first:8d}, last third {last:8d} ({growth:+.1%}), "
              f"peak {peak:8d} {'ok' if flat else 'GROWS'}")
stored = collections.Counter()
for line in open(f"{T}/stored.txt"):
    f = line.split()
    stored[(f[2], f[3])] += 1
twice = [k for k, n in stored.items() if n > 1]
acked = set()
for i in (0, 1):
    for line in open(f"{T}/acks-{i}"):
        acked.add((f"soak-{i}", line.split()[0]))
missing = [k for k in acked if k not in stored]
print(f"soak: {steps} steps, learner exit {lrc}; {len(acked)} trajectories acked, {sum(stored.values())} stored, "
      f"{len(twice)} stored twice, {len(missing)} acked but missing")
ok &= not twice and not missing and steps > 0 and lrc == 0
print("soak: PASS" if ok else "soak: FAIL")
sys.exit(0 if ok else 1)
PY
