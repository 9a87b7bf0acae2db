// Fuzzes LoadCatalog on WebShop's JSON files. The input is split at NUL bytes into
// items_shuffle.json, items_ins_v2.json and items_human_ins.json; without a third part the
// catalog is built with synthetic goals (human_goals = false).
#include "actor/envs/webshop/catalog.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mem1::fuzz::QuietLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> parts = mem1::fuzz::SplitAtNul(data, size, 3);
  const bool human = parts.size() == 3;
  if (parts.size() < 2) parts.push_back("{}");
  mem1::fuzz::WriteScratch("items_shuffle.json", parts[0].data(), parts[0].size());
  mem1::fuzz::WriteScratch("items_ins_v2.json", parts[1].data(), parts[1].size());
  const std::string human_path = mem1::fuzz::ScratchDir() + "/items_human_ins.json";
  if (human) {
    mem1::fuzz::WriteScratch("items_human_ins.json", parts[2].data(), parts[2].size());
  } else {
    std::remove(human_path.c_str());
  }
  mem1::webshop::CatalogOptions options;
  options.data_dir = mem1::fuzz::ScratchDir();
  options.human_goals = human;
  options.max_products = 64;
  mem1::webshop::Catalog catalog;
  mem1::webshop::CatalogReport report;
  mem1::Status st = mem1::webshop::LoadCatalog(options, &catalog, &report);
  mem1::fuzz::Verbose(st);
  if (!st.ok()) return 0;
  size_t total = 0;
  for (const mem1::webshop::Product& p : catalog.products) {
    total += mem1::webshop::SearchText(p).size();
    if (catalog.Find(p.asin) == nullptr) __builtin_trap();
  }
  for (mem1::webshop::Split s : {mem1::webshop::Split::kTrain, mem1::webshop::Split::kDev,
                                 mem1::webshop::Split::kTest}) {
    for (size_t i : mem1::webshop::SplitGoals(catalog.goals.size(), s)) {
      if (i >= catalog.goals.size()) __builtin_trap();
    }
  }
  volatile size_t sink = total;
  (void)sink;
  return 0;
}
