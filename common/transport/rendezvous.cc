#include "common/transport/rendezvous.h"

#include "common/util/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace mem1 {

std::string RendezvousPath(const std::string& run_dir) { return run_dir + "/rendezvous.json"; }

std::string HostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == 0) return "localhost";
  return buf;
}

Status WriteRendezvous(const std::string& path, const Rendezvous& r) {
  nlohmann::json j = {{"format_version", 1},
                      {"incarnation", r.incarnation},
                      {"state", r.state},
                      {"world_size", r.world_size},
                      {"trajectory_endpoints", r.trajectory_endpoints},
                      {"weights_endpoint", r.weights_endpoint},
                      {"policy_version", r.policy_version},
                      {"updated_unix", std::chrono::duration<double>(
                                           std::chrono::system_clock::now().time_since_epoch()).count()}};
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f) return Internal(tmp + ": cannot write the rendezvous file");
    f << j.dump(2) << "\n";
    if (!f.good()) return Internal(tmp + ": write failed");
  }
  return DurableRename(tmp, path);
}

Result<Rendezvous> ReadRendezvous(const std::string& path) {
  std::ifstream f(path);
  if (!f) return NotFound(path + ": no rendezvous file (is the learner running with this run.dir?)");
  std::stringstream ss;
  ss << f.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return DataLoss(path + ": not a JSON object");
  Rendezvous r;
  try {
    if (j.value("format_version", 0) != 1) {
      return DataLoss(path + ": rendezvous format_version " + j.value("format_version", nlohmann::json()).dump() +
                      ", this build reads 1");
    }
    r.incarnation = j.at("incarnation").get<std::string>();
    r.state = j.at("state").get<std::string>();
    r.world_size = j.at("world_size").get<int32_t>();
    r.trajectory_endpoints = j.at("trajectory_endpoints").get<std::vector<std::string>>();
    r.weights_endpoint = j.at("weights_endpoint").get<std::string>();
    r.policy_version = j.value("policy_version", int64_t{0});
  } catch (const nlohmann::json::exception& e) {
    return DataLoss(path + ": " + e.what());
  }
  if (r.world_size < 1 || static_cast<int32_t>(r.trajectory_endpoints.size()) != r.world_size) {
    return DataLoss(path + ": world_size " + std::to_string(r.world_size) + " but " +
                    std::to_string(r.trajectory_endpoints.size()) + " trajectory endpoints");
  }
  if (r.state != "running" && r.state != "finished") return DataLoss(path + ": unknown state \"" + r.state + "\"");
  return r;
}

}  // namespace mem1
