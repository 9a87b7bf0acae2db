#include "actor/envs/qa/retriever.h"
#include "common/util/strings.h"

#include <xapian.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace mem1 {
namespace {

// Lucene's default English stop set (33 words), as Anserini/pyserini's English analyzer uses.
const Xapian::SimpleStopper& EnglishStopper() {
  static const char* kWords[] = {"a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if",
                                 "in", "into", "is", "it", "no", "not", "of", "on", "or", "such", "that",
                                 "the", "their", "then", "there", "these", "they", "this", "to", "was", "will",
                                 "with"};
  static const Xapian::SimpleStopper* s = new Xapian::SimpleStopper(std::begin(kWords), std::end(kWords));
  return *s;
}

class XapianRetriever : public Retriever {
 public:
  explicit XapianRetriever(const std::string& dir) : db_(dir), enquire_(db_) {
    enquire_.set_weighting_scheme(Xapian::BM25Weight(0.9, 0, 1, 0.4, 0.5));
    parser_.set_stemmer(Xapian::Stem("english"));
    parser_.set_stemming_strategy(Xapian::QueryParser::STEM_SOME);
    parser_.set_database(db_);
    parser_.set_default_op(Xapian::Query::OP_OR);
    parser_.set_stopper(&EnglishStopper());
  }
  std::vector<SearchHit> Search(const std::string& query, int k) override {
    std::vector<SearchHit> hits;
    if (query.find_first_not_of(" \t\r\n") == std::string::npos || k <= 0) return hits;
    try {
      Xapian::Query q = parser_.parse_query(query, 0);
      enquire_.set_query(q);
      Xapian::MSet m = enquire_.get_mset(0, k);
      for (auto it = m.begin(); it != m.end(); ++it) {
        Xapian::Document d = it.get_document();
        hits.push_back({d.get_value(0), d.get_data(), it.get_weight()});
      }
    } catch (const Xapian::Error& e) {
      LOG(WARNING) << "search failed for query \"" << query << "\": " << e.get_description();
    }
    return hits;
  }

 private:
  Xapian::Database db_;
  Xapian::Enquire enquire_;
  Xapian::QueryParser parser_;
};

}  // namespace

namespace {

constexpr char kBuildingMarker[] = ".mem1_building";

std::string IncompleteNote(const std::string& out_dir, int64_t passages) {
  return " (the index " + out_dir + " is incomplete after " + std::to_string(passages) +
         " passages; rerun with --resume to keep what was committed)";
}

}  // namespace

Status BuildIndex(const std::string& corpus, const std::string& out_dir, const IndexBuildOptions& options,
                  IndexBuildReport* report) {
  std::error_code ec;
  const uint64_t total_bytes = std::filesystem::file_size(corpus, ec);
  if (ec) return NotFound(corpus + ": cannot open corpus");
  const double t0 = MonotonicSeconds();
  const std::string marker = out_dir + "/" + kBuildingMarker;
  int64_t skip = 0, seen = 0;
  try {
    Xapian::WritableDatabase db(out_dir, options.resume ? Xapian::DB_CREATE_OR_OPEN : Xapian::DB_CREATE_OR_OVERWRITE);
    if (options.resume) skip = static_cast<int64_t>(db.get_doccount());
    report->resumed_from = skip;
    if (!std::ofstream(marker)) return Internal(marker + ": cannot write");
    if (options.progress && skip > 0) std::fprintf(stderr, "resuming: %lld passages already indexed\n", static_cast<long long>(skip));
    Xapian::TermGenerator gen;
    gen.set_stemmer(Xapian::Stem("english"));
    gen.set_stopper(&EnglishStopper());
    gen.set_stopper_strategy(Xapian::TermGenerator::STOP_ALL);
    uint64_t bytes = 0;
    double last_print = t0;
    auto st = ForEachPassage(corpus, [&](const Passage& p) {
      if (seen++ < skip) {
        ++report->passages;
        bytes += p.contents.size() + p.id.size() + 30;
        return true;
      }
      Xapian::Document doc;
      doc.set_data(p.contents);
      doc.add_value(0, p.id);
      gen.set_document(doc);
      gen.index_text(p.contents);
      doc.add_boolean_term("Q" + p.id);
      db.replace_document("Q" + p.id, doc);
      ++report->passages;
      bytes += p.contents.size() + p.id.size() + 30;
      if (options.commit_every > 0 && report->passages % options.commit_every == 0) db.commit();
      const double now = MonotonicSeconds();
      if (options.progress && now - last_print > 0.5) {
        last_print = now;
        const double rate = report->passages / std::max(1e-9, now - t0);
        const double frac = total_bytes ? std::min(1.0, static_cast<double>(bytes) / total_bytes) : 0;
        const double eta = frac > 0 ? (now - t0) * (1 - frac) / frac : 0;
        std::fprintf(stderr, "\rindexing: %lld passages, %.0f passages/s, %3.0f%%, ETA %.0f s   ",
                     static_cast<long long>(report->passages), rate, 100 * frac, eta);
      }
      return true;
    }, &report->load);
    if (!st.ok()) return Status(st.code(), st.message() + IncompleteNote(out_dir, report->passages));
    db.commit();
    db.close();
    std::filesystem::remove(marker, ec);
  } catch (const Xapian::Error& e) {
    return Internal(out_dir + ": Xapian: " + e.get_description() + IncompleteNote(out_dir, report->passages));
  }
  report->seconds = MonotonicSeconds() - t0;
  if (options.progress) {
    std::fprintf(stderr, "\rindexing: %lld passages in %.1f s (%.0f passages/s), %lld bad lines skipped\n",
                 static_cast<long long>(report->passages), report->seconds, report->passages / std::max(1e-9, report->seconds),
                 static_cast<long long>(report->load.skipped));
  }
  return Status::Ok();
}

