#!/usr/bin/env bash
# Fleet security end to end (issue #16): `mem1 keys gen`; a learner refuses to bind every
# interface in the clear; with CURVE keys it trains from the listed actor while an actor with an
# unlisted key and an actor without keys are refused (no ack, nothing stored); their attempts
# are logged; an actor that trusts the wrong learner key never connects.
# Usage: security_test.sh BIN_DIR SOURCE_DIR
set -uo pipefail
BIN="$1"; SRC="$2"
T=${KEEP_T:-$(mktemp -d)}; [ -n "${KEEP_T:-}" ] || trap 'pkill -KILL -f "$T/" 2>/dev/null; rm -rf "$T"' EXIT
fails=0; passes=0
ok()  { passes=$((passes+1)); echo "PASS: $1"; }
bad() { fails=$((fails+1)); echo "FAIL: $1"; }
prep() { local n="$1"; shift; "$@" >"$T/prep.out" 2>&1 || { echo "FAIL: $n"; tail -20 "$T/prep.out"; exit 1; }; }

if ! "$BIN/mem1" keys gen --out "$T/keys" --actors 2 >"$T/gen.out" 2>&1; then
  if grep -q "without CURVE" "$T/gen.out"; then echo "skipped: this libzmq has no CURVE"; exit 77; fi
  bad "mem1 keys gen: $(cat "$T/gen.out")"
fi
[ -f "$T/keys/learner.key" ] && [ -f "$T/keys/learner.pub" ] && [ -f "$T/keys/actor-0.key" ] && [ -f "$T/keys/actor-1.pub" ] \
  && [ "$(grep -vc '^#' "$T/keys/authorized_keys")" = 2 ] && [ "$(stat -c %a "$T/keys/learner.key")" = 600 ] \
  && ok "keys gen: learner + 2 actor pairs, authorized_keys lists 2, secret files mode 600" || bad "keys gen files: $(ls -l "$T/keys")"
"$BIN/mem1" keys gen --out "$T/keys" >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" = 2 ] && [ "$(wc -l < "$T/err")" = 1 ] && grep -q "refusing to overwrite" "$T/err" \
  && ok "keys gen never overwrites keys (exit 2, one line)" || bad "second keys gen: rc $rc $(cat "$T/err")"
prep "rogue keys" "$BIN/mem1" keys gen --out "$T/rogue"
cp "$T/rogue/actor.key" "$T/keys/rogue.key"       # a valid pair the learner does not list
mkdir -p "$T/fooled"; cp "$T/keys/actor-1.key" "$T/fooled/actor-1.key"; cp "$T/rogue/learner.pub" "$T/fooled/learner.pub"

prep "datagen qa" "$BIN/mem1" datagen qa --entities 40 --seed 3 --out "$T/qa"
prep "index build" "$BIN/mem1" index build --corpus "$T/qa/corpus.jsonl" --out "$T/qa/index" --quiet
cut -d'"' -f8 "$T/qa/corpus.jsonl" > "$T/text.txt"; cat "$T/qa/train.jsonl" >> "$T/text.txt"
prep "tokenizer train" "$BIN/mem1" tokenizer train --corpus "$T/text.txt" --out "$T/tok" --vocab-size 512
CFG="$SRC/configs/default.yaml"
COMMON=(--set model.init.num_hidden_layers=1 --set model.init.hidden_size=64 --set model.init.intermediate_size=128
        --set model.init.num_attention_heads=4 --set model.init.num_key_value_heads=2 --set tokenizer.path="$T/tok.model"
        --set env.qa.data_dir="$T/qa" --set env.qa.objectives=1 --set actor.num_envs=2 --set actor.max_turns=3
        --set learner.global_batch=4 --set learner.total_steps=2 --set learner.checkpoint_every=0
        --set learner.ppo.algorithm=sft --set runtime.threads=1 --set run.dir="$T/run"
        --set actor.learner_timeout_s=60 --set actor.connect_timeout_s=60)
