#!/usr/bin/env bash
# mem1 Slurm front end: renders slurm/mem1.sbatch into RUN_DIR/job.sbatch and submits it.
# Run with --help for the options; slurm/README.md explains the job layout.
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TEMPLATE="$REPO/slurm/mem1.sbatch"

usage() {
  cat <<'EOF'
Usage:
  launch/submit.sh CONFIG --learner-nodes L --gpus-per-node G --actor-nodes A --actors-per-node K
                   [--cpu] [--partition P] [--time T] [--account X] [--run-dir DIR]
                   [--set key=value ...] [--resume RUN_DIR] [--insecure] [--wait] [--dry-run]
  launch/submit.sh CONFIG --join RUN_DIR --actor-nodes A --actors-per-node K
                   [--partition P] [--time T] [--account X] [--set key=value ...] [--wait] [--dry-run]

Submits one heterogeneous Slurm job: component 0 runs the learner (L nodes x G ranks, one rank
per GPU, `srun --mpi=pmix mem1_learner`, NCCL on CUDA), component 1 runs A nodes x K actors
(`srun mem1_actor`). The actors find the learner only through RUN_DIR/rendezvous.json, so
RUN_DIR must be on a file system shared by all nodes.

  CONFIG               YAML config (configs/*.yaml), passed to learner and actors
  --learner-nodes L    nodes for the learner component
  --gpus-per-node G    GPUs (= learner ranks) per learner node; with --cpu: ranks per node
  --actor-nodes A      nodes for the actor component
  --actors-per-node K  actor processes per actor node (each: runtime.threads=1)
  --cpu                CPU learner (MPI all-reduce): requests no GPUs, learner.backend=mpi,
                       runtime.device=cpu; default is learner.backend=nccl, runtime.device=cuda
  --partition P        Slurm partition (both components)
  --time T             time limit, any sbatch --time format (both components)
  --account X          Slurm account (both components)
  --run-dir DIR        run directory (default: runs/<config name>-<YYYYmmdd-HHMMSS>); becomes run.dir
  --set key=value      config override for learner and actors (repeatable)
  --resume RUN_DIR     continue the run in RUN_DIR: the learner gets --resume RUN_DIR, same run dir
  --join RUN_DIR       actors-only job that joins the learner already using RUN_DIR
  --insecure           plain ZeroMQ sockets (no CURVE): anyone who reaches the nodes may push
                       trajectories and read weights. Default: the learner binds every interface
                       with CURVE keys made by `mem1 keys gen` in RUN_DIR/keys (kept across
                       --resume and used by --join), unless --set security.keys_dir=DIR names yours
  --wait               sbatch --wait: return when the job ends, with its exit status
  --dry-run            print the rendered job script; submit nothing
  -h, --help           this help

Environment: MEM1_BIN = directory of mem1_learner / mem1_actor (default: <repo>/build/bin; it must
be visible on the compute nodes at the same path). Logs: RUN_DIR/logs/job-<id>.out (batch
script), RUN_DIR/logs/learner-<id>-<rank>.log, RUN_DIR/logs/actor-<id>-<task>.log.
EOF
}

die() { echo "submit.sh: error: $*" >&2; exit 2; }
need_arg() { [ $# -ge 2 ] && [ -n "$2" ] && [ "${2#--}" = "$2" ] || die "$1 needs a value"; }
pos_int() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive integer, got '$2'"; }
abspath() { case "$1" in /*) echo "$1";; *) echo "$PWD/$1";; esac; }

config="" learner_nodes="" gpus_per_node="" actor_nodes="" actors_per_node="" cpu=0 insecure=0
partition="" time_limit="" account="" run_dir="" resume="" join="" dry_run=0 wait=0
sets=()
[ $# -gt 0 ] || die "missing CONFIG and options (see --help)"
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0;;
    --learner-nodes)   need_arg "$@"; pos_int "$1" "$2"; learner_nodes="$2"; shift 2;;
    --gpus-per-node)   need_arg "$@"; pos_int "$1" "$2"; gpus_per_node="$2"; shift 2;;
    --actor-nodes)     need_arg "$@"; pos_int "$1" "$2"; actor_nodes="$2"; shift 2;;
    --actors-per-node) need_arg "$@"; pos_int "$1" "$2"; actors_per_node="$2"; shift 2;;
    --partition) need_arg "$@"; partition="$2"; shift 2;;
    --time)      need_arg "$@"; time_limit="$2"; shift 2;;
    --account)   need_arg "$@"; account="$2"; shift 2;;
    --run-dir)   need_arg "$@"; run_dir="$2"; shift 2;;
    --resume)    need_arg "$@"; resume="$2"; shift 2;;
    --join)      need_arg "$@"; join="$2"; shift 2;;
    --set)       need_arg "$@"
                 [[ "$2" == *=* && "${2%%=*}" =~ ^[A-Za-z0-9_.]+$ ]] || die "--set needs key=value, got '$2'"
                 case "${2%%=*}" in run.dir) die "use --run-dir (or --resume/--join) instead of --set run.dir";; esac
                 sets+=(--set "$2"); shift 2;;
    --cpu)     cpu=1; shift;;
    --insecure) insecure=1; shift;;
    --dry-run) dry_run=1; shift;;
    --wait)    wait=1; shift;;
    -*) die "unknown option '$1' (see --help)";;
    *) [ -z "$config" ] || die "unexpected argument '$1' (CONFIG is already '$config')"; config="$1"; shift;;
  esac
done

[ -n "$config" ] || die "missing CONFIG (a YAML file, e.g. configs/default.yaml)"
[ -f "$config" ] || die "config '$config' does not exist"
config="$(abspath "$config")"
[ -n "$actor_nodes" ] || die "missing --actor-nodes A"
[ -n "$actors_per_node" ] || die "missing --actors-per-node K"

if [ -n "$join" ]; then
  mode="join"
  for o in learner_nodes gpus_per_node resume run_dir; do
    [ -z "${!o}" ] || die "--${o//_/-} does not apply to --join (the learner is already running)"
  done
  [ "$cpu" = 0 ] || die "--cpu does not apply to --join"
  [ -d "$join" ] || die "--join '$join': no such run directory"
  run_dir="$(abspath "$join")"
else
  mode="train"
  [ -n "$learner_nodes" ] || die "missing --learner-nodes L"
  [ -n "$gpus_per_node" ] || die "missing --gpus-per-node G"
  if [ -n "$resume" ]; then
    [ -d "$resume" ] || die "--resume '$resume': no such run directory"
    resume="$(abspath "$resume")"
    [ -z "$run_dir" ] || [ "$(abspath "$run_dir")" = "$resume" ] || die "--run-dir and --resume name different directories"
    run_dir="$resume"
  elif [ -n "$run_dir" ]; then
    run_dir="$(abspath "$run_dir")"
  else
    name="$(basename "$config")"; name="${name%.*}"
    run_dir="$REPO/runs/$name-$(date +%Y%m%d-%H%M%S)"
  fi
fi

bin="${MEM1_BIN:-$REPO/build/bin}"
bin="$(abspath "$bin")"
progs=(mem1_actor); [ "$mode" = train ] && progs+=(mem1_learner)
for p in "${progs[@]}"; do
  if [ ! -x "$bin/$p" ]; then
    [ "$dry_run" = 1 ] && echo "submit.sh: warning: $bin/$p is not built (set MEM1_BIN)" >&2 \
      || die "$bin/$p is missing or not executable (build it, or set MEM1_BIN)"
  fi
done
[ -f "$TEMPLATE" ] || die "template $TEMPLATE is missing"

# --- #SBATCH directives -------------------------------------------------------------------
common=()
[ -n "$partition" ]  && common+=("--partition=$partition")
[ -n "$time_limit" ] && common+=("--time=$time_limit")
[ -n "$account" ]    && common+=("--account=$account")
directives=("--job-name=mem1-$mode" "--output=$run_dir/logs/job-%j.out")
if [ "$mode" = train ]; then
  directives+=("${common[@]}" "--nodes=$learner_nodes" "--ntasks-per-node=$gpus_per_node")
  [ "$cpu" = 1 ] || directives+=("--gpus-per-node=$gpus_per_node")
  directives+=(hetjob "${common[@]}" "--nodes=$actor_nodes" "--ntasks-per-node=$actors_per_node")
else
  directives+=("${common[@]}" "--nodes=$actor_nodes" "--ntasks-per-node=$actors_per_node")
fi

# --- security: CURVE keys unless --insecure (the learner binds every interface) -------------
user_keys=""
for s in "${sets[@]}"; do
  case "$s" in security.keys_dir=*) user_keys="${s#*=}";; security.insecure=true) insecure=1;; esac
done
sec_sets=()
[ "$mode" = train ] && sec_sets+=(--set "learner.bind_endpoint=tcp://*:0" --set "learner.publish_endpoint=tcp://*:0")
if [ -n "$user_keys" ]; then
  :  # the user's --set security.keys_dir reaches both commands as it is
elif [ "$insecure" = 1 ]; then
  sec_sets+=(--set security.insecure=true)
  echo "submit.sh: warning: --insecure: plain sockets, no authentication of actors" >&2
else
  keys="$run_dir/keys"
  if [ "$mode" = join ] && [ ! -f "$keys/actor.key" ]; then
    echo "submit.sh: note: $keys/actor.key not found: the actors connect without CURVE (the learner must be plain too)" >&2
  else
    sec_sets+=(--set "security.keys_dir=$keys")
    if [ "$mode" = train ] && [ ! -f "$keys/learner.key" ]; then
      if [ "$dry_run" = 1 ]; then
        echo "submit.sh: note: would make CURVE keys in $keys (mem1 keys gen)" >&2
      else
        [ -x "$bin/mem1" ] || die "$bin/mem1 is missing: it makes the CURVE keys (build it, set MEM1_BIN, --set security.keys_dir=DIR, or --insecure)"
        "$bin/mem1" keys gen --out "$keys" >/dev/null || die "mem1 keys gen --out $keys failed"
        echo "submit.sh: CURVE keys for this run in $keys (revoke an actor: delete its line in $keys/authorized_keys)" >&2
      fi
    fi
  fi
fi

# --- commands -----------------------------------------------------------------------------
if [ "$cpu" = 1 ]; then device_sets=(--set learner.backend=mpi --set runtime.device=cpu)
else device_sets=(--set learner.backend=nccl --set runtime.device=cuda); fi
# User --set values come last so they win over ours.
learner_cmd=("$bin/mem1_learner" --config "$config" --set "run.dir=$run_dir" "${sec_sets[@]}" "${device_sets[@]}" "${sets[@]}")
[ -n "$resume" ] && learner_cmd+=(--resume "$resume")
actor_cmd=("$bin/mem1_actor" --config "$config" --set "run.dir=$run_dir" --set runtime.threads=1 "${sec_sets[@]}" "${sets[@]}")

render() {
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
      "#@SBATCH_DIRECTIVES@")
        local d
        for d in "${directives[@]}"; do
          if [ "$d" = hetjob ]; then echo "#SBATCH hetjob"; else echo "#SBATCH $d"; fi
        done;;
      "#@JOB_SETTINGS@")
        echo "# --- rendered by launch/submit.sh on $(date '+%F %T') ---"
        printf 'MODE=%q\nRUN_DIR=%q\nACTOR_GRACE_S=60\n' "$mode" "$run_dir"
        printf 'LEARNER_CMD=('; printf ' %q' "${learner_cmd[@]}"; printf ' )\n'
        printf 'ACTOR_CMD=('; printf ' %q' "${actor_cmd[@]}"; printf ' )\n'
        [ "$mode" = join ] && echo "# (join mode: LEARNER_CMD is not used)";;
      *) printf '%s\n' "$line";;
    esac
  done < "$TEMPLATE"
}

if [ "$dry_run" = 1 ]; then
  render
  exit 0
fi

command -v sbatch >/dev/null || die "sbatch not found: is this a Slurm login node?"
mkdir -p "$run_dir/logs" || die "cannot create $run_dir/logs"
render > "$run_dir/job.sbatch" || die "cannot write $run_dir/job.sbatch"
echo "submit.sh: $mode job for $run_dir (must be on a file system shared by all nodes)" >&2
# The job id is recorded in RUN_DIR: job_id (the training job) or join_job_ids (one line per join).
if [ "$mode" = train ]; then id_file="$run_dir/job_id"; else id_file="$run_dir/join_job_ids"; fi
if [ "$wait" = 1 ]; then
  # --parsable prints the id at submission; --wait then blocks until the job ends.
  tmp="$(mktemp "$run_dir/logs/.sbatch.XXXXXX")"
  sbatch --parsable --wait "$run_dir/job.sbatch" > "$tmp" &
  sb=$!
  for _ in $(seq 1 300); do [ -s "$tmp" ] && break; kill -0 "$sb" 2>/dev/null || break; sleep 0.1; done
  jid="$(cut -d';' -f1 < "$tmp")"
  if [ -n "$jid" ]; then
    if [ "$mode" = train ]; then echo "$jid" > "$id_file"; else echo "$jid" >> "$id_file"; fi
    echo "submitted job $jid; logs: $run_dir/logs/job-$jid.out, $run_dir/logs/{learner,actor}-$jid-*.log"
  fi
  wait "$sb"; rc=$?
  rm -f "$tmp"
  [ -n "$jid" ] || die "sbatch failed (exit $rc; script kept in $run_dir/job.sbatch)"
  echo "job $jid ended with exit status $rc" >&2
  exit "$rc"
fi
out="$(sbatch --parsable "$run_dir/job.sbatch")" || die "sbatch failed (script kept in $run_dir/job.sbatch)"
jid="${out%%;*}"
if [ "$mode" = train ]; then echo "$jid" > "$id_file"; else echo "$jid" >> "$id_file"; fi
echo "submitted job $jid; logs: $run_dir/logs/job-$jid.out, $run_dir/logs/{learner,actor}-$jid-*.log"
