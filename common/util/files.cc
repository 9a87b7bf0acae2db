#include "common/util/files.h"

#include <fcntl.h>
#include <sys/stat.h>
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

std::string ErrnoText() { return std::strerror(errno); }

Status PwriteAll(int fd, const char* data, size_t n, int64_t offset, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, data, n, offset);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Internal(path + ": write of " + std::to_string(n) + " bytes at offset " + std::to_string(offset) +
                      " failed: " + ErrnoText());
    }
    data += w;
    n -= static_cast<size_t>(w);
    offset += w;
  }
  return Status::Ok();
}

Status PreadAll(int fd, char* data, size_t n, int64_t offset, const std::string& path) {
  while (n > 0) {
    const ssize_t r = ::pread(fd, data, n, offset);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Internal(path + ": read at offset " + std::to_string(offset) + " failed: " + ErrnoText());
    }
    if (r == 0) return DataLoss(path + ": unexpected end of file at offset " + std::to_string(offset));
    data += r;
    n -= static_cast<size_t>(r);
    offset += r;
  }
  return Status::Ok();
}

Status SyncFd(int fd, const std::string& path) {
  if (::fdatasync(fd) != 0) return Internal(path + ": fdatasync failed: " + ErrnoText());
  return Status::Ok();
}

Result<int64_t> FileSize(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Internal(path + ": fstat failed: " + ErrnoText());
  return static_cast<int64_t>(st.st_size);
}

}  // namespace mem1
