// Durable file replacement: the write-temp, fsync, rename, fsync-directory sequence that
// checkpoints, the rendezvous file and trajectory-store shards use so that a crash leaves
// either the old file or the new one, never a torn one. Plus the positional-I/O helpers on
// open file descriptors that the trajectory store's journal is written and read with.
// Thread safety: pure functions (file-system calls only).
#ifndef MEM1_COMMON_UTIL_FILES_H_
#define MEM1_COMMON_UTIL_FILES_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/util/status.h"

namespace mem1 {

// fsync of a file (directory = false) or of a directory entry list (directory = true).
// INTERNAL naming the path and errno text on failure.
[[nodiscard]] Status SyncPath(const std::string& path, bool directory);

// fsyncs `tmp`, renames it over `path`, then fsyncs the parent directory of `path`.
// INTERNAL naming the paths on failure (`tmp` is left in place).
[[nodiscard]] Status DurableRename(const std::string& tmp, const std::string& path);

// strerror(errno), for messages.
std::string ErrnoText();

// Writes all n bytes at `offset` (retrying short writes and EINTR). INTERNAL naming `path`,
// the size, the offset and errno text on failure (a prefix may have been written).
[[nodiscard]] Status PwriteAll(int fd, const char* data, size_t n, int64_t offset, const std::string& path);

// Reads exactly n bytes at `offset`; DATA_LOSS when the file ends first, INTERNAL on an I/O
// error (both name `path` and the offset).
[[nodiscard]] Status PreadAll(int fd, char* data, size_t n, int64_t offset, const std::string& path);

// fdatasync(fd); INTERNAL naming `path` on failure.
[[nodiscard]] Status SyncFd(int fd, const std::string& path);

// The size of the open file in bytes (fstat); INTERNAL naming `path` on failure.
[[nodiscard]] Result<int64_t> FileSize(int fd, const std::string& path);

}  // namespace mem1

#endif  // MEM1_COMMON_UTIL_FILES_H_
