# Shared by the fleet fault tests (partition_test.sh, full_disk_test.sh); sourced, not run.
# Expects T (a temp dir), RUN (the run dir), BIN and SRC; defines the PASS/FAIL counters.

# Counters and helpers.
fails=0; passes=0
ok()  { passes=$((passes+1)); echo "PASS: $1"; }
bad() { fails=$((fails+1)); echo "FAIL: $1"; }
quiet() { "$@" >"$T/out" 2>"$T/err" || { echo "command failed: $*"; tail -20 "$T/err"; exit 1; }; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

# fleet_free_ports N: N free loopback ports on one line.
fleet_free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# fleet_setup STEPS P_DATA P_WEIGHTS: a 60-entity QA world, a 700-token tokenizer and a 1-layer
# policy in $T; sets COMMON (the config flags every process of the run gets, model included).
fleet_setup() {
  local steps="$1" p_data="$2" p_weights="$3"
  quiet "$BIN/mem1" datagen qa --entities 60 --seed 4 --out "$T/data"
  quiet "$BIN/mem1" index build --corpus "$T/data/corpus.jsonl" --out "$T/data/index" --quiet
  cut -d'"' -f8 "$T/data/corpus.jsonl" > "$T/text.txt"; cat "$T/data/train.jsonl" >> "$T/text.txt"
  quiet "$BIN/mem1" tokenizer train --corpus "$T/text.txt" --out "$T/tok" --vocab-size 700
  COMMON=(--config "$SRC/configs/default.yaml" --set run.dir="$RUN" --set model.init.num_hidden_layers=1
          --set model.init.hidden_size=64 --set model.init.intermediate_size=128 --set model.init.num_attention_heads=4
          --set model.init.num_key_value_heads=2 --set tokenizer.path="$T/tok.model"
          --set env.qa.data_dir="$T/data" --set env.qa.objectives=1
          --set actor.num_envs=2 --set actor.max_turns=3 --set actor.max_new_tokens_per_turn=24
          --set learner.global_batch=4 --set learner.checkpoint_every=100 --set learner.total_steps="$steps"
          --set learner.mode=async --set learner.ppo.max_policy_lag=3 --set learner.advertise_host=127.0.0.1
          --set learner.bind_endpoint=tcp://127.0.0.1:"$p_data" --set learner.publish_endpoint=tcp://127.0.0.1:"$p_weights"
          --set actor.heartbeat_s=0.5 --set actor.resend_after_s=2 --set actor.spool_capacity=8
          --set learner.data_timeout_s=120
          --set learner.max_backlog=1000)  # never pause the actors: they send (and must re-send) through every fault
  quiet "$BIN/mem1" init-model "${COMMON[@]}" --tokenizer "$T/tok.model" --out "$T/init"
  COMMON+=(--set model.checkpoint="$T/init")
}

# wait_for WHAT SECONDS CMD...: polls CMD every 0.2 s; a FAIL (with the learner log's tail) on timeout.
wait_for() {
  local what="$1" secs="$2"; shift 2
  for _ in $(seq 1 $((secs * 5))); do "$@" && return 0; sleep 0.2; done
  bad "timed out waiting for $what"; tail -20 "$T/learner.log"; return 1
}
step_at_least() { [ -f "$RUN/metrics.jsonl" ] && [ "$(python3 -c "import json,sys
print(max([json.loads(l)['step'] for l in open('$RUN/metrics.jsonl')] or [0]))" 2>/dev/null || echo 0)" -ge "$1" ]; }
acked_count() { cat "$T"/acked-*.txt 2>/dev/null | wc -l; }

# fleet_check_store ACTOR_PREFIX: no (actor, episode) stored twice, every acked one stored
# (actor i's acks are in $T/acked-i.txt, its id ACTOR_PREFIX-i).
fleet_check_store() {
  "$BIN/mem1" inspect "$RUN" --list > "$T/list.txt" 2>"$T/err" || { bad "inspect --list"; tail "$T/err"; }
  awk '{print $3" "$4}' "$T/list.txt" | sort > "$T/stored.txt"
  local dups missing nacked
  dups=$(uniq -d "$T/stored.txt" | wc -l)
  [ "$dups" -eq 0 ] && ok "no (actor, episode) stored twice ($(wc -l < "$T/stored.txt") records, every one read back)" \
    || bad "$dups duplicates in the store"
  for i in 1 2; do awk -v a="$1-$i" '{print a" "$1}' "$T/acked-$i.txt"; done | sort -u > "$T/acked_ids.txt"
  missing=$(comm -23 "$T/acked_ids.txt" "$T/stored.txt" | wc -l)
  nacked=$(wc -l < "$T/acked_ids.txt")
  [ "$nacked" -gt 0 ] && [ "$missing" -eq 0 ] && ok "all $nacked acked trajectories are in the store" \
    || bad "$missing of $nacked acked trajectories missing"
}
