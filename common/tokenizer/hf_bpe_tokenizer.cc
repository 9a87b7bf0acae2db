// HF tokenizer.json byte-level BPE (the Qwen2 family). Spec followed:
//  normalizer NFC (or none) -> split on added tokens -> Qwen2 pre-tokenizer regex
//  (see SplitQwen2 below) -> GPT-2 byte-to-unicode alphabet -> BPE by merge rank -> ids.
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <climits>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "common/tokenizer/tokenizer.h"

namespace mem1 {
namespace {

// ---- code point helpers (ICU character properties; same classes as the regex engine) ----
bool IsLetter(UChar32 c) { return (U_GET_GC_MASK(c) & U_GC_L_MASK) != 0; }
bool IsNumber(UChar32 c) { return (U_GET_GC_MASK(c) & U_GC_N_MASK) != 0; }
bool IsSpace(UChar32 c) { return u_isUWhiteSpace(c); }
bool IsNewline(UChar32 c) { return c == '\r' || c == '\n'; }

struct CodePoint {
  UChar32 c;
  size_t begin;  // byte offset
  size_t end;
};

std::vector<CodePoint> DecodeUtf8(const std::string& s) {
  std::vector<CodePoint> out;
  const uint8_t* p = reinterpret_cast<const uint8_t*>(s.data());
  int32_t i = 0;
  const int32_t n = static_cast<int32_t>(s.size());
  while (i < n) {
    const int32_t start = i;
    UChar32 c;
    U8_NEXT(p, i, n, c);
    if (c < 0) c = 0xFFFD;  // invalid byte: still one unit (its bytes are kept as-is)
    out.push_back({c, static_cast<size_t>(start), static_cast<size_t>(i)});
  }
  return out;
}

// Splits `text` as the Qwen2 pre-tokenizer regex does (Split, behavior Isolated):
//   (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N} |
//    ?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
// Alternatives are tried in order at each position (leftmost-first, greedy with backtracking,
// which the hand-written cases below reproduce).
std::vector<std::string> SplitQwen2(const std::string& text) {
  std::vector<std::string> pieces;
  const auto cps = DecodeUtf8(text);
  const size_t n = cps.size();
  auto lower = [](UChar32 c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; };
  size_t i = 0;
  while (i < n) {
    size_t end = i;  // exclusive code point index of the match
    const UChar32 c = cps[i].c;
    // (a) contractions
    if (c == '\'' && i + 1 < n) {
      const UChar32 a = lower(cps[i + 1].c);
      const UChar32 b = i + 2 < n ? lower(cps[i + 2].c) : 0;
      if (a == 's' || a == 't' || a == 'm' || a == 'd') end = i + 2;
      else if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) end = i + 3;
    }
    // (b) optional non-letter/number/newline prefix, then letters
    if (end == i) {
      size_t j = i;
      if (!IsNewline(c) && !IsLetter(c) && !IsNumber(c) && i + 1 < n && IsLetter(cps[i + 1].c)) j = i + 1;
      if (IsLetter(cps[j].c)) {
        while (j < n && IsLetter(cps[j].c)) ++j;
        end = j;
      }
    }
    // (c) one number
    if (end == i && IsNumber(c)) end = i + 1;
    // (d) optional space, punctuation run, trailing newlines
    if (end == i) {
      size_t j = i;
      auto is_punct = [&](UChar32 x) { return !IsSpace(x) && !IsLetter(x) && !IsNumber(x); };
      if (c == ' ' && i + 1 < n && is_punct(cps[i + 1].c)) j = i + 1;
      if (j < n && is_punct(cps[j].c)) {
        while (j < n && is_punct(cps[j].c)) ++j;
        while (j < n && IsNewline(cps[j].c)) ++j;
        end = j;
      }
    }
    if (end == i && IsSpace(c)) {
      size_t w = i;
      while (w < n && IsSpace(cps[w].c)) ++w;  // whitespace run [i, w)
      // (e) \s*[\r\n]+ : ends right after the last newline of the run
      size_t last_nl = n;
      for (size_t k = i; k < w; ++k) if (IsNewline(cps[k].c)) last_nl = k;
      if (last_nl != n) {
        end = last_nl + 1;
      } else if (w == n) {
        end = w;  // (f) at end of text: the whole run
      } else if (w - i >= 2) {
        end = w - 1;  // (f) leave one space to prefix the next word
      } else {
        end = w;  // (g)
      }
    }
    if (end == i) end = i + 1;  // unreachable for valid classes; never loop forever
    pieces.push_back(text.substr(cps[i].begin, cps[end - 1].end - cps[i].begin));
    i = end;
  }
  return pieces;
}

// GPT-2 bytes_to_unicode: printable bytes map to themselves, the rest to 256 + k.
struct ByteAlphabet {
  std::string byte_to_utf8[256];
  std::unordered_map<UChar32, uint8_t> cp_to_byte;
  ByteAlphabet() {
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      const UChar32 cp = printable ? b : 256 + extra++;
      cp_to_byte[cp] = static_cast<uint8_t>(b);
      char buf[4];
      int32_t len = 0;
      U8_APPEND_UNSAFE(buf, len, cp);
      byte_to_utf8[b] = std::string(buf, len);
    }
  }
};
const ByteAlphabet& Alphabet() {
  static const ByteAlphabet* a = new ByteAlphabet();
  return *a;
}

