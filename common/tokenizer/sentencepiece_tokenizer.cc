// SentencePiece BPE backend, implemented here (no libsentencepiece at run time).
//
// Why not link libsentencepiece: Debian's libsentencepiece carries its own copy of
// protobuf-lite with exported symbols, and libtorch links libprotobuf; in one process the two
// interpose and SentencePiece aborts inside protobuf on Load. So we read the `.model` file
// (a serialized sentencepiece.ModelProto) with a small wire-format reader and implement the
// BPE encoder: identical ids to libsentencepiece for BPE models with the identity normalizer,
// which is what `mem1 tokenizer train` produces (checked against the library in
// tests/common/tokenizer/sentencepiece_reference_test.cc, a binary without libprotobuf).
//
// ModelProto fields used (sentencepiece_model.proto):
//   1 pieces {1 piece, 2 score (float), 3 type: 1 NORMAL 2 UNKNOWN 3 CONTROL 4 USER_DEFINED
//             5 UNUSED 6 BYTE}
//   2 trainer_spec {3 model_type (2 = BPE), 35 byte_fallback, 40 unk_id, 41 bos_id,
//                   42 eos_id, 43 pad_id, 44 unk_surface, 24 treat_whitespace_as_suffix}
//   3 normalizer_spec {1 name, 2 precompiled_charsmap, 3 add_dummy_prefix (default true),
//                      4 remove_extra_whitespaces (default true), 5 escape_whitespaces (default true)}
#include <cstring>
#include <fstream>
#include <queue>
#include <sstream>
#include <unordered_map>

#include "common/tokenizer/tokenizer.h"

namespace mem1 {
namespace {

// ---- minimal protobuf wire-format reader ----
class WireReader {
 public:
  WireReader(const char* p, size_t n) : p_(reinterpret_cast<const uint8_t*>(p)), end_(p_ + n) {}
  bool done() const { return p_ >= end_; }
  bool ok() const { return ok_; }
  // Reads the next field key; false at end or on error.
  bool Next(uint32_t* field, uint32_t* wire) {
    if (done() || !ok_) return false;
    uint64_t key;
    if (!Varint(&key)) return false;
    *field = static_cast<uint32_t>(key >> 3);
    *wire = static_cast<uint32_t>(key & 7);
    return true;
  }
  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_) return Fail();
      const uint8_t b = *p_++;
      *v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return Fail();
  }
  bool Bytes(const char** data, size_t* n) {
    uint64_t len;
    if (!Varint(&len) || len > static_cast<uint64_t>(end_ - p_)) return Fail();
    *data = reinterpret_cast<const char*>(p_);
    *n = static_cast<size_t>(len);
    p_ += len;
    return true;
  }
  bool Fixed32(uint32_t* v) {
    if (end_ - p_ < 4) return Fail();
    std::memcpy(v, p_, 4);
    p_ += 4;
    return true;
  }
  bool Skip(uint32_t wire) {
    uint64_t v;
    const char* d;
    size_t n;
    uint32_t f;
    switch (wire) {
      case 0: return Varint(&v);
      case 1: if (end_ - p_ < 8) return Fail(); p_ += 8; return true;
      case 2: return Bytes(&d, &n);
      case 5: return Fixed32(&f);
      default: return Fail();
    }
  }

 private:
  bool Fail() { ok_ = false; return false; }
  const uint8_t* p_;
  const uint8_t* end_;
  bool ok_ = true;
};

enum PieceType { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

struct Piece {
  std::string text;
  float score = 0;
  int type = kNormal;
};

const char kSpace[] = "\xE2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's space

size_t Utf8Len(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c >> 5) == 0x6) return 2;
  if ((c >> 4) == 0xE) return 3;
  if ((c >> 3) == 0x1E) return 4;
  return 1;  // invalid lead byte: one unit
}

