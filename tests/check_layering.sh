#!/usr/bin/env bash
# Dependencies point one way (README "Layout"): fails listing every include that breaks a rule.
#   common/      includes nothing from actor/, learner/ or bench/ (and declares no command they implement)
#   actor/envs/  includes only common/ and actor/envs/ (environments are text in, text out)
#   learner/     includes nothing from actor/ (actors and learner meet on the wire)
#   actor/       includes nothing from learner/
# Usage: check_layering.sh SOURCE_DIR
set -uo pipefail
cd "${1:-.}"
bad=0
check() {  # $1: folder, $2: forbidden include regex, $3: rule
  local hits
  hits=$(grep -rnE "#include \"($2)" "$1" --include='*.h' --include='*.cc' 2>/dev/null)
  if [ -n "$hits" ]; then echo "layering: $3:"; echo "$hits"; bad=1; fi
}
check common "actor/|learner/|bench/" "common/ must not include actor/, learner/ or bench/"
check actor/envs "actor/(rollout|commands)|actor/[a-z_]+\.h|learner/|common/model/" "actor/envs/ must depend on common/ (not the model) only"
check learner "actor/" "learner/ must not include actor/"
check actor "learner/" "actor/ must not include learner/"
if [ $bad = 0 ]; then echo "layering: ok"; fi
exit $bad
