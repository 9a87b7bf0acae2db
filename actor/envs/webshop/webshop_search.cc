// WebShop's search: the product index (BM25 over each product's search text, stamped with the
// catalog it was built for) and the results a search[...] lists, keyword prefixes included.
#include "actor/envs/webshop/webshop_env.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "common/util/strings.h"

namespace mem1::webshop {
namespace {

namespace fs = std::filesystem;

std::string Stamp(const Catalog& c) {
  return "products " + std::to_string(c.products.size()) + " first " +
         (c.products.empty() ? "-" : c.products.front().asin) + " last " +
         (c.products.empty() ? "-" : c.products.back().asin) + "\n";
}

}  // namespace

// engine.py get_top_n_product_from_keywords on keywords = arg.split(' '): "<r>" 50 random
// products; "<a> attr" every product with that attribute, "<c> cat" (the second word only)
// every product of that category, "<q> query" every product with that query, in catalog
// order and without the 50 cap; anything else BM25's top 50 of the text. WebShop's <r>
// samples Python's unseeded global generator; ours is seeded (see the constructor).
std::vector<std::string> WebShopSession::SearchResults(const std::string& arg) {
  std::vector<std::string> words;
  for (size_t b = 0;;) {
    const size_t e = arg.find(' ', b);
    words.push_back(arg.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos) break;
    b = e + 1;
  }
  auto rest = [&] {
    std::string r;
    for (size_t i = 1; i < words.size(); ++i) r += (i > 1 ? " " : "") + words[i];
    return TrimWhitespace(r);
  };
  std::vector<std::string> out;
  const auto& products = catalog_->products;
  if (words[0] == "<r>") {
    // random.sample(all_products, k=50): distinct products (all of them, shuffled, when fewer).
    std::vector<size_t> idx(products.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    const size_t k = std::min<size_t>(kSearchReturnN, idx.size());
    for (size_t i = 0; i < k; ++i) {
      std::swap(idx[i], idx[i + std::uniform_int_distribution<size_t>(0, idx.size() - 1 - i)(rng_)]);
      out.push_back(products[idx[i]].asin);
    }
  } else if (words[0] == "<a>") {
    const std::string attribute = rest();
    for (const Product& p : products) {
      if (std::find(p.attributes.begin(), p.attributes.end(), attribute) != p.attributes.end()) out.push_back(p.asin);
    }
  } else if (words[0] == "<c>") {
    const std::string category = words.size() > 1 ? TrimWhitespace(words[1]) : "";  // WebShop: IndexError
    for (const Product& p : products) {
      if (words.size() > 1 && p.category == category) out.push_back(p.asin);
    }
  } else if (words[0] == "<q>") {
    const std::string query = rest();
    for (const Product& p : products) {
      if (p.query == query) out.push_back(p.asin);
    }
  } else {
    const std::string q = TrimWhitespace(arg);
    std::set<std::string> seen;
    if (!q.empty()) {
      for (const auto& hit : search_->Search(q, kSearchReturnN)) {
        if (catalog_->Find(hit.id) != nullptr && seen.insert(hit.id).second) out.push_back(hit.id);
      }
    }
  }
  return out;
}

Status BuildProductIndex(const Catalog& catalog, const std::string& index_dir, bool progress,
                         IndexBuildReport* report) {
  std::error_code ec;
  fs::create_directories(fs::path(index_dir).parent_path().empty() ? "." : fs::path(index_dir).parent_path(), ec);
  const std::string corpus = index_dir + ".corpus.jsonl.tmp";
  {
    std::ofstream out(corpus);
    if (!out) return Internal(corpus + ": cannot write");
    for (const auto& p : catalog.products) out << PassageJsonLine(Passage{p.asin, SearchText(p)}) << "\n";
    if (!out) return Internal(corpus + ": write failed");
  }
  IndexBuildOptions o;
  o.progress = progress;
  Status st = BuildIndex(corpus, index_dir, o, report);
  fs::remove(corpus, ec);
  MEM1_RETURN_IF_ERROR(st);
  std::ofstream(fs::path(index_dir) / "mem1_webshop_stamp") << Stamp(catalog);
  return Status::Ok();
}

Result<std::unique_ptr<Retriever>> OpenProductIndex(const Catalog& catalog, const std::string& index_dir) {
  const fs::path stamp = fs::path(index_dir) / "mem1_webshop_stamp";
  if (!fs::exists(stamp)) {
    return NotFound(index_dir + ": no WebShop product index (build it with `mem1 webshop index --data DIR`)");
  }
  std::ifstream in(stamp);
  std::stringstream ss;
  ss << in.rdbuf();
  if (ss.str() != Stamp(catalog)) {
    return InvalidArgument(index_dir + ": the product index was built for another catalog (" + TrimWhitespace(ss.str()) +
                           "; loaded " + TrimWhitespace(Stamp(catalog)) + "): rebuild it with `mem1 webshop index`");
  }
  return OpenXapianRetriever(index_dir);
}

}  // namespace mem1::webshop
