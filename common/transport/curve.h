// CURVE security for the fleet sockets (ZeroMQ's CurveZMQ: Curve25519 key exchange, every
// message encrypted and authenticated, replays inside a session refused by the nonces).
//
// Key files (written by `mem1 keys gen --out DIR`, read by the learner and the actors):
//   DIR/learner.key        "public <Z85>\nsecret <Z85>\n", mode 0600: the learner's pair
//   DIR/learner.pub        "public <Z85>\n": what actors verify the learner against
//   DIR/<actor>.key/.pub   an actor's pair (security.actor_key names it; default "actor")
//   DIR/authorized_keys    one "<Z85 public key> <name>" per line ('#' comments): the actors
//                          the learner accepts. Removing a line revokes that key: the file is
//                          re-read when it changes, new handshakes with the key are refused and
//                          messages still arriving on an old connection are dropped unread.
// Z85 keys are 40 characters; a file that does not hold one is INVALID_ARGUMENT naming it.
//
// Server sockets (learner ROUTER and PUB) authenticate clients through a ZAP handler: one
// thread per process (ZeroMQ's ZAP endpoint is per context), serving every secured socket,
// each under its own ZAP domain with its own authorized-keys file and ban list. The handler
// sets a connection's User-Id to the client's Z85 public key, so every received message names
// the key it came from (FleetMessage::user_id).
//
// Thread safety: all functions and CurveGate methods are thread safe.
#ifndef MEM1_COMMON_TRANSPORT_CURVE_H_
#define MEM1_COMMON_TRANSPORT_CURVE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/util/status.h"

namespace mem1 {

struct CurveKeyPair {
  std::string public_key;  // Z85, 40 characters
  std::string secret_key;  // Z85, 40 characters; empty in a public-only key
};

// True when libzmq was built with CURVE (zmq_has("curve")).
bool CurveAvailable();

// A fresh key pair. UNIMPLEMENTED when CURVE is not available.
[[nodiscard]] Result<CurveKeyPair> GenerateCurveKeyPair();

// INVALID_ARGUMENT (naming `what`) unless `key` is a 40-character Z85 string that decodes.
[[nodiscard]] Status ValidateZ85Key(const std::string& key, const std::string& what);

// Writes DIR/NAME.key (mode 0600) and DIR/NAME.pub. ALREADY_EXISTS if either exists (keys are
// never overwritten silently); INTERNAL naming the file on a write error.
[[nodiscard]] Status WriteCurveKeyPair(const std::string& dir, const std::string& name, const CurveKeyPair& pair);

// Reads a .key file; checks both keys and that the public key belongs to the secret one.
// NOT_FOUND / INVALID_ARGUMENT naming the file.
[[nodiscard]] Result<CurveKeyPair> ReadCurveKeyFile(const std::string& path);

// Reads the public key of a .pub or .key file.
[[nodiscard]] Result<std::string> ReadCurvePublicKeyFile(const std::string& path);

// Parses an authorized_keys file: public key -> name. INVALID_ARGUMENT "FILE:LINE: ..." for a
// line that is not "<Z85 key> [name]" and for a duplicate key.
[[nodiscard]] Result<std::map<std::string, std::string>> ReadAuthorizedKeys(const std::string& path);

// What a secured server socket is configured with.
struct CurveServerOptions {
  CurveKeyPair server;          // empty public_key = plain socket (no CURVE)
  std::string authorized_keys;  // path of the authorized_keys file (required when secured)
  bool enabled() const { return !server.public_key.empty(); }
};

// What a client socket (actor DEALER / SUB) is configured with.
struct CurveClientOptions {
  CurveKeyPair client;            // empty public_key = plain socket
  std::string server_public_key;  // the learner's public key, verified in the handshake
  bool enabled() const { return !client.public_key.empty(); }
};

// Loads the learner's CurveServerOptions from a keys directory ("" = plain options).
[[nodiscard]] Result<CurveServerOptions> LoadCurveServerOptions(const std::string& keys_dir);
// Loads an actor's CurveClientOptions: DIR/<actor_key>.key and DIR/learner.pub ("" = plain).
[[nodiscard]] Result<CurveClientOptions> LoadCurveClientOptions(const std::string& keys_dir,
                                                                const std::string& actor_key);

// One secured socket's admission policy, registered with the process's ZAP handler. Created
// by the socket (fleet_channels.cc) before it binds; lives as long as the socket.
class CurveGate {
 public:
  // Reads the authorized-keys file (error if it does not parse) and registers a new ZAP
  // domain for it. Starts the process's ZAP handler on first use.
  [[nodiscard]] static Result<std::shared_ptr<CurveGate>> Create(const std::string& authorized_keys);
  ~CurveGate();
  CurveGate(const CurveGate&) = delete;
  CurveGate& operator=(const CurveGate&) = delete;

  const std::string& domain() const { return domain_; }
  // True when `public_key` is listed now (the file re-read if it changed; a file that no longer
  // parses keeps the last good list and logs why) and not banned.
  bool Admits(const std::string& public_key);
  // Refuses the key from now on (handshakes and messages), whatever the file says.
  void Ban(const std::string& public_key);
  // The name the authorized_keys file gives `public_key` ("" when unlisted).
  std::string NameOf(const std::string& public_key);
  int64_t refused_handshakes() const;
  int64_t accepted_handshakes() const;
  // Called by the ZAP handler.
  void CountHandshake(bool accepted);

 private:
  CurveGate() = default;
  struct State;
  std::unique_ptr<State> state_;
  std::string domain_;
};

}  // namespace mem1

#endif  // MEM1_COMMON_TRANSPORT_CURVE_H_
