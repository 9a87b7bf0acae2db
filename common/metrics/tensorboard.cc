// TensorBoard event file writer: TFRecord framing + hand-encoded Event protos (see tensorboard.h).
#include "common/metrics/tensorboard.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "common/util/crc32c.h"

namespace mem1 {
namespace {

constexpr char kFileVersion[] = "brain.Event:2";

// Protobuf wire-format tags: (field number << 3) | wire type.
constexpr uint8_t kEventWallTime = (1 << 3) | 1;     // double, fixed64
constexpr uint8_t kEventStep = (2 << 3) | 0;         // int64, varint
constexpr uint8_t kEventFileVersion = (3 << 3) | 2;  // string
constexpr uint8_t kEventSummary = (5 << 3) | 2;      // Summary message
constexpr uint8_t kSummaryValue = (1 << 3) | 2;      // repeated Summary.Value
constexpr uint8_t kValueTag = (1 << 3) | 2;          // string
constexpr uint8_t kValueSimpleValue = (2 << 3) | 5;  // float, fixed32

double NowUnixSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Little-endian regardless of the host byte order.
void PutFixed32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutFixed64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutFixed32(char* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

void PutDouble(std::string* out, double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof(bits));
  PutFixed64(out, bits);
}

void PutFloat(std::string* out, float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  PutFixed32(out, bits);
}

void PutLengthDelimited(std::string* out, uint8_t tag, const std::string& bytes) {
  out->push_back(static_cast<char>(tag));
  PutVarint(out, bytes.size());
  out->append(bytes);
}

std::string Hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  std::string host(buf);
  for (char& c : host) {
    if (c == '/') c = '_';
  }
  return host;
}

}  // namespace

Result<std::unique_ptr<TensorBoardWriter>> TensorBoardWriter::Open(const std::string& dir, const std::string& suffix) {
  if (dir.empty()) return InvalidArgument("TensorBoard directory is empty");
  if (suffix.find('/') != std::string::npos) {
    return InvalidArgument("TensorBoard file suffix \"" + suffix + "\" contains '/'");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Internal("cannot create TensorBoard directory " + dir + ": " + ec.message());

  const long long seconds = static_cast<long long>(NowUnixSeconds());
  char stamp[32];
  snprintf(stamp, sizeof(stamp), "%010lld", seconds);
  const std::string base = dir + "/events.out.tfevents." + stamp + "." + Hostname() + "." + std::to_string(getpid());
  const std::string tail = suffix.empty() ? "" : (suffix[0] == '.' ? suffix : "." + suffix);
  // O_EXCL: never append to (or truncate) another writer's file.
  std::string path;
  int fd = -1;
  for (int attempt = 0; attempt < 1000 && fd < 0; ++attempt) {
    path = base + (attempt == 0 ? "" : "-" + std::to_string(attempt)) + tail;
    fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST) return Internal("cannot create " + path + ": " + std::strerror(errno));
  }
  if (fd < 0) return Internal("cannot create a fresh event file " + base + "-*" + tail + ": names taken");
  std::FILE* file = fdopen(fd, "wb");
  if (file == nullptr) {
    const int err = errno;
    close(fd);
    return Internal("cannot open " + path + ": " + std::strerror(err));
  }
  std::unique_ptr<TensorBoardWriter> writer(new TensorBoardWriter(path, file));

  std::string event;
  event.push_back(static_cast<char>(kEventWallTime));
  PutDouble(&event, NowUnixSeconds());
  PutLengthDelimited(&event, kEventFileVersion, kFileVersion);
  MEM1_RETURN_IF_ERROR(writer->WriteRecord(event));
  MEM1_RETURN_IF_ERROR(writer->Flush());
  return writer;
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_ == nullptr) return;
  if (std::fclose(file_) != 0) {
    LOG(ERROR) << "closing TensorBoard event file " << path_ << ": " << std::strerror(errno);
  }
}

Status TensorBoardWriter::AddScalar(const std::string& tag, int64_t step, double value, double wall_time) {
  if (!error_.ok()) return error_;
  if (tag.empty()) return InvalidArgument("TensorBoard scalar with an empty tag (file " + path_ + ")");
  if (wall_time < 0) wall_time = NowUnixSeconds();

  // Sizes first, so the nested messages are written straight into one reused buffer.
  const size_t value_size = 1 + VarintSize(tag.size()) + tag.size() + 1 + 4;
  const size_t summary_size = 1 + VarintSize(value_size) + value_size;
  std::string& e = scratch_;
  e.clear();
  e.push_back(static_cast<char>(kEventWallTime));
  PutDouble(&e, wall_time);
  if (step != 0) {  // proto3: a zero step is the default and is not written
    e.push_back(static_cast<char>(kEventStep));
    PutVarint(&e, static_cast<uint64_t>(step));  // negative int64: ten-byte two's complement varint
  }
  e.push_back(static_cast<char>(kEventSummary));
  PutVarint(&e, summary_size);
  e.push_back(static_cast<char>(kSummaryValue));
  PutVarint(&e, value_size);
  PutLengthDelimited(&e, kValueTag, tag);
  e.push_back(static_cast<char>(kValueSimpleValue));  // oneof member: written even when 0
  PutFloat(&e, static_cast<float>(value));
  return WriteRecord(e);
}

Status TensorBoardWriter::WriteRecord(const std::string& event) {
  if (!error_.ok()) return error_;
  char header[12];
  const uint64_t length = event.size();
  for (int i = 0; i < 8; ++i) header[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  PutFixed32(header + 8, MaskCrc32c(Crc32c(header, 8)));
  char footer[4];
  PutFixed32(footer, MaskCrc32c(Crc32c(event.data(), event.size())));
  if (std::fwrite(header, 1, sizeof(header), file_) != sizeof(header) ||
      std::fwrite(event.data(), 1, event.size(), file_) != event.size() ||
      std::fwrite(footer, 1, sizeof(footer), file_) != sizeof(footer)) {
    error_ = Internal("writing TensorBoard event file " + path_ + ": " + std::strerror(errno));
    return error_;
  }
  return Status::Ok();
}

Status TensorBoardWriter::Flush() {
  if (!error_.ok()) return error_;
  if (std::fflush(file_) != 0) {
    error_ = Internal("flushing TensorBoard event file " + path_ + ": " + std::strerror(errno));
    return error_;
  }
  return Status::Ok();
}

}  // namespace mem1
