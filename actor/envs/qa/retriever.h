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
#include "common/util/status.h"

namespace mem1 {

struct IndexBuildOptions {
  bool progress = true;          // progress bar on stderr (passages/s, ETA)
  int64_t commit_every = 200000; // passages per Xapian commit (memory bound)
};

struct IndexBuildReport {
  int64_t passages = 0;
  double seconds = 0;
  LoadReport load;
};

// Builds (overwrites) an index of the corpus JSONL at `out_dir`.
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

// Opens an index built by BuildIndex. NOT_FOUND / DATA_LOSS name the directory.
[[nodiscard]] Result<std::unique_ptr<Retriever>> OpenXapianRetriever(const std::string& index_dir);

// The observation text for search results, as MEM1 / Search-R1 render it (without the
// surrounding observation tags, which the rollout engine adds):
//   [HINT]You have N turns left.[/HINT]      (stronger wording with 1 left; none with 0)
//   (blank line)
//   Doc 1(Title: <first line of contents>) <rest of contents>
//   Doc 2(...) ...
std::string RenderSearchObservation(const std::vector<SearchHit>& hits, int turns_left);

}  // namespace mem1

#endif  // MEM1_ACTOR_ENVS_QA_RETRIEVER_H_