struct AddedToken {
  std::string content;
  int32_t id;
  bool special;
};

// A token id: an integer in [0, 2^24) (Qwen2's vocabulary is ~152k).
Result<int32_t> ReadId(const nlohmann::json& v, const std::string& what) {
  if (!v.is_number_integer()) return InvalidArgument(what + ": id is not an integer: " + v.dump().substr(0, 100));
  if (v.is_number_unsigned() ? v.get<uint64_t>() >= (1u << 24) : (v.get<int64_t>() < 0 || v.get<int64_t>() >= (1 << 24))) {
    return InvalidArgument(what + ": id " + v.dump() + " outside [0, 16777216)");
  }
  return static_cast<int32_t>(v.get<int64_t>());
}

class HfBpeTokenizer : public Tokenizer {
 public:
  // Init with every nlohmann exception (a mistyped field a check above missed) turned into an error.
  Status InitChecked(const nlohmann::json& j, const std::string& source) {
    try {
      return Init(j, source);
    } catch (const nlohmann::json::exception& e) {
      return InvalidArgument(source + ": a field has the wrong type: " + e.what());
    }
  }

  Status Init(const nlohmann::json& j, const std::string& source) {
    if (!j.is_object() || !j.contains("model") || !j["model"].is_object()) {
      return InvalidArgument(source + ": not a tokenizer.json (no \"model\" object)");
    }
    const auto& m = j["model"];
    if (m.value("type", std::string()) != "BPE") {
      return Unimplemented(source + ": model.type \"" + m.value("type", std::string()) + "\" (only BPE is supported)");
    }
    if (!m.contains("vocab") || !m["vocab"].is_object()) return InvalidArgument(source + ": model.vocab missing");
    ignore_merges_ = m.value("ignore_merges", false);
    for (auto it = m["vocab"].begin(); it != m["vocab"].end(); ++it) {
      MEM1_ASSIGN_OR_RETURN(const int32_t id, ReadId(it.value(), source + ": model.vocab[\"" + it.key() + "\"]"));
      vocab_[it.key()] = id;
      max_id_ = std::max(max_id_, id);
    }
    if (m.contains("merges")) {
      int32_t rank = 0;
      for (const auto& mg : m["merges"]) {
        std::string left, right;
        if (mg.is_string()) {
          const std::string s = mg.get<std::string>();
          const size_t sp = s.find(' ');
          if (sp == std::string::npos) return InvalidArgument(source + ": merge \"" + s + "\" has no space");
          left = s.substr(0, sp);
          right = s.substr(sp + 1);
        } else if (mg.is_array() && mg.size() == 2 && mg[0].is_string() && mg[1].is_string()) {
          left = mg[0].get<std::string>();
          right = mg[1].get<std::string>();
        } else {
          return InvalidArgument(source + ": malformed merge " + mg.dump());
        }
        merges_.emplace(left + ' ' + right, rank++);
      }
    }
    if (j.contains("normalizer") && !j["normalizer"].is_null()) {
      const std::string t = j["normalizer"].value("type", std::string());
      if (t != "NFC") return Unimplemented(source + ": normalizer \"" + t + "\" (only NFC or none)");
      nfc_ = true;
    }
    if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
      for (const auto& a : j["added_tokens"]) {
        if (!a.is_object() || !a.contains("content") || !a.contains("id") || !a["content"].is_string()) {
          return InvalidArgument(source + ": added token without a string content and an id: " + a.dump().substr(0, 200));
        }
        if (a.contains("special") && !a["special"].is_boolean()) {
          return InvalidArgument(source + ": added token \"special\" must be a boolean, got " + a["special"].dump());
        }
        MEM1_ASSIGN_OR_RETURN(const int32_t id, ReadId(a["id"], source + ": added token " + a["content"].dump()));
        AddedToken t{a["content"].get<std::string>(), id, a.value("special", false)};
        added_.push_back(t);
        vocab_[t.content] = t.id;
        max_id_ = std::max(max_id_, t.id);
      }
      // Longest first so that overlapping tokens match greedily.
      std::sort(added_.begin(), added_.end(),
                [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });
    }
    // The id table is dense: refuse ids far beyond the number of tokens (a corrupt or hostile
    // file would otherwise make us allocate gigabytes).
    const size_t count = vocab_.size();
    if (static_cast<size_t>(max_id_) + 1 > 2 * count + 65536) {
      return InvalidArgument(source + ": token id " + std::to_string(max_id_) + " is far beyond the " +
                             std::to_string(count) + " tokens (ids must be dense)");
    }
    id_to_token_.assign(max_id_ + 1, std::string());
    is_added_.assign(max_id_ + 1, false);
    for (const auto& kv : vocab_) id_to_token_[kv.second] = kv.first;
    for (const auto& a : added_) is_added_[a.id] = true;
    for (const char* eos : {"<|endoftext|>", "<|im_end|>", "</s>", "<eos>"}) {
      auto it = vocab_.find(eos);
      if (it != vocab_.end()) { eos_ = it->second; break; }
    }
    return Status::Ok();
  }

  std::vector<int32_t> Encode(const std::string& text) const override {
    std::vector<int32_t> ids;
    size_t pos = 0, chunk_start = 0;
    while (pos < text.size()) {
      const AddedToken* hit = nullptr;
      for (const auto& a : added_) {
        if (!a.content.empty() && text.compare(pos, a.content.size(), a.content) == 0) { hit = &a; break; }
      }
      if (hit == nullptr) { ++pos; continue; }
      EncodeOrdinary(text.substr(chunk_start, pos - chunk_start), &ids);
      ids.push_back(hit->id);
      pos += hit->content.size();
      chunk_start = pos;
    }
    EncodeOrdinary(text.substr(chunk_start), &ids);
    return ids;
  }

  std::string Decode(const std::vector<int32_t>& ids) const override {
    std::string bytes;
    const auto& alpha = Alphabet();
    for (int32_t id : ids) {
      if (id < 0 || id > max_id_ || id_to_token_[id].empty()) { bytes += "\xEF\xBF\xBD"; continue; }
      const std::string& tok = id_to_token_[id];
      if (is_added_[id]) { bytes += tok; continue; }
      for (const auto& cp : DecodeUtf8(tok)) {
        auto it = alpha.cp_to_byte.find(cp.c);
        if (it != alpha.cp_to_byte.end()) bytes.push_back(static_cast<char>(it->second));
        else bytes += tok.substr(cp.begin, cp.end - cp.begin);
      }
    }
    return bytes;
  }

  int64_t vocab_size() const override { return static_cast<int64_t>(max_id_) + 1; }
  int32_t TokenId(const std::string& token) const override {
    auto it = vocab_.find(token);
    return it == vocab_.end() ? -1 : it->second;
  }
  int32_t eos_id() const override { return eos_; }

 private:
  void EncodeOrdinary(const std::string& raw, std::vector<int32_t>* ids) const {
    if (raw.empty()) return;
    std::string text = raw;
    if (nfc_) {
      UErrorCode err = U_ZERO_ERROR;
      const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(err);
      if (U_SUCCESS(err)) {
        icu::UnicodeString u = icu::UnicodeString::fromUTF8(raw);
        icu::UnicodeString out = nfc->normalize(u, err);
        if (U_SUCCESS(err)) { text.clear(); out.toUTF8String(text); }
      }
    }
    const auto& alpha = Alphabet();
    for (const std::string& piece : SplitQwen2(text)) {
      std::vector<std::string> parts;
      for (unsigned char b : piece) parts.push_back(alpha.byte_to_utf8[b]);
      if (ignore_merges_) {
        std::string whole;
        for (const auto& p : parts) whole += p;
        auto it = vocab_.find(whole);
        if (it != vocab_.end()) { ids->push_back(it->second); continue; }
      }
      // Repeatedly merge the adjacent pair with the lowest rank.
      while (parts.size() > 1) {
        int32_t best_rank = INT_MAX;
        size_t best = 0;
        for (size_t k = 0; k + 1 < parts.size(); ++k) {
          auto it = merges_.find(parts[k] + ' ' + parts[k + 1]);
          if (it != merges_.end() && it->second < best_rank) { best_rank = it->second; best = k; }
        }
        if (best_rank == INT_MAX) break;
        parts[best] += parts[best + 1];
        parts.erase(parts.begin() + best + 1);
      }
      for (const auto& p : parts) {
        auto it = vocab_.find(p);
        if (it != vocab_.end()) {
          ids->push_back(it->second);
        } else {
          // Not in vocab (a malformed tokenizer.json): fall back to single byte-chars.
          for (const auto& cp : DecodeUtf8(p)) {
            auto b = vocab_.find(p.substr(cp.begin, cp.end - cp.begin));
            if (b != vocab_.end()) ids->push_back(b->second);
          }
        }
      }
    }
  }

  std::unordered_map<std::string, int32_t> vocab_;
  std::unordered_map<std::string, int32_t> merges_;
  std::vector<AddedToken> added_;
  std::vector<std::string> id_to_token_;
  std::vector<bool> is_added_;
  int32_t max_id_ = -1;
  int32_t eos_ = -1;
  bool nfc_ = false;
  bool ignore_merges_ = false;
};

}  // namespace

Result<std::unique_ptr<Tokenizer>> LoadHfBpeTokenizer(const std::string& json_text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(source + ": invalid JSON: " + e.what());
  }
  auto tok = std::make_unique<HfBpeTokenizer>();
  MEM1_RETURN_IF_ERROR(tok->InitChecked(j, source));
  return std::unique_ptr<Tokenizer>(std::move(tok));
}

}  // namespace mem1
