// `mem1 keys gen`: CURVE key pairs for the fleet (common/transport/curve.h).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "common/cli/cli_common.h"
#include "common/cli/commands.h"
#include "common/transport/curve.h"

namespace mem1 {
namespace {
namespace fs = std::filesystem;

struct KeysGenArgs {
  std::string out;
  int actors = 1;
};

Status RunKeysGen(const KeysGenArgs& a) {
  if (!CurveAvailable()) return Unimplemented("this libzmq was built without CURVE: no keys to make");
  std::error_code ec;
  if (fs::exists(fs::path(a.out) / "authorized_keys", ec) || fs::exists(fs::path(a.out) / "learner.key", ec)) {
    return InvalidArgument(a.out + " already holds fleet keys: refusing to overwrite them (use another --out, or remove the files)");
  }
  MEM1_ASSIGN_OR_RETURN(CurveKeyPair learner, GenerateCurveKeyPair());
  MEM1_RETURN_IF_ERROR(WriteCurveKeyPair(a.out, "learner", learner));
  std::string authorized = "# actor public keys the learner admits, one per line: <Z85 key> <name>\n"
                           "# delete a line to revoke that actor (the learner re-reads this file when it changes)\n";
  for (int i = 0; i < a.actors; ++i) {
    const std::string name = a.actors == 1 ? "actor" : "actor-" + std::to_string(i);
    MEM1_ASSIGN_OR_RETURN(CurveKeyPair pair, GenerateCurveKeyPair());
    MEM1_RETURN_IF_ERROR(WriteCurveKeyPair(a.out, name, pair));
    authorized += pair.public_key + " " + name + "\n";
  }
  const std::string path = (fs::path(a.out) / "authorized_keys").string();
  std::ofstream f(path);
  f << authorized;
  f.close();
  if (!f) return Internal("cannot write " + path);
  std::cout << "wrote " << a.out << "/learner.key|.pub, " << a.actors << " actor key pair(s) and authorized_keys\n"
            << "use: --set security.keys_dir=" << a.out
            << (a.actors == 1 ? "" : " (each actor: --set security.actor_key=actor-N)") << "\n";
  return Status::Ok();
}

}  // namespace

void RegisterKeysCommands(CLI::App* app) {
  auto* keys = app->add_subcommand("keys", "CURVE keys for the fleet sockets (learner ⇄ actors)");
  keys->require_subcommand(1);
  auto args = std::make_shared<KeysGenArgs>();
  auto* gen = keys->add_subcommand(
      "gen", "Make the learner's key pair, actor key pairs and the authorized_keys list the learner admits");
  gen->add_option("--out", args->out, "Directory for the keys (created; existing keys are never overwritten)")->required();
  gen->add_option("--actors", args->actors, "Actor key pairs: 1 = actor.key, N > 1 = actor-0.key ... actor-(N-1).key")
      ->check(CLI::Range(1, 100000));
  gen->callback([args] {
    const Status st = RunKeysGen(*args);
    throw CLI::RuntimeError(st.ok() ? 0 : ReportError(st));
  });
}

}  // namespace mem1
