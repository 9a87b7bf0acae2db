#!/usr/bin/env bash
# A private, throw-away Slurm "cluster" on 127.0.0.1 for tests: its own munge key + munged,
# one slurmctld and two slurmd (nodes n1 and n2, distinct ports) — all state, sockets, pid and
# log files under DIR. Nothing in /etc/slurm, /etc/munge or /run is read or written.
#
#   cluster.sh start DIR [CPUS]   start everything, wait until n1 and n2 are idle, write DIR/env
#                                 (source it: exports SLURM_CONF). CPUS per node, default 2.
#                                 Exit 0: up; exit 77 + "skipped: <why>" on stdout: this machine
#                                 cannot run it (missing packages, not root, daemon refused);
#                                 any other exit: a real failure (logs under DIR/log).
#   cluster.sh stop DIR           cancel jobs, stop the daemons this DIR started, then end any
#                                 process still running with SLURM_CONF=DIR/slurm.conf in its
#                                 environment (job steps, slurmstepd). Idempotent.
#
# Needs root (slurmd runs job steps as the submitting user, and here SlurmUser=root) and the
# Debian packages slurm-wlm, munge (scripts/install-deps.sh installs them).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

STARTING=""  # set while start() runs: a failed start stops what it had started
skip() { [ -n "$STARTING" ] && stop "$STARTING"; echo "skipped: $*"; exit 77; }
die()  { [ -n "$STARTING" ] && stop "$STARTING"; echo "cluster: error: $*" >&2; exit 1; }

free_ports() {  # N distinct TCP ports in 20000-59999 that nothing on 127.0.0.1 listens on
  local want=$1 got=" " p
  while [ "$(wc -w <<<"$got")" -lt "$want" ]; do
    p=$((20000 + RANDOM % 40000))
    case "$got" in *" $p "*) continue;; esac
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue  # something answers: taken
    got+="$p "
  done
  echo $got
}

# Process ids of everything that carries our SLURM_CONF in its environment (our daemons, their
# slurmstepd and the job tasks they launched), except this shell and its ancestors (the test
# that called us has SLURM_CONF exported too). Targeted by exact config path, never by name.
our_pids() {
  local want="SLURM_CONF=$1/slurm.conf" a=$BASHPID skip=" " k v f p
  while [ -n "$a" ] && [ "$a" != 0 ]; do
    skip+="$a "; v=""
    while read -r k v _; do [ "$k" = PPid: ] && break; done 2>/dev/null < "/proc/$a/status"
    [ "$k" = PPid: ] || break; a=$v
  done
  # One grep over every environ file (a fork per process is seconds on a loaded 2-core box).
  for f in $(grep -lzxF "$want" /proc/[0-9]*/environ 2>/dev/null); do
    p=${f#/proc/}; p=${p%/environ}
    case "$skip" in *" $p "*) continue;; esac
    alive "$p" && echo "$p"   # (the grep itself matches: gone by now)
  done
}

start() {
  local dir="$1" cpus="${2:-2}"
  [ "$(id -u)" = 0 ] || skip "the private Slurm runs slurmd/slurmctld as root (SlurmUser=root); uid is $(id -u)"
  local b
  for b in munged slurmctld slurmd slurmstepd sbatch srun scontrol sinfo squeue scancel; do
    command -v "$b" >/dev/null 2>&1 || skip "'$b' not found (run scripts/install-deps.sh: slurm-wlm, munge)"
  done
  # shellcheck disable=SC2046  # pids: word splitting wanted
  if [ -n "$(daemon_pids "$dir" 2>/dev/null)" ] && alive $(daemon_pids "$dir"); then
    die "a cluster is already running in $dir (cluster.sh stop $dir)"
  fi
  STARTING="$dir"
  mkdir -p "$dir"/{munge,state,spool/n1,spool/n2,tmp/n1,tmp/n2,run,log} || die "cannot create $dir"
  chmod 0700 "$dir" "$dir/munge"

  # munge: fresh 1 KiB key, private socket. munged checks that key and socket dirs are not
  # writable by others; mktemp -d dirs (0700) under a sticky /tmp pass.
  head -c 1024 /dev/urandom > "$dir/munge/munge.key" && chmod 0600 "$dir/munge/munge.key"
  munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/munge/munged.seed" >"$dir/log/munged.out" 2>&1 \
    || skip "munged would not start: $(tail -1 "$dir/log/munged.out")"

  local ports; ports=$(free_ports 3) || die "cannot pick free ports"
  set -- $ports
  sed -e "s|@DIR@|$dir|g" -e "s|@CTLD_HOST@|$(hostname -s)|g" -e "s|@HOSTNAME@|$(hostname)|g" \
      -e "s|@CTLD_PORT@|$1|g" -e "s|@N1_PORT@|$2|g" -e "s|@N2_PORT@|$3|g" \
      -e "s|@CPUS@|$cpus|g" "$HERE/slurm.conf.in" > "$dir/slurm.conf" || die "cannot render slurm.conf"
  export SLURM_CONF="$dir/slurm.conf"
  printf 'export SLURM_CONF=%q\n' "$SLURM_CONF" > "$dir/env"

  # Foreground (-D) daemons in the background: we know their pids without trusting pid files.
  slurmctld -D -i -f "$SLURM_CONF" >"$dir/log/slurmctld.out" 2>&1 &
  echo $! > "$dir/run/slurmctld.daemon"
  local n
  for n in n1 n2; do
    slurmd -D -N "$n" -f "$SLURM_CONF" >"$dir/log/slurmd-$n.out" 2>&1 &
    echo $! > "$dir/run/slurmd-$n.daemon"
  done

  # Up = both nodes idle: 1-2 s on this 2-core box under load (munged + 3 daemons + sinfo polls).
  local state pid
  for _ in $(seq 1 300); do
    for n in slurmctld slurmd-n1 slurmd-n2; do
      read -r pid < "$dir/run/$n.daemon"
      alive "$pid" || {
        echo "cluster: $n exited at start-up; its last log lines:" >&2
        tail -n 5 "$dir/log/$n.out" >&2 2>/dev/null
        skip "$n exited at start-up (see $dir/log/$n.log)"; }
    done
    state=$(sinfo -h -N -o '%N=%t' 2>/dev/null | sort | tr '\n' ' ')
    [ "$state" = "n1=idle n2=idle " ] && { STARTING=""; return 0; }
    sleep 0.1
  done
  die "nodes not idle after 30 s (sinfo: ${state:-no answer}); logs in $dir/log"
}

