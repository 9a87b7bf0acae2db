#include "learner/trajectory_source.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

namespace mem1 {

std::string RankStoreDir(const std::string& run_dir, int rank) {
  char name[32];
  std::snprintf(name, sizeof(name), "rank-%05d", rank);
  return run_dir + "/store/" + name;
}

std::vector<std::string> FindStoreDirs(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  std::error_code ec;
  if (fs::exists(fs::path(dir) / "journal.log", ec)) return {dir};
  for (const auto& e : fs::directory_iterator(fs::path(dir) / "store", ec)) {
    if (e.is_directory() && e.path().filename().string().rfind("rank-", 0) == 0) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  if (out.empty()) {
    // A store with only shards (journal not yet created) still counts.
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      if (e.path().filename().string().rfind("shard-", 0) == 0) return {dir};
    }
  }
  return out;
}

// ---- StoreTrajectorySource ----

StoreTrajectorySource::StoreTrajectorySource(std::unique_ptr<TrajectoryStore> store, int64_t cursor)
    : store_(std::move(store)), cursor_(cursor) {
  CHECK(store_ != nullptr);
}

Result<AppendResult> StoreTrajectorySource::Append(const proto::Trajectory& t) {
  std::lock_guard<std::mutex> l(mu_);
  if (closed_) return Unavailable("trajectory intake closed");
  MEM1_ASSIGN_OR_RETURN(AppendResult r, store_->Append(t));
  if (!r.duplicate && recent_.size() < 4096) recent_.emplace(r.index, t);
  cv_.notify_all();
  return r;
}

Result<std::optional<proto::Trajectory>> StoreTrajectorySource::Next(double timeout_s) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, std::chrono::duration<double>(timeout_s), [&] { return closed_ || store_->size() > cursor_; });
  if (store_->size() <= cursor_) {
    if (closed_) return Unavailable("trajectory intake closed");
    return std::optional<proto::Trajectory>();
  }
  auto it = recent_.find(cursor_);
  if (it != recent_.end()) {
    proto::Trajectory t = std::move(it->second);
    recent_.erase(recent_.begin(), std::next(it));
    ++cursor_;
    return std::optional<proto::Trajectory>(std::move(t));
  }
  MEM1_ASSIGN_OR_RETURN(proto::Trajectory t, store_->Read(cursor_));
  ++cursor_;
  return std::optional<proto::Trajectory>(std::move(t));
}

void StoreTrajectorySource::Close() {
  std::lock_guard<std::mutex> l(mu_);
  closed_ = true;
  cv_.notify_all();
}

int64_t StoreTrajectorySource::cursor() const {
  std::lock_guard<std::mutex> l(mu_);
  return cursor_;
}

int64_t StoreTrajectorySource::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return store_->size();
}

Status StoreTrajectorySource::CloseStore() {
  std::lock_guard<std::mutex> l(mu_);
  closed_ = true;
  cv_.notify_all();
  return store_->Close();
}

// ---- InProcessTrajectoryQueue ----

InProcessTrajectoryQueue::InProcessTrajectoryQueue(size_t capacity) : capacity_(capacity) { CHECK_GE(capacity, 1u); }

Status InProcessTrajectoryQueue::Push(proto::Trajectory t) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return closed_ || q_.size() < capacity_; });
  if (closed_) return Unavailable("trajectory queue closed");
  q_.push_back(std::move(t));
  cv_.notify_all();
  return Status::Ok();
}

Result<std::optional<proto::Trajectory>> InProcessTrajectoryQueue::Next(double timeout_s) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, std::chrono::duration<double>(timeout_s), [&] { return closed_ || !q_.empty(); });
  if (q_.empty()) {
    if (closed_) return Unavailable("trajectory queue closed");
    return std::optional<proto::Trajectory>();
  }
  proto::Trajectory t = std::move(q_.front());
  q_.pop_front();
  ++consumed_;
  cv_.notify_all();
  return std::optional<proto::Trajectory>(std::move(t));
}

void InProcessTrajectoryQueue::Close() {
  std::lock_guard<std::mutex> l(mu_);
  closed_ = true;
  cv_.notify_all();
}

int64_t InProcessTrajectoryQueue::cursor() const {
  std::lock_guard<std::mutex> l(mu_);
  return consumed_;
}

// ---- OfflineStoreSource ----

Result<std::unique_ptr<OfflineStoreSource>> OfflineStoreSource::Open(const std::string& path, int rank, int world,
                                                                     int epochs, uint64_t seed, int64_t cursor) {
  // A comma-separated list mixes several stores (e.g. expert trajectories and copy samples):
  // their records are shuffled together, so each store's share of a batch is its share of the
  // records.
  std::vector<std::string> dirs;
  for (size_t begin = 0; begin <= path.size();) {
    size_t end = path.find(',', begin);
    if (end == std::string::npos) end = path.size();
    const std::string one = path.substr(begin, end - begin);
    begin = end + 1;
    if (one.empty()) return InvalidArgument("offline store list \"" + path + "\" has an empty entry");
    const auto found = FindStoreDirs(one);
    if (found.empty()) return NotFound(one + ": no trajectory store (expected journal.log/shards or store/rank-*/)");
    dirs.insert(dirs.end(), found.begin(), found.end());
  }
  std::unique_ptr<OfflineStoreSource> s(new OfflineStoreSource());
  int64_t global = 0;
  for (size_t k = 0; k < dirs.size(); ++k) {
    MEM1_ASSIGN_OR_RETURN(auto store, TrajectoryStore::OpenReadOnly(dirs[k]));
    for (int64_t i = 0; i < store->size(); ++i, ++global) {
      if (global % world == rank) s->mine_.emplace_back(static_cast<int>(k), i);
    }
    s->stores_.push_back(std::move(store));
  }
  if (s->mine_.empty()) return NotFound(path + ": the trajectory store holds no records for rank " + std::to_string(rank));
  s->epochs_ = epochs;
  s->seed_ = seed;
  s->cursor_ = cursor;
  return s;
}

Result<std::optional<proto::Trajectory>> OfflineStoreSource::Next(double) {
  const int64_t n = static_cast<int64_t>(mine_.size());
  if (closed_ || cursor_ >= n * epochs_) return Unavailable("offline trajectory store exhausted");
  const int64_t epoch = cursor_ / n, k = cursor_ % n;
  if (k == 0 || static_cast<int64_t>(order_.size()) != n) {
    order_.resize(n);
    for (int64_t i = 0; i < n; ++i) order_[i] = i;
    std::mt19937_64 rng(seed_ + 1000003ull * epoch);
    std::shuffle(order_.begin(), order_.end(), rng);
  }
  const auto [store, index] = mine_[order_[k]];
  MEM1_ASSIGN_OR_RETURN(proto::Trajectory t, stores_[store]->Read(index));
  ++cursor_;
  return std::optional<proto::Trajectory>(std::move(t));
}

}  // namespace mem1
