// BM25 passage retrieval through Xapian (not a hand-written index), and the MEM1 / Search-R1
// rendering of results as an observation.
//
// Index: one Xapian document per passage (data = contents, value 0 = passage id), English
// stemming, Lucene's English stop words (as Anserini/pyserini), BM25 with pyserini's defaults
// k1 = 0.9, b = 0.4. Searchers open the index
// read-only; Xapian databases are not thread-safe, so each thread opens its own Retriever.
#ifndef MEM1_ACTOR_ENVS_QA_RETRIEVER_H_
#define MEM1_ACTOR_ENVS_QA_RETRIEVER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actor/envs/qa/qa_data.h"
#include "common/memory/tag_grammar.h"
#include "common/util/status.h"

namespace mem1 {

struct IndexBuildOptions {
  bool progress = true;          // progress bar on stderr (passages/s, ETA)
  int64_t commit_every = 200000; // passages per Xapian commit (memory bound; what a resume keeps)
  // Continue an interrupted build of the same corpus: the passages already committed (the
  // index's document count, in corpus order) are skipped, the rest are added. Documents are
  // keyed by passage id, so a passage indexed twice is replaced, never duplicated.
  bool resume = false;
};

struct IndexBuildReport {
  int64_t passages = 0;      // passages in the index at the end (skipped + added)
  int64_t resumed_from = 0;  // passages skipped because a previous build had committed them
  double seconds = 0;
  LoadReport load;
};

// Builds (overwrites, or with `resume` continues) an index of the corpus JSONL at `out_dir`.
// While it runs, `out_dir`/.mem1_building marks the index incomplete; OpenXapianRetriever
// refuses such an index, and an interrupted build's error says how to resume.
[[nodiscard]] Status BuildIndex(const std::string& corpus, const std::string& out_dir, const IndexBuildOptions& options,
                                IndexBuildReport* report);

struct SearchHit {
  std::string id;
  std::string contents;
  double score = 0;
};

class Retriever {
 public:
  virtual ~Retriever() = default;
  // Top-k passages for a free-text query (empty for an empty or unparsable query).
  virtual std::vector<SearchHit> Search(const std::string& query, int k) = 0;
};

// Opens an index built by BuildIndex. NOT_FOUND / DATA_LOSS name the directory (DATA_LOSS
// also for an incomplete, interrupted build, with the command that resumes it).
[[nodiscard]] Result<std::unique_ptr<Retriever>> OpenXapianRetriever(const std::string& index_dir);

// The observation text for search results (without the surrounding observation tags, which
// the rollout engine adds). paper (ours):
//   [HINT]You have N turns left.[/HINT]      (stronger wording with 1 left; none with 0)
//   (blank line)
//   Doc 1(Title: <first line of contents, quotes removed>) <rest of contents>
//   Doc 2(...) ...
// mem1-code (MEM1 generation_think.py): hint + "\n\n" + the Doc lines stripped, the title line
// as stored (wiki-18's quotes kept); the 1-left hint "... You must answer the question in the
// next turn." and "" with 0 left. mem1-code-eval (MEM1 inference/data_pipelines.py): hint +
// "\n" + the Doc lines as they are (each ends with "\n"); the hint says "... turn left. You
// must answer the question now." for 1 and 0 left.
std::string RenderSearchObservation(const std::vector<SearchHit>& hits, int turns_left,
                                    const TagPreset& preset = TagPreset{});

}  // namespace mem1

#endif  // MEM1_ACTOR_ENVS_QA_RETRIEVER_H_
