// WebShop's search keyword prefixes (engine.py get_top_n_product_from_keywords): <r> random
// products, <a> attribute, <c> category, <q> query; anything else BM25. Expected lists are
// written from the fixture files (tests/fixtures/webshop) and WebShop's rules, in file order.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "actor/envs/webshop/catalog.h"
#include "actor/envs/webshop/webshop_env.h"
#include "common/memory/tag_grammar.h"
#include "tests/actor/envs/webshop/webshop_test_util.h"

namespace mem1::webshop {
namespace {

namespace fs = std::filesystem;
using testing::kFixtures;
using testing::TempDir;

class WebShopSearchTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    CatalogReport r;
    CatalogOptions o;
    o.data_dir = kFixtures;
    ASSERT_TRUE(LoadCatalog(o, &catalog_, &r).ok());
    dir_ = TempDir("search_" + GetParam());
    IndexBuildReport ir;
    ASSERT_TRUE(BuildProductIndex(catalog_, (dir_ / "index").string(), false, &ir).ok());
    auto s = OpenProductIndex(catalog_, (dir_ / "index").string());
    ASSERT_TRUE(s.ok()) << s.status().message();
    search_ = std::move(s).value();
    auto preset = GetTagPreset(GetParam());
    ASSERT_TRUE(preset.ok());
    options_.preset = preset.value();
    goal_ = catalog_.goals.at(0);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // The asins search[arg] lists on a fresh session.
  std::vector<std::string> Results(const std::string& arg) {
    WebShopSession s(&catalog_, search_.get(), goal_, options_);
    const ActionOutcome o = s.Act("search[" + arg + "]");
    EXPECT_TRUE(o.valid && o.searched) << arg;
    EXPECT_EQ(s.state().kind, PageKind::kResults) << arg;
    return s.state().results;
  }
  Catalog catalog_;
  fs::path dir_;
  std::unique_ptr<Retriever> search_;
  WebShopEnvOptions options_;
  Goal goal_;
};

TEST_P(WebShopSearchTest, QueryAttributeAndCategoryPrefixesListEveryMatchInFileOrder) {
  // query "hair extensions": products #0 and #2-#12 of the file (#0's "Hair Extensions " is
  // lower-cased and stripped at load), 12 > the 10 a page shows.
  std::vector<std::string> hair = {"B09QQLDJ93"};
  for (int i = 0; i <= 10; ++i) hair.push_back("B07HAIR0" + std::string(i < 10 ? "0" : "") + std::to_string(i));
  EXPECT_EQ(Results("<q> hair extensions"), hair);
  EXPECT_EQ(Results("<q> shampoo"), (std::vector<std::string>{"B08XYZ1234"}));
  EXPECT_TRUE(Results("<q> no such query").empty());
  EXPECT_EQ(Results("<a> sulfate free"), (std::vector<std::string>{"B08XYZ1234"}));
  EXPECT_EQ(Results("<a> heat resistant"), (std::vector<std::string>{"B09QQLDJ93"}));
  EXPECT_EQ(Results("<c> beauty").size(), catalog_.products.size());  // every loaded product
  EXPECT_EQ(Results("<c> beauty extra words").size(), catalog_.products.size());  // keywords[1] only
  EXPECT_TRUE(Results("<c>").empty());  // WebShop raises IndexError here; no results, no crash
  // Paging over more than 50 is allowed: the page says how many there are.
  WebShopSession s(&catalog_, search_.get(), goal_, options_);
  ASSERT_TRUE(s.Act("search[<q> hair extensions]").valid);
  EXPECT_NE(s.PageText().find("Total results: 12"), std::string::npos) << s.PageText();
  ASSERT_TRUE(s.Act("click[next >]").valid);
  EXPECT_EQ(s.state().page, 2);
}

TEST_P(WebShopSearchTest, RandomPrefixSamplesDistinctProductsSeededByTheGoal) {
  const auto a = Results("<r>");
  EXPECT_EQ(a.size(), catalog_.products.size());  // fewer than 50 products: all of them
  EXPECT_EQ(std::set<std::string>(a.begin(), a.end()).size(), a.size());
  EXPECT_EQ(Results("<r>"), a);  // the same goal draws the same pages
  goal_ = catalog_.goals.at(1);
  const auto b = Results("<r>");
  EXPECT_EQ(std::set<std::string>(b.begin(), b.end()), std::set<std::string>(a.begin(), a.end()));
}

TEST_P(WebShopSearchTest, PlainKeywordsStillSearchBm25) {
  const auto r = Results("shampoo sulfate free");
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r.front(), "B08XYZ1234");
  EXPECT_LE(r.size(), static_cast<size_t>(kSearchReturnN));
}

INSTANTIATE_TEST_SUITE_P(Presets, WebShopSearchTest, ::testing::Values("paper", "mem1-code"),
                         [](const auto& info) { return info.param == "paper" ? std::string("Paper") : std::string("Mem1Code"); });

}  // namespace
}  // namespace mem1::webshop