daemon_pids() {  # the pids we started (munged forks itself: its pid file)
  local f
  for f in "$1"/run/*.daemon "$1/munge/munged.pid"; do [ -f "$f" ] && cat "$f"; done
}

alive() {  # pid...: true while one of them runs. Builtins only (forks cost ~50 ms on a loaded
  # 2-core box). A zombie counts as gone: PID 1 here (no systemd/init) reaps orphans late.
  local p st
  for p in "$@"; do
    { read -r st < "/proc/$p/stat"; } 2>/dev/null || continue
    st=${st##*) }
    case "$st" in Z*|X*|"") ;; *) return 0;; esac
  done
  return 1
}

wait_gone() {  # milliseconds pid...: true when all are gone within the time
  local deadline=$(( ${EPOCHREALTIME/./} + $1 * 1000 )); shift
  while alive "$@"; do
    (( ${EPOCHREALTIME/./} < deadline )) || return 1
    sleep 0.05
  done
}

vlog() { [ "${CLUSTER_VERBOSE:-0}" = 1 ] && echo "cluster: ${EPOCHREALTIME} $*" >&2; return 0; }

stop() {
  local dir="$1" ctld left daemons
  vlog "stop $dir"
  [ -d "$dir" ] || return 0
  ctld=$(cat "$dir/run/slurmctld.daemon" 2>/dev/null)
  if [ -n "$ctld" ] && [ -f "$dir/slurm.conf" ] && alive "$ctld"; then
    SLURM_CONF="$dir/slurm.conf" timeout 5 scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
  fi
  vlog "scancel done"
  # Daemons: TERM, 1.5 s, KILL (a throw-away cluster needs no orderly state save; slurmctld
  # takes ~3 s to give up on its agent threads).
  daemons=$(daemon_pids "$dir")
  if [ -n "$daemons" ]; then
    kill -TERM $daemons 2>/dev/null
    wait_gone 1500 $daemons || kill -KILL $daemons 2>/dev/null
  fi
  # Then whatever still carries our SLURM_CONF (slurmstepd, job tasks, slurmscriptd): TERM, 2 s, KILL.
  vlog "daemons gone"
  left=$(our_pids "$dir")
  vlog "left: $left"
  if [ -n "$left" ]; then
    [ "${CLUSTER_VERBOSE:-0}" = 1 ] && ps -o pid,ppid,stat,etime,args -p "$(echo $left | tr ' ' ',')" >&2
    kill -TERM $left 2>/dev/null
    wait_gone 2000 $left || { kill -KILL $left 2>/dev/null; wait_gone 2000 $left; }
  fi
  rm -f "$dir"/run/*.daemon
  vlog "stopped"
  return 0
}

case "${1:-}" in
  start) [ $# -ge 2 ] || die "usage: cluster.sh start DIR [CPUS]"; start "$2" "${3:-2}";;
  stop)  [ $# -eq 2 ] || die "usage: cluster.sh stop DIR"; stop "$2";;
  *) die "usage: cluster.sh start DIR [CPUS] | cluster.sh stop DIR";;
esac
