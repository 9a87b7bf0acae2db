#!/usr/bin/env bash
# OpenBLAS kernel choice (common/model/blas_core.h): a binary started without OPENBLAS_CORETYPE
# runs the best kernel set of the Debian OpenBLAS for this CPU (re-executing itself when OpenBLAS
# picked a slower one, as it does on CPUs it does not know); OPENBLAS_CORETYPE set by the user
# wins; MEM1_BLAS_REEXEC=0 keeps what OpenBLAS picked. Read from `mem1 bench env`.
# Usage: blas_core_test.sh BIN_DIR
set -uo pipefail
BIN="$1"
header() { "$BIN/mem1" bench env --threads 1 2>&1 | head -1; }
auto=$(env -u OPENBLAS_CORETYPE -u MEM1_BLAS_REEXEC "$BIN/mem1" bench env --threads 1 2>&1 | head -1)
echo "default:   $auto"
case "$auto" in
  *"not OpenBLAS"*) echo "skipped: the BLAS libtorch loads here is not OpenBLAS"; exit 77 ;;
esac
flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
has() { [[ " $flags " == *" $1 "* ]]; }
fails=0
check() { if eval "$2"; then echo "PASS: $1"; else echo "FAIL: $1"; fails=$((fails+1)); fi; }
if has avx512f && has avx512bw && has avx512dq && has avx512vl && has avx512cd; then
  check "AVX-512 CPU: an AVX-512 kernel set by default" '[[ $auto =~ (SkylakeX|Cooperlake|SapphireRapids)\ kernels ]]'
elif has avx2 && has fma; then
  check "AVX2 CPU: an AVX2 kernel set by default" '[[ $auto =~ (Haswell|Zen|Excavator|SkylakeX|Cooperlake|SapphireRapids)\ kernels ]]'
else
  echo "note: this CPU has neither AVX2+FMA nor AVX-512: OpenBLAS's own pick stands"
fi
user=$(OPENBLAS_CORETYPE=Haswell header)
echo "user's:    $user"
check "OPENBLAS_CORETYPE set by the user wins" '[[ $user == *"Haswell kernels (OPENBLAS_CORETYPE=Haswell)"* ]]'
kept=$(env -u OPENBLAS_CORETYPE MEM1_BLAS_REEXEC=0 "$BIN/mem1" bench env --threads 1 2>&1 | head -1)
echo "kept:      $kept"
check "MEM1_BLAS_REEXEC=0 keeps OpenBLAS's own pick" '[[ $kept != *"set by mem1"* ]]'
check "the exit status and argv survive the re-exec" \
  "env -u OPENBLAS_CORETYPE '$BIN/mem1' bench model --quick --threads 0 --no-such-flag >/dev/null 2>&1; [ \$? -ne 0 ]"
[ "$fails" -eq 0 ] || exit 1
echo "blas_core_test: all passed"
