#include "common/transport/curve.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "common/transport/zmq_context.h"
#include "common/util/files.h"

namespace mem1 {
namespace fs = std::filesystem;

bool CurveAvailable() { return zmq_has("curve") != 0; }

Result<CurveKeyPair> GenerateCurveKeyPair() {
  if (!CurveAvailable()) return Unimplemented("this libzmq was built without CURVE (zmq_has(\"curve\") is false)");
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0) return Internal(std::string("zmq_curve_keypair: ") + zmq_strerror(zmq_errno()));
  return CurveKeyPair{std::string(pub, 40), std::string(sec, 40)};
}

Status ValidateZ85Key(const std::string& key, const std::string& what) {
  if (key.size() != 40) {
    return InvalidArgument(what + ": a CURVE key is 40 Z85 characters, got " + std::to_string(key.size()));
  }
  uint8_t raw[32];
  if (zmq_z85_decode(raw, key.c_str()) == nullptr) return InvalidArgument(what + ": not a Z85 string");
  return Status::Ok();
}

namespace {

Status WriteNew(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) return InvalidArgument(path + " exists: refusing to overwrite a key (remove it first)");
    return Internal("cannot create " + path + ": " + ErrnoText());
  }
  Status st = PwriteAll(fd, text.data(), text.size(), 0, path);
  if (st.ok()) st = SyncFd(fd, path);
  ::close(fd);
  return st;
}

Result<std::vector<std::string>> ReadLines(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return InvalidArgument(path + ": is a directory, not a key file");
  std::ifstream in(path);
  if (!in) return NotFound("cannot read " + path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (lines.size() > 100000) return InvalidArgument(path + ": more than 100000 lines: not a key file");
    lines.push_back(line);
  }
  return lines;
}

// "word value" lines of a key file.
Result<std::map<std::string, std::string>> ReadKeyFields(const std::string& path) {
  MEM1_ASSIGN_OR_RETURN(auto lines, ReadLines(path));
  std::map<std::string, std::string> fields;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::istringstream ss(lines[i]);
    std::string word, value, extra;
    if (!(ss >> word)) continue;
    if (word[0] == '#') continue;
    if (!(ss >> value) || (ss >> extra) || (word != "public" && word != "secret")) {
      return InvalidArgument(path + ":" + std::to_string(i + 1) + ": expected \"public <Z85 key>\" or \"secret <Z85 key>\"");
    }
    MEM1_RETURN_IF_ERROR(ValidateZ85Key(value, path + ":" + std::to_string(i + 1)));
    fields[word] = value;
  }
  return fields;
}

}  // namespace

Status WriteCurveKeyPair(const std::string& dir, const std::string& name, const CurveKeyPair& pair) {
  MEM1_RETURN_IF_ERROR(ValidateZ85Key(pair.public_key, "public key"));
  MEM1_RETURN_IF_ERROR(ValidateZ85Key(pair.secret_key, "secret key"));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Internal("cannot create " + dir + ": " + ec.message());
  const std::string base = (fs::path(dir) / name).string();
  MEM1_RETURN_IF_ERROR(WriteNew(base + ".key", "public " + pair.public_key + "\nsecret " + pair.secret_key + "\n", 0600));
  return WriteNew(base + ".pub", "public " + pair.public_key + "\n", 0644);
}

Result<CurveKeyPair> ReadCurveKeyFile(const std::string& path) {
  MEM1_ASSIGN_OR_RETURN(auto fields, ReadKeyFields(path));
  if (!fields.count("public") || !fields.count("secret")) {
    return InvalidArgument(path + ": a key file needs a \"public\" and a \"secret\" line");
  }
  char derived[41];
  if (zmq_curve_public(derived, fields["secret"].c_str()) != 0 || std::string(derived, 40) != fields["public"]) {
    return InvalidArgument(path + ": the public key does not belong to the secret key");
  }
  return CurveKeyPair{fields["public"], fields["secret"]};
}

Result<std::string> ReadCurvePublicKeyFile(const std::string& path) {
  MEM1_ASSIGN_OR_RETURN(auto fields, ReadKeyFields(path));
  if (!fields.count("public")) return InvalidArgument(path + ": no \"public <Z85 key>\" line");
  return fields["public"];
}

