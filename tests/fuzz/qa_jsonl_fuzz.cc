// Fuzzes ReadQaFile on a QA JSONL file ({"id", "question", "golden_answers", "metadata"}).
#include "actor/envs/qa/qa_data.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mem1::fuzz::QuietLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mem1::fuzz::WriteScratch("qa.jsonl", data, size);
  std::vector<mem1::QaItem> items;
  mem1::LoadReport report;
  mem1::Status st = mem1::ReadQaFile(path, &items, &report);
  mem1::fuzz::Verbose(st);
  if (!st.ok()) return 0;
  if (report.loaded + report.skipped != report.lines) __builtin_trap();
  for (const mem1::QaItem& q : items) (void)mem1::QaJsonLine(q);
  return 0;
}
