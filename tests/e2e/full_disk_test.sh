#!/usr/bin/env bash
# A full disk under a running fleet (issue #16): the learner's trajectory store (RUN/store) sits
# on a small tmpfs. Mid-run a filler file takes all of its space for FULL_S seconds, then is
# deleted. Asserts: appends fail with a clear error naming ENOSPC; nothing new is acked while
# the disk is full; the learner and both actors stay alive and the actors keep the unacked
# trajectories spooled (and re-send them); once space is back the store takes appends again
# (shards included: 4 records per shard, so sealing runs into the full disk too), training
# finishes, every acked trajectory is stored exactly once and the store reads back whole.
# Needs root / CAP_SYS_ADMIN for the mount: otherwise "skipped: why" (exit 77).
# Usage: full_disk_test.sh BIN_DIR SOURCE_DIR
set -uo pipefail
BIN="$1"; SRC="$2"
FULL_S="${FULL_S:-12}"
STEPS=14
T=$(mktemp -d); RUN="$T/run"
PIDS=()
MOUNTED=0
cleanup() {
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  pkill -KILL -f "$RUN" 2>/dev/null
  sleep 0.2
  [ "$MOUNTED" = 1 ] && umount "$RUN/store" 2>/dev/null
  if [ -n "${KEEP_DIR:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
. "$SRC/tests/e2e/fleet_lib.sh"
command -v mpirun >/dev/null || { echo "skipped: mpirun not found"; exit 77; }
command -v python3 >/dev/null || { echo "skipped: python3 not found"; exit 77; }
mkdir -p "$RUN/store"
if ! mount -t tmpfs -o size=4m tmpfs "$RUN/store" 2>/dev/null; then
  echo "skipped: cannot mount a tmpfs for the store (needs root / CAP_SYS_ADMIN)"; exit 77
fi
MOUNTED=1
read -r P_DATA P_WEIGHTS < <(fleet_free_ports 2)
fleet_setup "$STEPS" "$P_DATA" "$P_WEIGHTS"
COMMON+=(--set learner.store_shard_records=4)  # sealing shards runs into the full disk too

start_actor() {  # $1: index
  "$BIN/mem1_actor" "${COMMON[@]}" --set runtime.threads=1 --set actor.ack_log="$T/acked-$1.txt" \
    --actor-id "disk-$1" >>"$T/actor-$1.log" 2>&1 &
  eval "ACTOR$1=$!"; PIDS+=($!)
}
alive() { kill -0 "$LEARNER" 2>/dev/null && kill -0 "$ACTOR1" 2>/dev/null && kill -0 "$ACTOR2" 2>/dev/null; }

mpirun -np 1 "$BIN/mem1_learner" "${COMMON[@]}" --set runtime.threads=1 >>"$T/learner.log" 2>&1 &
LEARNER=$!; PIDS+=($LEARNER)
start_actor 1; start_actor 2
wait_for "training step 2" 120 step_at_least 2 && ok "learner trained step 2 with its store on a 4 MiB tmpfs"

# The disk fills up.
dd if=/dev/zero of="$RUN/store/filler" bs=64k >/dev/null 2>&1
avail=$(df -k --output=avail "$RUN/store" | tail -1 | tr -d ' ')
[ "$avail" -eq 0 ] && ok "the store's file system is full (filler $(du -k "$RUN/store/filler" | cut -f1) KiB)" \
  || bad "the filler left $avail KiB free"
wait_for "a store error" 60 grep -q "cannot store trajectory" "$T/learner.log" \
  && ok "the learner reports the failed append: $(grep -m1 -o 'cannot store trajectory.*' "$T/learner.log" | cut -c1-160)"
grep "cannot store trajectory" "$T/learner.log" | grep -q "No space left on device" \
  && ok "the error names the cause (No space left on device)" || bad "no store error names ENOSPC"
acked_full=$(acked_count)
sleep "$FULL_S"
alive && ok "learner and both actors alive after ${FULL_S} s with the disk full" || bad "a process died while the disk was full"
acked_during=$(( $(acked_count) - acked_full ))
[ "$acked_during" -le 2 ] && ok "nothing new acked while the disk was full ($acked_during acks, duplicates at most)" \
  || bad "$acked_during acks while the store could not write"
# An actor blocked on its full spool says so every 10 s.
wait_for "an actor's spool-full warning" 15 grep -q "spool full" "$T/actor-1.log" "$T/actor-2.log" \
  && ok "the actors keep their unacked trajectories: $(grep -h -o 'spool full.*' "$T/actor-1.log" "$T/actor-2.log" | head -1)"

# Space comes back.
rm -f "$RUN/store/filler"
acked_mark=$(acked_count)
wait_for "acks after the disk has space again" 60 bash -c "[ \$(cat '$T'/acked-*.txt | wc -l) -gt $acked_mark ]" \
  && ok "acks resume once the disk has space"
wait_for "the learner to finish" 240 bash -c "grep -q 'learner finished at step $STEPS' '$T/learner.log'" \
  && ok "learner trained to step $STEPS after the full disk"
wait "$LEARNER"; lrc=$?
[ $lrc -eq 0 ] && ok "learner exited 0" || { bad "learner exit status $lrc"; tail -20 "$T/learner.log"; }
resent=0
for i in 1 2; do
  pid_var="ACTOR$i"
  if ! wait_for "actor $i to exit" 60 bash -c "! kill -0 ${!pid_var} 2>/dev/null"; then
    echo "--- actor $i log (last 30 lines)"; tail -30 "$T/actor-$i.log"
    kill -KILL "${!pid_var}" 2>/dev/null
  fi
  wait "${!pid_var}"; arc=$?
  [ $arc -eq 0 ] && ok "actor $i exited 0" || { bad "actor $i exit status $arc"; tail -5 "$T/actor-$i.log"; }
  done_line=$(grep "done after" "$T/actor-$i.log" | tail -1)
  r=$(sed -n 's/.*re-sent \([0-9]*\).*/\1/p' <<<"$done_line"); resent=$((resent + ${r:-0}))
done
[ "$resent" -gt 0 ] && ok "the actors re-sent $resent trajectories the full store could not take" \
  || bad "no re-sends: nothing was refused while the disk was full"

fleet_check_store disk
ls "$RUN/store/rank-00000"/shard-*.h5 >/dev/null 2>&1 && ok "shards sealed: $(ls "$RUN/store/rank-00000"/shard-*.h5 | wc -l)" \
  || bad "no shard was sealed"
echo "full_disk_e2e: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