Result<std::unique_ptr<Retriever>> OpenXapianRetriever(const std::string& index_dir) {
  if (!std::filesystem::exists(index_dir)) return NotFound(index_dir + ": no such index (build it with `mem1 index build`)");
  if (std::filesystem::exists(index_dir + "/" + kBuildingMarker)) {
    return DataLoss(index_dir + ": incomplete index (its build was interrupted); finish it with "
                              "`mem1 index build --corpus C --out " + index_dir + " --resume`");
  }
  try {
    return std::unique_ptr<Retriever>(std::make_unique<XapianRetriever>(index_dir));
  } catch (const Xapian::Error& e) {
    return DataLoss(index_dir + ": not a readable Xapian index: " + e.get_description());
  }
}

std::string RenderSearchObservation(const std::vector<SearchHit>& hits, int turns_left, const TagPreset& preset) {
  if (preset.reference()) {
    std::string docs;
    for (size_t i = 0; i < hits.size(); ++i) {
      const std::string& c = hits[i].contents;
      const size_t nl = c.find('\n');
      docs += "Doc " + std::to_string(i + 1) + "(Title: " + c.substr(0, nl) + ") " +
              (nl == std::string::npos ? std::string() : c.substr(nl + 1)) + "\n";
    }
    const std::string left = std::to_string(turns_left);
    if (preset.protocol == TagPreset::Protocol::kMem1CodeEval) {
      const std::string hint = turns_left > 1 ? "[HINT]You have " + left + " turns left.[/HINT]"
                                              : "[HINT]You have " + left + " turn left. You must answer the question now.[/HINT]";
      return hint + "\n" + docs;
    }
    const std::string hint =
        turns_left > 1    ? "[HINT]You have " + left + " turns left.[/HINT]"
        : turns_left == 1 ? "[HINT]You have 1 turn left. You must answer the question in the next turn.[/HINT]"
                          : "";
    return hint + "\n\n" + PythonStrip(docs);
  }
  std::string out;
  if (turns_left > 1) {
    out += "[HINT]You have " + std::to_string(turns_left) + " turns left.[/HINT]\n";
  } else if (turns_left == 1) {
    out += "[HINT]You have 1 turn left. You must give your final answer in the next turn.[/HINT]\n";
  }
  out += "\n";
  for (size_t i = 0; i < hits.size(); ++i) {
    Passage p{hits[i].id, hits[i].contents};
    out += "Doc " + std::to_string(i + 1) + "(Title: " + p.Title() + ") " + p.Text() + "\n";
  }
  return out;
}

}  // namespace mem1
