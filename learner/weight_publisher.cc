#include "learner/weight_publisher.h"

#include <chrono>

#include "common/util/strings.h"

namespace mem1 {

Result<std::unique_ptr<WeightPublisher>> WeightPublisher::Start(const std::string& endpoint, int64_t chunk_bytes,
                                                                double republish_interval_s,
                                                                const CurveServerOptions& curve,
                                                                std::shared_ptr<CurveGate> gate) {
  std::unique_ptr<WeightPublisher> p(new WeightPublisher());
  MEM1_ASSIGN_OR_RETURN(p->socket_, WeightPublisherSocket::Bind(endpoint, curve, std::move(gate)));
  p->endpoint_ = p->socket_->endpoint();
  p->chunk_bytes_ = chunk_bytes;
  p->republish_interval_s_ = republish_interval_s;
  p->thread_ = std::thread([q = p.get()] { q->Loop(); });
  return p;
}

WeightPublisher::~WeightPublisher() { Stop(); }

void WeightPublisher::Stop() {
  stop_ = true;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WeightPublisher::Publish(int64_t version, std::vector<WeightTensor> tensors) {
  std::lock_guard<std::mutex> l(mu_);
  pending_version_ = version;
  pending_ = std::move(tensors);
  cv_.notify_all();
}

void WeightPublisher::Loop() {
  std::vector<std::string> current;  // serialized chunks of the newest version
  int64_t current_version = -1;
  double last_send = -1e9;
  while (!stop_) {
    std::vector<WeightTensor> fresh;
    int64_t fresh_version = -1;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_for(l, std::chrono::milliseconds(200), [&] { return stop_.load() || pending_version_ >= 0 || republish_.load(); });
      if (stop_) break;
      if (pending_version_ >= 0) {
        fresh = std::move(pending_);
        fresh_version = pending_version_;
        pending_version_ = -1;
        pending_.clear();
      }
    }
    const double now = MonotonicSeconds();
    if (fresh_version >= 0) {
      const int64_t micros = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count();
      current.clear();
      for (auto& c : ChunkWeights(fresh_version, fresh, chunk_bytes_)) {
        c.set_publish_unix_micros(micros);
        current.emplace_back();
        c.SerializeToString(&current.back());
      }
      current_version = fresh_version;
    } else if (!(republish_ && current_version >= 0 && now - last_send >= republish_interval_s_)) {
      continue;
    }
    republish_ = false;
    if (current_version < 0) continue;
    const double t0 = MonotonicSeconds();
    int64_t bytes = 0;
    for (const auto& c : current) {
      if (auto st = socket_->Publish(c); !st.ok()) {
        LOG(ERROR) << "weight publisher: " << st.message();
        break;
      }
      bytes += static_cast<int64_t>(c.size());
    }
    last_send = MonotonicSeconds();
    last_send_seconds_ = last_send - t0;
    last_send_bytes_ = bytes;
  }
}

}  // namespace mem1
