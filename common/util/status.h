// Status and Result<T>: the error type for bad input from users, files, the network or the
// model. Programmer errors use glog CHECK instead. Every fallible public function in mem1
// returns one of these, marked [[nodiscard]].
//
// Thread safety: plain values; safe to copy between threads.
#ifndef MEM1_COMMON_UTIL_STATUS_H_
#define MEM1_COMMON_UTIL_STATUS_H_

#include <optional>
#include <string>
#include <utility>

#include <glog/logging.h>

namespace mem1 {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // bad config value, malformed input: fix the input, do not retry
  kNotFound,         // a named file / key / token does not exist
  kDataLoss,         // a file or message is truncated or corrupt
  kUnavailable,      // transient (peer down, queue closed): retry may succeed
  kResourceExhausted,  // out of slots / memory / budget: retry smaller
  kUnimplemented,    // a valid request this build does not support (e.g. dtype)
  kInternal,         // a library (libtorch, HDF5, ...) failed unexpectedly
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: <message>" or "OK".
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return Status(StatusCode::kInvalidArgument, std::move(m)); }
inline Status NotFound(std::string m) { return Status(StatusCode::kNotFound, std::move(m)); }
inline Status DataLoss(std::string m) { return Status(StatusCode::kDataLoss, std::move(m)); }
inline Status Unavailable(std::string m) { return Status(StatusCode::kUnavailable, std::move(m)); }
inline Status ResourceExhausted(std::string m) { return Status(StatusCode::kResourceExhausted, std::move(m)); }
inline Status Unimplemented(std::string m) { return Status(StatusCode::kUnimplemented, std::move(m)); }
inline Status Internal(std::string m) { return Status(StatusCode::kInternal, std::move(m)); }

// Result<T>: either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    CHECK(!status_.ok()) << "Result constructed from an OK status without a value";
  }
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  // Precondition: ok(). Violations are programmer errors (CHECK).
  T& value() & { CHECK(ok()) << status_.ToString(); return *value_; }
  const T& value() const& { CHECK(ok()) << status_.ToString(); return *value_; }
  // By value (moved out), so `for (auto& x : F().value())` cannot dangle on a temporary Result.
  T value() && { CHECK(ok()) << status_.ToString(); return std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace mem1

// Propagate a non-OK Status from an expression returning Status.
#define MEM1_RETURN_IF_ERROR(expr)            \
  do {                                        \
    ::mem1::Status _mem1_st = (expr);         \
    if (!_mem1_st.ok()) return _mem1_st;      \
  } while (0)

#define MEM1_CONCAT_INNER(a, b) a##b
#define MEM1_CONCAT(a, b) MEM1_CONCAT_INNER(a, b)
// `MEM1_ASSIGN_OR_RETURN(auto x, Fn());` assigns the value or returns the error.
#define MEM1_ASSIGN_OR_RETURN(lhs, expr)                          \
  auto MEM1_CONCAT(_mem1_res_, __LINE__) = (expr);                \
  if (!MEM1_CONCAT(_mem1_res_, __LINE__).ok())                    \
    return MEM1_CONCAT(_mem1_res_, __LINE__).status();            \
  lhs = std::move(MEM1_CONCAT(_mem1_res_, __LINE__)).value()

#endif  // MEM1_COMMON_UTIL_STATUS_H_