Result<std::map<std::string, std::string>> ReadAuthorizedKeys(const std::string& path) {
  MEM1_ASSIGN_OR_RETURN(auto lines, ReadLines(path));
  std::map<std::string, std::string> keys;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string where = path + ":" + std::to_string(i + 1);
    std::istringstream ss(lines[i]);
    std::string key, name, extra;
    if (!(ss >> key) || key[0] == '#') continue;
    ss >> name;
    if (ss >> extra) return InvalidArgument(where + ": expected \"<Z85 public key> [name]\"");
    MEM1_RETURN_IF_ERROR(ValidateZ85Key(key, where));
    if (!keys.emplace(key, name).second) return InvalidArgument(where + ": key listed twice");
  }
  return keys;
}

Result<CurveServerOptions> LoadCurveServerOptions(const std::string& keys_dir) {
  CurveServerOptions o;
  if (keys_dir.empty()) return o;
  if (!CurveAvailable()) return Unimplemented("security.keys_dir is set but this libzmq has no CURVE support");
  MEM1_ASSIGN_OR_RETURN(o.server, ReadCurveKeyFile((fs::path(keys_dir) / "learner.key").string()));
  o.authorized_keys = (fs::path(keys_dir) / "authorized_keys").string();
  MEM1_ASSIGN_OR_RETURN(auto keys, ReadAuthorizedKeys(o.authorized_keys));
  if (keys.empty()) LOG(WARNING) << o.authorized_keys << " lists no actor key: every actor will be refused";
  return o;
}

Result<CurveClientOptions> LoadCurveClientOptions(const std::string& keys_dir, const std::string& actor_key) {
  CurveClientOptions o;
  if (keys_dir.empty()) return o;
  if (!CurveAvailable()) return Unimplemented("security.keys_dir is set but this libzmq has no CURVE support");
  MEM1_ASSIGN_OR_RETURN(o.client, ReadCurveKeyFile((fs::path(keys_dir) / (actor_key + ".key")).string()));
  MEM1_ASSIGN_OR_RETURN(o.server_public_key, ReadCurvePublicKeyFile((fs::path(keys_dir) / "learner.pub").string()));
  return o;
}

// ---- the gate and the process's ZAP handler ----

struct CurveGate::State {
  std::mutex mu;
  std::string path;
  std::map<std::string, std::string> keys;
  std::set<std::string> banned;
  fs::file_time_type mtime{};
  uintmax_t size = 0;
  std::atomic<int64_t> refused{0}, accepted{0};

  // Re-reads the file when its time stamp or size changed. Caller holds mu.
  void Refresh() {
    std::error_code ec;
    const auto t = fs::last_write_time(path, ec);
    const auto n = ec ? 0 : fs::file_size(path, ec);
    if (ec) {
      if (!keys.empty()) LOG(WARNING) << "cannot stat " << path << " (" << ec.message() << "): every key is refused";
      keys.clear();
      mtime = {};
      size = 0;
      return;
    }
    if (t == mtime && n == size) return;
    auto k = ReadAuthorizedKeys(path);
    mtime = t;
    size = n;
    if (!k.ok()) {
      LOG(WARNING) << "authorized keys not reloaded, the last good list stays: " << k.status().message();
      return;
    }
    LOG(INFO) << "authorized keys " << path << ": " << k.value().size() << " actor key(s)";
    keys = std::move(k).value();
  }
};

namespace {

class ZapHandler {
 public:
  static ZapHandler& Get() {
    static ZapHandler* h = new ZapHandler();  // never destroyed: its thread serves until exit
    return *h;
  }
  std::string Register(CurveGate* gate) {
    std::lock_guard<std::mutex> l(mu_);
    const std::string domain = "mem1-" + std::to_string(next_++);
    gates_[domain] = gate;
    return domain;
  }
  void Unregister(const std::string& domain) {
    std::lock_guard<std::mutex> l(mu_);
    gates_.erase(domain);
  }

