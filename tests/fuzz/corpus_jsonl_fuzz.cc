// Fuzzes ForEachPassage on a corpus JSONL file ({"id", "contents"}), plus Title()/Text().
#include "actor/envs/qa/qa_data.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mem1::fuzz::QuietLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mem1::fuzz::WriteScratch("corpus.jsonl", data, size);
  mem1::LoadReport report;
  size_t total = 0;
  mem1::Status st = mem1::ForEachPassage(
      path,
      [&](const mem1::Passage& p) {
        total += p.Title().size() + p.Text().size() + mem1::PassageJsonLine(p).size();
        return true;
      },
      &report);
  mem1::fuzz::Verbose(st);
  volatile size_t sink = total;
  (void)sink;
  return 0;
}
