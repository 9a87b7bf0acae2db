#!/usr/bin/env bash
# Network partition between actors and the learner (issue #16): the actors reach the learner only
# through a TCP forwarder (tests/e2e/tcp_proxy.py). Mid-run the forwarder is
#   1. killed for PART_S seconds: every connection drops and reconnects are refused, then it is
#      started again on the same ports;
#   2. frozen (SIGSTOP) for PART_S seconds: connections stay open and bytes go nowhere (a silent
#      partition: no reset, no error), then thawed (SIGCONT);
#   3. then actor 2 itself is frozen until the learner has finished and exited: it never hears a
#      "finished" ack, and must learn it from the run's rendezvous file.
# Asserts: both actors survive both partitions and exit 0 (actor 1 on the final weights, actor 2
# by the rendezvous file); trajectories made during a partition stay spooled and reach the store
# afterwards (the actors re-send); every acked trajectory is stored exactly once; the learner
# trains to the end.
# Usage: partition_test.sh BIN_DIR SOURCE_DIR
set -uo pipefail
BIN="$1"; SRC="$2"
PART_S="${PART_S:-12}"
STEPS=20  # enough that training is still under way when the second partition begins (checked)
T=$(mktemp -d); RUN="$T/run"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
  pkill -KILL -f "$RUN" 2>/dev/null
  if [ -n "${KEEP_DIR:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
. "$SRC/tests/e2e/fleet_lib.sh"
command -v mpirun >/dev/null || { echo "skipped: mpirun not found"; exit 77; }
command -v python3 >/dev/null || { echo "skipped: python3 not found (the TCP forwarder)"; exit 77; }

# Four free loopback ports: learner trajectories + weights, and the forwarder's two.
read -r P_DATA P_WEIGHTS Q_DATA Q_WEIGHTS < <(fleet_free_ports 4)
fleet_setup "$STEPS" "$P_DATA" "$P_WEIGHTS"

start_proxy() {
  python3 "$SRC/tests/e2e/tcp_proxy.py" "$Q_DATA:$P_DATA" "$Q_WEIGHTS:$P_WEIGHTS" >"$T/proxy.log" 2>&1 &
  PROXY=$!; PIDS+=($PROXY)
  for _ in $(seq 1 50); do grep -q ready "$T/proxy.log" 2>/dev/null && return 0; sleep 0.1; done
  bad "the forwarder did not start: $(cat "$T/proxy.log")"; return 1
}
start_actor() {  # $1: index
  "$BIN/mem1_actor" "${COMMON[@]}" --set runtime.threads=1 --set actor.ack_log="$T/acked-$1.txt" \
    --set actor.learner_endpoint="tcp://127.0.0.1:$Q_DATA" --set actor.weights_endpoint="tcp://127.0.0.1:$Q_WEIGHTS" \
    --actor-id "part-$1" >>"$T/actor-$1.log" 2>&1 &
  eval "ACTOR$1=$!"; PIDS+=($!)
}
alive() { kill -0 "$ACTOR1" 2>/dev/null && kill -0 "$ACTOR2" 2>/dev/null; }

mpirun -np 1 "$BIN/mem1_learner" "${COMMON[@]}" --set runtime.threads=1 >>"$T/learner.log" 2>&1 &
LEARNER=$!; PIDS+=($LEARNER)
start_proxy || exit 1
start_actor 1; start_actor 2
wait_for "training step 2" 120 step_at_least 2 && ok "learner trained step 2 with 2 actors behind the forwarder"

# 1. Hard partition: the endpoint is gone (connections reset, reconnects refused).
kill -KILL "$PROXY"; wait "$PROXY" 2>/dev/null
acked_before=$(acked_count)
sleep "$PART_S"
alive && ok "both actors alive after ${PART_S} s with the learner's endpoints unreachable" || bad "an actor died during the hard partition"
acked_during=$(( $(acked_count) - acked_before ))
[ "$acked_during" -le 8 ] && ok "nothing acked through the cut after the in-flight replies ($acked_during acks)" \
  || bad "$acked_during acks arrived through a killed forwarder"
start_proxy
acked_mark=$(acked_count)
wait_for "acks after the hard partition" 60 bash -c "[ \$(cat '$T'/acked-*.txt | wc -l) -gt $acked_mark ]" \
  && ok "acks resume after the forwarder is back"

# 2. Silent partition: the forwarder frozen, connections open, nothing flows.
step_now=$(python3 -c "import json
print(max(json.loads(l)['step'] for l in open('$RUN/metrics.jsonl')))")
[ "$step_now" -lt $((STEPS - 2)) ] || bad "test timing: the learner was at step $step_now of $STEPS when the silent partition began"
kill -STOP "$PROXY"
sleep "$PART_S"
alive && ok "both actors alive after a ${PART_S} s silent partition" || bad "an actor died during the silent partition"
kill -CONT "$PROXY"

# 3. The learner finishes while actor 2 cannot hear it (the process is frozen through the
#    learner's last steps, its final acks and its exit): on waking, the run's rendezvous file
#    says this learner finished, and the actor ends cleanly instead of waiting out
#    actor.learner_timeout_s.
wait_for "training after the silent partition" 60 step_at_least $((step_now + 1))
kill -STOP "$ACTOR2"
grep -q "learner finished at step" "$T/learner.log" && bad "test timing: the learner finished before actor 2 was frozen"
wait_for "the learner to finish" 180 bash -c "grep -q 'learner finished at step $STEPS' '$T/learner.log'" \
  && ok "learner trained to step $STEPS after both partitions (step $step_now when the second began), actor 2 frozen from step $((step_now + 1))"
wait "$LEARNER"; lrc=$?
[ $lrc -eq 0 ] && ok "learner exited 0" || bad "learner exit status $lrc"
kill -CONT "$ACTOR2"
resent=0
for i in 1 2; do
  pid_var="ACTOR$i"
  if ! wait_for "actor $i to exit" 30 bash -c "! kill -0 ${!pid_var} 2>/dev/null"; then
    echo "--- actor $i log (last 30 lines)"; tail -30 "$T/actor-$i.log"
    kill -KILL "${!pid_var}" 2>/dev/null  # so the wait below returns and the test reports instead of hanging
  fi
  wait "${!pid_var}"; arc=$?
  [ $arc -eq 0 ] && ok "actor $i exited 0" || { bad "actor $i exit status $arc"; tail -5 "$T/actor-$i.log"; }
  done_line=$(grep "done after" "$T/actor-$i.log" | tail -1)
  if [ "$i" = 1 ]; then
    grep -q "ended on weights v$STEPS (learner v$STEPS)" <<<"$done_line" && ok "actor 1 ended on the final weights (v$STEPS)" \
      || bad "actor 1 final weights: $done_line"
  else
    grep -q "rendezvous file says it finished" "$T/actor-2.log" && grep -q "the learner finished" <<<"$done_line" \
      && ok "actor 2, frozen through the learner's end, learned from the rendezvous file that it finished" \
      || bad "actor 2 did not learn that the learner finished: $done_line"
  fi
  r=$(sed -n 's/.*re-sent \([0-9]*\).*/\1/p' <<<"$done_line"); resent=$((resent + ${r:-0}))
done
[ "$resent" -gt 0 ] && ok "the actors re-sent $resent trajectories that went unacked during the partitions" \
  || bad "no re-sends: the partitions did not cut anything in flight"

fleet_check_store part
echo "partition_e2e: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
