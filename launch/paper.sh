#!/usr/bin/env bash
# The longer version of the quickstart's recipe (<= 3 hours on 2 cores, no GPU, no downloads):
# more expert data, 5x the SFT steps, 10x the PPO steps on the actor fleet, and the paper's
# evaluation grid with >= 200 held-out tasks per cell for N <= 4 (100 for N = 8 and 16).
# Every quickstart variable can still be overridden: RUN=runs/paper2 SFT_STEPS=3000 launch/paper.sh
# ENV=webshop runs the WebShop version (the quickstart's WebShop pipeline, larger).
set -euo pipefail
cd "$(dirname "$0")/.."
export RUN=${RUN:-runs/paper$([ "${ENV:-qa}" = webshop ] && echo -webshop)}
export ENTITIES=${ENTITIES:-400}
export EXPERT_TASKS=${EXPERT_TASKS:-6000}
export SFT_STEPS=${SFT_STEPS:-1500}
export PPO_STEPS=${PPO_STEPS:-100}
export PPO_BATCH=${PPO_BATCH:-32}
export EVAL_TASKS=${EVAL_TASKS:-200}
export EVAL_TASKS_LARGE=${EVAL_TASKS_LARGE:-100}
export PRODUCTS=${PRODUCTS:-2000}
exec launch/quickstart.sh "$@"
