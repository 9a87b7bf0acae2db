// The rendezvous file: how actors find the learner. Learner rank 0 writes
// <run.dir>/rendezvous.json once every rank has bound its sockets (Slurm knows hosts late;
// ports are ephemeral by default), and rewrites it with state "finished" at the end. A
// learner restart writes a new incarnation; actors watching the file reconnect.
//
// Format (JSON object, version 1):
//   {"format_version": 1, "incarnation": "host-pid-unixms", "state": "running" | "finished",
//    "world_size": R, "trajectory_endpoints": ["tcp://host:port", ... one per rank, rank order],
//    "weights_endpoint": "tcp://host:port", "policy_version": V, "updated_unix": seconds}
// Readers ignore unknown keys; a different format_version is refused.
//
// Thread safety: pure functions; the write is atomic (temp file + rename).
#ifndef MEM1_COMMON_TRANSPORT_RENDEZVOUS_H_
#define MEM1_COMMON_TRANSPORT_RENDEZVOUS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/util/status.h"

namespace mem1 {

struct Rendezvous {
  std::string incarnation;                        // changes when the learner restarts
  std::string state = "running";                  // running | finished
  int32_t world_size = 0;                         // learner ranks
  std::vector<std::string> trajectory_endpoints;  // one per rank, rank order
  std::string weights_endpoint;                   // rank 0's PUB
  int64_t policy_version = 0;                     // latest version at the time of writing
};

// <run_dir>/rendezvous.json
std::string RendezvousPath(const std::string& run_dir);

// Atomic write (temp + fsync + rename). INTERNAL naming the path on failure.
[[nodiscard]] Status WriteRendezvous(const std::string& path, const Rendezvous& r);

// NOT_FOUND when absent (the learner is not up yet: retry), DATA_LOSS when unparsable or
// inconsistent (names the path and the field).
[[nodiscard]] Result<Rendezvous> ReadRendezvous(const std::string& path);

// This node's hostname ("localhost" if it cannot be read).
std::string HostName();

}  // namespace mem1

#endif  // MEM1_COMMON_TRANSPORT_RENDEZVOUS_H_
