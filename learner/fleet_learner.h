// The learner process's main loop (`mem1_learner`, one process per rank under mpirun/srun):
// the distributed half of the actor ⇄ learner fleet.
//
// Per rank: a TrajectoryIntake (ZeroMQ ROUTER) validates what actors send, stores it in the
// rank's TrajectoryStore (<run.dir>/store/rank-RRRRR) and acks it. The training thread reads
// the store in order and collects this rank's shard of each step's global batch
// (ceil(global_batch / ranks) trajectories); sync mode admits only trajectories of the
// current policy version (older ones are consumed and counted stale), async mode those within
// learner.ppo.max_policy_lag (the Trainer's decoupled-PPO correction handles the lag), SFT
// everything. Trainer::Step reduces the global parts over ranks (MPI on CPU, NCCL on GPU).
// Rank 0 then publishes the new weights (WeightPublisher, ZeroMQ PUB), logs metrics (JSONL +
// TensorBoard under <run.dir>/tb) and writes checkpoints that hold every rank's store cursor.
// Errors on one rank are agreed collectively (AgreeOnStatus): every rank ends with the
// failing rank's message.
//
// Rendezvous: once every rank has bound, rank 0 writes <run.dir>/rendezvous.json (endpoints,
// incarnation); at the end it marks it "finished" and acks tell actors the same.
//
// Resume (--resume RUN_DIR): the newest checkpoint restores weights, optimizer, step, LR
// schedule, policy version and every rank's store cursor; the records stored but not yet
// trained are trained first; actors reconnect through the new rendezvous incarnation and
// re-send what was not acked (stored once).
//
// Offline (learner.offline_store): the data comes from a store written earlier instead of
// actors (rank r reads every R-th record, shuffled per epoch), e.g. expert SFT data.
#ifndef MEM1_LEARNER_FLEET_LEARNER_H_
#define MEM1_LEARNER_FLEET_LEARNER_H_

#include <atomic>
#include <string>

#include "common/config/config.h"
#include "learner/communicator.h"

namespace mem1 {

// Trains until learner.total_steps (or `steps_override` more steps when > 0), `stop` (SIGINT
// / SIGTERM: a checkpoint is written, the run stays resumable) or an error on any rank.
[[nodiscard]] Status RunFleetLearner(const Mem1Config& config, const std::string& resume, Communicator* comm,
                                     int64_t steps_override, const std::atomic<bool>* stop);

}  // namespace mem1

#endif  // MEM1_LEARNER_FLEET_LEARNER_H_
