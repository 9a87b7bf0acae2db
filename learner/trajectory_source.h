// The learner's intake interface: where a rank's training data comes from.
//
//   StoreTrajectorySource    live runs: the rank's TrajectoryStore, appended to by the intake
//                            thread (ZeroMQ) and read in store order by the training thread.
//                            Its cursor (records consumed) goes into checkpoints, so a resume
//                            retrains nothing and skips nothing.
//   InProcessTrajectoryQueue a bounded in-memory queue (tests, in-process producers).
//   OfflineStoreSource       SFT/PPO from stores written earlier (expert data generated once);
//                            rank r takes every world-th record, shuffled per epoch.
// Every source is closable: Close() wakes every waiter (TorchBeast's queue rule).
//
// Thread safety: Next() from one consumer thread; Append/Push/Close from any thread.
#ifndef MEM1_LEARNER_TRAJECTORY_SOURCE_H_
#define MEM1_LEARNER_TRAJECTORY_SOURCE_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/storage/trajectory_store.h"
#include "common/util/status.h"
#include "proto/mem1.pb.h"

namespace mem1 {

class TrajectorySource {
 public:
  virtual ~TrajectorySource() = default;
  // The next trajectory; nullopt when none arrived within timeout_s. UNAVAILABLE once closed
  // (or, offline, exhausted); DATA_LOSS / INTERNAL when a stored record cannot be read.
  [[nodiscard]] virtual Result<std::optional<proto::Trajectory>> Next(double timeout_s) = 0;
  // Wakes every waiter; later Next() calls return UNAVAILABLE once the data is drained.
  virtual void Close() = 0;
  // Records consumed so far (for checkpoints).
  virtual int64_t cursor() const = 0;
};

class StoreTrajectorySource : public TrajectorySource {
 public:
  // Reading starts at record `cursor` (a resume's checkpointed position).
  StoreTrajectorySource(std::unique_ptr<TrajectoryStore> store, int64_t cursor);
  // Intake side: stores durably (see TrajectoryStore::Append) and wakes the reader.
  [[nodiscard]] Result<AppendResult> Append(const proto::Trajectory& t);
  Result<std::optional<proto::Trajectory>> Next(double timeout_s) override;
  void Close() override;
  int64_t cursor() const override;
  int64_t size() const;
  [[nodiscard]] Status CloseStore();

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::unique_ptr<TrajectoryStore> store_;
  int64_t cursor_;
  bool closed_ = false;
  std::map<int64_t, proto::Trajectory> recent_;  // just appended, not yet read (bounded)
};

class InProcessTrajectoryQueue : public TrajectorySource {
 public:
  explicit InProcessTrajectoryQueue(size_t capacity);
  // Blocks while full; UNAVAILABLE after Close().
  [[nodiscard]] Status Push(proto::Trajectory t);
  Result<std::optional<proto::Trajectory>> Next(double timeout_s) override;
  void Close() override;
  int64_t cursor() const override;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<proto::Trajectory> q_;
  size_t capacity_;
  bool closed_ = false;
  int64_t consumed_ = 0;
};

class OfflineStoreSource : public TrajectorySource {
 public:
  // `path`: a store directory, or a run directory with store/rank-*/ (read in rank order), or a
  // comma-separated list of them, mixed (records of all shuffled together). NOT_FOUND when one
  // holds no store; INVALID_ARGUMENT for an empty list entry.
  [[nodiscard]] static Result<std::unique_ptr<OfflineStoreSource>> Open(const std::string& path, int rank, int world,
                                                                        int epochs, uint64_t seed, int64_t cursor);
  Result<std::optional<proto::Trajectory>> Next(double timeout_s) override;
  void Close() override { closed_ = true; }
  int64_t cursor() const override { return cursor_; }
  int64_t records_per_epoch() const { return static_cast<int64_t>(mine_.size()); }

 private:
  std::vector<std::unique_ptr<TrajectoryStore>> stores_;
  std::vector<std::pair<int, int64_t>> mine_;  // (store, index) of this rank's records
  std::vector<size_t> order_;
  int epochs_ = 1;
  uint64_t seed_ = 0;
  int64_t cursor_ = 0;  // over epochs * mine_.size()
  bool closed_ = false;
};

// Store directories under a run directory (<dir>/store/rank-*, rank order), or {dir} when
// `dir` is a store itself. Empty when neither.
std::vector<std::string> FindStoreDirs(const std::string& dir);

// <run_dir>/store/rank-00003
std::string RankStoreDir(const std::string& run_dir, int rank);

}  // namespace mem1

#endif  // MEM1_LEARNER_TRAJECTORY_SOURCE_H_
