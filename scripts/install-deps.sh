#!/usr/bin/env bash
# Idempotent installer for every Debian package mem1 builds, tests or runs with.
# Safe to run repeatedly: it only calls apt when a package is missing.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git
  libtorch-dev libopenblas0-openmp
  libzmq3-dev cppzmq-dev
  libprotobuf-dev protobuf-compiler
  libhdf5-dev
  libgoogle-glog-dev
  libopenmpi-dev openmpi-bin
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev
  libsentencepiece-dev libicu-dev libxapian-dev
  # the Search-R1 / FlashRAG retrieval-server API (mem1 serve retriever, env.qa.retriever)
  libcpp-httplib-dev
  wordnet-base
  libgtest-dev libgmock-dev libbenchmark-dev
  # libFuzzer targets (tests/fuzz.sh, run by tests/run.sh) and the sanitizer builds
  clang-14 libclang-rt-14-dev
  python3
  # the plain-PyTorch peer of `mem1 bench model --peer` (bench/peer_qwen2.py; the same libtorch)
  python3-torch python3-numpy
  # `mem1 eval` plots (PNG via the pngcairo terminal)
  gnuplot-nox
  # Slurm launch path (launch/submit.sh, tests/e2e/slurm_test.sh): the daemons, the client
  # commands and munge authentication. `srun --mpi=pmix` needs the mpi_pmix plugin
  # (slurm-wlm-basic-plugins: mpi_pmix_v4.so) AND the unversioned
  # /usr/lib/x86_64-linux-gnu/pmix2/lib/libpmix.so it dlopens at run time, which only
  # libpmix-dev ships (libpmix2 has libpmix.so.2 only).
  slurm-wlm slurmctld slurmd slurm-client slurm-wlm-basic-plugins munge
  libpmix2 libpmix-dev
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# npm is optional (only the real-Qwen tokenizer test uses it, and skips without it); the
# machine image ships Node's own npm, which conflicts with Debian's package, so we never force it.
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
