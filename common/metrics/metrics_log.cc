// MetricsLog: JSONL lines + TensorBoard scalars (format in metrics_log.h).
#include "common/metrics/metrics_log.h"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>

namespace mem1 {
namespace {

// JSON text of a string (quoted, escaped); throws nlohmann::json::type_error on invalid UTF-8.
std::string JsonString(const std::string& s) { return nlohmann::json(s).dump(); }

// Shortest round-trip form; NaN and infinities become null.
std::string JsonNumber(double v) { return nlohmann::json(v).dump(); }

}  // namespace

Result<std::unique_ptr<MetricsLog>> MetricsLog::Open(const std::string& jsonl_path, const std::string& tb_dir,
                                                     const std::string& tb_suffix) {
  if (jsonl_path.empty()) return InvalidArgument("metrics JSONL path is empty");
  const std::filesystem::path parent = std::filesystem::path(jsonl_path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return Internal("cannot create directory " + parent.string() + " for " + jsonl_path + ": " + ec.message());
  }
  std::unique_ptr<TensorBoardWriter> tensorboard;
  if (!tb_dir.empty()) {
    MEM1_ASSIGN_OR_RETURN(tensorboard, TensorBoardWriter::Open(tb_dir, tb_suffix));
  }
  std::FILE* jsonl = std::fopen(jsonl_path.c_str(), "ae");  // "e": O_CLOEXEC
  if (jsonl == nullptr) return Internal("cannot open " + jsonl_path + " for appending: " + std::strerror(errno));
  return std::unique_ptr<MetricsLog>(new MetricsLog(jsonl_path, jsonl, std::move(tensorboard)));
}

MetricsLog::~MetricsLog() {
  if (std::fclose(jsonl_) != 0) LOG(ERROR) << "closing metrics log " << jsonl_path_ << ": " << std::strerror(errno);
}

Status MetricsLog::Log(int64_t step, const std::vector<std::pair<std::string, double>>& values) {
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  // Build (and validate) the whole line before writing anything.
  std::string& line = line_;
  line.clear();
  line += "{\"step\": " + std::to_string(step) + ", \"time\": " + JsonNumber(now);
  std::set<std::string> seen;
  for (const auto& [key, value] : values) {
    if (key.empty() || key == "step" || key == "time") {
      return InvalidArgument("metrics key \"" + key + "\" is empty or reserved (step " + std::to_string(step) + ")");
    }
    if (!seen.insert(key).second) {
      return InvalidArgument("metrics key \"" + key + "\" given twice (step " + std::to_string(step) + ")");
    }
    try {
      line += ", " + JsonString(key) + ": " + JsonNumber(value);
    } catch (const nlohmann::json::exception& e) {
      return InvalidArgument("metrics key is not valid UTF-8 (step " + std::to_string(step) + "): " + e.what());
    }
  }
  line += "}\n";
  if (std::fwrite(line.data(), 1, line.size(), jsonl_) != line.size()) {
    return Internal("writing metrics log " + jsonl_path_ + ": " + std::strerror(errno));
  }
  if (tensorboard_ != nullptr) {
    for (const auto& [key, value] : values) {
      if (std::isfinite(value)) MEM1_RETURN_IF_ERROR(tensorboard_->AddScalar(key, step, value, now));
    }
  }
  return Status::Ok();
}

Status MetricsLog::Flush() {
  if (std::fflush(jsonl_) != 0) return Internal("flushing metrics log " + jsonl_path_ + ": " + std::strerror(errno));
  if (tensorboard_ != nullptr) MEM1_RETURN_IF_ERROR(tensorboard_->Flush());
  return Status::Ok();
}

}  // namespace mem1
