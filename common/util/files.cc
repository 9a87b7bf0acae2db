#include "common/util/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace mem1 {

Status SyncPath(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDWR);
  if (fd < 0) return Internal(path + ": cannot open to fsync: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const std::string err = rc != 0 ? std::strerror(errno) : "";
  ::close(fd);
  if (rc != 0) return Internal(path + ": fsync failed: " + err);
  return Status::Ok();
}

Status DurableRename(const std::string& tmp, const std::string& path) {
  MEM1_RETURN_IF_ERROR(SyncPath(tmp, /*directory=*/false));
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Internal(path + ": rename from " + tmp + " failed: " + std::strerror(errno));
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  return SyncPath(dir, /*directory=*/true);
}

}  // namespace mem1
