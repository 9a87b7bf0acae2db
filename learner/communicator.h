// Data-parallel communication for the learner: summing flat float32 gradient buffers across
// ranks. Backends: Local (one rank), MPI (CPU, MPI_Allreduce), NCCL (CUDA builds only,
// ncclAllReduce on device buffers). MPI/NCCL types stay in the .cc files.
// Thread safety: one training thread per communicator; calls are collective (every rank
// must call them in the same order).
#ifndef MEM1_LEARNER_COMMUNICATOR_H_
#define MEM1_LEARNER_COMMUNICATOR_H_

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/util/status.h"

namespace mem1 {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // In-place elementwise sum over ranks of a contiguous float32 or float64 tensor (device per
  // backend: CPU for MPI, CUDA for NCCL). No status by design: a failure of the collective
  // itself (a dead peer, a broken link) leaves no consistent world to agree in, so it aborts
  // the whole job (MPI_ERRORS_ARE_FATAL; NCCL errors are CHECKed) with the rank and the cause
  // in the message. Everything that can fail on one rank BEFORE a collective (I/O, data,
  // libtorch) is agreed with AgreeOnStatus below instead.
  virtual void AllReduceSum(torch::Tensor& buffer) = 0;
  // Every rank's `mine`, in rank order, on every rank (host memory; used for trajectories).
  virtual std::vector<std::string> AllGatherBytes(const std::string& mine) = 0;
  // Which implementation this is (kLocal, kMpi or kNccl): compare this, not name().
  virtual CommBackend backend() const = 0;
  // ToString(backend()): "local", "mpi" or "nccl" (logs).
  std::string name() const { return ToString(backend()); }
};

// World of one: AllReduceSum is the identity.
std::unique_ptr<Communicator> MakeLocalCommunicator();

// MPI_COMM_WORLD. Initialises MPI if needed (and finalises it at exit when it did).
[[nodiscard]] Result<std::unique_ptr<Communicator>> MakeMpiCommunicator();

// NCCL over MPI_COMM_WORLD for rank discovery; one GPU per rank (device = local rank).
// UNIMPLEMENTED in builds without NCCL.
[[nodiscard]] Result<std::unique_ptr<Communicator>> MakeNcclCommunicator();

// The rule for an error on one rank (collective: every rank calls it at the same point with
// its own status): every rank learns every status, and all return the same result, the
// first failing rank's status prefixed "rank R: " (OK when every rank is OK). Then every
// rank ends (or retries) together instead of the healthy ones blocking in the next
// collective.
[[nodiscard]] Status AgreeOnStatus(Communicator* comm, const Status& mine);

// True when this build has the NCCL backend.
bool HaveNccl();

}  // namespace mem1

#endif  // MEM1_LEARNER_COMMUNICATOR_H_
