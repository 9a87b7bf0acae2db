// Durable file replacement: the write-temp, fsync, rename, fsync-directory sequence that
// checkpoints, the rendezvous file and trajectory-store shards use so that a crash leaves
// either the old file or the new one, never a torn one.
// Thread safety: pure functions (file-system calls only).
#ifndef MEM1_COMMON_UTIL_FILES_H_
#define MEM1_COMMON_UTIL_FILES_H_

#include <string>

#include "common/util/status.h"

namespace mem1 {

// fsync of a file (directory = false) or of a directory entry list (directory = true).
// INTERNAL naming the path and errno text on failure.
[[nodiscard]] Status SyncPath(const std::string& path, bool directory);

// fsyncs `tmp`, renames it over `path`, then fsyncs the parent directory of `path`.
// INTERNAL naming the paths on failure (`tmp` is left in place).
[[nodiscard]] Status DurableRename(const std::string& tmp, const std::string& path);

}  // namespace mem1

#endif  // MEM1_COMMON_UTIL_FILES_H_
