// Rank 0's weight broadcast to the actor fleet: a thread that owns the ZeroMQ PUB socket.
// Publish() hands it a new version (every parameter as float32); the thread chunks it
// (CRC32C per chunk, see common/transport/weight_chunks.h) and sends every chunk. Actors that
// connect late or report an older version get the newest version again (RequestRepublish,
// at most once per `republish_interval_s`). Actors swap only complete, verified versions.
//
// Thread safety: Publish, RequestRepublish and Stop may be called from any thread.
#ifndef MEM1_LEARNER_WEIGHT_PUBLISHER_H_
#define MEM1_LEARNER_WEIGHT_PUBLISHER_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/transport/fleet_channels.h"
#include "common/transport/weight_chunks.h"

namespace mem1 {

class WeightPublisher {
 public:
  // Binds `endpoint` (UNAVAILABLE naming it if it cannot) and starts the thread.
  // CURVE: subscribers are admitted by `gate` (curve.enabled(); null gate = its own).
  [[nodiscard]] static Result<std::unique_ptr<WeightPublisher>> Start(const std::string& endpoint, int64_t chunk_bytes,
                                                                     double republish_interval_s = 1.0,
                                                                     const CurveServerOptions& curve = {},
                                                                     std::shared_ptr<CurveGate> gate = nullptr);
  ~WeightPublisher();
  WeightPublisher(const WeightPublisher&) = delete;
  WeightPublisher& operator=(const WeightPublisher&) = delete;
  const std::string& endpoint() const { return endpoint_; }
  // Replaces the version to broadcast (an older pending one is skipped).
  void Publish(int64_t version, std::vector<WeightTensor> tensors);
  void RequestRepublish() { republish_ = true; cv_.notify_all(); }
  // Seconds the last complete send of a version took, and its bytes.
  double last_send_seconds() const { return last_send_seconds_.load(); }
  int64_t last_send_bytes() const { return last_send_bytes_.load(); }
  void Stop();

 private:
  WeightPublisher() = default;
  void Loop();

  std::unique_ptr<WeightPublisherSocket> socket_;
  std::string endpoint_;
  int64_t chunk_bytes_ = 1 << 20;
  double republish_interval_s_ = 1.0;
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t pending_version_ = -1;
  std::vector<WeightTensor> pending_;
  std::atomic<bool> republish_{false};
  std::atomic<bool> stop_{false};
  std::atomic<double> last_send_seconds_{0};
  std::atomic<int64_t> last_send_bytes_{0};
  std::thread thread_;
};

}  // namespace mem1

#endif  // MEM1_LEARNER_WEIGHT_PUBLISHER_H_
