// `mem1 datagen webshop`: a synthetic WebShop catalog written in WebShop's own file formats
// (items_shuffle.json, items_ins_v2.json, items_human_ins.json; see catalog.h), so the
// embedded default runs with no download and the loader reads real and synthetic data through
// one path.
//
// What is generated (seeded, deterministic): products of WebShop's five categories (beauty,
// electronics, fashion, food, furniture), 6 product types each, with Amazon-style category
// paths, brands, titles that name 1-2 of their attributes (all are in the description and
// bullets), descriptions, 3-5 bullet points, a price
// or a price range ("$a - $b", 20%), and 1-3 option groups (color, size, scent, flavor name,
// style, ...) of 2-6 values. Many products share a type, so a search returns near-misses that
// differ in attributes, options and price. Each product gets 2-4 attributes and a synthetic
// instruction (items_ins_v2); human-style instructions (items_human_ins) ask for 1-2 of its
// attributes and one value from some of its option groups; ~3% have no attributes (WebShop's
// loader skips those, as it does in the real data).
// Thread safety: pure functions.
#ifndef MEM1_ACTOR_ENVS_WEBSHOP_SYNTHETIC_CATALOG_H_
#define MEM1_ACTOR_ENVS_WEBSHOP_SYNTHETIC_CATALOG_H_

#include <cstdint>
#include <string>

#include "common/util/status.h"

namespace mem1::webshop {

struct SyntheticCatalogOptions {
  int64_t products = 2000;  // number of products
  uint64_t seed = 1;        // generator seed
};

struct SyntheticCatalogReport {
  int64_t products = 0, human_instructions = 0;
};

// Writes the three files into `out_dir` (created). INTERNAL on a write failure.
[[nodiscard]] Status WriteSyntheticCatalog(const SyntheticCatalogOptions& options, const std::string& out_dir,
                                           SyntheticCatalogReport* report);

}  // namespace mem1::webshop

#endif  // MEM1_ACTOR_ENVS_WEBSHOP_SYNTHETIC_CATALOG_H_
