// Real QA data formats, read as streams (a 21M-passage corpus never needs 2x its size in RAM):
//   corpus JSONL : {"id": "...", "contents": "\"Title\"\npassage text"}   (Search-R1 / FlashRAG wiki-18)
//   QA JSONL     : {"id": "...", "question": "...", "golden_answers": ["...", ...]}   (NQ, HotpotQA)
// A bad line (invalid JSON, missing or mistyped field) is reported with file and line number
// and skipped; the counts come back in a LoadReport. Never a crash.
// Thread safety: pure functions over files.
#ifndef MEM1_ACTOR_ENVS_QA_QA_DATA_H_
#define MEM1_ACTOR_ENVS_QA_QA_DATA_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/util/status.h"

namespace mem1 {

struct Passage {
  std::string id;
  std::string contents;  // "Title"\ntext, as stored
  // Title = first line of contents without surrounding quotes; text = the rest.
  std::string Title() const;
  std::string Text() const;
};

struct QaItem {
  std::string id;
  std::string question;
  std::vector<std::string> golden_answers;
  // Optional (our generated data only, "metadata": {"hops": [...]}): one search query per
  // reasoning hop, used by the scripted expert. Empty for NQ / HotpotQA files.
  std::vector<std::string> hops;
};

struct LoadReport {
  int64_t lines = 0;    // non-empty lines read
  int64_t loaded = 0;
  int64_t skipped = 0;  // bad lines
  std::vector<std::string> first_errors;  // up to 10 "file:line: reason"
  void AddError(const std::string& where, const std::string& why);
};

// Streams passages to `fn` (return false to stop early). NOT_FOUND if the file cannot be opened.
[[nodiscard]] Status ForEachPassage(const std::string& path, const std::function<bool(const Passage&)>& fn,
                                    LoadReport* report);

// Reads a whole QA file.
[[nodiscard]] Status ReadQaFile(const std::string& path, std::vector<QaItem>* items, LoadReport* report);

// One line each, in the formats above (used by the data generators).
std::string PassageJsonLine(const Passage& p);
std::string QaJsonLine(const QaItem& q);

}  // namespace mem1

#endif  // MEM1_ACTOR_ENVS_QA_QA_DATA_H_