 private:
  ZapHandler() {
    socket_ = zmq_socket(FleetZmqContext(), ZMQ_REP);
    CHECK(socket_ != nullptr) << "zmq_socket(REP): " << zmq_strerror(zmq_errno());
    CHECK_EQ(zmq_bind(socket_, "inproc://zeromq.zap.01"), 0) << "cannot bind the ZAP endpoint: " << zmq_strerror(zmq_errno());
    std::thread([this] { Loop(); }).detach();
  }

  void Loop() {
    std::vector<std::string> frames;
    while (true) {
      frames.clear();
      bool more = true;
      while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, socket_, 0) < 0) {
          zmq_msg_close(&m);
          if (zmq_errno() == ETERM) return;
          frames.clear();
          more = false;
          continue;
        }
        frames.emplace_back(static_cast<const char*>(zmq_msg_data(&m)), zmq_msg_size(&m));
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
      }
      if (frames.empty()) continue;  // interrupted before a request arrived
      // version, request id, domain, address, routing id, mechanism, credentials...
      std::string code = "400", text = "refused", user;
      if (frames.size() < 6) {
        code = "500";
        text = "malformed ZAP request";
        frames.resize(2);
      } else {
        std::lock_guard<std::mutex> l(mu_);
        auto it = gates_.find(frames[2]);
        if (frames[0] != "1.0") {
          code = "500";
          text = "unsupported ZAP version";
        } else if (it == gates_.end()) {
          text = "unknown domain";
        } else if (frames[5] != "CURVE" || frames.size() < 7 || frames[6].size() != 32) {
          text = "CURVE required";
          it->second->CountHandshake(false);
        } else {
          char z85[41];
          zmq_z85_encode(z85, reinterpret_cast<const uint8_t*>(frames[6].data()), 32);
          const std::string key(z85, 40);
          const bool ok = it->second->Admits(key);
          it->second->CountHandshake(ok);
          if (ok) {
            code = "200";
            text = "OK";
            user = key;
          } else {
            LOG(WARNING) << "refused a CURVE handshake from " << frames[3] << ": key " << key << " is not authorized";
          }
        }
      }
      const std::string version = "1.0", metadata;
      const std::vector<const std::string*> reply = {&version, &frames[1], &code, &text, &user, &metadata};
      for (size_t i = 0; i < reply.size(); ++i) {
        zmq_send(socket_, reply[i]->data(), reply[i]->size(), i + 1 < reply.size() ? ZMQ_SNDMORE : 0);
      }
    }
  }

  std::mutex mu_;
  std::map<std::string, CurveGate*> gates_;
  int64_t next_ = 0;
  void* socket_ = nullptr;
};

}  // namespace

Result<std::shared_ptr<CurveGate>> CurveGate::Create(const std::string& authorized_keys) {
  MEM1_ASSIGN_OR_RETURN(auto keys, ReadAuthorizedKeys(authorized_keys));
  std::shared_ptr<CurveGate> g(new CurveGate());
  g->state_ = std::make_unique<State>();
  g->state_->path = authorized_keys;
  {
    std::lock_guard<std::mutex> l(g->state_->mu);
    g->state_->Refresh();
  }
  g->domain_ = ZapHandler::Get().Register(g.get());
  return g;
}

CurveGate::~CurveGate() {
  if (!domain_.empty()) ZapHandler::Get().Unregister(domain_);
}

bool CurveGate::Admits(const std::string& public_key) {
  std::lock_guard<std::mutex> l(state_->mu);
  state_->Refresh();
  return state_->keys.count(public_key) > 0 && state_->banned.count(public_key) == 0;
}

void CurveGate::Ban(const std::string& public_key) {
  std::lock_guard<std::mutex> l(state_->mu);
  state_->banned.insert(public_key);
}

std::string CurveGate::NameOf(const std::string& public_key) {
  std::lock_guard<std::mutex> l(state_->mu);
  auto it = state_->keys.find(public_key);
  return it == state_->keys.end() ? "" : it->second;
}

int64_t CurveGate::refused_handshakes() const { return state_->refused.load(); }
int64_t CurveGate::accepted_handshakes() const { return state_->accepted.load(); }
void CurveGate::CountHandshake(bool accepted) { ++(accepted ? state_->accepted : state_->refused); }

}  // namespace mem1
