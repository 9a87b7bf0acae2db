#!/usr/bin/env bash
# mem1 on one host: the learner (R data-parallel ranks via mpirun) plus N actor processes that
# find it through <run dir>/rendezvous.json, with live progress from the learner's log.
#
#   launch/local.sh CONFIG [--actors N] [--learner-ranks R] [--actor-threads T] [--learner-threads T]
#                   [--run-dir DIR] [--resume RUN_DIR] [--steps N] [--set key=value ...]
#
# Ctrl-C (or SIGTERM) stops everything cleanly: the learner writes a checkpoint and the run can
# be resumed with --resume RUN_DIR (running actors are not needed for that; new ones attach).
# If the learner dies, the actors are stopped too (no orphans). Logs: RUN_DIR/logs/.
# Binaries: $MEM1_BIN (default <repo>/build/bin).
set -uo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${MEM1_BIN:-$REPO/build/bin}"
# Learner and actors share the cores: idle OpenMP threads must sleep, not spin.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "error: $*" >&2; exit 2; }

[ $# -ge 1 ] || { usage; exit 2; }
case "$1" in -h|--help) usage; exit 0;; esac
CONFIG="$1"; shift
[ -f "$CONFIG" ] || die "config file not found: $CONFIG"
ACTORS=2; RANKS=1; ATHREADS=1; LTHREADS=0; RUN=""; RESUME=""; STEPS=""; SETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --actors) ACTORS="${2:-}"; shift 2;;
    --learner-ranks) RANKS="${2:-}"; shift 2;;
    --actor-threads) ATHREADS="${2:-}"; shift 2;;
    --learner-threads) LTHREADS="${2:-}"; shift 2;;
    --run-dir) RUN="${2:-}"; shift 2;;
    --resume) RESUME="${2:-}"; shift 2;;
    --steps) STEPS="${2:-}"; shift 2;;
    --set) SETS+=(--set "${2:-}"); shift 2;;
    -h|--help) usage; exit 0;;
    *) die "unknown argument \"$1\" (see --help)";;
  esac
done
[[ "$ACTORS" =~ ^[0-9]+$ ]] || die "--actors: expected a number, got \"$ACTORS\""
[[ "$RANKS" =~ ^[1-9][0-9]*$ ]] || die "--learner-ranks: expected a positive number, got \"$RANKS\""
[[ "$ATHREADS" =~ ^[1-9][0-9]*$ ]] || die "--actor-threads: expected a positive number, got \"$ATHREADS\""
for b in mem1_learner mem1_actor; do [ -x "$BIN/$b" ] || die "$BIN/$b not found (build first, or set MEM1_BIN)"; done
# The run directory: --resume, --run-dir, a --set run.dir=..., or a fresh one.
for s in "${SETS[@]}"; do case "$s" in run.dir=*) RUN="${s#run.dir=}";; esac; done
[ -n "$RESUME" ] && RUN="$RESUME"
[ -n "$RUN" ] || RUN="runs/local-$(date +%Y%m%d-%H%M%S)"
SETS+=(--set "run.dir=$RUN")
mkdir -p "$RUN/logs"
rm -f "$RUN/rendezvous.json"   # a stale file would point actors at a dead learner

LEARNER_ARGS=(--config "$CONFIG" "${SETS[@]}" --set "runtime.threads=$LTHREADS")
[ -n "$RESUME" ] && LEARNER_ARGS+=(--resume "$RESUME")
[ -n "$STEPS" ] && LEARNER_ARGS+=(--steps "$STEPS")
if [ "$RANKS" -gt 1 ]; then
  command -v mpirun >/dev/null || die "mpirun not found (install openmpi-bin) for --learner-ranks $RANKS"
  MPI=(mpirun -np "$RANKS" --oversubscribe)
  [ "$(id -u)" = 0 ] && MPI+=(--allow-run-as-root)
  "${MPI[@]}" "$BIN/mem1_learner" "${LEARNER_ARGS[@]}" >"$RUN/logs/learner.log" 2>&1 &
else
  "$BIN/mem1_learner" "${LEARNER_ARGS[@]}" >"$RUN/logs/learner.log" 2>&1 &
fi
LEARNER=$!
ACTOR_PIDS=()
cleanup() {
  trap - INT TERM
  kill -TERM "$LEARNER" 2>/dev/null
  for p in "${ACTOR_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
}
trap 'echo "local.sh: stopping (the learner writes a checkpoint; resume with --resume $RUN)"; cleanup' INT TERM

# Actors start at once: they wait for the rendezvous file.
for i in $(seq 1 "$ACTORS"); do
  "$BIN/mem1_actor" --config "$CONFIG" "${SETS[@]}" --set "runtime.threads=$ATHREADS" --actor-id "local-$i" \
    >"$RUN/logs/actor-$i.log" 2>&1 &
  ACTOR_PIDS+=($!)
done
echo "local.sh: learner ($RANKS rank(s), pid $LEARNER) + $ACTORS actor(s); run dir $RUN; logs in $RUN/logs/"

# Live progress: the learner's step lines and errors (tail exits with the learner: no orphans).
( tail -n +1 -F --pid="$LEARNER" "$RUN/logs/learner.log" 2>/dev/null | grep --line-buffered -E "step [0-9]+/|held-out|error|Error|rendezvous|resumed|exported|finished" ) &
TAILER=$!

wait "$LEARNER"; RC=$?
# The learner is gone (finished or died): actors exit by themselves when told "finished";
# give them a moment, then stop whatever is left.
for _ in $(seq 1 20); do
  alive=0; for p in "${ACTOR_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ $alive = 0 ] && break; sleep 0.5
done
for p in "${ACTOR_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
sleep 1
for p in "${ACTOR_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
kill "$TAILER" 2>/dev/null; wait "$TAILER" 2>/dev/null
if [ "$RC" -ne 0 ]; then
  echo "local.sh: the learner exited with status $RC; see $RUN/logs/learner.log" >&2
  tail -5 "$RUN/logs/learner.log" >&2
fi
exit "$RC"
