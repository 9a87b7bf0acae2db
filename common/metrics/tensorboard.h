// TensorBoard event files written natively (no TensorFlow, no Python, no generated TF protos).
//
// File: <dir>/events.out.tfevents.<unix seconds, 10 digits>.<hostname>.<pid>[.<suffix>]
// (TensorBoard loads every file whose name contains "tfevents"; the pid keeps writers of
// several processes on one host apart; if the name is taken, "-<n>" is added to the pid).
//
// Format: a sequence of TFRecords, each
//   uint64 little-endian  length of data (bytes)
//   uint32 little-endian  MaskCrc32c(Crc32c(the 8 length bytes))
//   data                  one serialized tensorboard.Event
//   uint32 little-endian  MaskCrc32c(Crc32c(data))
// Record 0 is Event{wall_time, file_version: "brain.Event:2"}; every later record is
// Event{wall_time, step, summary: Summary{value: [Value{tag, simple_value}]}}. The protobuf
// wire encoding is written by hand with the field numbers of tensorboard/compat/proto:
//   Event: wall_time = 1 (double), step = 2 (int64 varint), file_version = 3 (string),
//          summary = 5 (Summary);
//   Summary: value = 1 (repeated Value); Summary.Value: tag = 1 (string), simple_value = 2 (float).
// tests/e2e/read_tensorboard.py is an independent reader of this format.
//
// Durability: records are buffered in the process; Flush() hands them to the OS (fflush), so
// they survive a crash of this process but not of the machine (no fsync).
//
// Thread safety: not thread-safe; one thread owns a writer.
#ifndef MEM1_COMMON_METRICS_TENSORBOARD_H_
#define MEM1_COMMON_METRICS_TENSORBOARD_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include "common/util/status.h"

namespace mem1 {

class TensorBoardWriter {
 public:
  // Creates `dir` (and its parents) if needed and a new event file in it, and writes the
  // file_version record. INVALID_ARGUMENT if dir is empty or suffix contains '/';
  // INTERNAL (naming the path and errno text) if the directory or file cannot be created or
  // written. A leading '.' in `suffix` is not doubled.
  [[nodiscard]] static Result<std::unique_ptr<TensorBoardWriter>> Open(const std::string& dir,
                                                                       const std::string& suffix = "");
  // Flushes and closes the file (errors are logged, not returned; call Flush() to see them).
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // Appends one scalar event. `value` is stored as float (TensorBoard's simple_value); NaN and
  // infinities are stored as they are. wall_time: unix seconds; any negative value (the
  // default -1) means now. INVALID_ARGUMENT if tag is empty; INTERNAL (with the path) on a
  // write error. After a write error the writer is failed: every later call returns that
  // error (the file may end in a partial record, which readers treat as truncation).
  [[nodiscard]] Status AddScalar(const std::string& tag, int64_t step, double value, double wall_time = -1);

  // Hands buffered records to the OS (fflush). INTERNAL (with the path) on error.
  [[nodiscard]] Status Flush();

  // Path of the event file.
  const std::string& path() const { return path_; }

 private:
  TensorBoardWriter(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  // Writes `event` (a serialized Event) as one TFRecord.
  Status WriteRecord(const std::string& event);

  const std::string path_;
  std::FILE* file_;
  Status error_;         // sticky first write error
  std::string scratch_;  // reused event buffer (one AddScalar allocates nothing in steady state)
};

}  // namespace mem1

#endif  // MEM1_COMMON_METRICS_TENSORBOARD_H_
