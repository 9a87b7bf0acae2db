// Colocated training: every learner rank also runs rollouts (the rollout engine on the same
// weights, QA environment), gathers the global batch from all ranks, and takes one trainer
// step; versions advance one per step so the data is on-policy (lag 0). This is the
// single-host / laptop mode; the actor fleet over ZeroMQ replaces the in-process rollouts on a
// cluster (same Trainer, same trajectories).
//
// Per step: rollouts (SFT: the scripted expert plays, for warm-starting) -> all-gather ->
// Trainer::Step -> one JSON line in <run.dir>/metrics.jsonl -> checkpoint every
// learner.checkpoint_every steps (rank 0; last keep_checkpoints kept). At the end the policy is
// exported as an HF checkpoint to <run.dir>/policy with the tokenizer.
#ifndef MEM1_LEARNER_COLOCATED_LOOP_H_
#define MEM1_LEARNER_COLOCATED_LOOP_H_

#include <string>

#include "common/config/config.h"
#include "learner/communicator.h"

namespace mem1 {

// `resume`: run directory or checkpoint file ("" = fresh start). `steps_override` > 0 caps the
// number of steps of this invocation (for tests and demos).
[[nodiscard]] Status RunColocatedTraining(const Mem1Config& config, const std::string& resume, Communicator* comm,
                                          int64_t steps_override = 0);

}  // namespace mem1

#endif  // MEM1_LEARNER_COLOCATED_LOOP_H_