prep "init-model" "$BIN/mem1" init-model --config "$CFG" "${COMMON[@]}" --tokenizer "$T/tok.model" --out "$T/init"
COMMON+=(--set model.checkpoint="$T/init")
EVERYWHERE=(--set 'learner.bind_endpoint=tcp://*:0' --set 'learner.publish_endpoint=tcp://*:0' --set learner.advertise_host=127.0.0.1)

# 1. No keys, every interface, no --insecure: refused before anything binds.
"$BIN/mem1_learner" --config "$CFG" "${COMMON[@]}" "${EVERYWHERE[@]}" >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" = 2 ] && grep -q "reachable from other hosts and no CURVE keys" "$T/err" && grep -q -- "--insecure" "$T/err" \
  && ok "plain learner on tcp://*:0 refused (exit 2), the error names keys gen and --insecure" \
  || bad "plain learner on every interface: rc $rc $(grep error "$T/err")"

# 2. CURVE: the listed actor trains the learner; the others are refused.
rm -rf "$T/run"
"$BIN/mem1_learner" --config "$CFG" "${COMMON[@]}" "${EVERYWHERE[@]}" --set security.keys_dir="$T/keys" \
  >"$T/learner.out" 2>"$T/learner.log" &
lpid=$!
actor() {  # NAME extra --set args...
  local name="$1"; shift
  "$BIN/mem1_actor" --config "$CFG" "${COMMON[@]}" --set actor.teacher=expert --set actor.ack_log="$T/$name.acks" \
    --actor-id "$name" "$@" >"$T/$name.out" 2>"$T/$name.log" &
}
# The intruders first, and the listed actor only once the learner has refused the rogue key (so
# the learner is certainly still running when they knock, however loaded the machine is).
for _ in $(seq 1 240); do [ -f "$T/run/rendezvous.json" ] && break; sleep 0.5; done
actor rogue --set security.keys_dir="$T/keys" --set security.actor_key=rogue
actor plain
actor fooled --set security.keys_dir="$T/fooled" --set security.actor_key=actor-1
for _ in $(seq 1 240); do grep -q "refused a CURVE handshake" "$T/learner.log" && break; sleep 0.5; done
actor good --set security.keys_dir="$T/keys" --set security.actor_key=actor-0
good=$!
for _ in $(seq 1 600); do kill -0 "$lpid" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$lpid" 2>/dev/null; then kill -KILL "$lpid"; bad "learner did not finish in 300 s"; fi
wait "$lpid"; lrc=$?
[ "$lrc" = 0 ] && [ "$(wc -l < "$T/run/metrics.jsonl" 2>/dev/null)" = 2 ] \
  && ok "CURVE learner trained 2 steps from the listed actor" || { bad "CURVE learner exit $lrc"; tail -15 "$T/learner.log"; }
grep -q "fleet sockets: CURVE" "$T/learner.log" && grep -q "fleet sockets CURVE" "$T/good.log" \
  && ok "learner and actor log that they run CURVE" || bad "no CURVE line in the logs"
[ -s "$T/good.acks" ] && ok "listed actor: $(wc -l < "$T/good.acks") trajectories acked" || bad "listed actor got no ack"
for a in rogue plain fooled; do
  [ ! -s "$T/$a.acks" ] && ok "$a actor: no trajectory acked" || bad "$a actor got $(wc -l < "$T/$a.acks") acks"
done
n=$(grep -c "refused a CURVE handshake" "$T/learner.log")
[ "$n" -ge 1 ] && grep -qF "$(sed -n 's/^public //p' "$T/rogue/actor.pub")" "$T/learner.log" \
  && ok "learner logged $n refused handshakes, naming the rogue key" || bad "no refused handshake in the learner log"
wait "$good"; grc=$?
[ "$grc" = 0 ] && ok "listed actor exited 0 when the learner finished" || bad "listed actor exit $grc"
pkill -KILL -f "$T/" 2>/dev/null
echo "security_test: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