// The byte of a BYTE piece "<0xHH>" (two hex digits), or -1 when the text is not one.
int BytePieceValue(const std::string& t) {
  auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  const int hi = hex(t[3]), lo = hex(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

class SentencePieceTokenizer : public Tokenizer {
 public:
  Status Init(const std::string& bytes, const std::string& source) {
    WireReader r(bytes.data(), bytes.size());
    uint32_t field, wire;
    int model_type = 1;
    bool have_name = false;
    std::string normalizer_name, charsmap;
    while (r.Next(&field, &wire)) {
      const char* d;
      size_t n;
      if (field == 1 && wire == 2) {
        if (!r.Bytes(&d, &n)) break;
        Piece p;
        WireReader pr(d, n);
        uint32_t f, w;
        while (pr.Next(&f, &w)) {
          const char* pd;
          size_t pn;
          uint64_t v;
          uint32_t fx;
          if (f == 1 && w == 2 && pr.Bytes(&pd, &pn)) p.text.assign(pd, pn);
          else if (f == 2 && w == 5 && pr.Fixed32(&fx)) std::memcpy(&p.score, &fx, 4);
          else if (f == 3 && w == 0 && pr.Varint(&v)) p.type = static_cast<int>(v);
          else if (!pr.Skip(w)) break;
        }
        if (!pr.ok()) return InvalidArgument(source + ": corrupt piece #" + std::to_string(pieces_.size()));
        pieces_.push_back(std::move(p));
      } else if (field == 2 && wire == 2) {
        if (!r.Bytes(&d, &n)) break;
        WireReader tr(d, n);
        uint32_t f, w;
        while (tr.Next(&f, &w)) {
          uint64_t v;
          const char* sd;
          size_t sn;
          if (w == 0 && tr.Varint(&v)) {
            if (f == 3) model_type = static_cast<int>(v);
            else if (f == 35) byte_fallback_ = v != 0;
            else if (f == 40) unk_id_ = static_cast<int32_t>(v);
            else if (f == 42) eos_id_ = static_cast<int32_t>(v);
            else if (f == 24 && v != 0) return Unimplemented(source + ": treat_whitespace_as_suffix is not supported");
          } else if (w == 2 && f == 44 && tr.Bytes(&sd, &sn)) {
            unk_surface_.assign(sd, sn);
          } else if (w != 0 && !(w == 2 && f == 44) && !tr.Skip(w)) {
            break;
          }
        }
        if (!tr.ok()) return InvalidArgument(source + ": corrupt trainer_spec");
      } else if (field == 3 && wire == 2) {
        if (!r.Bytes(&d, &n)) break;
        WireReader nr(d, n);
        uint32_t f, w;
        while (nr.Next(&f, &w)) {
          uint64_t v;
          const char* sd;
          size_t sn;
          if (w == 2 && (f == 1 || f == 2) && nr.Bytes(&sd, &sn)) {
            (f == 1 ? normalizer_name : charsmap).assign(sd, sn);
            if (f == 1) have_name = true;
          } else if (w == 0 && nr.Varint(&v)) {
            if (f == 3) add_dummy_prefix_ = v != 0;
            else if (f == 4) remove_extra_whitespaces_ = v != 0;
            else if (f == 5) escape_whitespaces_ = v != 0;
          } else if (!(w == 2 && (f == 1 || f == 2)) && w != 0 && !nr.Skip(w)) {
            break;
          }
        }
        if (!nr.ok()) return InvalidArgument(source + ": corrupt normalizer_spec");
      } else if (!r.Skip(wire)) {
        break;
      }
    }
    if (!r.ok() || pieces_.empty()) return InvalidArgument(source + ": not a SentencePiece model (unreadable ModelProto)");
    if (model_type != 2) {
      return Unimplemented(source + ": SentencePiece model_type " + std::to_string(model_type) +
                           " is not supported (only BPE = 2)");
    }
    if (!charsmap.empty() || (have_name && normalizer_name != "identity")) {
      return Unimplemented(source + ": SentencePiece normalizer \"" + normalizer_name +
                           "\" is not supported (train with normalization_rule_name=identity)");
    }
    for (size_t i = 0; i < pieces_.size(); ++i) {
      const Piece& p = pieces_[i];
      all_[p.text] = static_cast<int32_t>(i);
      if (p.type == kNormal || p.type == kUserDefined || p.type == kUnused) mergeable_[p.text] = static_cast<int32_t>(i);
      if (p.type == kUserDefined) {
        user_defined_.push_back(p.text);
        max_user_len_ = std::max(max_user_len_, p.text.size());
      }
      if (p.type == kByte) {
        const int b = BytePieceValue(p.text);
        if (b < 0) return InvalidArgument(source + ": byte piece " + std::to_string(i) + " is not <0xHH>");
        byte_ids_[b] = static_cast<int32_t>(i);
      }
    }
    if (unk_id_ < 0 || unk_id_ >= static_cast<int32_t>(pieces_.size())) {
      return InvalidArgument(source + ": unk_id out of range");
    }
    return Status::Ok();
  }

  std::vector<int32_t> Encode(const std::string& text) const override {
    // 1. Normalise (identity rule): optional whitespace clean-up, dummy prefix, ' ' -> U+2581.
    std::string in = text;
    if (remove_extra_whitespaces_) {
      std::string out;
      bool prev_space = true;
      for (char c : in) {
        if (c == ' ') { if (!prev_space) out.push_back(c); prev_space = true; }
        else { out.push_back(c); prev_space = false; }
      }
      while (!out.empty() && out.back() == ' ') out.pop_back();
      in = out;
    }
    if (in.empty()) return {};
    std::string norm;
    if (add_dummy_prefix_) norm += escape_whitespaces_ ? kSpace : " ";
    for (char c : in) {
      if (c == ' ' && escape_whitespaces_) norm += kSpace;
      else norm.push_back(c);
    }
    // 2. Initial symbols: user-defined pieces (longest match) or single UTF-8 characters.
    struct Sym { size_t begin, len; int prev, next; bool frozen; };
    std::vector<Sym> syms;
    for (size_t i = 0; i < norm.size();) {
      size_t len = 0;
      bool user = false;
      for (size_t l = std::min(max_user_len_, norm.size() - i); l > 0 && !user; --l) {
        for (const auto& u : user_defined_) {
          if (u.size() == l && norm.compare(i, l, u) == 0) { len = l; user = true; break; }
        }
      }
      if (!user) len = std::min(Utf8Len(static_cast<unsigned char>(norm[i])), norm.size() - i);
      syms.push_back({i, len, static_cast<int>(syms.size()) - 1, static_cast<int>(syms.size()) + 1, user});
      i += len;
    }
    syms.back().next = -1;
    // 3. Greedy BPE: repeatedly merge the adjacent pair whose concatenation is the
    //    highest-scoring piece (ties: leftmost), as libsentencepiece's bpe_model does.
    struct Pair { int left, right; float score; size_t size; };
    auto cmp = [](const Pair& a, const Pair& b) { return a.score < b.score || (a.score == b.score && a.left > b.left); };
    std::priority_queue<Pair, std::vector<Pair>, decltype(cmp)> agenda(cmp);
    auto maybe_add = [&](int l, int r) {
      if (l < 0 || r < 0 || syms[l].frozen || syms[r].frozen) return;
      const std::string s = norm.substr(syms[l].begin, syms[l].len + syms[r].len);
      auto it = mergeable_.find(s);
      if (it == mergeable_.end() || pieces_[it->second].type == kUnused) return;
      agenda.push({l, r, pieces_[it->second].score, s.size()});
    };
    for (size_t i = 1; i < syms.size(); ++i) maybe_add(static_cast<int>(i) - 1, static_cast<int>(i));
    while (!agenda.empty()) {
      const Pair top = agenda.top();
      agenda.pop();
      Sym& l = syms[top.left];
      Sym& r = syms[top.right];
      if (l.len == 0 || r.len == 0 || l.len + r.len != top.size || l.next != top.right) continue;  // stale
      l.len += r.len;
      r.len = 0;
      l.next = r.next;
      if (r.next >= 0) syms[r.next].prev = top.left;
      maybe_add(l.prev, top.left);
      maybe_add(top.left, l.next);
    }
    // 4. Ids; pieces outside the vocabulary fall back to bytes (or unk).
    std::vector<int32_t> ids;
    for (int i = 0; i >= 0 && i < static_cast<int>(syms.size()); i = syms[i].next) {
      const std::string s = norm.substr(syms[i].begin, syms[i].len);
      auto it = all_.find(s);
      if (it != all_.end() && pieces_[it->second].type != kUnused && pieces_[it->second].type != kControl &&
          pieces_[it->second].type != kUnknown && pieces_[it->second].type != kByte) {
        ids.push_back(it->second);
      } else if (byte_fallback_) {
        for (unsigned char b : s) ids.push_back(byte_ids_[b] >= 0 ? byte_ids_[b] : unk_id_);
      } else {
        ids.push_back(unk_id_);
      }
    }
    return ids;
  }

  std::string Decode(const std::vector<int32_t>& ids) const override {
    std::string out;
    for (size_t k = 0; k < ids.size(); ++k) {
      const int32_t id = ids[k];
      if (id < 0 || id >= static_cast<int32_t>(pieces_.size())) { out += "\xEF\xBF\xBD"; continue; }
      const Piece& p = pieces_[id];
      switch (p.type) {
        case kControl: break;
        case kUnknown: out += unk_surface_; break;
        case kByte: out.push_back(static_cast<char>(BytePieceValue(p.text))); break;  // checked at load
        default: {
          std::string t = p.text;
          if (escape_whitespaces_) {
            for (size_t pos; (pos = t.find(kSpace)) != std::string::npos;) t.replace(pos, 3, " ");
          }
          out += t;
        }
      }
    }
    if (add_dummy_prefix_ && !out.empty() && out[0] == ' ') out.erase(0, 1);
    return out;
  }

  int64_t vocab_size() const override { return static_cast<int64_t>(pieces_.size()); }
  int32_t TokenId(const std::string& token) const override {
    auto it = all_.find(token);
    return it == all_.end() ? -1 : it->second;
  }
  int32_t eos_id() const override { return eos_id_; }

 private:
  std::vector<Piece> pieces_;
  std::unordered_map<std::string, int32_t> all_;
  std::unordered_map<std::string, int32_t> mergeable_;
  std::vector<std::string> user_defined_;
  size_t max_user_len_ = 0;
  int32_t byte_ids_[256] = {};
  bool byte_fallback_ = false;
  int32_t unk_id_ = 0;
  int32_t eos_id_ = -1;
  std::string unk_surface_ = " \xE2\x81\x87 ";
  bool add_dummy_prefix_ = true;
  bool remove_extra_whitespaces_ = true;
  bool escape_whitespaces_ = true;

 public:
  SentencePieceTokenizer() { std::fill(std::begin(byte_ids_), std::end(byte_ids_), -1); }
};

}  // namespace

Result<std::unique_ptr<Tokenizer>> LoadSentencePieceTokenizer(const std::string& model_path) {
  std::ifstream in(model_path, std::ios::binary);
  if (!in) return NotFound(model_path + ": cannot open SentencePiece model");
  std::stringstream ss;
  ss << in.rdbuf();
  auto tok = std::make_unique<SentencePieceTokenizer>();
  MEM1_RETURN_IF_ERROR(tok->Init(ss.str(), model_path));
  return std::unique_ptr<Tokenizer>(std::move(tok));
}

}  // namespace mem1
